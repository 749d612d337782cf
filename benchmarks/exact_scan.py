"""The exact vector search below the HNSW switch: usearch's float16 scan vs the int8 scan (index/int8_scan.py).

    .venv/bin/python benchmarks/exact_scan.py [--sizes 74000,200000] [--real 74000]

Real embeddings of sample papers (ann_scale's cache; sizes above --real derived from them), the 200 held-out real
query vectors as queries, top 100 as hybrid search asks. Prints per size: wall and CPU ms per query for
both scans (interleaved query by query, one thread each), the int8 scan's build time and memory, and for
how many queries each scan's top 10 / top 100 are exactly the true ones (a float32 product of the float16
matrix). Asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ann_scale import CACHE, derive, real_vectors

K = 100


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="74000,200000")
    ap.add_argument("--real", type=int, default=74000)
    ap.add_argument("--cache", type=Path, default=CACHE)
    args = ap.parse_args()

    import psutil

    from paperboy.index.int8_scan import Int8Scan
    from paperboy.index.vectors import _load_onnxruntime_first

    _load_onnxruntime_first()
    from usearch.index import search as exact_search

    docs, queries = real_vectors(args.real, args.cache)
    queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    print(
        "| rows | usearch f16 ms (CPU) | int8 scan ms (CPU) | ratio | int8 build s | +RSS MB "
        "| usearch: exact top-10 / top-100 sets | int8: exact top-10 / top-100 sets |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n in (int(s) for s in args.sizes.split(",")):
        # Real rows, or beyond --real rows derived from them as in scale.py (not repeats: repeats tie).
        matrix = docs[:n].astype(np.float16) if n <= len(docs) else derive(docs, n, seed=n)
        rss0 = psutil.Process().memory_info().rss
        t0 = time.perf_counter()
        scan = Int8Scan(matrix)
        build = time.perf_counter() - t0
        extra = (psutil.Process().memory_info().rss - rss0) / 2**20
        fns = {
            "usearch": lambda q, m=matrix: np.asarray(
                exact_search(m, q.astype(np.float16), K, "ip", exact=True, threads=1).keys, dtype=np.int64
            ),
            "int8": lambda q, s=scan: s.search(q, K)[0],
        }
        for q in queries[:20]:  # warm up both
            for fn in fns.values():
                fn(q)
        wall = {name: [] for name in fns}
        cpu = {name: [] for name in fns}
        truth = np.argsort(-(queries @ matrix.astype(np.float32).T), axis=1, kind="stable")[:, :K]
        same = {name: [0, 0] for name in fns}
        for qi, q in enumerate(queries):
            got = {}
            for name, fn in fns.items():
                t, c = time.perf_counter(), time.process_time()
                got[name] = fn(q)
                wall[name].append((time.perf_counter() - t) * 1000)
                cpu[name].append((time.process_time() - c) * 1000)
            for name, rows in got.items():
                same[name][0] += set(rows[:10].tolist()) == set(truth[qi, :10].tolist())
                same[name][1] += set(rows.tolist()) == set(truth[qi].tolist())
        u, i = np.median(wall["usearch"]), np.median(wall["int8"])
        print(
            f"| {n:,} | {u:.2f} ({np.mean(cpu['usearch']):.2f}) | {i:.2f} ({np.mean(cpu['int8']):.2f}) | "
            f"x{u / i:.2f} | {build:.2f} | {extra:.0f} | "
            + " | ".join(f"{same[name][0]}/{len(queries)} / {same[name][1]}/{len(queries)}" for name in fns)
            + " |",
            flush=True,
        )


if __name__ == "__main__":
    main()
