"""`paperboy harvest`: one harvest of arXiv (OAI-PMH) and/or Hugging Face daily papers, now."""

from __future__ import annotations

from datetime import date

import click

from paperboy.cli.common import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, emit, home_option, service

MAX_PRINTED_PROBLEMS = 50


def _day(_ctx, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-11-29", param=param) from None


@click.command()
@home_option
@click.option(
    "--source",
    type=click.Choice(["arxiv", "hf", "all"]),
    default="all",
    show_default=True,
    help="Which service to harvest.",
)
@click.option(
    "--from",
    "from_",
    callback=_day,
    metavar="YYYY-MM-DD",
    help="Start of the window (default: each set's watermark, so a harvest resumes where the last ended).",
)
@click.option("--until", callback=_day, metavar="YYYY-MM-DD", help="End of the window (default: today, UTC).")
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="SET",
    help="arXiv OAI set to harvest (cs, math, physics:hep-th...); default: the sets of the followed "
    "categories. Repeatable.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print {"added", "updated", "unchanged", "rejected", "requests", "watermark", "sources"}.',
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--no-index", is_flag=True, help="Do not bring the keyword index up to date afterwards.")
@click.pass_context
def harvest(ctx, source, from_, until, sets, as_json, quiet, no_index) -> None:
    """Harvest new papers of the followed categories from arXiv and Hugging Face daily papers now."""
    from paperboy.service.harvest import HarvestError

    pb = service(ctx)
    printed = 0

    def problem(msg: str) -> None:
        nonlocal printed
        printed += 1
        if printed <= MAX_PRINTED_PROBLEMS:
            click.echo(f"warning: {msg}", err=True)

    try:
        report = pb.harvest.run(
            source,
            from_=from_,
            until=until,
            sets=list(sets) or None,
            progress=not quiet and not as_json,
            on_problem=problem,
        )
    except HarvestError as exc:
        click.echo(f"paperboy harvest: {exc}", err=True)
        ctx.exit(EXIT_USAGE)
    data = report.to_dict()
    if not no_index and data["added"] + data["updated"]:
        from paperboy.service import IndexBusy

        try:
            pb.update_index(embed=False, wait=False)
        except IndexBusy:
            click.echo("note: another process is updating the search index", err=True)
    if as_json:
        emit(data)
    else:
        for name, s in data["sources"].items():
            line = (
                f"{name}: {s['added']} added, {s['updated']} updated, {s['unchanged']} unchanged, "
                f"{s['rejected']} rejected, {s['skipped']} outside the followed categories; "
                f"{s['requests']} requests; watermark {s['watermark'] or 'none'}"
            )
            click.echo(line + ("; STOPPED: " + s["errors"][-1] if s["failed"] and s["errors"] else ""))
    if report.failed:
        ctx.exit(EXIT_FAILED)
    ctx.exit(EXIT_PARTIAL if report.problems else EXIT_OK)
