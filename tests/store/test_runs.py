"""The ingest-run ledger: runs whose process is gone end `interrupted`; live ones, here or elsewhere, stay `running`."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from paperboy.models import IngestReport, Paper
from paperboy.store import Store
from paperboy.store.ingest import Ingester
from paperboy.store.runs import STALE_AFTER, reap_interrupted, this_host
from paperboy.store.schema import ingest_runs


@pytest.fixture
def st(database_url):
    store = Store(database_url)
    yield store
    store.close()


@pytest.fixture
def sleeper():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _row(st: Store, **values) -> int:
    now = datetime.now(timezone.utc)
    base = dict(source="arxiv-jsonl", inputs="x.jsonl.gz", started_at=now, status="running", heartbeat_at=now)
    with st.engine.begin() as conn:
        return conn.execute(ingest_runs.insert().values(**{**base, **values})).inserted_primary_key[0]


def _rows(st: Store) -> dict[int, dict]:
    """All ledger rows by id, after listing the runs the way `paperboy stats` does."""
    st.stats()
    with st.engine.connect() as conn:
        return {r.id: r._asdict() for r in conn.execute(sa.select(ingest_runs))}


def _statuses(st: Store) -> dict[int, str]:
    return {k: r["status"] for k, r in _rows(st).items()}


def test_listing_marks_runs_of_ended_processes_and_leaves_live_ones(st, sleeper):
    here, long_ago = this_host(), datetime.now(timezone.utc) - 2 * STALE_AFTER
    live = _row(st, host=here, pid=sleeper.pid)
    dead = _row(st, host=here, pid=_dead_pid())
    # The pid now belongs to a process that started after the run did: the run's own process is gone.
    reused = _row(st, host=here, pid=sleeper.pid, started_at=long_ago, heartbeat_at=long_ago)
    elsewhere = _row(st, host="other-machine", pid=os.getpid())  # a live run on another host
    silent = _row(st, host="other-machine", pid=1, heartbeat_at=long_ago)
    legacy = _row(st, started_at=long_ago, heartbeat_at=None)  # from before migration 0005
    ours = st.start_run("arxiv-api", "cat:cs.CL")  # this process, still running

    got = _statuses(st)
    assert {k: got[k] for k in (live, elsewhere, ours)} == {live: "running", elsewhere: "running", ours: "running"}
    assert {got[k] for k in (dead, reused, silent, legacy)} == {"interrupted"}
    msgs = {k: r["message"] for k, r in _rows(st).items()}
    assert "process" in msgs[dead] and "other-machine" in msgs[silent]


def test_a_new_run_closes_killed_ones_first(st):
    dead = _row(st, host=this_host(), pid=_dead_pid())
    st.start_run("arxiv-jsonl", "y.jsonl.gz")
    with st.engine.connect() as conn:
        row = conn.execute(sa.select(ingest_runs).where(ingest_runs.c.id == dead)).one()
    assert row.status == "interrupted" and row.finished_at is not None


def test_a_run_misjudged_as_stale_still_records_its_real_end(st):
    run = st.start_run("arxiv-api", "slow query")
    assert reap_interrupted(st.engine, now=datetime.now(timezone.utc) + 2 * STALE_AFTER) == [run]
    st.finish_run(run, IngestReport(source="arxiv-api", added=3), "ok")
    assert _statuses(st)[run] == "ok"


def _papers(n: int) -> list[Paper]:
    return [
        Paper(
            title=f"Paper {i}",
            abstract="a",
            authors=["A. Author"],
            categories=["cs.CL"],
            arxiv_id=f"2401.{i:05d}",
            version=1,
            source="arxiv-jsonl",
            source_ref=f"x:{i}",
        )
        for i in range(n)
    ]


def _papers_then(n: int, error: BaseException):
    yield from _papers(n)
    raise error


@pytest.mark.parametrize("error, status", [(KeyboardInterrupt(), "interrupted"), (RuntimeError("disk"), "failed")])
def test_a_run_stopped_in_process_closes_its_row_with_the_counts_so_far(st, error, status):
    ing = Ingester(st, batch_size=2)
    run = st.start_run("arxiv-jsonl", "x")
    with pytest.raises(type(error)):
        ing.feed_run(run, _papers_then(5, error), IngestReport(source="arxiv-jsonl"), {})
    row = st.stats()["runs"][0]
    assert row["id"] == run and row["status"] == status and row["added"] == 4  # two full batches stored
    assert type(error).__name__ in row["message"]


def test_every_batch_beats_the_heartbeat(st):
    ing = Ingester(st, batch_size=2)
    run = st.start_run("arxiv-jsonl", "x")
    old = datetime.now(timezone.utc) - timedelta(hours=1)
    with st.engine.begin() as conn:
        conn.execute(ingest_runs.update().values(heartbeat_at=old))
    ing.feed(_papers(3), IngestReport(source="arxiv-jsonl"), {}, run)
    with st.engine.connect() as conn:
        row = conn.execute(sa.select(ingest_runs).where(ingest_runs.c.id == run)).one()
    beat = row.heartbeat_at if row.heartbeat_at.tzinfo else row.heartbeat_at.replace(tzinfo=timezone.utc)
    assert beat > old + timedelta(minutes=59) and row.added == 3 and row.status == "running"
