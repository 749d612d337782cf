"""Web throughput and latency: search pages and paper pages at 1 and 32 concurrent clients.

    .venv/bin/python benchmarks/web.py [--home DIR] [--shared ../shared] [--seconds 15] [--max-requests 3000]

Starts `paperboy serve` as a child process on a free 127.0.0.1 port over a PAPERBOY_HOME holding the
74,728-paper sample (ingested first if the home has fewer papers), then drives it with an httpx async
loop: loopback only, each run bounded by --seconds and --max-requests. Prints throughput, p50/p99
latency and the 5xx count per scenario. The load generator shares the machine with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from _targets import sample_targets

REPO = Path(__file__).resolve().parents[1]
SAMPLE_SIZE = 74_000  # fewer papers than this in the home means the sample still has to be ingested


def paperboy_cmd(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "paperboy.cli", "--home", str(home), *args]


def ensure_sample(home: Path, shared: Path) -> int:
    """Ingest the sample into `home` unless it is already there; returns the paper count."""
    from paperboy.config import Settings
    from paperboy.service import Paperboy

    pb = Paperboy(Settings(home=home))
    try:
        n = pb.store.count()
    finally:
        pb.close()
    if n < SAMPLE_SIZE:
        files = sorted((shared / "corpus" / "arxiv-cs-2025-2026").glob("*.jsonl.gz"))
        if not files:
            sys.exit(f"no sample shards under {shared}/corpus/arxiv-cs-2025-2026")
        print(f"ingesting {len(files)} shards into {home} (one-off) ...", flush=True)
        t0 = time.perf_counter()
        subprocess.run(paperboy_cmd(home, "ingest", "-q", *map(str, files)), check=True)
        print(f"  done in {time.perf_counter() - t0:.0f} s", flush=True)
    pb = Paperboy(Settings(home=home))
    try:
        return pb.store.count()
    finally:
        pb.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_cmd(home: Path, *args: str) -> list[str]:
    """`paperboy serve ...` as a child process."""
    return paperboy_cmd(home, "serve", *args)


def start_server(home: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        serve_cmd(home, "--host", "127.0.0.1", "--port", str(port), "--no-access-log"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"paperboy serve exited early: {proc.stderr.read()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.terminate()
    sys.exit("paperboy serve did not answer within 120 s")


async def run_load(base: str, paths: list[str], concurrency: int, seconds: float, max_requests: int) -> dict:
    """Fire GETs for `paths` (cycled) from `concurrency` workers until the time or request budget is spent."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    counter = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60.0) as client:
        for p in paths[:3]:  # warm-up, not measured
            await client.get(p)

        async def worker() -> None:
            nonlocal counter, errors
            while time.perf_counter() < deadline:
                if counter >= max_requests:
                    return
                path = paths[counter % len(paths)]
                counter += 1
                t0 = time.perf_counter()
                try:
                    r = await client.get(path)
                    await r.aread()
                except httpx.HTTPError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - t0)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    latencies.sort()
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) >= 2 else latencies * 99
    return {
        "requests": len(latencies),
        "seconds": wall,
        "rps": len(latencies) / wall if wall else 0.0,
        "p50_ms": q[49] * 1000 if q else 0.0,
        "p99_ms": q[98] * 1000 if q else 0.0,
        "5xx": sum(n for s, n in statuses.items() if s >= 500),
        "non_200": sum(n for s, n in statuses.items() if s != 200),
        "errors": errors,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, default=Path(os.environ.get("PAPERBOY_HOME", REPO / "data" / "web-bench")))
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--seconds", type=float, default=15.0, help="upper bound per scenario")
    ap.add_argument("--max-requests", type=int, default=3000, help="upper bound per scenario")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    args = ap.parse_args()

    n = ensure_sample(args.home, args.shared)
    from paperboy.config import Settings

    url = Settings(home=args.home).resolved_database_url()
    queries, ids = sample_targets(url, 500, seed=42, max_words=3, separators=r"[\s:]+")
    scenarios = {
        "search page": [f"/search?{httpx.QueryParams({'q': q})}" for q in queries],
        "paper page": [f"/papers/{i}" for i in ids],
    }
    port = free_port()
    server = start_server(args.home, port)
    print(f"paperboy serve on 127.0.0.1:{port}, {n:,} papers, {os.cpu_count()} CPUs shared with the load generator")
    print(
        f"{'scenario':<14}{'clients':>8}{'requests':>10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'5xx':>6}{'non-200':>9}"
    )
    total_5xx = 0
    try:
        for name, paths in scenarios.items():
            for c in args.concurrency:
                r = asyncio.run(run_load(f"http://127.0.0.1:{port}", paths, c, args.seconds, args.max_requests))
                total_5xx += r["5xx"]
                print(
                    f"{name:<14}{c:>8}{r['requests']:>10}{r['rps']:>9.1f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}"
                    f"{r['5xx']:>6}{r['non_200']:>9}" + (f"  ({r['errors']} transport errors)" if r["errors"] else ""),
                    flush=True,
                )
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
    print(f"total 5xx: {total_5xx}")
    sys.exit(1 if total_5xx else 0)


if __name__ == "__main__":
    main()
