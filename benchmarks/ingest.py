"""Ingest throughput and peak RSS on the 74,728-paper arXiv sample, or storing CPU and time to searchable, old vs new.

    .venv/bin/python benchmarks/ingest.py [--shared ../shared] [--home DIR]
    .venv/bin/python benchmarks/ingest.py --input FILE [--against REF]

Without --input: runs `paperboy ingest` as a child process (so peak RSS is the real command's) twice: a cold
ingest into an empty store, then the same input again, which must add and update nothing.

With --input (e.g. `head -n 300000` of the 3.1M snapshot): side by side in one run, the code at REF (a
`git worktree` of it, default main) and this tree, each into a fresh home:
  store       `paperboy ingest --no-index`: CPU seconds of the storing process per 100k papers (the parser
              child's apart), wall time
  searchable  `paperboy ingest` (the keyword index included; with this tree's follower it is built while
              storing): wall time until the command returns, i.e. until keyword search finds every paper,
              and the CPU of the whole process tree.
Under load, wall times are distorted; the CPU figures and the ratios are the robust ones.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Runs the CLI, then writes this process's own CPU and its (waited) children's into $PB_BENCH_RUSAGE.
_MEASURED = """
import atexit, json, os, resource, runpy, sys
def _out():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(os.environ["PB_BENCH_RUSAGE"], "w") as f:
        json.dump({"self": s.ru_utime + s.ru_stime, "children": c.ru_utime + c.ru_stime}, f)
atexit.register(_out)
sys.argv = ["paperboy", *sys.argv[1:]]
runpy.run_module("paperboy.cli", run_name="__main__")
"""


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


def sample(args: argparse.Namespace) -> None:
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


def measured_ingest(tree: Path, home: Path, file: Path, *flags: str) -> dict:
    """One `paperboy ingest` of `file` with the code of `tree`: its summary, wall and CPU seconds, index state."""
    rusage = home.parent / f"{home.name}.rusage.json"
    env = {**os.environ, "PYTHONPATH": str(tree), "PB_BENCH_RUSAGE": str(rusage)}
    cmd = [sys.executable, "-c", _MEASURED, "--home", str(home), "ingest", "--json", "-q", *flags, str(file)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tree)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"ingest with {tree} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    cpu = json.loads(rusage.read_text())
    manifest = json.loads((home / "index" / "manifest.json").read_text()) if "--no-index" not in flags else {}
    return {"report": json.loads(proc.stdout), "wall": wall, **cpu, "lexical_seq": manifest.get("lexical_seq")}


def load() -> str:
    return "load {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def compare(args: argparse.Namespace) -> None:
    from _worktree import worktree_of

    file = args.input.resolve()
    rows = []
    with worktree_of(args.against) as old, tempfile.TemporaryDirectory(prefix="pb-bench-ingest-") as tmp:
        trees = {f"{args.against} (before)": old, "this tree": REPO}
        print(f"input: {file} ({file.stat().st_size / 2**20:,.0f} MiB); {load()}")
        for stage, flags in [s for s in (("store", ("--no-index",)), ("searchable", ())) if s[0] in args.stages]:
            for label, tree in trees.items():
                r = measured_ingest(tree, Path(tmp) / f"{stage}-{len(rows)}", file, *flags)
                n = r["report"]["added"] + r["report"]["updated"] + r["report"]["unchanged"]
                rows.append((stage, label, r))
                print(
                    f"  {stage:<10} {label:<18} {n:,} papers: wall {r['wall']:.1f} s; storing process {r['self']:.1f}"
                    f" CPU-s ({r['self'] / n * 1e5:.1f} per 100k); its children {r['children']:.1f} CPU-s; {load()}",
                    flush=True,
                )
    by = {(stage, label): r for stage, label, r in rows}
    before, after = trees
    for stage in args.stages:
        b, a = by[(stage, before)], by[(stage, after)]
        print(
            f"{stage}: after/before storing-process CPU {a['self'] / b['self']:.2f}, whole-tree CPU "
            f"{(a['self'] + a['children']) / (b['self'] + b['children']):.2f}, wall {a['wall'] / b['wall']:.2f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--home", type=Path, help="data directory to ingest into (default: a fresh temp dir)")
    ap.add_argument("--input", type=Path, help="compare REF and this tree on this file (e.g. 300k snapshot lines)")
    ap.add_argument("--against", default="main", help="git ref of the code to compare with (default main)")
    ap.add_argument("--stages", type=lambda s: s.split(","), default=["store", "searchable"], help="store,searchable")
    args = ap.parse_args()
    compare(args) if args.input else sample(args)


if __name__ == "__main__":
    main()
