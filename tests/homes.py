"""Built test homes: a base home (and its PostgreSQL database) built once per session, copied per test.

The web and email suites build different homes from the real corpus, but the rest is the same: on
--db=postgres the base lives in a database of its own that each test's copy uses as a template.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def base_home(
    tmp_path_factory, pg_admin, label: str, build: Callable[[Path, str | None], None]
) -> Iterator[tuple[Path, str | None]]:
    """(home, database_url or None) after `build(home, url)`; `pg_admin` (None on SQLite) owns the database."""
    home = tmp_path_factory.mktemp(f"{label}-base") / "home"
    url = None
    if pg_admin is not None:
        name = f"pbt_{label}_base_{os.getpid()}"
        with pg_admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = pg_admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        build(home, url)
        yield home, url
    finally:
        if url:
            with pg_admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
