"""Dense-search figures: embedding speed-ups, SciFact quality, query latency, exact vs HNSW.

    .venv/bin/python benchmarks/embedding.py            # ~5 min on 2 idle cores (--skip ann: ~3)
    .venv/bin/python benchmarks/embedding.py --quick    # ~1 min, small sizes
    .venv/bin/python benchmarks/embedding.py --scifact full --variants fp32,bf16   # full 5,183-doc SciFact

Prints numbers, asserts nothing. Variants (all on the packaged all-MiniLM-L6-v2):
fp32 (baseline), bf16 (autocast, the default on CPUs with native bf16), int8 (dynamic quantisation
of Linear layers), seq128 / seq512 (max_seq_length), threads1 (torch.set_num_threads(1)),
bs16 / bs128 (batch size), bf16-nosort (shuffled batches: the cost of not sorting by length), static (model2vec distilled from MiniLM, see static_embedder.py).
The machine may be shared: the load average is printed with each timing; compare variants run
together, not across runs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared"
ARXIV = SHARED / "corpus" / "arxiv-cs-2025-2026"
SCIFACT = SHARED / "eval" / "scifact"


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def arxiv_texts(n: int, month: str = "2025-03") -> list[str]:
    from paperboy.index.embedder import document_text

    out = []
    with gzip.open(ARXIV / f"papers-{month}.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            p = json.loads(line)
            out.append(document_text({"title": p["title"], "abstract": p["summary"]}))
            if len(out) >= n:
                break
    return out


def all_arxiv_texts() -> list[str]:
    from paperboy.index.embedder import document_text

    out = []
    for path in sorted(ARXIV.glob("papers-*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            out.extend(
                document_text({"title": (p := json.loads(line))["title"], "abstract": p["summary"]}) for line in f
            )
    return out


def scifact(mode: str, seed: int = 42):
    """(doc ids, doc title/text pairs, query ids, query texts, qrels) for the train split; 'subset' keeps
    the docs judged for 200 queries plus seeded random distractors (about 1,000 docs)."""
    corpus = [json.loads(line) for line in open(SCIFACT / "corpus.jsonl", encoding="utf-8")]
    queries = {q["_id"]: q["text"] for q in map(json.loads, open(SCIFACT / "queries.jsonl", encoding="utf-8"))}
    qrels: dict[str, dict[str, int]] = {}
    with open(SCIFACT / "qrels" / "train.tsv", encoding="utf-8") as f:
        next(f)
        for line in f:
            q, d, s = line.split("\t")
            qrels.setdefault(q, {})[d] = int(s)
    qids = [q for q in queries if q in qrels]
    if mode != "full":
        n_q, n_docs = (200, 1000) if mode == "subset" else (60, 300)
        rng = random.Random(seed)
        qids = rng.sample(qids, n_q)
        relevant = {d for q in qids for d in qrels[q]}
        others = [d["_id"] for d in corpus if d["_id"] not in relevant]
        keep = relevant | set(rng.sample(others, max(0, n_docs - len(relevant))))
        corpus = [d for d in corpus if d["_id"] in keep]
        qrels = {q: qrels[q] for q in qids}
    return (
        [d["_id"] for d in corpus],
        [(d["title"], d["text"]) for d in corpus],
        qids,
        [queries[q] for q in qids],
        qrels,
    )


def ndcg10(qids, qvecs, dids, dvecs, qrels) -> float:
    from ranx import Qrels, Run, evaluate

    scores = qvecs @ dvecs.T
    run = {}
    for i, q in enumerate(qids):
        top = np.argpartition(-scores[i], 100)[:100]
        run[q] = {dids[j]: float(scores[i, j]) for j in top}
    return float(evaluate(Qrels(qrels), Run(run), "ndcg@10"))


def make_variant(name: str, static_dir: Path):
    import torch

    from paperboy.index.embedder import Embedder

    torch.set_num_threads(os.cpu_count() or 2)
    if name == "static":
        from static_embedder import StaticEmbedder

        return StaticEmbedder(static_dir)
    if name in ("fp32", "bf16", "int8"):
        return Embedder("default", precision=name)
    if name.startswith("seq"):
        return Embedder("default", max_seq_length=int(name[3:]))
    if name.startswith("bs"):
        return Embedder("default", batch_size=int(name[2:]))
    if name == "threads1":
        torch.set_num_threads(1)
        return Embedder("default")
    if name == "bf16-nosort":
        return Embedder("default")
    raise SystemExit(f"unknown variant {name}")


def bench_variants(args) -> None:
    import torch

    static_dir = Path(args.static_dir)
    docs = arxiv_texts(args.docs)
    dids, pairs, qids, qtexts, qrels = scifact(args.scifact) if args.scifact != "none" else ([], [], [], [], {})
    print(
        f"\n== embedding variants: {len(docs)} arXiv abstracts (throughput), SciFact train '{args.scifact}' "
        f"({len(dids)} docs, {len(qids)} queries), torch threads {torch.get_num_threads()}, {load()}"
    )
    print(
        f"{'variant':<12} {'arXiv docs/s':>12} {'SciFact docs/s':>15} {'nDCG@10':>8} {'q p50 ms':>9} {'q p99 ms':>9}  load"
    )
    baseline = None
    for name in args.variants.split(","):
        t = time.perf_counter()
        try:
            emb = make_variant(name, static_dir)
        except ImportError as exc:  # static tier without skeletoken and no distilled model yet
            print(f"{name:<12} skipped: {exc}")
            continue
        load_s = time.perf_counter() - t
        emb.embed_documents(docs[:8], progress=False)  # warm-up (oneDNN kernel selection)
        texts = docs
        t = time.perf_counter()
        if name == "bf16-nosort":
            # What no length sorting would cost: shuffled batches, each padded to its longest text.
            texts = docs[:]
            random.Random(0).shuffle(texts)
            for i in range(0, len(texts), emb.batch_size):
                emb.embed_documents(texts[i : i + emb.batch_size], progress=False)
        else:
            emb.embed_documents(texts, progress=False)
        dps = len(texts) / (time.perf_counter() - t)
        nd, sdps = float("nan"), float("nan")
        if dids:
            from paperboy.index.embedder import TITLE_SEPARATOR

            t = time.perf_counter()
            dv = emb.embed_documents([a + TITLE_SEPARATOR + b for a, b in pairs], progress=False)
            sdps = len(pairs) / (time.perf_counter() - t)
            qv = np.stack([emb.embed_query(q) for q in qtexts])
            nd = ndcg10(qids, qv, dids, dv, qrels)
            if name == "fp32":
                baseline = nd
        lat = []
        for i in range(args.queries):
            q = f"{i} efficient transformers for long document retrieval" + " extra" * (i % 7)
            t = time.perf_counter()
            emb.embed_query(q)
            lat.append((time.perf_counter() - t) * 1000)
        delta = "" if baseline is None or name == "fp32" or nd != nd else f" ({nd - baseline:+.4f})"
        print(
            f"{name:<12} {dps:>12.1f} {sdps:>15.1f} {nd:>8.4f} {np.percentile(lat, 50):>9.2f} "
            f"{np.percentile(lat, 99):>9.2f}  {load()}{delta}  [load model {load_s:.1f}s]",
            flush=True,
        )
        del emb


def bench_formats(args) -> None:
    from paperboy.index.embedder import Embedder

    dids, pairs, qids, qtexts, qrels = scifact(args.scifact)
    emb = Embedder("default")
    qv = np.stack([emb.embed_query(q) for q in qtexts])
    print(f"\n== title/abstract separator, SciFact '{args.scifact}', {emb.precision}")
    for sep in (". ", " [SEP] ", " ", "\n"):
        dv = emb.embed_documents([a + sep + b for a, b in pairs], progress=False)
        print(f"{sep!r:<10} nDCG@10 {ndcg10(qids, qv, dids, dv, qrels):.4f}", flush=True)


def bench_ann(args) -> None:
    try:
        from usearch.index import Index
        from usearch.index import search as usearch_search
    except ImportError:
        print("usearch not installed: skipping ANN comparison")
        return
    from threadpoolctl import threadpool_limits

    n, dim, nq, k = args.ann_size, 384, 200, 10
    rng = np.random.default_rng(0)
    # Random unit vectors: a worst case for HNSW recall (no cluster structure), fine for latency.
    base = rng.standard_normal((n, dim)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    # Queries near stored vectors (cosine ~0.9 to one of them), like "more like this paper".
    queries = base[rng.choice(n, nq, replace=False)] + 0.5 * rng.standard_normal((nq, dim)).astype(
        np.float32
    ) / np.sqrt(dim)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    # np.sqrt returns a float64 scalar, which promotes: f64 queries made every f32 product convert the
    # whole matrix (25 ms instead of ~4), the reason earlier tables showed numpy f32 slower than usearch.
    queries = queries.astype(np.float32)
    real = None
    if args.real_ann:
        real = real_vectors(args)
    # --busy N: N processes spinning on the CPU meanwhile, like a server whose cores are taken.
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        _ann_table(args, n, dim, nq, k, base, queries, real, Index, usearch_search, threadpool_limits)
    finally:
        for p in spinners:
            p.kill()


def _ann_table(args, n, dim, nq, k, base, queries, real, Index, usearch_search, threadpool_limits) -> None:
    print(
        f"\n== nearest neighbours, {n:,} x {dim} random unit vectors, {nq} queries, k={k}, "
        f"{args.busy} busy spinners, {load()}"
    )
    print(f"{'method':<28} {'build s':>8} {'p50 ms':>8} {'p99 ms':>8} {'recall@10':>9} {'memory MB':>10}")

    def exact_top(mat, q):
        s = mat @ q
        top = np.argpartition(-s, k)[:k]
        return top[np.argsort(-s[top])]

    def timed(fn, qs):
        lat, res = [], []
        for q in qs:
            t = time.perf_counter()
            res.append(fn(q))
            lat.append((time.perf_counter() - t) * 1000)
        return np.percentile(lat, 50), np.percentile(lat, 99), res

    for label, data, qs in [("random", base, queries)] + ([("real", *real)] if real else []):
        n_, d_ = data.shape
        if label == "real":
            print(f"-- real vectors: {n_:,} x {d_} (static model over the arXiv sample), {len(qs)} queries")
        p50, p99, truth = timed(lambda q: exact_top(data, q), qs)
        print(
            f"{'exact numpy f32':<28} {0:>8.1f} {p50:>8.2f} {p99:>8.2f} {1.0:>9.3f} {data.nbytes / 2**20:>10.0f}",
            flush=True,
        )
        with threadpool_limits(limits=1, user_api="blas"):  # what VectorIndex does (one_blas_thread)
            p50, p99, _ = timed(lambda q: exact_top(data, q), qs)
        print(
            f"{'exact numpy f32, 1 thread':<28} {0:>8.1f} {p50:>8.2f} {p99:>8.2f} {1.0:>9.3f} {data.nbytes / 2**20:>10.0f}",
            flush=True,
        )
        f16 = data.astype(np.float16)
        p50, p99, _ = timed(lambda q: exact_top(f16, q.astype(np.float16)), qs[:10])
        print(
            f"{'exact numpy f16 (no BLAS)':<28} {0:>8.1f} {p50:>8.2f} {p99:>8.2f} {1.0:>9.3f} {f16.nbytes / 2**20:>10.0f}",
            flush=True,
        )
        p50, p99, res = timed(lambda q: usearch_search(f16, q, k, "ip", exact=True).keys, qs)
        rec = np.mean([len(set(a) & set(b)) / k for a, b in zip(res, truth)])
        print(
            f"{'exact usearch f16':<28} {0:>8.1f} {p50:>8.2f} {p99:>8.2f} {rec:>9.3f} {f16.nbytes / 2**20:>10.0f}",
            flush=True,
        )
        p50, p99, _ = timed(lambda q: usearch_search(f16, q, k, "ip", exact=True, threads=1).keys, qs)
        print(
            f"{'exact usearch f16, 1 thread':<28} {0:>8.1f} {p50:>8.2f} {p99:>8.2f} {rec:>9.3f} {f16.nbytes / 2**20:>10.0f}",
            flush=True,
        )
        for dtype in filter(None, args.hnsw_dtypes.split(",")):
            idx = Index(ndim=d_, metric="ip", dtype=dtype, connectivity=16, expansion_add=128, expansion_search=64)
            t = time.perf_counter()
            idx.add(np.arange(n_, dtype=np.uint64), data)
            build = time.perf_counter() - t
            for ef in (64, 128):
                idx.expansion_search = ef
                p50, p99, res = timed(lambda q: idx.search(q, k).keys, qs)
                rec = np.mean([len(set(a) & set(b)) / k for a, b in zip(res, truth)])
                print(
                    f"{'HNSW ' + dtype + ' M16 ef' + str(ef):<28} {build:>8.1f} {p50:>8.2f} {p99:>8.2f} {rec:>9.3f} "
                    f"{idx.memory_usage / 2**20:>10.0f}",
                    flush=True,
                )
    print(load())


def real_vectors(args):
    """Static-model vectors of the whole arXiv sample (real text at 75k scale, in seconds)."""
    from static_embedder import StaticEmbedder

    emb = StaticEmbedder(Path(args.static_dir))
    texts = all_arxiv_texts()[: args.ann_size]
    t = time.perf_counter()
    vecs = emb.embed_documents(texts, progress=False)
    print(f"(static-embedded {len(texts):,} arXiv papers in {time.perf_counter() - t:.1f}s)")
    rng = np.random.default_rng(1)
    qs = [emb.embed_query(t[:80]) for t in rng.choice(texts, 200, replace=False)]  # title-ish prefixes
    return vecs, np.stack(qs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes: 100 docs, 300-doc SciFact, 20k vectors")
    ap.add_argument("--docs", type=int, default=None, help="arXiv abstracts for throughput (default 500)")
    ap.add_argument("--scifact", choices=["full", "subset", "tiny", "none"], default=None)
    ap.add_argument("--variants", default="fp32,bf16,int8,seq128,static")
    ap.add_argument("--hnsw-dtypes", default="f16", help="HNSW storage types to build, e.g. f16,i8")
    ap.add_argument("--queries", type=int, default=100, help="single-query latency samples")
    ap.add_argument("--ann-size", type=int, default=None, help="vectors for the exact-vs-HNSW test (default 75000)")
    ap.add_argument("--busy", type=int, default=0, help="CPU-spinning processes during the ANN test (a loaded server)")
    ap.add_argument("--real-ann", action="store_true", help="also run the ANN test on static-model arXiv vectors")
    ap.add_argument("--formats", action="store_true", help="compare title/abstract separators on SciFact")
    ap.add_argument("--skip", default="", help="comma list of sections to skip: variants,ann")
    ap.add_argument("--static-dir", default=str(Path(os.environ.get("TMPDIR", "/tmp")) / "paperboy-static-minilm"))
    args = ap.parse_args()
    if args.docs is None:
        args.docs = 100 if args.quick else 300
    if args.scifact is None:
        args.scifact = "tiny" if args.quick else "subset"
    if args.ann_size is None:
        args.ann_size = 20_000 if args.quick else 75_000
    if not SHARED.is_dir():
        raise SystemExit(f"shared data not found at {SHARED}")
    skip = set(args.skip.split(","))
    if "variants" not in skip:
        bench_variants(args)
    if args.formats:
        bench_formats(args)
    if "ann" not in skip:
        bench_ann(args)


if __name__ == "__main__":
    main()
