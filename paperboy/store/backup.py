"""Consistent backups of a running store, and restores from them.

SQLite: the online backup API copies one read snapshot into a single self-contained file while
other processes keep writing (WAL readers never block writers). PostgreSQL: `pg_dump -Fc`
(one repeatable-read snapshot) and `pg_restore`, run in one transaction through psql so a failed
restore leaves the store as it was. Index files are not backed up: they are rebuilt from the store.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from paperboy.store.db import _alembic_config, create_engine, migrate
from paperboy.store.schema import metadata

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why and what to do."""


@dataclass(slots=True)
class BackupResult:
    path: Path
    bytes: int
    seconds: float
    papers: int | None = None  # counted in the copy itself where that is cheap and exact


def backend(url: str) -> str:
    name = sa.make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"backups support SQLite and PostgreSQL stores, not {name!r}")
    return name


def backup(url: str, dest: Path) -> BackupResult:
    """Write a consistent copy of the store at `url` to `dest`, replacing it atomically."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    tmp = dest.with_name(dest.name + ".part")
    tmp.unlink(missing_ok=True)
    try:
        papers = _backup_sqlite(url, tmp, dest) if backend(url) == "sqlite" else _backup_postgres(url, tmp)
        os.replace(tmp, dest)  # a reader of `dest` sees the old backup or the new one, never half
    finally:
        tmp.unlink(missing_ok=True)
    return BackupResult(dest, dest.stat().st_size, time.perf_counter() - started, papers)


def restore(url: str, src: Path, force: bool = False) -> BackupResult:
    """Replace the store at `url` with the backup `src`, then migrate it to this version's schema.

    Refuses (BackupError) a store that holds any rows unless `force`, and a backup made by a
    newer paperboy whose schema this version does not know.
    """
    src = Path(src)
    if not src.is_file():
        raise BackupError(f"{src}: no such file")
    started = time.perf_counter()
    with open(src, "rb") as f:
        head = f.read(16)
    kind = backend(url)
    if kind == "sqlite" and not head.startswith(SQLITE_MAGIC):
        raise BackupError(
            f"{src} is not a SQLite backup" + (" (it is a pg_dump archive)" if head.startswith(PGDUMP_MAGIC) else "")
        )
    if kind == "postgresql" and not head.startswith(PGDUMP_MAGIC):
        raise BackupError(
            f"{src} is not a pg_dump archive" + (" (it is a SQLite backup)" if head.startswith(SQLITE_MAGIC) else "")
        )
    if not force and not is_empty(url):
        raise BackupError("the store already holds data; restore with --force to replace it")
    if kind == "sqlite":
        _restore_sqlite(url, src)
    else:
        _restore_postgres(url, src)
    engine = create_engine(url)
    try:
        migrate(engine)  # a backup from an older paperboy is brought to this schema
        with engine.connect() as conn:
            papers = conn.execute(sa.text("SELECT count(*) FROM papers")).scalar_one()
    finally:
        engine.dispose()
    return BackupResult(src, src.stat().st_size, time.perf_counter() - started, papers)


def is_empty(url: str) -> bool:
    """True when none of paperboy's tables holds a row (or the database has none yet)."""
    if backend(url) == "sqlite":
        path = sa.make_url(url).database
        if not path or not Path(path).exists():
            return True
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            ours = {t.name for t in metadata.sorted_tables}
            tables = [t for t in sa.inspect(conn).get_table_names() if t in ours]
            return not any(
                conn.execute(sa.select(sa.literal(1)).select_from(sa.table(t)).limit(1)).first() for t in tables
            )
    finally:
        engine.dispose()


def _check_revision(rev: str | None, src: Path) -> None:
    from alembic.script import ScriptDirectory

    known = {s.revision for s in ScriptDirectory.from_config(_alembic_config()).walk_revisions()}
    if rev is None:
        raise BackupError(f"{src} holds no paperboy store (no schema version found)")
    if rev not in known:
        raise BackupError(f"{src} was made by a newer paperboy (schema {rev}); upgrade paperboy to restore it")


# -- SQLite -----------------------------------------------------------------------------------


def _sqlite_path(url: str) -> Path:
    path = sa.make_url(url).database
    if not path or path == ":memory:":
        raise BackupError("an in-memory SQLite store cannot be backed up or restored")
    return Path(path)


def _backup_sqlite(url: str, tmp: Path, dest: Path) -> int:
    path = _sqlite_path(url)
    if not path.is_file():
        raise BackupError(f"no store at {path}: nothing to back up")
    if dest.resolve() == path.resolve():
        raise BackupError("the backup path is the live database itself")
    src = sqlite3.connect(path, timeout=30)
    dst = sqlite3.connect(tmp)
    try:
        # pages=-1: the whole database in one step, i.e. one read transaction and one snapshot.
        # Stepping in chunks would restart from scratch each time another process writes.
        src.backup(dst)
        # A self-contained file: no -wal/-shm companions to forget when copying the backup around.
        dst.execute("PRAGMA journal_mode=DELETE")
        ok = dst.execute("PRAGMA quick_check").fetchone()[0]
        if ok != "ok":
            raise BackupError(f"the copy failed its integrity check: {ok}")
        papers = dst.execute("SELECT count(*) FROM papers").fetchone()[0]
    finally:
        dst.close()
        src.close()
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    return papers


def _restore_sqlite(url: str, src: Path) -> None:
    path = _sqlite_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    try:
        try:
            ok = source.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as e:
            ok = str(e)
        if ok != "ok":
            raise BackupError(f"{src} is damaged: {ok}")
        try:
            rev = source.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:  # no such table
            rev = None
        _check_revision(rev[0] if rev else None, src)
        target = sqlite3.connect(path, timeout=30)
        try:
            # The backup API writes into the live file under its lock, in one step: processes that
            # have the store open see the old content or the restored one, never a mix.
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


# -- PostgreSQL -------------------------------------------------------------------------------


def pg_tool(name: str) -> str:
    """Path of a PostgreSQL client program: PATH first, else the newest /usr/lib/postgresql/N/bin."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if versions:
        return versions[-1]
    raise BackupError(
        f"{name} not found: install the PostgreSQL client programs "
        f"(Debian: apt-get install postgresql-client) or put {name} on PATH"
    )


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the environment carrying it
    (a password on the command line would show in `ps`)."""
    from psycopg.conninfo import make_conninfo

    u = sa.make_url(url)
    params = {
        k: v
        for k, v in {"host": u.host, "port": u.port, "user": u.username, "dbname": u.database}.items()
        if v is not None
    }
    params.update({k: v if isinstance(v, str) else v[-1] for k, v in u.query.items()})
    env = dict(os.environ)
    if u.password is not None:
        env["PGPASSWORD"] = str(u.password)
    return make_conninfo(**params), env


def _run(cmd: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BackupError(f"{what} failed: {proc.stderr.strip() or f'exit code {proc.returncode}'}")
    return proc


def _backup_postgres(url: str, tmp: Path) -> None:
    """pg_dump's custom format: compressed, and pg_restore can list or pick from it."""
    conninfo, env = _libpq(url)
    _run(
        [pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-acl", f"--file={tmp}", f"--dbname={conninfo}"],
        env,
        "pg_dump",
    )
    _run([pg_tool("pg_restore"), "--list", str(tmp)], env, "checking the archive with pg_restore --list")


def _dump_revision(src: Path, env: dict[str, str]) -> str | None:
    """The alembic revision recorded in a pg_dump archive, read without restoring anything."""
    out = _run(
        [pg_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(src)],
        env,
        "reading the archive",
    ).stdout
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line:
            data = lines[i + 1] if i + 1 < len(lines) else "\\."
            return None if data == "\\." else data.strip()
    return None


def _drop_tables_sql(src: Path, env: dict[str, str]) -> str:
    """DROP for paperboy's tables and the archive's: the archive recreates them. Anything else in
    a shared database is left alone."""
    toc = _run([pg_tool("pg_restore"), "--list", str(src)], env, "reading the archive").stdout
    names = {t.name for t in metadata.sorted_tables} | {"alembic_version"}
    names |= {m.group(1) for m in re.finditer(r"^\d+; \d+ \d+ TABLE public (\S+) ", toc, re.M)}
    quoted = ", ".join('public."{}"'.format(n.replace('"', '""')) for n in sorted(names))
    return f"DROP TABLE IF EXISTS {quoted} CASCADE"


def _restore_postgres(url: str, src: Path) -> None:
    conninfo, env = _libpq(url)
    _check_revision(_dump_revision(src, env), src)
    drop = _drop_tables_sql(src, env)
    with tempfile.TemporaryDirectory(prefix="paperboy-restore-") as tmpdir:
        # The archive as SQL first, completely: psql must never commit a script cut short by a
        # damaged archive. Then psql runs the drop and the script as one transaction, so an error
        # anywhere (ON_ERROR_STOP) rolls back to the store as it was.
        script = Path(tmpdir) / "restore.sql"
        _run([pg_tool("pg_restore"), "--no-owner", "--no-acl", f"--file={script}", str(src)], env, "pg_restore")
        proc = subprocess.run(
            [
                pg_tool("psql"),
                "--no-psqlrc",
                "--quiet",
                "--set=ON_ERROR_STOP=1",
                "--single-transaction",
                f"--command={drop}",
                f"--file={script}",
                f"--dbname={conninfo}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
    if proc.returncode != 0:
        raise BackupError(f"restore failed, the store is unchanged: {proc.stderr.strip()}")
