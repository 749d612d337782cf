"""Calibrate the cosine floor for papers found by meaning alone (ranking.hybrid.DENSE_FLOOR).

    .venv/bin/python benchmarks/dense_floor.py --home DIR [--corpus C --queries Q --qrels R] [--arxiv-home H]

For each candidate floor, prints SciFact train hybrid and dense nDCG@10 / Recall@100 with the floor
applied (what a user gets), how many dense-only hits per query survive, and the share of nonsense
queries (random letter strings, seeded) that still get a hit by meaning: the floor should make
that share ~0 while hybrid nDCG@10 stays at or above the unfloored figure. --home is a `paperboy eval`
home (its embeddings are reused); --arxiv-home adds the nonsense check on a real paperboy home.
"""

from __future__ import annotations

import argparse
import os
import random
import string
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from paperboy.config import Settings  # noqa: E402
from paperboy.index.indexes import Indexes  # noqa: E402
from paperboy.ranking.hybrid import HybridParams, HybridSearcher  # noqa: E402
from paperboy.service.evaluation import build_indexes, evaluate, load_dataset, work_dir_for  # noqa: E402

FLOORS = (None, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4)
SCIFACT = Path(os.environ.get("PAPERBOY_SHARED", REPO.parent / "shared")) / "eval" / "scifact"


def nonsense_queries(n: int = 200, seed: int = 42) -> list[str]:
    rng = random.Random(seed)
    word = lambda: "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 9)))  # noqa: E731
    return [" ".join(word() for _ in range(rng.randint(1, 3))) for _ in range(n)]


def top_cosines(idx: Indexes, queries: list[str]) -> np.ndarray:
    """Best cosine of each query against the corpus vectors."""
    vec = idx.vectors
    return np.array([float(vec.search(idx.embedder.embed_query(q), 1).scores[0]) for q in queries])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, required=True, help="a `paperboy eval --home` directory (embeddings reused)")
    ap.add_argument("--corpus", type=Path, default=SCIFACT / "corpus.jsonl")
    ap.add_argument("--queries", type=Path, default=SCIFACT / "queries.jsonl")
    ap.add_argument("--qrels", type=Path, default=SCIFACT / "qrels" / "train.tsv")
    ap.add_argument("--arxiv-home", type=Path, help="a paperboy home with vectors, for the nonsense check on papers")
    args = ap.parse_args()
    model = Settings(home=args.home).embedding_model
    ds = load_dataset(args.corpus, args.queries, args.qrels)
    idx = build_indexes(ds, work_dir_for(args.home / "eval", args.corpus), model, dense=True, progress=True)
    junk = nonsense_queries()
    junk_top = {"scifact": top_cosines(idx, junk)}
    if args.arxiv_home:
        home = Settings(home=args.arxiv_home)
        junk_top["arxiv"] = top_cosines(Indexes(home.index_dir, home.embedding_model), junk)
    for name, tops in junk_top.items():
        print(f"nonsense top-1 cosine on {name}: p50 {np.percentile(tops, 50):.3f} p95 {np.percentile(tops, 95):.3f} "
              f"max {tops.max():.3f}")
    print(f"{'floor':>6} {'hybrid nDCG@10':>15} {'R@100':>7} {'dense nDCG@10':>14} {'dense-only/q':>13} "
          + " ".join(f"{'junk hit ' + n:>16}" for n in junk_top))
    for floor in FLOORS:
        params = HybridParams(dense_floor=floor)
        res = evaluate(ds, idx, ("hybrid", "dense"), params)
        searcher = HybridSearcher(idx, params)
        kept = [sum(1 for s in searcher.retrieve(q).sources.values() if s == ("dense",))
                for q in list(ds.queries.values())[:200]]
        junk_share = " ".join(f"{float(np.mean(t >= floor)) if floor is not None else 1.0:>16.3f}"
                              for t in junk_top.values())
        print(f"{floor if floor is not None else 'none':>6} {res['hybrid']['ndcg@10']:>15.4f} "
              f"{res['hybrid']['recall@100']:>7.4f} {res['dense']['ndcg@10']:>14.4f} {np.mean(kept):>13.1f} {junk_share}",
              flush=True)


if __name__ == "__main__":
    main()
