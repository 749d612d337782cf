"""`paperboy backup` / `paperboy restore` on a populated instance, on the backend --db selects."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from paperboy.store import backup as bk
from paperboy.store.db import create_engine
from tests.store.rows import papers_in

EXIT_OK, EXIT_FAILED = 0, 4
SHARD = "papers-2026-07.jsonl.gz"  # one real arXiv shard, 300 papers


def _populate(cli, home: Path, shared_dir: Path) -> None:
    corpus = shared_dir / "corpus"
    code, out, err = cli(
        home,
        "ingest",
        "--json",
        "--no-index",
        str(corpus / "hf-papers-search-page.txt"),
        str(corpus / "arxiv-cs-2025-2026" / SHARD),
    )
    assert code == EXIT_OK, err
    assert json.loads(out)["added"] == 411


def _snapshot(cli, home: Path) -> tuple[dict, list[dict]]:
    """Stats (without the run ledger's timings) and every paper, as the CLI prints them."""
    _, out, _ = cli(home, "stats", "--json")
    stats = json.loads(out)
    stats["runs"] = [{k: v for k, v in r.items() if k not in ("started_at", "finished_at")} for r in stats["runs"]]
    _, out, _ = cli(home, "export", "--format", "jsonl")
    return stats, [json.loads(line) for line in out.splitlines()]


def _store_url(home_database, home: Path) -> str:
    return home_database(home) or f"sqlite:///{home / 'paperboy.db'}"


def _consistent(url: str) -> int:
    """Paper count, after checking that every committed batch is whole in the store."""
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM papers")).scalar_one()
        unsourced = conn.execute(
            sa.text(
                "SELECT count(*) FROM papers p WHERE NOT EXISTS (SELECT 1 FROM paper_sources s WHERE s.paper_id = p.id)"
            )
        ).scalar_one()
        no_authors = conn.execute(
            sa.text(
                "SELECT count(*) FROM papers p WHERE NOT EXISTS (SELECT 1 FROM paper_authors a WHERE a.paper_id = p.id)"
            )
        ).scalar_one()
        dup = conn.execute(sa.text("SELECT count(*) - count(DISTINCT arxiv_id) FROM papers WHERE arxiv_id IS NOT NULL"))
        assert (unsourced, no_authors, dup.scalar_one()) == (0, 0, 0)
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    engine.dispose()
    return n


def test_backup_and_restore_round_trip_a_populated_instance(tmp_path, cli, shared_dir):
    src, dst = tmp_path / "src", tmp_path / "dst"
    _populate(cli, src, shared_dir)
    target = tmp_path / "backups" / "paperboy.backup"
    code, out, err = cli(src, "backup", str(target))
    assert code == EXIT_OK, err
    assert target.is_file() and "backed up" in out
    code, out, err = cli(dst, "restore", str(target))
    assert code == EXIT_OK, err
    assert "restored 411 papers" in out and "paperboy index" in err
    code, out, err = cli(dst, "index", "--no-embed", "--json")
    assert code == EXIT_OK and json.loads(out)["lexical"] == 411  # the index caught up from scratch
    stats, papers = _snapshot(cli, dst)
    assert (stats, papers) == _snapshot(cli, src)
    assert stats["papers"] == 411 and len(papers) == 411
    for key in ("2606.30647", next(p["id"] for p in papers if not p["arxiv_id"])):  # arXiv and HF-only papers
        assert cli(dst, "show", "--json", key) == cli(src, "show", "--json", key)


def test_restore_refuses_a_store_with_data_unless_forced(tmp_path, cli, shared_dir, hf_page):
    src, dst = tmp_path / "src", tmp_path / "dst"
    _populate(cli, src, shared_dir)
    target = tmp_path / "b"
    assert cli(src, "backup", str(target))[0] == EXIT_OK
    code, _, _ = cli(dst, "ingest", "-q", "--no-index", str(hf_page))
    assert code == EXIT_OK
    code, _, err = cli(dst, "restore", str(target))
    assert code == EXIT_FAILED and "--force" in err and "Traceback" not in err
    assert _snapshot(cli, dst)[0]["papers"] == 111  # untouched
    code, _, err = cli(dst, "restore", "--force", str(target))
    assert code == EXIT_OK, err
    assert _snapshot(cli, dst) == _snapshot(cli, src)


def test_a_damaged_or_foreign_file_is_refused_and_the_store_is_unchanged(tmp_path, cli, shared_dir, hf_page):
    src, dst = tmp_path / "src", tmp_path / "dst"
    _populate(cli, src, shared_dir)
    good = tmp_path / "good"
    assert cli(src, "backup", str(good))[0] == EXIT_OK
    assert cli(dst, "ingest", "-q", "--no-index", str(hf_page))[0] == EXIT_OK
    cut = tmp_path / "cut"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size * 2 // 3])
    for bad in (cut, hf_page):
        code, _, err = cli(dst, "restore", "--force", str(bad))
        assert code == EXIT_FAILED and "error:" in err and "Traceback" not in err, err
        assert _snapshot(cli, dst)[0]["papers"] == 111


def test_backup_while_another_process_ingests_is_a_consistent_database(
    tmp_path, cli_process, home_database, new_database_url, arxiv_shards
):
    """The writer commits batches throughout; each backup holds whole batches and restores cleanly."""
    home = tmp_path / "live"
    url = _store_url(home_database, home)
    big = sorted(arxiv_shards, key=lambda p: p.stat().st_size)[-3:]  # ~16k papers: writes for several seconds
    writer = cli_process(home, "ingest", "-q", "--no-index", *map(str, big))
    counts: list[int] = []
    seen, deadline = 0, time.monotonic() + 600
    while len(counts) < 2 and time.monotonic() < deadline:
        assert writer.poll() is None, "the writer finished before the backups were taken"
        now = papers_in(url)
        if now <= seen:  # wait for the writer's next commit
            time.sleep(0.02)
            continue
        # Freeze the writer (between two commits or inside one) while the backup runs: the ingest is
        # then unfinished during every backup, however slow the machine, and cannot end meanwhile.
        target = tmp_path / f"backup-{len(counts)}"
        os.kill(writer.pid, signal.SIGSTOP)
        try:
            bk.backup(url, target)
        finally:
            os.kill(writer.pid, signal.SIGCONT)
        copy = new_database_url()
        bk.restore(copy, target)
        counts.append(_consistent(copy))
        seen = now
    assert len(counts) == 2 and 0 < counts[0] <= counts[1]


def test_a_backup_from_an_older_schema_is_restored_and_migrated(tmp_path, new_database_url):
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from paperboy.store import Store
    from paperboy.store.db import _alembic_config
    from paperboy.store.schema import metadata

    old = new_database_url()
    engine = create_engine(old)
    with engine.begin() as conn:
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")  # the first release's schema
        conn.exec_driver_sql(
            "INSERT INTO papers (id, title, title_key, authors, categories, content_hash, seq, created_at, modified_at)"
            " VALUES ('2501.00001', 'Old', 'old', '[]', '[]', 'x', 1, '2025-01-01', '2025-01-01')"
        )
    engine.dispose()
    bk.backup(old, tmp_path / "old.backup")
    new = new_database_url()
    Store(new).close()  # a current, empty store
    assert bk.restore(new, tmp_path / "old.backup").papers == 1
    engine = create_engine(new)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    engine.dispose()


@pytest.mark.postgres
def test_postgres_restore_leaves_other_tables_in_a_shared_database_alone(tmp_path, cli, shared_dir, home_database):
    src, dst = tmp_path / "src", tmp_path / "dst"
    _populate(cli, src, shared_dir)
    assert cli(src, "backup", str(tmp_path / "b"))[0] == EXIT_OK
    engine = create_engine(home_database(dst))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE other_app (x int)")
        conn.exec_driver_sql("INSERT INTO other_app VALUES (7)")
    assert bk.is_empty(home_database(dst))  # not paperboy's rows
    assert cli(dst, "restore", str(tmp_path / "b"))[0] == EXIT_OK
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT x FROM other_app").scalar() == 7
    engine.dispose()
    assert _snapshot(cli, dst) == _snapshot(cli, src)


@pytest.mark.sqlite_only
def test_sqlite_backup_is_one_self_contained_file(tmp_path, cli, shared_dir):
    home = tmp_path / "h"
    _populate(cli, home, shared_dir)
    target = tmp_path / "b.db"
    assert cli(home, "backup", str(target))[0] == EXIT_OK
    assert not (tmp_path / "b.db-wal").exists()
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("SELECT count(*) FROM papers").fetchone()[0] == 411
    assert cli(home, "backup", str(home / "paperboy.db"))[0] == EXIT_FAILED  # never onto the live file


@pytest.mark.sqlite_only
def test_a_backup_from_a_newer_schema_is_refused(tmp_path, cli, shared_dir):
    _populate(cli, tmp_path / "src", shared_dir)
    target = tmp_path / "b.db"
    assert cli(tmp_path / "src", "backup", str(target))[0] == EXIT_OK
    with sqlite3.connect(target) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_future'")
    code, _, err = cli(tmp_path / "dst", "restore", str(target))
    assert code == EXIT_FAILED and "newer paperboy" in err


def test_missing_postgresql_tools_are_named(monkeypatch):
    monkeypatch.setattr(bk.shutil, "which", lambda _name: None)
    monkeypatch.setattr(bk.glob, "glob", lambda _pattern: [])
    with pytest.raises(bk.BackupError, match="apt-get install postgresql-client"):
        bk.pg_tool("pg_dump")
