"""Fault tests with real processes and real signals: SIGKILL an ingest mid-way, then rerun it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import psutil
import pytest
import sqlalchemy as sa

from paperboy.models import IngestReport
from paperboy.store import Store
from paperboy.store.db import create_engine
from tests.store.rows import papers_in

TOTAL = 74_728  # distinct papers in the 17 shards


def _kill_after_some_batches(proc: subprocess.Popen, url: str, at_least: int) -> int:
    """SIGKILL `proc` alone (as the OOM killer would) once `at_least` papers are committed."""
    deadline = time.monotonic() + 180
    while (n := papers_in(url)) < at_least:
        assert proc.poll() is None, f"ingest ended early: {proc.stderr.read().decode()[-2000:]}"
        assert time.monotonic() < deadline, "no batch committed within 180 s"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return n


def _check_whole(url: str) -> dict:
    """Every paper once, with all its rows; returns stats."""
    st = Store(url)
    try:
        with st.engine.connect() as conn:
            q = lambda sql: conn.execute(sa.text(sql)).scalar_one()  # noqa: E731
            assert q("SELECT count(*) - count(DISTINCT arxiv_id) FROM papers") == 0
            assert q("SELECT count(*) FROM papers WHERE arxiv_id IS NULL") == 0
            # Child rows match the JSON lists they were written from, in the same transaction.
            authors = conn.execute(sa.text("SELECT authors, categories FROM papers")).all()
            n_authors = sum(len(json.loads(a) if isinstance(a, str) else a) for a, _ in authors)
            n_cats = sum(len(json.loads(c) if isinstance(c, str) else c) for _, c in authors)
            assert q("SELECT count(*) FROM paper_authors") == n_authors
            assert q("SELECT count(*) FROM paper_categories") == n_cats
            assert q("SELECT count(*) FROM paper_sources") == TOTAL
            assert q("SELECT count(DISTINCT paper_id) FROM paper_sources") == TOTAL
            if conn.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        stats = st.stats()
    finally:
        st.close()
    assert stats["papers"] == TOTAL and stats["by_source"] == {"arxiv-jsonl": TOTAL}
    return stats


@pytest.mark.slow
def test_sigkill_during_ingest_then_rerun_stores_every_paper_exactly_once(
    tmp_path, cli_process, home_database, arxiv_shards
):
    assert len(arxiv_shards) == 17
    home = tmp_path / "h"
    url = home_database(home) or f"sqlite:///{home / 'paperboy.db'}"
    shards = list(map(str, arxiv_shards))
    first = cli_process(home, "ingest", "--no-index", "-q", *shards)
    at_kill = _kill_after_some_batches(first, url, at_least=4000)
    stored = papers_in(url)
    assert at_kill <= stored < TOTAL  # killed mid-way; whatever it committed is there

    again = cli_process(home, "ingest", "--no-index", "--json", *shards, stdout=subprocess.PIPE)
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err.decode()[-2000:]
    report = json.loads(out)
    assert report["added"] == TOTAL - stored and report["rejected"] == 0
    _check_whole(url)
    # The killed run's ledger row was closed by the rerun, not left `running` forever.
    runs = _runs(url)
    killed = [r for r in runs if r["pid"] == first.pid]  # one run per input file
    assert [r["status"] for r in killed] == ["ok"] * (len(killed) - 1) + ["interrupted"]
    assert 0 < sum(r["added"] for r in killed) <= stored  # heartbeats kept the counts of what it committed
    assert {r["status"] for r in runs if r["pid"] == again.pid} == {"ok"}


def _runs(url: str) -> list[dict]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM ingest_runs ORDER BY id"))]
    finally:
        engine.dispose()


def test_a_live_ingest_in_another_process_stays_running_until_killed(
    tmp_path, cli_process, home_database, arxiv_shards
):
    home = tmp_path / "h"
    url = home_database(home) or f"sqlite:///{home / 'paperboy.db'}"
    # One input file (the shards as one multi-member gzip): one run, open from the first batch to the
    # last, so no check can fall between two files' runs (where the newest run of the process is "ok").
    whole = tmp_path / "all-shards.jsonl.gz"
    whole.write_bytes(b"".join(p.read_bytes() for p in arxiv_shards))
    proc = cli_process(home, "ingest", "--no-index", "-q", str(whole))
    while papers_in(url) < 1:
        assert proc.poll() is None, "ingest stored nothing"
        time.sleep(0.05)
    st = Store(url)  # another process listing runs and starting one, as `paperboy stats` and the worker do
    try:

        def its_runs() -> list[str]:
            return [r["status"] for r in st.stats()["runs"] if r["pid"] == proc.pid]

        st.finish_run(st.start_run("bibtex", "other.bib"), IngestReport(source="bibtex"), "ok")
        assert its_runs() == ["running"]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert its_runs() == ["interrupted"]
    finally:
        st.close()


@pytest.mark.sqlite_only  # about the ingest process, not the database: one pass is enough
def test_a_sigkilled_ingest_leaves_no_process_behind(tmp_path, cli_process, home_database, arxiv_shards):
    home = tmp_path / "h"
    url = home_database(home) or f"sqlite:///{home / 'paperboy.db'}"
    proc = cli_process(home, "ingest", "--no-index", "-q", *map(str, arxiv_shards))
    children = []
    deadline = time.monotonic() + 60
    while not children and time.monotonic() < deadline:  # the parser starts with the first big input
        children = psutil.Process(proc.pid).children(recursive=True)
        time.sleep(0.05)
    assert children, "ingest started no parser process"
    _kill_after_some_batches(proc, url, at_least=1)
    _gone, alive = psutil.wait_procs(children, timeout=5)
    assert not alive, f"still running 5 s after the ingest was killed: {[p.cmdline()[-3:] for p in alive]}"
