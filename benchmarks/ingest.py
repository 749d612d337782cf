"""Ingest throughput and peak RSS on the 74,728-paper arXiv sample (store only, no index, no embeddings).

    .venv/bin/python benchmarks/ingest.py [--shared ../shared] [--home DIR]

Runs `paperboy ingest` as a child process (so peak RSS is the real command's) twice: a cold ingest
into an empty store, then the same input again, which must add and update nothing.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_ingest(home: Path, files: list[Path]) -> tuple[dict, float, float]:
    """(summary json, wall seconds, child peak RSS MiB) of one `paperboy ingest` run."""
    cmd = [
        sys.executable,
        "-m",
        "paperboy.cli",
        "--home",
        str(home),
        "ingest",
        "--json",
        "--no-index",
        *map(str, files),
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode not in (0,):
        sys.exit(f"ingest failed ({proc.returncode}): {proc.stderr[-2000:]}")
    # ru_maxrss of children is the max over all children so far; the first run sets it, later runs can only raise it.
    return json.loads(proc.stdout), wall, max(peak, before) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--home", type=Path, help="data directory to ingest into (default: a fresh temp dir)")
    args = ap.parse_args()
    files = sorted((args.shared / "corpus" / "arxiv-cs-2025-2026").glob("*.jsonl.gz"))
    if not files:
        sys.exit(f"no sample shards under {args.shared}/corpus/arxiv-cs-2025-2026")
    with tempfile.TemporaryDirectory(prefix="pb-bench-") as tmp:
        home = args.home or Path(tmp) / "home"
        cold, cold_s, cold_rss = run_ingest(home, files)
        n = cold["added"] + cold["updated"] + cold["unchanged"]
        warm, warm_s, _ = run_ingest(home, files)
        db = home / "paperboy.db"
        size = sum(p.stat().st_size for p in home.glob("paperboy.db*")) / 2**20 if db.exists() else 0
        print(f"files: {len(files)} shards, {sum(f.stat().st_size for f in files) / 2**20:.1f} MiB gzipped")
        print(
            f"cold ingest : {n:,} papers in {cold_s:.1f} s = {n / cold_s:,.0f} papers/s "
            f"(added {cold['added']:,}, rejected {cold['rejected']}, duplicates {cold['duplicates']})"
        )
        print(f"peak RSS    : {cold_rss:.0f} MiB (target <= 500)")
        print(
            f"re-ingest   : {warm_s:.1f} s = {n / warm_s:,.0f} papers/s; added {warm['added']}, "
            f"updated {warm['updated']}, unchanged {warm['unchanged']:,}"
        )
        print(f"store size  : {size:.0f} MiB (SQLite, WAL)")
        print(f"target      : >= 5,000 papers/s -> {'met' if n / cold_s >= 5000 else 'NOT met'}")
        if warm["added"] or warm["updated"]:
            sys.exit("re-ingest changed the store: ingest is not idempotent")


if __name__ == "__main__":
    main()
