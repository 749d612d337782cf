"""Grid search of the hybrid fusion knobs on SciFact *train* (the only split we tune on).

    .venv/bin/python benchmarks/tune_hybrid.py [--work DIR] [--quick]

Prints nDCG@10 / Recall@100 for each setting next to lexical-only and dense-only from the same
run, best first. The chosen defaults live in paperboy/ranking/hybrid.py (HybridParams).
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from paperboy.ranking.hybrid import HybridParams
from paperboy.service.evaluation import build_indexes, evaluate, load_dataset, work_dir_for

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--work", type=Path, default=Path("/tmp/paperboy-tune"))
    ap.add_argument("--model", default="default")
    ap.add_argument("--quick", action="store_true", help="a small grid")
    args = ap.parse_args()
    d = args.shared / "eval" / "scifact"
    ds = load_dataset(d / "corpus.jsonl", d / "queries.jsonl", d / "qrels" / "train.tsv")
    t0 = time.perf_counter()
    idx = build_indexes(ds, work_dir_for(args.work, ds.corpus), args.model, dense=True, progress=True)
    print(f"indexes ready in {time.perf_counter() - t0:.0f} s")
    base = evaluate(ds, idx, ("lexical", "dense"))
    best_single = max(base["lexical"]["ndcg@10"], base["dense"]["ndcg@10"])
    print(f"lexical nDCG@10 {base['lexical']['ndcg@10']:.4f}   dense {base['dense']['ndcg@10']:.4f}")
    weights = [0.4, 0.5, 0.6] if args.quick else [0.3, 0.4, 0.5, 0.6, 0.7]
    norms = ["zscore"] if args.quick else ["zscore", "minmax"]
    prf = [(0, 0.0), (3, 0.5)] if args.quick else [(0, 0.0), (3, 0.3), (3, 0.6), (5, 0.5), (10, 0.5)]
    rows = []
    for w, norm, (k, pw) in itertools.product(weights, norms, prf):
        p = HybridParams(lexical_weight=w, dense_weight=1 - w, norm=norm, prf_docs=k, prf_weight=pw)
        m = evaluate(ds, idx, ("hybrid",), p)["hybrid"]
        rows.append((m["ndcg@10"], m["recall@100"], f"convex w_lex={w} norm={norm} prf={k}x{pw}"))
    for k in (20, 60):
        p = HybridParams(fusion="rrf", rrf_k=k)
        m = evaluate(ds, idx, ("hybrid",), p)["hybrid"]
        rows.append((m["ndcg@10"], m["recall@100"], f"rrf k={k}"))
    rows.sort(reverse=True)
    print(f"{'nDCG@10':>8} {'R@100':>7} {'vs best single':>14}  setting")
    for nd, rc, name in rows:
        print(f"{nd:>8.4f} {rc:>7.4f} {nd - best_single:>+14.4f}  {name}")


if __name__ == "__main__":
    main()
