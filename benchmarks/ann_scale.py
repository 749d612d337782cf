"""Exact scan vs HNSW at 75k-3.1M vectors: recall@10, latency, build time; decides VectorIndex's switch.

    .venv/bin/python benchmarks/ann_scale.py [--sizes 75000,300000,1000000,3100000] [--real 4000]

Vectors: --real sample papers are embedded with the packaged encoder (cached in --cache), and
every size is DERIVED from them, not embedded: each vector is a random mix of two real paper
vectors (weights 1 and U(0, 0.6)) plus Gaussian noise, re-normalised, so the set keeps the
topical structure of real embeddings without 3.1M papers' worth of encoding. Queries are real:
200 sample titles encoded with embed_query. Truth is the exact f16 scan (usearch, what
VectorIndex serves below the switch). Filtered: a random 30% row mask, searched inside the graph
with the over-fetch VectorIndex uses. Threads: 2 for builds (the box), 1 for queries (a request).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_corpus import SAMPLE, load_sample

K = 10


def real_vectors(n: int, cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """(documents, queries): n sample papers and 200 titles, embedded once and cached as .npy."""
    docs_path, q_path = cache / f"real-docs-{n}.npy", cache / "real-queries-200.npy"
    if docs_path.exists() and q_path.exists():
        return np.load(docs_path), np.load(q_path)
    from paperboy.index.embedder import Embedder, document_text

    sample = load_sample(SAMPLE)
    rng = np.random.default_rng(7)
    pick = rng.choice(len(sample), n + 200, replace=False)
    emb = Embedder("default")
    texts = [
        document_text({"title": sample[i]["title"], "abstract": " ".join(sample[i]["sentences"])}) for i in pick[:n]
    ]
    t = time.perf_counter()
    docs = emb.embed_documents(texts, progress=False).astype(np.float32)
    print(f"(embedded {n:,} real sample papers in {time.perf_counter() - t:.0f} s)", flush=True)
    queries = np.stack([emb.embed_query(sample[i]["title"]) for i in pick[n:]]).astype(np.float32)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(docs_path, docs)
    np.save(q_path, queries)
    return docs, queries


def derive(real: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """n float16 unit vectors mixed from pairs of real ones plus noise (see the module docstring)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, real.shape[1]), dtype=np.float16)
    for start in range(0, n, 200_000):
        m = min(200_000, n - start)
        a, b = rng.integers(0, len(real), m), rng.integers(0, len(real), m)
        w = rng.uniform(0, 0.6, (m, 1)).astype(np.float32)
        v = real[a] + w * real[b] + rng.standard_normal((m, real.shape[1]), dtype=np.float32) * 0.03
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        out[start : start + m] = v
    return out


def timed(fn, queries) -> tuple[float, float, list]:
    lat, res = [], []
    for q in queries:
        t = time.perf_counter()
        res.append(fn(q))
        lat.append((time.perf_counter() - t) * 1000)
    return float(np.percentile(lat, 50)), float(np.percentile(lat, 99)), res


def recall(got: list, truth: list) -> float:
    return float(np.mean([len(set(map(int, a[:K])) & set(map(int, b[:K]))) / K for a, b in zip(got, truth)]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="75000,300000,1000000,3100000")
    ap.add_argument("--real", type=int, default=4000)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/paperboy-ann-cache"))
    ap.add_argument("--connectivity", type=int, default=16)
    ap.add_argument("--expansion-add", type=int, default=64)
    ap.add_argument("--efs", default="64,128,256")
    ap.add_argument("--build-threads", type=int, default=2)
    args = ap.parse_args()
    from usearch.index import Index
    from usearch.index import search as exact_search

    real, queries = real_vectors(args.real, args.cache)
    q16 = queries.astype(np.float16)
    print(
        f"{'vectors':>9} {'method':<24} {'build s':>8} {'p50 ms':>7} {'p99 ms':>7} {'recall@10':>9} {'filt rec':>8}",
        flush=True,
    )
    for n in (int(s) for s in args.sizes.split(",")):
        data = derive(real, n)
        mask = np.random.default_rng(3).random(n) < 0.3
        p50, p99, truth = timed(lambda q, data=data: exact_search(data, q, K, "ip", exact=True, threads=1).keys, q16)
        print(f"{n:>9,} {'exact f16 scan':<24} {0:>8.0f} {p50:>7.1f} {p99:>7.1f} {1.0:>9.3f} {'':>8}", flush=True)
        ftruth = [np.flatnonzero(mask)[np.argsort(-(data[mask].astype(np.float32) @ q))[:K]] for q in queries[:50]]
        ann = Index(
            ndim=data.shape[1],
            metric="ip",
            dtype="f16",
            connectivity=args.connectivity,
            expansion_add=args.expansion_add,
        )
        t = time.perf_counter()
        ann.add(np.arange(n, dtype=np.uint64), data, threads=args.build_threads)
        build = time.perf_counter() - t
        for ef in (int(e) for e in args.efs.split(",")):
            ann.expansion_search = ef
            p50, p99, got = timed(lambda q, ann=ann: ann.search(q, K, threads=1).keys, q16)

            def filtered(q, ann=ann, ef=ef, mask=mask):
                keys = ann.search(q, max(ef, K * 7), threads=1).keys  # over-fetch ~2/0.3 like VectorIndex
                return keys[mask[keys]][:K]

            _, _, fgot = timed(filtered, q16[:50])
            print(
                f"{n:>9,} {f'HNSW M{args.connectivity} add{args.expansion_add} ef{ef}':<24} {build:>8.0f} "
                f"{p50:>7.2f} {p99:>7.2f} {recall(got, truth):>9.3f} {recall(fgot, ftruth):>8.3f}",
                flush=True,
            )
        ann = data = None  # free 2.4 GB at 3.1M before the next size


if __name__ == "__main__":
    main()
