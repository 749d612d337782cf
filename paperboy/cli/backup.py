"""`paperboy backup PATH` and `paperboy restore PATH`: a consistent copy of the store, and back."""

from __future__ import annotations

from pathlib import Path

import click

from paperboy.cli.common import failing_on, home_option, service


def _size(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 1e5 else f"{n:,} bytes"


@click.command()
@home_option
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def backup(ctx: click.Context, path: Path) -> None:
    """Write a consistent copy of the store to PATH, safe while paperboy keeps running.

    SQLite: one self-contained database file (SQLite's online backup API). PostgreSQL: a pg_dump
    custom-format archive (needs pg_dump). PATH is replaced atomically; index files are not
    included, as `paperboy index --rebuild` recreates them from the store.
    """
    from paperboy.service import BackupError

    with failing_on(ctx, BackupError):
        res = service(ctx).backup(path)
    what = f"{res.papers:,} papers, " if res.papers is not None else ""
    click.echo(f"backed up {what}{_size(res.bytes)} to {res.path} in {res.seconds:.1f} s")


@click.command()
@home_option
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a store that already holds data.")
@click.pass_context
def restore(ctx: click.Context, path: Path, force: bool) -> None:
    """Replace the store with the backup at PATH (made by `paperboy backup`).

    Refuses a store that already holds data unless --force. Stop other paperboy processes first,
    and run `paperboy index --rebuild` afterwards: the index describes the store it was built from.
    """
    from paperboy.service import BackupError

    with failing_on(ctx, BackupError):
        res = service(ctx).restore(path, force=force)
    click.echo(f"restored {res.papers:,} papers from {res.path} in {res.seconds:.1f} s")
    click.echo("the search index will catch up on the next `paperboy index`", err=True)
