"""What every command shares: --home, building the service, exit codes, JSON output, number types."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from paperboy.config import Settings
    from paperboy.service import Paperboy

# 0 success (also when nothing was new), 2 usage error, 3 finished with problems (some records
# rejected, an input stopped early, some emails failed: the rest was done), 4 nothing could be done
# (missing/unreadable input, unknown paper or address), 1 an unexpected internal error.
EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_PARTIAL, EXIT_FAILED = 0, 1, 2, 3, 4


def _set_home(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.ensure_object(dict)["home"] = value


home_option = click.option(
    "--home",
    type=click.Path(file_okay=False),
    expose_value=False,
    callback=_set_home,
    is_eager=True,
    help="Data directory (default: $PAPERBOY_HOME or the platform's user data dir).",
)


json_option = click.option("--json", "as_json", is_flag=True, help="Print as a JSON object.")


def settings_from(ctx: click.Context) -> Settings:
    """Settings for this invocation: --home on the group or the command, else the environment."""
    from paperboy.config import Settings

    home = (ctx.find_root().obj or {}).get("home") or (ctx.obj or {}).get("home")
    return Settings(home=Path(home)) if home else Settings()


def service(ctx: click.Context, settings: Settings | None = None) -> Paperboy:
    """The Paperboy facade for this invocation (settings: already read by the command), closed when it ends."""
    from paperboy.service import Paperboy

    pb = Paperboy(settings or settings_from(ctx))
    ctx.call_on_close(pb.close)
    return pb


def emit(data: Any) -> None:
    """Print data as indented JSON (dates and paths as strings)."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def fail(ctx: click.Context, message: str, code: int = EXIT_FAILED) -> None:
    """One line on stderr, then exit with `code` (default: nothing could be done)."""
    click.echo(f"error: {message}", err=True)
    ctx.exit(code)


@contextmanager
def failing_on(ctx: click.Context, *refusals: type[Exception], code: int = EXIT_FAILED) -> Iterator[None]:
    """Inside: the service's `refusals` become one line on stderr and exit `code`, as `fail` does."""
    try:
        yield
    except refusals as e:
        fail(ctx, str(e), code)


class FiniteRange(click.FloatRange):
    """click.FloatRange that also refuses 'nan', which passes every range check (comparisons are false)."""

    def convert(self, value, param, ctx):
        value = super().convert(value, param, ctx)
        if value != value:
            self.fail("nan is not a number", param, ctx)
        return value
