"""Search quality on the whole SciFact train split and on the slice the test suite uses, side by side.

    .venv/bin/python benchmarks/quality.py [--work DIR] [--slice-only]

Prints nDCG@10 / Recall@100 / MRR@10 and latency per mode for both, so the in-suite thresholds
(tests/test_eval.py) can be recalibrated against the full split they stand for.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from paperboy.config import Settings  # noqa: E402
from paperboy.service.evaluation import run_eval, slice_corpus  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--work", type=Path, default=Path("/tmp/paperboy-quality"))
    ap.add_argument("--slice-only", action="store_true")
    args = ap.parse_args()
    src = args.shared / "eval" / "scifact"
    queries, qrels = src / "queries.jsonl", src / "qrels" / "train.tsv"
    runs = {"slice": slice_corpus(src / "corpus.jsonl", qrels, args.work / "slice")}  # as tests/test_eval.py
    if not args.slice_only:
        runs["full"] = src / "corpus.jsonl"
    model = Settings(home=args.work).embedding_model
    print(f"{'split':<6} {'mode':<8} {'nDCG@10':>8} {'R@100':>7} {'MRR@10':>7} {'p50 ms':>7} {'p99 ms':>7}")
    for name, corpus in runs.items():
        # What `paperboy --home WORK/home-NAME eval` runs, in this process.
        res = run_eval(corpus, queries, qrels, work=args.work / f"home-{name}" / "eval", model=model)
        for mode, m in res.items():
            print(
                f"{name:<6} {mode:<8} {m['ndcg@10']:>8.4f} {m['recall@100']:>7.4f} {m['mrr@10']:>7.4f} "
                f"{m['p50_ms']:>7.2f} {m['p99_ms']:>7.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
