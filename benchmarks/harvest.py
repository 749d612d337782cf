"""Harvest throughput from a loopback arXiv OAI-PMH server, and the steady-state cost of one new day.

    .venv/bin/python benchmarks/harvest.py [--shared ../shared] [--page-size 1000] [--day 1500]

1. The whole 74,728-paper sample served by tests/oai_server.py in arXiv's OAI format (1,000 records
   per page, as arXiv pages), harvested by `paperboy harvest` as a child process with the politeness
   delay at 0: records/s, requests, peak RSS of the command.
2. Steady state: an instance already holding and having embedded one month (the 2026-07 shard)
   harvests one new day of `--day` papers, then `paperboy index` brings the keyword index and the
   embeddings up to date: CPU seconds (user + system) and wall seconds of each step.
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
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.oai_server import OaiServer, load_sample  # noqa: E402


def child(home: Path, env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess, float, float, float]:
    """(process, wall s, CPU s, peak RSS MiB of the children so far) of one `paperboy` command."""
    cmd = [sys.executable, "-m", "paperboy.cli", "--home", str(home), *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 3):
        sys.exit(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc, wall, cpu, after.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--page-size", type=int, default=1000)
    ap.add_argument("--day", type=int, default=1500, help="papers in the steady-state day")
    ap.add_argument("--home", type=Path, help="directory for the two homes (default: a temporary one)")
    args = ap.parse_args()
    shards = sorted((args.shared / "corpus" / "arxiv-cs-2025-2026").glob("*.jsonl.gz"))
    today = datetime.now(timezone.utc).date()
    yesterday = today - timedelta(days=1)

    t0 = time.perf_counter()
    sample = load_sample(shards)
    server = OaiServer(page_size=args.page_size)
    # Datestamp: the day the sample crawled it; then one new day of papers with fresh ids, announced today.
    new = [dict(r, id=f"2612.{n:05d}", title=f"{r['title']} (day {today})") for n, r in enumerate(sample[: args.day])]
    server.load([(r, r.get("crawl_date") or "2025-03-01") for r in sample] + [(r, str(today)) for r in new])
    server.start()
    print(
        f"server: {len(sample):,} sample records + {len(new):,} new ones, {args.page_size} per page "
        f"(loaded in {time.perf_counter() - t0:.1f} s)"
    )

    base = args.home or Path(tempfile.mkdtemp(prefix="pb-harvest-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERBOY_")}
    env.update(
        {
            "PAPERBOY_ARXIV_OAI_URL": server.url + "/oai",
            "PAPERBOY_FOLLOW": '["cs"]',
            "PAPERBOY_HARVEST_MIN_INTERVAL": "0",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "PYTHONPATH": str(REPO),
        }
    )

    # 1. The whole sample.
    home = base / "full"
    me = resource.getrusage(resource.RUSAGE_SELF)
    proc, wall, cpu, rss = child(
        home,
        env,
        "harvest",
        "--source",
        "arxiv",
        "--set",
        "cs",
        "--from",
        "2025-01-01",
        "--until",
        str(yesterday),
        "--json",
        "-q",
        "--no-index",
    )
    rep = json.loads(proc.stdout)["sources"]["arxiv"]
    mine = resource.getrusage(resource.RUSAGE_SELF)
    server_cpu = (mine.ru_utime - me.ru_utime) + (mine.ru_stime - me.ru_stime)
    got = rep["added"] + rep["updated"] + rep["unchanged"]
    print(
        f"full sample: {got:,} records ({rep['added']:,} added) in {wall:.1f} s = {got / wall:,.0f} records/s; "
        f"{rep['requests']:,} requests; harvester CPU {cpu:.1f} s ({got / cpu:,.0f} records per CPU second), "
        f"loopback server CPU {server_cpu:.1f} s; peak RSS {rss:.0f} MiB; load average {os.getloadavg()[0]:.1f}"
    )

    # 2. Steady state: one month held and embedded (untimed), then one new day (timed).
    home = base / "daily"
    month = [p for p in shards if p.name.endswith("2026-07.jsonl.gz")]
    child(home, env, "ingest", "--no-index", "-q", *map(str, month))
    child(home, env, "index", "-q")
    proc, h_wall, h_cpu, _ = child(home, env, "harvest", "--source", "arxiv", "--json", "-q")
    rep = json.loads(proc.stdout)["sources"]["arxiv"]
    _, i_wall, i_cpu, _ = child(home, env, "index", "-q")
    print(
        f"one day of {rep['added']:,} new papers: harvest + keyword index {h_cpu:.1f} s CPU ({h_wall:.1f} s wall, "
        f"{rep['requests']} requests); embeddings {i_cpu:.1f} s CPU ({i_wall:.1f} s wall); "
        f"total {h_cpu + i_cpu:.1f} s CPU"
    )
    server.stop()


if __name__ == "__main__":
    main()
