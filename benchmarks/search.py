"""Search at the scale of the real sample: build times, index sizes, serving RSS, query latency per mode.

    .venv/bin/python benchmarks/search.py [--home DIR] [--embed-sample N]

--home: an instance to measure (ingested + indexed ones are reused; missing parts are built and
timed). Default: a fresh temp instance, ingesting ../shared/corpus/arxiv-cs-2025-2026.
Embedding all 74,728 papers takes a while on 2 cores; when the instance already has every vector,
the embedding throughput is re-measured on --embed-sample papers and the full time extrapolated
(printed as such).

Queries: 220 built from random real titles (Random(42)) + 32 hand-written questions, warm, one
client, through the same Paperboy.search() the web and CLI call (hydration from the store
included) and through the bare retriever (ids only).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lexical_engines import NATURAL_QUERIES, load_corpus, make_queries

from paperboy.config import Settings
from paperboy.index.lexical import LexicalIndex
from paperboy.service import Paperboy

REPO = Path(__file__).resolve().parents[1]


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20 if path.exists() else 0.0


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(values, p)) if values else float("nan")


def time_it(fn, queries: list[str], repeats: int = 2) -> tuple[float, float]:
    for q in queries[:20]:
        fn(q)  # warm
    lat = []
    for _ in range(repeats):
        for q in queries:
            t0 = time.perf_counter()
            fn(q)
            lat.append((time.perf_counter() - t0) * 1000)
    return pct(lat, 50), pct(lat, 99)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path)
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--embed-sample", type=int, default=2000)
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="pb-search-bench-")
    home = args.home or Path(tmp.name) / "home"
    pb = Paperboy(Settings(home=home))
    shards = sorted((args.shared / "corpus" / "arxiv-cs-2025-2026").glob("*.jsonl.gz"))
    if pb.store.count() == 0:
        t0 = time.perf_counter()
        pb.ingest(shards)
        print(f"ingested {pb.store.count():,} papers in {time.perf_counter() - t0:.1f} s")
    n = pb.store.count()
    print(f"papers in store: {n:,}")

    # Lexical: always rebuilt into a scratch directory so the figure is a full build.
    papers = [p for _s, p in pb.store.iter_papers(0)]
    with tempfile.TemporaryDirectory(prefix="pb-lex-") as lexdir:
        t0 = time.perf_counter()
        LexicalIndex(Path(lexdir)).add(papers)
        lex_build = time.perf_counter() - t0
        lex_size = dir_mb(Path(lexdir))
    del papers
    pb.update_index(embed=False)

    # Dense: embed what is missing (timed), or re-measure throughput on a sample.
    status = pb.index_status()
    t0 = time.perf_counter()
    rep = pb.update_index(embed=True, progress=sys.stderr.isatty())
    embed_wall = time.perf_counter() - t0
    if rep.dense_error:
        sys.exit(f"dense index failed: {rep.dense_error}")
    emb = pb.indexes.embedder
    if rep.embedded >= n * 0.9:
        embed_rate, embed_note = rep.embedded / embed_wall, "measured on the full sample"
    else:
        from paperboy.index.embedder import document_text

        sample = [document_text(p) for _i, (_s, p) in zip(range(args.embed_sample), pb.store.iter_papers(0))]
        t0 = time.perf_counter()
        emb.embed_documents(sample, progress=False)
        embed_rate = len(sample) / (time.perf_counter() - t0)
        embed_note = (
            f"measured on {len(sample):,} papers, extrapolated ({status['dense_papers']:,} were already embedded)"
        )
    vec = pb.indexes.vectors
    t0 = time.perf_counter()
    if hasattr(vec, "build_ann") and vec.ann_active():
        vec.build_ann()
    ann_build = time.perf_counter() - t0
    vec.save()  # drops superseded file versions so the size is the live index
    dense_size = dir_mb(pb.indexes.dense_dir)

    corpus = load_corpus()
    queries = make_queries(corpus, 220)  # includes the hand-written questions
    del corpus
    rss_before = psutil.Process().memory_info().rss / 2**20
    rows = []
    for mode in ("lexical", "dense", "hybrid"):
        svc = time_it(lambda q, m=mode: pb.search(q, mode=m, limit=10), queries)
        bare = time_it(lambda q, m=mode: pb.searcher.retrieve(q, mode=m, depth=100), queries)
        rows.append((mode, svc, bare))
    rss = psutil.Process().memory_info().rss / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"\nqueries: {len(queries)} (220 from titles, {len(NATURAL_QUERIES)} questions), warm, 1 client, 2 passes")
    print(f"embedder: {emb.name} ({emb.precision}, dim {emb.dim})")
    print(f"lexical build      : {lex_build:6.1f} s   size {lex_size:6.1f} MiB  (tantivy, full rebuild of {n:,})")
    print(f"dense embedding    : {n / embed_rate:6.1f} s   ({embed_rate:,.0f} papers/s; {embed_note})")
    print(
        f"dense index build  : {ann_build:6.1f} s   size {dense_size:6.1f} MiB  "
        f"({'HNSW' if vec.ann_active() else 'exact search, no graph'})"
    )
    print(
        f"RSS while serving  : {rss:6.0f} MiB (before queries {rss_before:.0f}, peak incl. builds {peak:.0f}); target <= 1024"
    )
    print(
        f"{'mode':<8} {'search() p50':>12} {'p99':>8} {'retrieve p50':>13} {'p99':>8}   (ms; search() = ranked + hydrated page of 10)"
    )
    for mode, (s50, s99), (r50, r99) in rows:
        print(f"{mode:<8} {s50:>12.2f} {s99:>8.2f} {r50:>13.2f} {r99:>8.2f}")
    print("targets: hybrid p50 <= 20 ms, p99 <= 60 ms (incl. query embedding); lexical p50 <= 5 ms")
    pb.close()


if __name__ == "__main__":
    main()
