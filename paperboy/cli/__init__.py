"""`paperboy` command line: thin command groups over the Paperboy service.

Each command lives in a module of this package and is imported only when it runs (or when --help
lists it), so `paperboy --help`, `ingest` and `stats` never load the web framework or a model.
Exit codes: see paperboy.cli.common.
"""

from __future__ import annotations

import importlib
import sys

import click

from paperboy.cli.common import home_option

# name -> "module:attribute". A new command: a module in this package, one line here.
COMMANDS = {
    "ingest": "paperboy.cli.ingest:ingest",
    "stats": "paperboy.cli.ingest:stats",
    "show": "paperboy.cli.ingest:show",
    "export": "paperboy.cli.ingest:export",
    "index": "paperboy.cli.search:index",
    "search": "paperboy.cli.search:search",
    "similar": "paperboy.cli.search:similar",
    "eval": "paperboy.cli.search:eval_",
    "start": "paperboy.cli.serve:start",
    "serve": "paperboy.cli.serve:serve_command",
    "worker": "paperboy.cli.worker:worker",
    "digest": "paperboy.cli.digest:digest",
    "harvest": "paperboy.cli.harvest:harvest",
    "backup": "paperboy.cli.backup:backup",
    "restore": "paperboy.cli.backup:restore",
    "mcp": "paperboy.cli.mcp:mcp",
    "map": "paperboy.cli.map:map_command",
    "rank": "paperboy.cli.rank:rank",
}


class LazyGroup(click.Group):
    """A click group whose commands are imported from COMMANDS on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in COMMANDS:
            module, attr = COMMANDS[name].split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@home_option
@click.version_option(package_name="paperboy")
@click.pass_context
def main(ctx: click.Context) -> None:
    """paperboy: self-hosted research-paper discovery."""
    ctx.ensure_object(dict)


def run() -> None:
    """Console-script entry point: friendly messages instead of tracebacks."""
    from pydantic import ValidationError

    try:
        main(standalone_mode=True)
    except ValidationError as exc:  # bad PAPERBOY_* settings, e.g. no secret key in production
        problems = "; ".join(
            (f"{'.'.join(map(str, e['loc']))}: " if e["loc"] else "") + e["msg"].removeprefix("Value error, ")
            for e in exc.errors()[:5]
        )
        click.echo(f"paperboy: refusing to start: {problems}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted; everything committed so far is kept", err=True)
        sys.exit(130)
