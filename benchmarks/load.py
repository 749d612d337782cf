"""Load under concurrency: 50 clients against `paperboy serve --workers 2` on PostgreSQL while the worker ingests.

    .venv/bin/python benchmarks/load.py [--clients 50] [--seconds 60] [--max-requests 20000] [--think 1.0]
                                        [--state /tmp/paperboy-load] [--holdout papers-2026-06.jsonl.gz]

What runs (all on 127.0.0.1, bounded by --seconds and --max-requests):
  * a PostgreSQL 15 cluster of its own (scripts/postgres.sh with PAPERBOY_PG_DIR=<state>/pg; left running
    for the next run, `--stop-cluster` removes it; it uses the script's test settings, fsync off);
  * a base instance, prepared once and cached: the 74,728-paper sample minus one held-out shard,
    ingested and fully embedded (`paperboy ingest`, `paperboy index`: ~20 min on 2 cores, once);
  * per run: a copy of it (CREATE DATABASE ... TEMPLATE, index files copied), `paperboy serve --workers 2`
    and `paperboy worker`, which finds the held-out shard in its inbox and ingests, indexes and embeds
    it during the run, so the instance ends with the whole sample;
  * --clients simulated users, each looping: think (exponential, mean --think s), then one of
    search page (50 %), paper page (35 %), upvote through /api/v1 with session + CSRF token (15 %).
    `--think 0` is a saturation run (closed loop, no pauses) for peak throughput.

Prints throughput, p50/p99 per request kind and overall, error counts (transport errors, 5xx, other
non-2xx), and checks every acknowledged upvote is stored exactly once. Exits 1 on any error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import _targets
import httpx

REPO = Path(__file__).resolve().parents[1]
BASE_DB = "paperboy_load_base"
RUN_DB = "paperboy_load_run"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
MIX = (("search", 0.50), ("paper", 0.35), ("upvote", 0.15))


def sh(*cmd: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), check=True, env=env, **kw)


def paperboy(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "paperboy.cli", "--home", str(home), *args]


def start_cluster(state: Path) -> str:
    """Start (or find running) the benchmark's own PostgreSQL cluster; returns its server URL."""
    env = {
        **os.environ,
        "PAPERBOY_PG_DIR": str(state / "pg"),
        "PAPERBOY_PG_PORT": os.environ.get("PAPERBOY_PG_PORT", "55460"),
    }
    out = sh(str(REPO / "scripts" / "postgres.sh"), "start", env=env, capture_output=True, text=True).stdout.strip()
    return out.splitlines()[-1]


def stop_cluster(state: Path) -> None:
    env = {**os.environ, "PAPERBOY_PG_DIR": str(state / "pg")}
    subprocess.run([str(REPO / "scripts" / "postgres.sh"), "stop"], env=env, check=False)


def db_url(server_url: str, name: str) -> str:
    import sqlalchemy as sa

    return sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)


def admin_exec(server_url: str, *statements: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            for s in statements:
                conn.exec_driver_sql(s)
    finally:
        engine.dispose()


def database_exists(server_url: str, name: str) -> bool:
    import sqlalchemy as sa

    engine = sa.create_engine(server_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return (
                conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is not None
            )
    finally:
        engine.dispose()


def prepare_base(state: Path, server_url: str, shards: list[Path], holdout: Path) -> Path:
    """The cached base instance (everything but the held-out shard, ingested and embedded)."""
    home = state / "base-home"
    done = state / "base.ready"
    if done.exists() and database_exists(server_url, BASE_DB):
        return home
    print(f"preparing the base instance in {home} (one-off: ingest + embed ~68k papers) ...", flush=True)
    admin_exec(server_url, f'DROP DATABASE IF EXISTS "{BASE_DB}" WITH (FORCE)', f'CREATE DATABASE "{BASE_DB}"')
    shutil.rmtree(home, ignore_errors=True)
    env = {**os.environ, "PAPERBOY_DATABASE_URL": db_url(server_url, BASE_DB)}
    t0 = time.perf_counter()
    sh(*paperboy(home, "ingest", "-q", *[str(s) for s in shards if s != holdout]), env=env)
    print(f"  ingested in {time.perf_counter() - t0:.0f} s", flush=True)
    t0 = time.perf_counter()
    sh(*paperboy(home, "index"), env=env)
    print(f"  indexed and embedded in {time.perf_counter() - t0:.0f} s", flush=True)
    done.write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
    return home


def prepare_run(state: Path, server_url: str, base_home: Path) -> tuple[Path, str]:
    """A fresh copy of the base instance for this run: database from the template, index files copied."""
    home = state / "run-home"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(base_home, home)
    admin_exec(
        server_url,
        f'DROP DATABASE IF EXISTS "{RUN_DB}" WITH (FORCE)',
        f'CREATE DATABASE "{RUN_DB}" TEMPLATE "{BASE_DB}"',
    )
    return home, db_url(server_url, RUN_DB)


def make_users(home: Path, url: str, n: int) -> list[str]:
    """`n` accounts with a live session each; returns their session tokens."""
    from paperboy.config import Settings
    from paperboy.service import Paperboy

    pb = Paperboy(Settings(home=home, database_url=url))
    try:
        com = pb.community
        tokens = []
        for i in range(n):
            user = com.sign_up(f"load{i}@example.org", f"load-password-{i}-x")
            tokens.append(com.start_session(user))
        return tokens
    finally:
        pb.close()


def sample_targets(home: Path, url: str, n: int, seed: int = 7) -> tuple[list[str], list[str]]:
    """(search queries, paper ids) drawn deterministically from the stored papers."""
    return _targets.sample_targets(url, n, seed, max_words=4, separators=r"[\s:,]+")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(base: str, proc: subprocess.Popen, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited early (code {proc.returncode})")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    sys.exit(f"{what} did not answer within {timeout:.0f} s")


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Stats:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.status: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.transport_errors = 0
        self.acked_votes: set[tuple[int, str]] = set()
        self.count = 0
        self.timeline: list[tuple[float, str, float]] = []  # (wall-clock start, kind, seconds)


async def simulate(
    base: str,
    sessions: list[str],
    queries: list[str],
    ids: list[str],
    clients: int,
    seconds: float,
    max_requests: int,
    think: float,
    seed: int = 11,
) -> tuple[Stats, float]:
    """`clients` users looping think -> request until the time or request budget is spent."""
    st = Stats()
    deadline = time.perf_counter() + seconds
    kinds, weights = zip(*MIX)

    async def user(k: int) -> None:
        rng = random.Random(seed * 1000 + k)
        token = sessions[k % len(sessions)]
        async with httpx.AsyncClient(base_url=base, timeout=60.0, cookies={"pb_session": token}) as client:
            csrf = None
            while True:
                if think:
                    await asyncio.sleep(rng.expovariate(1.0 / think))
                if time.perf_counter() >= deadline or st.count >= max_requests:
                    return
                st.count += 1
                kind = rng.choices(kinds, weights)[0]
                if kind == "upvote" and csrf is None:
                    kind = "paper"  # a user votes from a page they have seen (it carries the CSRF token)
                pid = rng.choice(ids)
                t0 = time.perf_counter()
                try:
                    if kind == "search":
                        r = await client.get("/search", params={"q": rng.choice(queries)})
                    elif kind == "paper":
                        r = await client.get(f"/papers/{pid}")
                        m = CSRF_META.search(r.text)
                        csrf = m.group(1) if m else csrf
                    else:
                        r = await client.post(f"/api/v1/papers/{pid}/vote", headers={"X-CSRF-Token": csrf})
                        if r.status_code == 200:
                            st.acked_votes.add((k % len(sessions), r.json()["paper_id"]))
                    await r.aread()
                except httpx.HTTPError:
                    st.transport_errors += 1
                    continue
                st.latency[kind].append(time.perf_counter() - t0)
                st.timeline.append((time.time() - (time.perf_counter() - t0), kind, st.latency[kind][-1]))
                st.status[kind][r.status_code] += 1

    started = time.perf_counter()
    await asyncio.gather(*(user(k) for k in range(clients)))
    return st, time.perf_counter() - started


def pct(values: list[float], q: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0] * 1000
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def stored_votes(url: str) -> tuple[int, int]:
    """(vote rows, distinct (user, paper) pairs) in the run database."""
    import sqlalchemy as sa

    from paperboy.store.db import create_engine

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT count(*) FROM votes")).scalar_one()
            distinct = conn.execute(
                sa.text("SELECT count(*) FROM (SELECT DISTINCT user_id, paper_id FROM votes) v")
            ).scalar_one()
            return rows, distinct
    finally:
        engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60.0, help="upper bound of the measured window")
    ap.add_argument("--max-requests", type=int, default=20_000, help="upper bound of requests in the window")
    ap.add_argument(
        "--think", type=float, default=1.0, help="mean pause between a user's requests (s); 0 = closed loop"
    )
    ap.add_argument("--workers", type=int, default=2, help="paperboy serve --workers")
    ap.add_argument("--warmup", type=float, default=15.0, help="seconds of unmeasured load before the ingest starts")
    ap.add_argument(
        "--ingest-share",
        type=float,
        default=None,
        help="paperboy worker --ingest-share (default: the worker's own default)",
    )
    ap.add_argument("--state", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "paperboy-load")
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--holdout", default="papers-2026-06.jsonl.gz", help="shard the worker ingests during the run")
    ap.add_argument("--prepare-only", action="store_true", help="build the cached base instance and stop")
    ap.add_argument("--stop-cluster", action="store_true", help="remove the benchmark's PostgreSQL cluster at the end")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    shards = sorted((args.shared / "corpus" / "arxiv-cs-2025-2026").glob("*.jsonl.gz"))
    holdout = next((s for s in shards if s.name == args.holdout), None)
    if holdout is None:
        sys.exit(f"--holdout {args.holdout} is not a shard under {args.shared}/corpus/arxiv-cs-2025-2026")
    args.state.mkdir(parents=True, exist_ok=True)
    server_url = start_cluster(args.state)
    server = worker = None
    try:
        base_home = prepare_base(args.state, server_url, shards, holdout)
        if args.prepare_only:
            return
        home, url = prepare_run(args.state, server_url, base_home)
        sessions = make_users(home, url, args.clients)
        queries, ids = sample_targets(home, url, 1000)
        env = {**os.environ, "PAPERBOY_DATABASE_URL": url, "PAPERBOY_SECRET_KEY": "load-benchmark-" + "k" * 40}
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            paperboy(
                home, "serve", "--port", str(port), "--workers", str(args.workers), "--no-access-log", "--no-digests"
            ),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(args.state / "serve.log", "w"),
        )
        wait_healthy(base, server, "paperboy serve")
        # Warm every web worker (model load, first query) before measuring: a few requests each.
        for q in queries[: 8 * args.workers]:
            httpx.get(f"{base}/search", params={"q": q}, timeout=120)
        before = len(ids)
        (home / "inbox").mkdir(exist_ok=True)
        share = [] if args.ingest_share is None else ["--ingest-share", str(args.ingest_share)]
        worker = subprocess.Popen(
            paperboy(home, "worker", "--interval", "1", *share),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(args.state / "worker.log", "w"),
        )
        warm = Stats()
        if args.warmup > 0:  # steady state first: caches, pools, templates; the worker starts up idle
            print(f"warm-up: {args.warmup:g} s of the same load, not measured", flush=True)
            warm, _ = asyncio.run(
                simulate(
                    base, sessions, queries, ids, args.clients, args.warmup, args.max_requests, args.think, seed=99
                )
            )
        part = home / "inbox" / f".{holdout.name}.part"  # hidden while copying; the worker skips dot-files
        shutil.copy(holdout, part)
        part.rename(home / "inbox" / holdout.name)
        print(
            f"paperboy serve --workers {args.workers} on {base} (PostgreSQL), paperboy worker ingesting "
            f"{holdout.name}; {args.clients} clients, think {args.think:g} s, <= {args.seconds:g} s, "
            f"<= {args.max_requests} requests; {os.cpu_count()} CPUs shared by all of it",
            flush=True,
        )
        cpu = CpuSampler({"web": server.pid, "worker": worker.pid})
        cpu.start()
        st, wall = asyncio.run(
            simulate(base, sessions, queries, ids, args.clients, args.seconds, args.max_requests, args.think)
        )
        cpu.stop()
        index_state = json.loads((home / "index" / "manifest.json").read_text())
    finally:
        stop(worker)
        stop(server)
        if args.stop_cluster:
            stop_cluster(args.state)
    del before
    all_lat = [x for v in st.latency.values() for x in v]
    n = len(all_lat)
    print(f"{'kind':<8}{'requests':>9}{'p50 ms':>9}{'p99 ms':>9}{'5xx':>6}{'other non-2xx':>15}")
    total_5xx = total_other = 0
    for kind, _w in MIX:
        codes = st.status[kind]
        e5 = sum(c for s, c in codes.items() if s >= 500)
        other = sum(c for s, c in codes.items() if not 200 <= s < 300 and s < 500)
        total_5xx += e5
        total_other += other
        print(
            f"{kind:<8}{len(st.latency[kind]):>9}{pct(st.latency[kind], 50):>9.1f}{pct(st.latency[kind], 99):>9.1f}"
            f"{e5:>6}{other:>15}"
        )
    print(f"{'all':<8}{n:>9}{pct(all_lat, 50):>9.1f}{pct(all_lat, 99):>9.1f}{total_5xx:>6}{total_other:>15}")
    rows, distinct = stored_votes(url)
    acked = st.acked_votes | warm.acked_votes  # the warm-up's votes are in the database too
    warm_errors = warm.transport_errors + sum(
        c for codes in warm.status.values() for s, c in codes.items() if not 200 <= s < 300
    )
    print(
        f"throughput {n / wall:.1f} req/s over {wall:.1f} s; transport errors {st.transport_errors}; "
        f"warm-up errors {warm_errors}"
    )
    print(
        f"upvotes acknowledged {len(acked)} (warm-up included), stored {rows} rows / {distinct} distinct "
        f"(lost {max(0, len(acked) - distinct)}, duplicated {rows - distinct})"
    )
    print(
        f"index after the run: lexical seq {index_state.get('lexical_seq')}, dense "
        f"{ {m: d.get('count') for m, d in index_state.get('dense', {}).items()} }"
    )
    errors = (
        st.transport_errors + total_5xx + total_other + warm_errors + (rows - distinct) + max(0, len(acked) - distinct)
    )
    print(f"errors: {errors}")
    worker_events = read_worker_events(args.state / "worker.log")
    print_timeline(st.timeline, worker_events, cpu.samples)
    plot_timeline(st.timeline, worker_events, args.state / "load-timeline.png")
    sys.exit(1 if errors else 0)


WORKER_EVENT = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) paperboy\.worker: (.*)$")


def read_worker_events(log: Path) -> list[tuple[float, str]]:
    """(unix time, message) of what the worker logged: inbox ingest, indexing, embedding."""
    out = []
    for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
        m = WORKER_EVENT.match(line)
        if m:
            t = time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) + int(m.group(2)) / 1000
            out.append((t, m.group(3)))
    return out


class CpuSampler(threading.Thread):
    """Once a second, the CPU seconds used by each group of processes: web (serve and its workers),
    worker (and its parser child), postgres (every backend: it serves both), this load generator."""

    GROUPS = ("web", "worker", "postgres", "loadgen")

    def __init__(self, roots: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.roots = roots
        self.samples: list[tuple[float, dict[str, float]]] = []  # (unix time, cumulative CPU s per group)
        self._halt = threading.Event()

    def _group_of(self, proc) -> str | None:
        import psutil

        try:
            if proc.pid == os.getpid():
                return "loadgen"
            if proc.name().startswith("postgres"):
                return "postgres"
            chain = [proc.pid] + [p.pid for p in proc.parents()]
        except psutil.Error:
            return None
        return next((g for g, root in self.roots.items() if root in chain), None)

    def _sample(self) -> dict[str, float]:
        import psutil

        used = dict.fromkeys(self.GROUPS, 0.0)
        for proc in psutil.process_iter():
            group = self._group_of(proc)
            if group:
                try:
                    t = proc.cpu_times()
                except psutil.Error:
                    continue
                used[group] += t.user + t.system
        return used

    def run(self) -> None:
        while not self._halt.is_set():
            self.samples.append((time.time(), self._sample()))
            self._halt.wait(1.0)

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self.samples.append((time.time(), self._sample()))


def _cpu_between(samples: list[tuple[float, dict[str, float]]], a: float, b: float) -> dict[str, float]:
    """Cores used per group between unix times a and b (from the nearest samples)."""
    inside = [s for s in samples if a - 0.5 <= s[0] <= b + 0.5]
    if len(inside) < 2:
        return {}
    (t0, c0), (t1, c1) = inside[0], inside[-1]
    return {g: (c1[g] - c0[g]) / (t1 - t0) for g in c0} if t1 > t0 else {}


def print_timeline(
    timeline: list[tuple[float, str, float]],
    events: list[tuple[float, str]],
    cpu: list[tuple[float, dict[str, float]]] = (),
    step: float = 5.0,
) -> None:
    """p50/p99 and cores used per group in each `step`-second window, beside what the worker logged."""
    if not timeline:
        return
    t0 = min(t for t, _k, _l in timeline)
    groups = "".join(f"{g:>9}" for g in CpuSampler.GROUPS)
    print(f"\n{'window s':>10}{'requests':>9}{'p50 ms':>9}{'p99 ms':>9}  cores:{groups}  worker")
    windows: dict[int, list[float]] = defaultdict(list)
    for t, _k, lat in timeline:
        windows[int((t - t0) // step)].append(lat)
    for w in sorted(windows):
        said = [msg[:60] for t, msg in events if w * step <= t - t0 < (w + 1) * step]
        lat = windows[w]
        cores = _cpu_between(list(cpu), t0 + w * step, t0 + (w + 1) * step)
        used = "".join(f"{cores.get(g, float('nan')):>9.2f}" for g in CpuSampler.GROUPS)
        print(
            f"{w * step:>4.0f}-{(w + 1) * step:<4.0f}{len(lat):>9}{pct(lat, 50):>9.1f}{pct(lat, 99):>9.1f}  "
            f"      {used}  {'; '.join(said)}"
        )


def plot_timeline(timeline: list[tuple[float, str, float]], events: list[tuple[float, str]], out: Path) -> None:
    """Every request's latency over the run, by kind, with the worker's log lines as markers."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no timeline picture)")
        return
    t0 = min(t for t, _k, _l in timeline)
    fig, ax = plt.subplots(figsize=(11, 4.5))
    for kind, _w in MIX:
        pts = [(t - t0, lat * 1000) for t, k, lat in timeline if k == kind]
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=4, alpha=0.5, label=kind)
    t_end = max(t for t, _k, _l in timeline)
    shown = [(t, msg) for t, msg in events if t0 <= t <= t_end]
    for k, (t, msg) in enumerate(shown):
        ax.axvline(t - t0, color="grey", lw=0.6, ls="--")
        # Staggered along the line: log lines written in the same second stay legible.
        ax.annotate(
            msg.split(" (")[0][:32],
            (t - t0, 0.97 - 0.27 * (k % 3)),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="right",
            fontsize=6,
        )
    ax.axhline(250, color="red", lw=0.8, label="p99 target 250 ms")
    ax.set_yscale("log")
    ax.set_xlabel("seconds into the run")
    ax.set_ylabel("latency (ms, log scale)")
    ax.set_title("benchmarks/load.py: request latency while the worker ingests and embeds")
    ax.legend(loc="upper right", fontsize=7, markerscale=3)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f"timeline picture: {out}")


if __name__ == "__main__":
    main()
