"""Start-up cost of command-line calls: wall time against a baseline commit, side by side.

    .venv/bin/python benchmarks/cli_startup.py [--baseline REF] [--home DIR] [--runs 7]

Each command runs --runs times in a fresh interpreter, for this checkout and for a `git worktree`
of REF (default: the commit before the issue-10 restructuring) side by side, interleaved so both
see the same machine load; prints the median wall time of each and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BEFORE = "aab50a8"  # main before "Structure:" (issue 10)


def run_once(tree: Path, args: list[str]) -> float:
    """Wall seconds of `python -m paperboy.cli ARGS` with `tree` first on sys.path."""
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "paperboy.cli", *args],
        env=env,
        cwd=tree,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default=BEFORE)
    ap.add_argument("--home", type=Path, help="an instance with papers (default: a fresh one with the HF page)")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pb-cli-startup-"))
    base = work / "baseline"
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(base), args.baseline],
        check=True,
        capture_output=True,
    )
    home = args.home
    if home is None:
        home = work / "home"
        page = REPO.parent / "shared" / "corpus" / "hf-papers-search-page.txt"
        subprocess.run(
            [sys.executable, "-m", "paperboy.cli", "--home", str(home), "ingest", "-q", str(page)],
            check=True,
            capture_output=True,
            cwd=REPO,
        )
    commands = [
        ["--help"],
        ["--home", str(home), "stats"],
        ["--home", str(home), "search", "--mode", "lexical", "diffusion"],
    ]
    try:
        print(f"{'command':<28} {'baseline s':>10} {'now s':>8} {'ratio':>6}")
        for cmd in commands:
            walls: dict[str, list[float]] = {"baseline": [], "now": []}
            for _ in range(args.runs):
                for name, tree in (("baseline", base), ("now", REPO)):
                    walls[name].append(run_once(tree, cmd))
            b, n = statistics.median(walls["baseline"]), statistics.median(walls["now"])
            label = " ".join(c for c in cmd if not c.startswith("/") and c != "--home")
            print(f"{label:<28} {b:>10.3f} {n:>8.3f} {b / n:>5.1f}x", flush=True)
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(base)], check=False)


if __name__ == "__main__":
    main()
