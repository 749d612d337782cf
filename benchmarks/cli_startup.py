"""Start-up cost of command-line calls: wall time and peak RSS against a baseline commit, side by side.

    .venv/bin/python benchmarks/cli_startup.py [--baseline REF] [--home DIR] [--runs 7] [--only hybrid] [--breakdown]

Each command runs --runs times in a fresh interpreter, for this checkout and for a `git worktree`
of REF (default: the commit before the issue-10 restructuring) side by side, interleaved so both
see the same machine load; prints the median wall and CPU time and the peak RSS of each, their ratio and the
load average. --home with an embedded index (`paperboy index`) adds `search --mode hybrid`, the
issue-13 target (<= 1.0 s, <= 300 MB). --breakdown then runs each command once more in this checkout and
prints what its memory is at its sampled peak: anonymous vs file-backed (mapped files: page cache the kernel
can drop), and the files by kind (benchmarks/_memory.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BEFORE = "aab50a8"  # main before "Structure:" (issue 10)


def run_once(tree: Path, args: list[str]) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS MiB) of `python -m paperboy.cli ARGS` with `tree` first on sys.path."""
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "paperboy.cli", *args],
        env=env,
        cwd=tree,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, _, usage = os.wait4(proc.pid, 0)  # this child's own rusage (ru_maxrss in KiB on Linux)
    wall = time.perf_counter() - t0
    proc.returncode = 0  # reaped above; keeps Popen from waiting again
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def print_breakdown(args: list[str]) -> None:
    """One more run of `paperboy ARGS` in this checkout, sampled: what its memory is at the largest RSS seen."""
    from _memory import peak_breakdown

    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "paperboy.cli", *args]
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    b = peak_breakdown(proc)
    proc.wait()
    if b is None:
        return
    files = ", ".join(f"{k} {v:.0f}" for k, v in b["files"].items())
    print(
        f"{'':<44} at peak: RSS {b['rss_mb']:.0f} MB = anonymous {b['anon_mb']:.0f} + file-backed "
        f"{b['file_mb']:.0f} ({files}); USS {b['uss_mb']:.0f}",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default=BEFORE)
    ap.add_argument("--home", type=Path, help="an instance with papers (default: a fresh one with the HF page)")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--only", help="run only the commands whose words contain this (e.g. hybrid)")
    ap.add_argument("--breakdown", action="store_true", help="also print anonymous vs file-backed memory at exit")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pb-cli-startup-"))
    base = work / "baseline"
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(base), args.baseline],
        check=True,
        capture_output=True,
    )
    home = args.home.resolve() if args.home else None
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
    if (home / "index" / "dense").is_dir():
        commands.append(["--home", str(home), "search", "--mode", "hybrid", "diffusion models for image editing"])
    if args.only:
        commands = [c for c in commands if args.only in " ".join(c)]
    try:
        print(
            f"{'command':<44} {'baseline s':>10} {'now s':>8} {'ratio':>6} {'base CPU s':>10} {'now CPU s':>9} "
            f"{'base MB':>8} {'now MB':>7}  load"
        )
        for cmd in commands:
            walls: dict[str, list[float]] = {"baseline": [], "now": []}
            cpus: dict[str, list[float]] = {"baseline": [], "now": []}
            rss: dict[str, list[float]] = {"baseline": [], "now": []}
            for _ in range(args.runs):
                for name, tree in (("baseline", base), ("now", REPO)):
                    wall, cpu, mb = run_once(tree, cmd)
                    walls[name].append(wall)
                    cpus[name].append(cpu)
                    rss[name].append(mb)
            b, n = statistics.median(walls["baseline"]), statistics.median(walls["now"])
            label = " ".join(c for c in cmd if not c.startswith("/") and c != "--home")
            print(
                f"{label[:44]:<44} {b:>10.3f} {n:>8.3f} {b / n:>5.1f}x {statistics.median(cpus['baseline']):>10.3f} "
                f"{statistics.median(cpus['now']):>9.3f} {max(rss['baseline']):>8.0f} "
                f"{max(rss['now']):>7.0f}  {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            if args.breakdown:
                print_breakdown(cmd)
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(base)], check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
