"""Shared fixtures: the read-only ../shared data and cheap, real paperboy instances."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# No test harvests the real arXiv or Hugging Face: the worker harvests only where a test turns it on.
os.environ.setdefault("PAPERBOY_HARVEST_INTERVAL_HOURS", "0")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PAPERBOY_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the repo; tests fail (not skip) without it, as CI always has it."""
    assert SHARED.is_dir(), f"{SHARED} is missing: tests read the sample corpus from ../shared"
    return SHARED


@pytest.fixture(scope="session")
def hf_page(shared_dir: Path) -> Path:
    return shared_dir / "corpus" / "hf-papers-search-page.txt"


@pytest.fixture(scope="session")
def arxiv_shards(shared_dir: Path) -> list[Path]:
    return sorted((shared_dir / "corpus" / "arxiv-cs-2025-2026").glob("*.jsonl.gz"))


# -- which database: --db=sqlite (default) or --db=postgres -----------------------------------

_PG_URL = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=["sqlite", "postgres"],
        default=os.environ.get("PAPERBOY_TEST_DB", "sqlite"),
        help="Store backend the tests run on (env PAPERBOY_TEST_DB). PostgreSQL: the server from "
        "$PAPERBOY_TEST_DATABASE_URL, else the one `scripts/postgres.sh start` runs.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: checks SQLite specifics; skipped with --db=postgres")
    config.addinivalue_line(
        "markers",
        "store_free: never opens a store, so the --db=postgres pass skips it "
        "(STORE_FREE lists whole files; the SQLite pass checks the claim)",
    )
    if config.getoption("--db") == "postgres":
        url = os.environ.get("PAPERBOY_TEST_DATABASE_URL")
        if not url:
            proc = subprocess.run([str(REPO / "scripts" / "postgres.sh"), "url"], capture_output=True, text=True)
            url = proc.stdout.strip()
        if not url:
            raise pytest.UsageError(
                "--db=postgres needs a server: run scripts/postgres.sh start (or set PAPERBOY_TEST_DATABASE_URL)"
            )
        config.stash[_PG_URL] = url


# Test files that never open a store (parsers, index files, the import walk, the eval on its own
# index): running them again on PostgreSQL would prove nothing, so the --db=postgres pass skips them.
STORE_FREE = (
    "tests/sources/",
    "tests/index/",
    "tests/test_layering.py",
    "tests/test_eval.py",
    "tests/test_keywords.py",
    "tests/email/test_model.py",
    "tests/email/test_recommend.py",
    "tests/test_harvest_protocol.py",
    "tests/test_bibtex_keys.py",
    "tests/map/test_map_parts.py",
)


# Test files that load the embedding model, serve processes or ingest the whole sample: the
# `scripts/test --fast` inner loop leaves them out (marker `slow`); the whole suite runs them.
SLOW_FILES = (
    "tests/test_search_service.py",
    "tests/index/test_embedder.py",
    "tests/index/test_onnx_embedder.py",
    "tests/index/test_index_concurrency.py",
    "tests/store/test_faults.py",
    "tests/test_worker.py",
    "tests/test_eval.py",
    "tests/test_cli_imports.py",
    "tests/email/test_recommend.py",
    "tests/web/test_serve.py",
    "tests/test_pg_restart.py",
    "tests/test_mcp.py",
    "tests/map/test_map.py",
    "tests/map/test_map_browser.py",
)


def _uses_database(item: pytest.Item) -> bool:
    """Whether the test reaches the --db backend: every fixture that picks a database depends on db_backend
    (pg_server_url aside). A test without one (a CLI's --help, a parser, a process on a home's default
    SQLite file) runs the very same code in both passes."""
    return bool({"db_backend", "pg_server_url"} & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _mark(config, items)
    # The slow files first (a stable sort keeps each file whole and in order): under pytest-xdist the
    # long ones then run while the many short ones fill the other workers, instead of trailing alone.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _mark(config: pytest.Config, items: list[pytest.Item]) -> None:
    backend = config.getoption("--db")
    for item in items:
        rel = Path(str(item.path)).relative_to(REPO).as_posix()
        if rel.startswith(STORE_FREE):
            item.add_marker(pytest.mark.store_free)
        if rel.startswith(SLOW_FILES):
            item.add_marker(pytest.mark.slow)
        if backend == "sqlite" and item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: run with --db=postgres"))
        elif backend == "postgres" and item.get_closest_marker("sqlite_only"):
            item.add_marker(pytest.mark.skip(reason="SQLite specific"))
        elif backend == "postgres" and item.get_closest_marker("store_free"):
            item.add_marker(pytest.mark.skip(reason="store-free: the SQLite pass covers it"))
        elif backend == "postgres" and not item.get_closest_marker("postgres") and not _uses_database(item):
            item.add_marker(
                pytest.mark.skip(reason="asks for no --db database (SQLite in both passes): the SQLite pass covers it")
            )


@pytest.fixture(autouse=True)
def _store_free_really_is(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store_free test that creates a database engine fails, so the PostgreSQL pass never skips a store test."""
    if request.node.get_closest_marker("store_free"):
        import sqlalchemy

        def refuse(*_a, **_k):
            raise AssertionError("a store_free test opened a database: take it out of STORE_FREE in tests/conftest.py")

        monkeypatch.setattr(sqlalchemy, "create_engine", refuse)


def pytest_report_header(config: pytest.Config) -> str:
    return f"paperboy store backend: {config.getoption('--db')}"


@pytest.fixture(scope="session")
def db_backend(request: pytest.FixtureRequest) -> str:
    """'sqlite' or 'postgres', from --db."""
    return request.config.getoption("--db")


@pytest.fixture(scope="session")
def pg_server_url(request: pytest.FixtureRequest) -> str:
    """URL of a database on the test PostgreSQL server (--db=postgres), from which tests create their own."""
    return request.config.stash[_PG_URL]


@pytest.fixture(scope="session")
def _pg_admin(db_backend: str, request: pytest.FixtureRequest):
    """An AUTOCOMMIT engine for CREATE/DROP DATABASE (None on SQLite)."""
    if db_backend != "postgres":
        yield None
        return
    import sqlalchemy as sa

    engine = sa.create_engine(request.config.stash[_PG_URL], isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def base_homes(tmp_path_factory, _pg_admin):
    """Homes built once per session from the real corpus (tests/homes.py), each on first use; tests copy them."""
    from tests.homes import BaseHomes

    built = BaseHomes(tmp_path_factory, _pg_admin)
    yield built
    built.close()


_db_counter = itertools.count()


@pytest.fixture
def new_database_url(db_backend: str, _pg_admin, tmp_path_factory) -> Iterator[Callable[..., str]]:
    """Factory of fresh, empty, isolated store databases on the selected backend; dropped afterwards.

    `new_database_url(template=url)` makes a copy of an existing database instead (the template
    must have no open connections on PostgreSQL: close its Store first).
    """
    import sqlalchemy as sa

    created: list[str] = []

    def make(template: str | None = None) -> str:
        if db_backend == "sqlite":
            path = tmp_path_factory.mktemp("db") / "store.db"
            if template:
                from paperboy.store.backup import backup

                backup(template, path)
            return f"sqlite:///{path}"
        # One database per test: CREATE DATABASE takes ~20 ms here, and each test then runs the
        # real migrations, exactly as a new deployment would.
        name = f"pbt_{os.getpid()}_{next(_db_counter)}_{uuid.uuid4().hex[:6]}"
        tmpl = f' TEMPLATE "{sa.make_url(template).database}"' if template else ""
        with _pg_admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"{tmpl}')
        created.append(name)
        return _pg_admin.url.set(database=name).render_as_string(hide_password=False)

    yield make
    if created:
        with _pg_admin.connect() as conn:
            for name in created:
                # FORCE ends connections a test left open (a killed subprocess, an undisposed pool).
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(new_database_url: Callable[..., str]) -> str:
    """A fresh store database URL on the selected backend (SQLite file or PostgreSQL database)."""
    return new_database_url()


@pytest.fixture
def home_database(db_backend: str, new_database_url: Callable[..., str]) -> Callable[[Path], str | None]:
    """`home_database(home)`: the PAPERBOY_DATABASE_URL for a paperboy home in this test.

    None on SQLite (the default file under home, which is what users get); on PostgreSQL one
    database per distinct home, so a test may use several independent instances.
    """
    urls: dict[Path, str] = {}

    def for_home(home: Path) -> str | None:
        if db_backend == "sqlite":
            return None
        key = Path(home).resolve()
        if key not in urls:
            urls[key] = new_database_url()
        return urls[key]

    return for_home


@pytest.fixture
def cli(home_database: Callable[[Path], str | None]):
    """`cli(home, *args)` -> (exit code, stdout, stderr) of `paperboy --home HOME ARGS...`, in process,
    on this test's store for that home (see home_database)."""
    from click.testing import CliRunner

    from paperboy.cli import main

    def run(home: Path, *args: str) -> tuple[int, str, str]:
        env = {"PAPERBOY_DATABASE_URL": home_database(home)}  # None unsets it: SQLite under home
        res = CliRunner().invoke(main, ["--home", str(home), *args], env=env, catch_exceptions=False)
        return res.exit_code, res.stdout, res.stderr

    return run


@pytest.fixture
def subprocess_env(home_database: Callable[[Path], str | None]) -> Callable[[Path], dict[str, str]]:
    """`subprocess_env(home)`: os.environ for a `python -m paperboy.cli --home HOME` child process."""

    def env_for(home: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "PAPERBOY_DATABASE_URL"}
        url = home_database(home)
        return {**env, "PAPERBOY_DATABASE_URL": url} if url else env

    return env_for


@pytest.fixture
def cli_process(subprocess_env: Callable[[Path], dict[str, str]]):
    """`cli_process(home, *args)`: a running `python -m paperboy.cli --home HOME ARGS...` (Popen).

    Each gets its own process group, killed whole at teardown: a SIGKILLed paperboy leaves its
    parser process behind, and a test must not leak it.
    """
    procs: list[subprocess.Popen] = []

    def start(home: Path, *args: str, **popen: object) -> subprocess.Popen:
        popen.setdefault("stdout", subprocess.DEVNULL)
        popen.setdefault("stderr", subprocess.PIPE)
        proc = subprocess.Popen(
            [sys.executable, "-m", "paperboy.cli", "--home", str(home), *args],
            env=subprocess_env(home),
            start_new_session=True,
            **popen,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        if proc.stderr:
            proc.stderr.close()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium (Playwright), launched once per test file; each test opens its own context.

    Per file, not per session: while Playwright's sync API runs, it leaves its event loop marked as running
    on the main thread, and a later file's asyncio.run() (tests/test_mcp.py) would then fail.
    """
    from tests.browser import chromium

    with chromium() as b:
        yield b


@pytest.fixture
def pb(tmp_path: Path, home_database: Callable[[Path], str | None]):
    """A Paperboy on a fresh store: a SQLite file in tmp_path, or a PostgreSQL database with --db=postgres."""
    from paperboy.config import Settings
    from paperboy.service import Paperboy

    home = tmp_path / "home"
    app = Paperboy(Settings(home=home, database_url=home_database(home)))
    yield app
    app.close()
