"""Time to compose and send email digests, recommendations included, to a local SMTP sink.

    .venv/bin/python benchmarks/digest.py --home DIR [--subscribers 10000] [--in-place]

DIR is a prepared instance holding the 74,728-paper sample, ideally embedded:
    paperboy --home DIR ingest ../shared/corpus/arxiv-cs-2025-2026/*.jsonl.gz && paperboy --home DIR index
Without --home the sample is ingested into a temporary instance (lexical index only, so the
recommender uses its TF-IDF fallback; embedding 75k papers on 2 cores takes the better part of an hour).

The benchmark works on a copy of DIR (unless --in-place), adds seeded readers (accounts with
upvotes, saved papers and saved searches, plus anonymous subscribers following categories), then
runs the real `paperboy digest run` as a child process against an aiosmtpd sink on 127.0.0.1 and
prints wall time, per-digest milliseconds and the child's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

QUERIES = [
    "diffusion",
    "reinforcement learning",
    "retrieval augmented generation",
    "vision language model",
    "graph neural network",
    "speech recognition",
    "3D reconstruction",
    "large language model reasoning",
    "medical image segmentation",
    "federated learning",
    "knowledge distillation",
    "code generation",
]
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Asia/Kolkata", "America/Los_Angeles"]
SECRET = "benchmark-secret"


class Sink:
    """aiosmtpd on a free port that counts messages and bytes (keeps only the first message)."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.count = 0
        self.bytes = 0
        self.first: bytes | None = None
        self.recipients: set[str] = set()
        self.lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            self.bytes += len(envelope.content)
            self.recipients.update(envelope.rcpt_tos)
            if self.first is None:
                self.first = bytes(envelope.content)
        return "250 OK"


def prepare_home(args) -> Path:
    if args.home is None:
        home = Path(tempfile.mkdtemp(prefix="pb-digest-bench-")) / "home"
        files = sorted((args.shared / "corpus" / "arxiv-cs-2025-2026").glob("*.jsonl.gz"))
        if not files:
            sys.exit(f"no sample shards under {args.shared}")
        print(f"ingesting {len(files)} shards into {home} (no --home given) ...", flush=True)
        subprocess.run(
            [sys.executable, "-m", "paperboy.cli", "--home", str(home), "ingest", "-q", *map(str, files)],
            check=True,
            env=_env(home, 0),
        )
        return home
    if args.in_place:
        return args.home
    work = Path(tempfile.mkdtemp(prefix="pb-digest-bench-")) / "home"
    shutil.copytree(args.home, work)
    return work


def seed_readers(home: Path, n: int, seed: int) -> dict:
    """Accounts with libraries and saved searches, and their confirmed subscriptions (direct SQL: fast)."""
    import sqlalchemy as sa

    from paperboy.config import Settings
    from paperboy.service import Paperboy
    from paperboy.service.digests import Options
    from paperboy.store import listings
    from paperboy.store.schema import saved_papers, saved_searches, subscriptions, users, votes

    rng = random.Random(seed)
    pb = Paperboy(Settings(home=home))
    st = pb.index_status()
    if st["lexical_stale"]:
        print("bringing the lexical index up to date ...", flush=True)
        pb.update_index(embed=False)
        st = pb.index_status()
    now = datetime.now(timezone.utc)
    with pb.store.engine.connect() as conn:
        latest = listings.latest_day(conn, now.date())
        rows = listings.rows_between(conn, latest - timedelta(days=120), latest)
        cats = dict(
            conn.execute(
                sa.text(
                    "SELECT id, primary_category FROM papers WHERE id IN (SELECT id FROM papers "
                    "WHERE coalesce(listed, published) >= :d)"
                ),
                {"d": latest - timedelta(days=120)},
            ).all()
        )
    by_cat: dict[str, list[str]] = {}
    for r in rows:
        by_cat.setdefault(cats.get(r.id) or "cs.AI", []).append(r.id)
    topics = [c for c, ids in by_cat.items() if len(ids) >= 30]
    weights = [len(by_cat[c]) for c in topics]
    stamp = now - timedelta(days=1)
    user_rows, vote_rows, saved_rows, search_rows, sub_rows = [], [], [], [], []
    for i in range(n):
        anonymous = i % 10 == 9
        weekly = rng.random() < 0.3
        tz = rng.choice(ZONES) if not weekly else "UTC"
        topic = rng.choices(topics, weights)[0]
        opts = Options(
            frequency="weekly" if weekly else "daily",
            send_hour=0,
            weekday=now.weekday(),
            timezone=tz,
            categories=(topic,) if anonymous else (),
        )
        uid = None if anonymous else len(user_rows) + 1
        if uid is not None:
            user_rows.append({"id": uid, "email": f"u{i}@bench.example", "password_hash": "x", "created_at": stamp})
            picks = rng.sample(by_cat[topic], min(len(by_cat[topic]), rng.randint(4, 15)))
            vote_rows += [{"user_id": uid, "paper_id": p, "created_at": stamp} for p in picks]
            if rng.random() < 0.3:
                saved_rows += [
                    {"user_id": uid, "paper_id": p, "created_at": stamp}
                    for p in rng.sample(by_cat[topic], 2)
                    if p not in picks
                ]
            if rng.random() < 0.2:
                search_rows.append({"user_id": uid, "query": rng.choice(QUERIES), "filters": {}, "created_at": stamp})
        sub_rows.append(
            {
                **opts.columns(),
                "email": f"u{i}@bench.example",
                "user_id": uid,
                "state": "active",
                "nonce": "0" * 16,
                "bounces": 0,
                "created_at": stamp,
                "confirmed_at": stamp,
                "updated_at": stamp,
            }
        )
    with pb.store.engine.begin() as conn:
        for table, data in (
            (users, user_rows),
            (votes, vote_rows),
            (saved_papers, saved_rows),
            (saved_searches, search_rows),
            (subscriptions, sub_rows),
        ):
            for k in range(0, len(data), 5000):
                conn.execute(table.insert(), data[k : k + 5000])
    papers = pb.store.count()
    pb.close()
    return {
        "papers": papers,
        "dense": st["dense_papers"],
        "users": len(user_rows),
        "votes": len(vote_rows),
        "saved": len(saved_rows),
        "searches": len(search_rows),
        "subscriptions": len(sub_rows),
        "candidates_120d": len(rows),
    }


def _env(home: Path, port: int) -> dict[str, str]:
    """The email tests' environment for a `paperboy` child (tests/email/conftest.py), with this benchmark's
    secret and base URL, and the caller's PAPERBOY_DATABASE_URL if any."""
    from tests.email.conftest import email_env

    url = os.environ.get("PAPERBOY_DATABASE_URL")
    extra = {"PAPERBOY_DATABASE_URL": url} if url else {}
    return email_env(home, port, PAPERBOY_SECRET_KEY=SECRET, PAPERBOY_BASE_URL="http://localhost:8000", **extra)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, help="prepared instance with the sample (copied unless --in-place)")
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--subscribers", type=int, default=10_000)
    ap.add_argument("--in-place", action="store_true", help="add the benchmark readers to DIR itself")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--keep", action="store_true", help="keep the working copy of the instance afterwards")
    args = ap.parse_args()

    home = prepare_home(args)
    try:
        run(args, home)
    finally:
        if not args.in_place and not args.keep:
            shutil.rmtree(home.parent, ignore_errors=True)


def run(args, home: Path) -> None:
    from tests.email.conftest import digest_command

    t0 = time.perf_counter()
    seeded = seed_readers(home, args.subscribers, args.seed)
    print(
        f"instance    : {seeded['papers']:,} papers, dense vectors for {seeded['dense']:,}"
        + ("" if seeded["dense"] else " -> vectors missing: recommendations use the TF-IDF fallback")
    )
    print(
        f"readers     : {seeded['subscriptions']:,} subscriptions ({seeded['users']:,} accounts with "
        f"{seeded['votes']:,} upvotes, {seeded['saved']:,} saved papers, {seeded['searches']:,} saved searches; "
        f"the rest anonymous, following a category); seeded in {time.perf_counter() - t0:.1f} s"
    )

    sink = Sink()
    sink.controller.start()
    try:
        usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        before = usage0.ru_maxrss
        t1 = time.perf_counter()
        proc = subprocess.run(
            digest_command("run", "--json"), env=_env(home, sink.port), capture_output=True, text=True
        )
        wall = time.perf_counter() - t1
        usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak = max(usage1.ru_maxrss, before) / 1024
        cpu = (usage1.ru_utime + usage1.ru_stime) - (usage0.ru_utime + usage0.ru_stime)
        load = os.getloadavg()[0]
    finally:
        sink.controller.stop()
    if proc.returncode not in (0, 3):
        sys.exit(f"digest run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    rep = json.loads(proc.stdout)
    sent = rep["sent"]
    print(
        f"digest run  : planned {rep['planned']:,}, sent {sent:,}, skipped {rep['skipped']:,}, "
        f"failed {rep['failed']}, retry {rep['retry']}{'; stopped: ' + rep['aborted'] if rep['aborted'] else ''}"
    )
    print(
        f"sink        : {sink.count:,} messages to {len(sink.recipients):,} addresses, "
        f"{sink.bytes / max(sink.count, 1) / 1024:.1f} KiB each on average"
    )
    print(
        f"total time  : {wall:.1f} s wall for the whole `digest run` process (start-up, model load, planning, "
        f"recommending, composing, SMTP)"
    )
    print(f"per digest  : {1000 * wall / max(sent, 1):.1f} ms ({sent / wall:,.1f} digests/s)")
    print(f"peak RSS    : {peak:.0f} MiB (digest run process)")
    print(
        f"cpu time    : {cpu:.1f} s in the digest run process ({1000 * cpu / max(sent, 1):.1f} ms a digest); "
        f"load average at the end {load:.1f} on {os.cpu_count()} cores"
    )
    budget = 600 * args.subscribers / 10_000
    print(
        f"target      : <= 10 minutes for 10,000 digests (scaled: {budget:.0f} s for {args.subscribers:,}) -> "
        f"{'met' if wall <= budget else 'NOT met'}"
    )
    if sink.first:
        import email
        import email.policy

        m = email.message_from_bytes(sink.first, policy=email.policy.default)
        print(f"sample      : {m['To']} - {m['Subject']}")
        for line in m.get_body(("plain",)).get_content().splitlines():
            if line.strip().startswith(("Why:", "==")):
                print("              " + line.strip()[:110])


if __name__ == "__main__":
    main()
