"""Calibrate the cosine floor for papers found by meaning alone (ranking.hybrid.DENSE_FLOOR).

    .venv/bin/python benchmarks/dense_floor.py --home DIR [--corpus C --queries Q --qrels R] [--arxiv-home H]

Runs each SciFact train query once in hybrid and dense mode without a floor, then applies every
candidate floor to those lists exactly as `HybridSearcher` does (dense-only hits under the floor
leave; the order of the rest is unchanged) and prints nDCG@10 / Recall@100, the dense-only hits
kept per query, and the share of nonsense queries (seeded random letter strings) whose nearest
paper still clears the floor. The floor should bring that share to ~0 while hybrid nDCG@10 stays
at or above the unfloored figure. --home is a `paperboy eval` home (its embeddings are reused);
--arxiv-home adds the nonsense check on a real paperboy home with vectors.
"""

from __future__ import annotations

import argparse
import os
import random
import string
import sys
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from paperboy.config import Settings  # noqa: E402
from paperboy.index.indexes import Indexes  # noqa: E402
from paperboy.ranking.hybrid import HybridParams, HybridSearcher  # noqa: E402
from paperboy.service.evaluation import build_indexes, load_dataset, work_dir_for  # noqa: E402

FLOORS = (None, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45)
SCIFACT = Path(os.environ.get("PAPERBOY_SHARED", REPO.parent / "shared")) / "eval" / "scifact"


def nonsense_queries(n: int = 200, seed: int = 42) -> list[str]:
    rng = random.Random(seed)

    def word() -> str:
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 9)))

    return [" ".join(word() for _ in range(rng.randint(1, 3))) for _ in range(n)]


def top_cosines(idx: Indexes, queries: list[str]) -> np.ndarray:
    """Best cosine of each query against the vectors of an index."""
    vec = idx.vectors
    return np.array([float(vec.search(idx.embedder.embed_query(q), 1).scores[0]) for q in queries])


def scores(qrels: dict, runs: dict) -> tuple[float, float]:
    from ranx import Qrels, Run, evaluate

    run = {q: ({d: float(len(ids) - r) for r, d in enumerate(ids)} or {"__none__": 0.0}) for q, ids in runs.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = evaluate(Qrels(qrels), Run(run), ["ndcg@10", "recall@100"], make_comparable=True)
    return float(out["ndcg@10"]), float(out["recall@100"])


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
    searcher = HybridSearcher(idx, HybridParams(dense_floor=None))
    hybrid, dense = {}, {}
    for qid, text in ds.queries.items():
        got = searcher.retrieve(text, mode="hybrid")
        qv = idx.embedder.embed_query(text)
        cos = {i: float(v @ qv) for i in got.hits.ids if (v := idx.vectors.vector(i)) is not None}
        hybrid[qid] = [(i, got.sources.get(i) == ("dense",), cos.get(i, -1.0)) for i in got.hits.ids]
        d = searcher.retrieve(text, mode="dense")
        dense[qid] = list(zip(d.hits.ids, d.hits.scores.tolist()))
    junk = nonsense_queries()
    junk_top = {"scifact": top_cosines(idx, junk)}
    if args.arxiv_home:
        home = Settings(home=args.arxiv_home)
        junk_top["arxiv"] = top_cosines(Indexes(home.index_dir, home.embedding_model), junk)
    for name, tops in junk_top.items():
        print(
            f"nonsense top-1 cosine on {name}: p50 {np.percentile(tops, 50):.3f} p95 {np.percentile(tops, 95):.3f} "
            f"max {tops.max():.3f}"
        )
    print(
        f"{'floor':>6} {'hybrid nDCG@10':>15} {'R@100':>7} {'dense nDCG@10':>14} {'dense-only/q':>13} "
        + " ".join(f"{'nonsense hit ' + n:>20}" for n in junk_top)
    )
    for floor in FLOORS:
        lo = -2.0 if floor is None else floor
        h_runs = {q: [i for i, only, c in hits if not only or c >= lo] for q, hits in hybrid.items()}
        d_runs = {q: [i for i, c in hits if c >= lo] for q, hits in dense.items()}
        kept = np.mean([sum(1 for _i, only, c in hits if only and c >= lo) for hits in hybrid.values()])
        h_ndcg, h_rec = scores(ds.qrels, h_runs)
        d_ndcg, _ = scores(ds.qrels, d_runs)
        share = " ".join(f"{float(np.mean(t >= lo)):>20.3f}" for t in junk_top.values())
        print(
            f"{'none' if floor is None else floor:>6} {h_ndcg:>15.4f} {h_rec:>7.4f} {d_ndcg:>14.4f} {kept:>13.1f} {share}",
            flush=True,
        )


if __name__ == "__main__":
    main()
