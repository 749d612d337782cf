"""The ledger of ingest runs: one row per run, opened before reading and closed with its counts.

A run killed before it could close its row (SIGKILL, OOM killer, power loss) would stay `running`
forever, so every new run and every listing first marks such rows `interrupted`. Which rows:
  - same machine (host column equal to ours): the recorded pid is gone, or now belongs to a
    process started after the run did (pids are reused). Exact and immediate; a live ingest in
    another process (`paperboy worker`, a web process fetching submissions) is never touched.
  - any machine: no heartbeat for STALE_AFTER. A running ingest beats with every batch (about a
    second apart), so this only catches runs of other hosts, or of containers since recreated,
    whose pids we cannot check. Should it ever misjudge a stalled but live run, that run's own
    finish_run still writes its real status: the mistake does not stick.
The host is the hostname plus the pid namespace when not the initial one, so two containers
sharing a hostname (--network host) never judge each other's pids.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta, timezone
from typing import Any

import psutil
import sqlalchemy as sa

from paperboy.models import IngestReport
from paperboy.store.rows import insert_row
from paperboy.store.schema import ingest_runs

STALE_AFTER = timedelta(minutes=30)
_INIT_PID_NS = 0xEFFFFFFC  # the kernel's PROC_PID_INIT_INO: the host's own pid namespace


def this_host() -> str:
    """This machine's name for the ledger, with the pid namespace when it is a container's own."""
    name = socket.gethostname()[:200]
    try:
        ns = os.stat("/proc/self/ns/pid").st_ino
    except OSError:  # not Linux
        return name
    return name if ns == _INIT_PID_NS else f"{name} pidns:{ns}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def start_run(engine: sa.Engine, source: str, inputs: str) -> int:
    reap_interrupted(engine)
    now = _now()
    with engine.begin() as conn:
        owner = {"host": this_host(), "pid": os.getpid(), "heartbeat_at": now}
        return insert_row(conn, ingest_runs, source=source, inputs=inputs, started_at=now, status="running", **owner)


# The report's counters, each kept in the ingest_runs column of the same name.
_COUNTS = ("added", "updated", "unchanged", "rejected", "duplicates")


def _counts(report: IngestReport) -> dict[str, int]:
    return {name: getattr(report, name) for name in _COUNTS}


def heartbeat(engine: sa.Engine, run_id: int, report: IngestReport) -> None:
    """Say the run is alive, with its counts so far (what an interrupted run's row will show)."""
    with engine.begin() as conn:
        conn.execute(
            ingest_runs.update()
            .where(ingest_runs.c.id == run_id, ingest_runs.c.status == "running")
            .values(heartbeat_at=_now(), **_counts(report))
        )


def finish_run(engine: sa.Engine, run_id: int, report: IngestReport, status: str) -> None:
    message = report.aborted or ("; ".join(report.errors[:3]) if report.errors else None)
    now = _now()
    with engine.begin() as conn:
        conn.execute(
            ingest_runs.update()
            .where(ingest_runs.c.id == run_id)
            .values(finished_at=now, heartbeat_at=now, status=status, message=message, **_counts(report))
        )


def _aware(t: datetime | None) -> datetime | None:
    return t.replace(tzinfo=timezone.utc) if t is not None and t.tzinfo is None else t  # SQLite drops the zone


def _gone(pid: int | None, started_at: datetime) -> bool:
    """Whether the process `pid` of this machine that started a run at `started_at` has ended."""
    if pid is None:
        return False  # unknown: leave it to the heartbeat rule
    if pid == os.getpid():
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:  # dead, its parent has not reaped it yet
            return True
        # 1 s of slack: create_time is rounded to clock ticks.
        return proc.create_time() > started_at.timestamp() + 1
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:  # e.g. AccessDenied: it exists
        return False


def reap_interrupted(engine: sa.Engine, now: datetime | None = None) -> list[int]:
    """Mark `running` rows whose process is gone as `interrupted`; returns their ids."""
    now = now or _now()
    host = this_host()
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                ingest_runs.c.id,
                ingest_runs.c.host,
                ingest_runs.c.pid,
                ingest_runs.c.started_at,
                ingest_runs.c.heartbeat_at,
            ).where(ingest_runs.c.status == "running")
        ).all()
    done = []
    for r in rows:
        started = _aware(r.started_at)
        last = _aware(r.heartbeat_at) or started
        if r.host == host and _gone(r.pid, started):
            why = f"interrupted: process {r.pid} ended without closing the run"
        elif now - last > STALE_AFTER:
            why = f"interrupted: no sign of life from {r.host or 'its process'} since {last:%Y-%m-%d %H:%M} UTC"
        else:
            continue
        # One short write per row, guarded by the status: racing reapers (or a run finishing after
        # all) simply find nothing left to change.
        with engine.begin() as conn:
            changed = conn.execute(
                ingest_runs.update()
                .where(ingest_runs.c.id == r.id, ingest_runs.c.status == "running")
                .values(status="interrupted", finished_at=last, message=why)
            ).rowcount
        if changed:
            done.append(r.id)
    return done


def recent_runs(conn: sa.Connection, limit: int = 10) -> list[dict[str, Any]]:
    q = sa.select(ingest_runs).order_by(ingest_runs.c.id.desc()).limit(limit)
    return [
        {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r._mapping.items()} for r in conn.execute(q)
    ]
