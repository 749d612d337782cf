"""Engine creation and schema migrations for the store."""

from __future__ import annotations

import functools
import logging
import re
import sqlite3
import time
from pathlib import Path

import sqlalchemy as sa

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger("paperboy.store")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=30000")
    # Switching a new file to WAL needs an exclusive lock, and SQLite answers "database is locked"
    # at once, without waiting, while another process starting on the same new file holds one
    # (its migration, its own switch). Once the file is in WAL mode this is a no-op.
    for attempt in range(100):
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or attempt == 99:
                raise
            time.sleep(0.1)
    cur.execute("PRAGMA foreign_keys=ON")
    # NORMAL is durable across application crashes in WAL mode; only an OS crash can lose the last commit.
    cur.execute("PRAGMA synchronous=NORMAL")
    # 64 MiB of page cache (default 2 MiB): a bulk load at millions of papers inserts into indexes far
    # larger than 2 MiB, and every miss is a read; pages are only allocated as they are used.
    cur.execute("PRAGMA cache_size=-65536")
    cur.close()


def create_engine(url: str) -> sa.Engine:
    """An engine for `url`; SQLite files get WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def reading(engine: sa.Engine) -> sa.Connection:
    """A connection for reads: on PostgreSQL in autocommit, which saves the BEGIN and ROLLBACK round trips.

    Under READ COMMITTED every statement reads its own snapshot inside a transaction too, so
    reads see the same data either way; a busy web request made ~20 round trips and each one
    waits for a PostgreSQL backend to get the CPU. SQLite keeps its transaction: there it is
    what gives several statements one snapshot. Writes go through engine.begin() as before.
    """
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
    return conn


def analyze(engine: sa.Engine) -> None:
    """Refresh the query planner's statistics (after a bulk load).

    Without them PostgreSQL guessed that nearly every paper is hidden and scanned the whole
    table for the few hidden ones (55 ms instead of 0.03 ms per search); autovacuum does it
    too, but only a while later, and not at all after an unclean shutdown loses its counters.
    """
    if engine.dialect.name == "sqlite":
        # PRAGMA optimize writes sqlite_stat1: take the write lock first (waiting up to busy_timeout),
        # because a statement that reads and then upgrades to writing fails at once, without waiting,
        # when another process holds the lock (several processes opening a new store at once did).
        try:
            with engine.begin() as conn:
                begin_write(conn)
                conn.exec_driver_sql("PRAGMA optimize")
        except sa.exc.OperationalError as e:  # statistics only: never worth failing an open for
            log.warning("planner statistics not refreshed: %s", str(e.orig or e).splitlines()[0])
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")


# Any constant: the key of PostgreSQL's transaction-scoped advisory lock that serializes store writers.
WRITE_LOCK_KEY = 0x70617065_72626F79  # b"paperboy"


def begin_write(conn: sa.Connection) -> None:
    """Make the current transaction the store's only writer until it ends; call it first.

    Writers read before they write (matching rows, the next `seq`), so two at once could insert
    the same paper twice or commit `seq` values out of order and make an index skip rows. SQLite:
    BEGIN IMMEDIATE takes the write lock up front (waiting up to busy_timeout), where a deferred
    transaction that has read could not upgrade after another commit. PostgreSQL: an advisory
    lock held to commit; under READ COMMITTED each later statement then sees earlier writers.
    """
    if conn.dialect.name == "sqlite":
        # pysqlite opens transactions lazily (before the first INSERT/UPDATE/DELETE), so none is open yet.
        if not conn.connection.dbapi_connection.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})


def _alembic_config():
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


_REVISION = re.compile(r"^(down_revision|revision)\s*=\s*(?:'([^']*)'|\"([^\"]*)\"|None)", re.M)


@functools.cache
def head_revision() -> str:
    """The newest migration's revision, read from the migration files without loading Alembic.

    Every store open asks for it; Alembic's ScriptDirectory costs ~0.4 s of a CLI call. A test
    checks it against Alembic's own answer.
    """
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for key, single, double in _REVISION.findall(path.read_text(encoding="utf-8")):
            (revisions if key == "revision" else parents).add(single or double)
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the migrations must form one chain; heads: {sorted(heads)}")
    return heads.pop()


def _current_revision(conn: sa.Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest migration (a no-op when it is already there)."""
    head = head_revision()
    with engine.connect() as conn:
        if _current_revision(conn) == head:
            return
    from alembic import command

    cfg = _alembic_config()
    # Several processes (web workers, the worker) may start on a fresh database at once: the
    # write lock lets one migrate while the others wait and then find the schema at head. On
    # SQLite it also makes the DDL one transaction, so a crash cannot leave half a schema.
    with engine.begin() as conn:
        begin_write(conn)
        if _current_revision(conn) == head:
            return
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    # Columns a migration adds have no planner statistics, and adding them does not prompt autovacuum
    # to gather any: on an upgraded 68k-paper store PostgreSQL then scanned every row per search.
    analyze(engine)
