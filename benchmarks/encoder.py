"""The encoder without PyTorch: ONNX Runtime vs the bf16 sentence-transformers path, side by side in one run.

    .venv/bin/python benchmarks/encoder.py bulk [--n 1000]         papers/s, CPU-s per 1,000: torch bf16 vs ONNX int8
    .venv/bin/python benchmarks/encoder.py quality [--variants int8]  SciFact-train nDCG@10 (dense, hybrid)
    .venv/bin/python benchmarks/encoder.py cli --home H            fresh `paperboy search --mode hybrid`: wall, RSS
    .venv/bin/python benchmarks/encoder.py query --home H          Paperboy.search() hybrid p50/p99, ONNX vs torch

Prints figures, asserts nothing. Variants run interleaved (round-robin; `query` in blocks of 20, one process per
encoder) so a shared machine's load hits them alike; the load average is printed with each figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

SCIFACT = REPO.parent / "shared" / "eval" / "scifact"
if not SCIFACT.exists():
    SCIFACT = Path("/work/shared/eval/scifact")

QUERIES = [
    "graph neural networks for molecules",
    "diffusion models image editing",
    "retrieval augmented generation",
    "protein structure prediction",
    "reinforcement learning from human feedback",
    "speech recognition noise",
    "federated learning privacy",
    "3d gaussian splatting",
    "large language model reasoning benchmark",
    "sparse attention long context",
]


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def encoder(variant: str):
    from paperboy.index.embedder import Embedder, load_embedder

    if variant == "torch-bf16":
        return Embedder("default", precision="bf16")
    if variant == "torch-fp32":
        return Embedder("default", precision="fp32")
    # onnx-fp32: fp32 throughout; onnx-int8 (what ships): documents and queries through the int8 graph;
    # onnx-int8-documents: int8 documents, fp32 queries.
    return load_embedder(
        "default",
        backend="onnx",
        int8_documents=variant.startswith("onnx-int8"),
        int8_queries=variant == "onnx-int8",
    )


def bulk(args) -> None:
    from embedding import arxiv_texts

    texts = arxiv_texts(args.n)
    names = args.variants.split(",")
    encs = {}
    for name in names:
        t = time.perf_counter()
        encs[name] = encoder(name)
        encs[name].embed_documents(texts[:8], progress=False)  # warm-up
        print(f"{name:12s} load+warm-up {time.perf_counter() - t:6.1f} s  ({load()})", flush=True)
    best: dict[str, float] = {}
    cpu: dict[str, float] = {}  # CPU ms per paper = CPU-s per 1,000 (all threads): what a busy box's wall hides
    for r in range(args.rounds):
        for name in names:
            t, c = time.perf_counter(), time.process_time()
            encs[name].embed_documents(texts, progress=False)
            rate = len(texts) / (time.perf_counter() - t)
            ms = (time.process_time() - c) * 1000 / len(texts)
            best[name] = max(best.get(name, 0.0), rate)
            cpu[name] = min(cpu.get(name, ms), ms)
            print(f"round {r + 1} {name:12s} {rate:7.1f} papers/s  {ms:5.1f} CPU-s per 1,000  ({load()})", flush=True)
    base = best.get("torch-bf16")
    print(f"{len(texts)} arXiv abstracts, best of {args.rounds} interleaved rounds ({load()})")
    for name in names:
        rel = f"  x{best[name] / base:.2f} vs torch-bf16" if base else ""
        rel_cpu = f" (x{cpu['torch-bf16'] / cpu[name]:.2f})" if base else ""
        print(f"BULK {name:12s} {best[name]:7.1f} papers/s{rel}; {cpu[name]:5.1f} CPU-s per 1,000 papers{rel_cpu}")


def quality(args) -> None:
    from paperboy.index.vectors import embed_missing
    from paperboy.service.evaluation import build_indexes, evaluate, load_dataset

    ds = load_dataset(SCIFACT / "corpus.jsonl", SCIFACT / "queries.jsonl", SCIFACT / "qrels" / "train.tsv")
    for name in args.variants.split(","):
        work = Path(args.work) / name
        idx = build_indexes(ds, work, "default", dense=False, progress=False)
        idx._embedder = encoder(name)  # this variant's vectors, in a work folder of its own
        from paperboy.index.embedder import document_text
        from paperboy.service.evaluation import corpus_papers

        t = time.perf_counter()
        embed_missing(
            idx.vectors, idx._embedder, ((p.id, document_text(p)) for p in corpus_papers(ds.corpus)), progress=False
        )
        took = time.perf_counter() - t
        res = evaluate(ds, idx, ("dense", "hybrid"))
        print(
            f"QUALITY {name:12s} dense nDCG@10 {res['dense']['ndcg@10']:.4f}  hybrid {res['hybrid']['ndcg@10']:.4f}"
            f"  (embedded in {took:.0f} s, {load()})",
            flush=True,
        )


def cli(args) -> None:
    import tempfile

    walls: dict[str, list[float]] = {}
    rss: dict[str, list[int]] = {}
    out = Path(tempfile.mkstemp(suffix=".time")[1])
    for _ in range(args.rounds):
        for backend in args.backends.split(","):
            env = {**os.environ, "PAPERBOY_EMBEDDING_BACKEND": backend, "PYTHONPATH": str(REPO)}
            # GNU time: wall seconds, peak RSS (KB), user + system CPU of the one child process.
            proc = subprocess.run(
                [
                    "/usr/bin/time",
                    "-o",
                    str(out),
                    "-f",
                    "%e %M %U %S",
                    sys.executable,
                    "-m",
                    "paperboy.cli",
                    "--home",
                    args.home,
                    "search",
                    QUERIES[0],
                    "--mode",
                    "hybrid",
                    "--limit",
                    "10",
                ],
                env=env,
                capture_output=True,
                text=True,
            )
            wall, kb, user, system = out.read_text().split()[-4:]
            if proc.returncode != 0 or "semantic index not built" in proc.stderr:
                print(proc.stderr[-500:])
            walls.setdefault(backend, []).append(float(wall))
            rss.setdefault(backend, []).append(int(kb))
            print(
                f"{backend:6s} wall {float(wall):5.2f} s  cpu {float(user) + float(system):5.2f} s  "
                f"RSS {int(kb) / 1024:.0f} MB  ({load()})",
                flush=True,
            )
    out.unlink()
    for backend, w in walls.items():
        print(
            f"CLI hybrid search [{backend}]: wall min {min(w):.2f} s / median {statistics.median(w):.2f} s, "
            f"peak RSS {max(rss[backend]) / 1024:.0f} MB"
        )


def query(args) -> None:
    """Hybrid Paperboy.search() with each encoder, every query distinct (uncached).

    Each encoder searches in a process of its own, so one's threads (torch's spinning intra-op pool) are not
    charged to the other's CPU. The processes take turns in blocks of 20 queries, in alternating order, so
    the machine's load hits both alike; each warms up first (20 queries: encoder, caches, the int8 scan).
    """
    import json

    import numpy as np

    backends = args.backends.split(",")
    n_queries = len(QUERIES) * 8
    procs = {}
    for backend in backends:
        procs[backend] = subprocess.Popen(
            [sys.executable, __file__, "query-child", "--home", args.home, "--backend", backend],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        if procs[backend].stdout.readline().strip() != "ready":
            raise SystemExit(f"[{backend}] child failed to start")
    wall: dict[str, list[float]] = {b: [] for b in backends}
    cpu: dict[str, list[float]] = {b: [] for b in backends}
    block = 20
    for r in range(args.rounds):
        for start in range(0, n_queries, block):
            order = backends if (start // block + r) % 2 == 0 else backends[::-1]
            for backend in order:
                p = procs[backend]
                p.stdin.write(
                    json.dumps([f"{QUERIES[i % len(QUERIES)]} {r} {i}" for i in range(start, start + block)]) + "\n"
                )
                p.stdin.flush()
                got = json.loads(p.stdout.readline())
                if "error" in got:
                    raise SystemExit(f"[{backend}] {got['error']}")
                wall[backend] += got["wall"]
                cpu[backend] += got["cpu"]
    vectors = 0
    for p in procs.values():
        p.stdin.close()
        vectors = int(p.stdout.readline() or 0) or vectors
        p.wait()
    base = backends[-1]
    print(f"hybrid Paperboy.search(), {len(wall[base])} distinct queries per encoder, one process each ({load()})")
    print(f"{'encoder':8s} {'p50 ms':>8s} {'p99 ms':>8s} {'CPU ms/search':>14s}   vs {base}")
    for backend in backends:
        p50, p99 = np.percentile(wall[backend], 50), np.percentile(wall[backend], 99)
        c50 = np.mean(cpu[backend])
        rel = (
            f"p50 x{np.percentile(wall[base], 50) / p50:.2f}, p99 x{np.percentile(wall[base], 99) / p99:.2f}, "
            f"CPU x{np.mean(cpu[base]) / c50:.2f}"
        )
        print(f"HYBRID {backend:8s} {p50:8.1f} {p99:8.1f} {c50:14.2f}   {rel}")
    print(f"({vectors:,} vectors, {load()})")


def query_child(args) -> None:
    """One encoder's searches for `query`: reads a JSON list of queries per line, answers their wall and CPU ms."""
    import json

    from paperboy.config import Settings
    from paperboy.service import Paperboy

    pb = Paperboy(Settings(home=Path(args.home), embedding_backend=args.backend))
    for i in range(20):
        pb.search(f"warm up {QUERIES[i % len(QUERIES)]} {i}", mode="hybrid", limit=10)
    print("ready", flush=True)
    for line in sys.stdin:
        wall, cpu = [], []
        for q in json.loads(line):
            t, c = time.perf_counter(), time.process_time()  # all of this process's threads
            page = pb.search(q, mode="hybrid", limit=10)
            wall.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
            if page.mode != "hybrid":
                print(json.dumps({"error": f"searched in {page.mode} mode: {page.warnings}"}), flush=True)
                return
        print(json.dumps({"wall": wall, "cpu": cpu}), flush=True)
    print(len(pb.indexes.vectors), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bulk")
    b.add_argument("--n", type=int, default=1000)
    b.add_argument("--rounds", type=int, default=2)
    b.add_argument("--variants", default="torch-bf16,onnx-int8")
    q = sub.add_parser("quality")
    q.add_argument("--variants", default="onnx-fp32,onnx-int8")
    q.add_argument("--work", default="/tmp/paperboy-encoder-quality")
    c = sub.add_parser("cli")
    c.add_argument("--home", required=True)
    c.add_argument("--rounds", type=int, default=3)
    c.add_argument("--backends", default="onnx,torch")
    s = sub.add_parser("query")
    s.add_argument("--home", required=True)
    s.add_argument("--rounds", type=int, default=1)
    s.add_argument("--backends", default="onnx,torch")
    sc = sub.add_parser("query-child")
    sc.add_argument("--home", required=True)
    sc.add_argument("--backend", required=True)
    args = ap.parse_args()
    {"bulk": bulk, "quality": quality, "cli": cli, "query": query, "query-child": query_child}[args.cmd](args)


if __name__ == "__main__":
    main()
