"""Built test homes: a base home (and its PostgreSQL database) built once per session, copied per test.

The web, email, map, search and MCP suites build different homes from the real corpus, but the rest is the
same: on --db=postgres the base lives in a database of its own that each test's copy uses as a template.
The `base_homes` session fixture (tests/conftest.py) builds each base on its first use.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


class BaseHomes:
    """The session's base homes by label, each built by its `build(home, database_url)` on first use.

    `pg_admin` (None on SQLite) is an AUTOCOMMIT engine: each base gets a database of its own, and copies
    made without a test's `new_database_url` too; all are dropped by `close()`.
    """

    def __init__(self, tmp_path_factory, pg_admin):
        self._factory, self._pg_admin = tmp_path_factory, pg_admin
        self._built: dict[str, tuple[Path, str | None] | BaseException] = {}
        self._databases: list[str] = []

    def get(self, label: str, build: Callable[[Path, str | None], None]) -> tuple[Path, str | None]:
        """(home, database_url or None) of the base home `label`; never to be written to (copy it instead)."""
        if label not in self._built:
            try:
                home = self._factory.mktemp(f"{label}-base") / "home"
                url = self._new_database(f"pbt_{label}_base_{os.getpid()}") if self._pg_admin else None
                build(home, url)
                self._built[label] = (home, url)
            except Exception as e:  # one failed build fails every test that needs it, without building again
                self._built[label] = e
                raise
        built = self._built[label]
        if isinstance(built, BaseException):
            raise built
        return built

    def copy(self, label: str, build: Callable[[Path, str | None], None], home: Path, new_database_url=None) -> Path:
        """A private copy at `home` of the base home `label` (see copy_home); without a test's
        `new_database_url` (a module's copy) its database lives until the end of the session."""
        return copy_home(self.get(label, build), home, new_database_url or self._copy_database)

    def _copy_database(self, template: str) -> str:
        return self._new_database(f"pbt_copy_{os.getpid()}_{len(self._databases)}", template)

    def _new_database(self, name: str, template: str | None = None) -> str:
        import sqlalchemy as sa

        tmpl = f' TEMPLATE "{sa.make_url(template).database}"' if template else ""
        with self._pg_admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"{tmpl}')
        self._databases.append(name)
        return self._pg_admin.url.set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        if self._databases:
            with self._pg_admin.connect() as conn:
                for name in reversed(self._databases):  # copies before the bases they were made from
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def service(home: Path, database_url: str | None, secret_key: str = "test-secret") -> Iterator:
    """A Paperboy on `home` (and its database), closed on exit: what a builder fills a base home with."""
    from paperboy.config import Settings
    from paperboy.service import Paperboy

    pb = Paperboy(Settings(home=home, database_url=database_url, secret_key=secret_key))
    try:
        yield pb
    finally:
        pb.close()


def copy_home(base: tuple[Path, str | None], home: Path, new_database_url) -> Path:
    """A private copy of a base home at `home`; on PostgreSQL <home>/database_url names its own database copy."""
    src, url = base
    shutil.copytree(src, home)
    if url:
        (home / "database_url").write_text(new_database_url(template=url))
    return home


def home_database_url(home: Path) -> str | None:
    """The database URL a copied home names, or None for its own SQLite file."""
    url_file = Path(home) / "database_url"
    return url_file.read_text() if url_file.exists() else None


def home_settings(home: Path, secret_key: str = "test-secret", **kw):
    """Settings for a copied home: its own SQLite file, or the PostgreSQL database it names."""
    from paperboy.config import Settings

    kw.setdefault("database_url", home_database_url(home))
    return Settings(home=home, secret_key=secret_key, **kw)
