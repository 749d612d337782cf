"""`paperboy rank --library FILE_OR_ID ... CANDIDATES ...`: every candidate scored for a library, nothing stored."""

from __future__ import annotations

import json
import sys

import click

from paperboy.cli.common import EXIT_PARTIAL, failing_on, home_option, service

MAX_PRINTED_PROBLEMS = 50


@click.command()
@home_option
@click.option(
    "--library",
    "-l",
    "library",
    multiple=True,
    required=True,
    metavar="FILE_OR_ID",
    help="A paper of the library: a file in any ingest format (BibTeX, arXiv JSONL/OAI/Atom, HF daily) "
    "or a stored paper's id. Repeat for more.",
)
@click.argument("candidates", nargs=-1, required=True, metavar="CANDIDATES...")
@click.option(
    "--json", "as_json", is_flag=True, help='Print every candidate, best first: [{"id", "title", "score", "reason"}].'
)
@click.pass_context
def rank(ctx, library, candidates, as_json) -> None:
    """Score every candidate (files or stored ids) for a library; nothing is added to the store."""
    from paperboy.service.ranklist import RankInputError

    pb = service(ctx)
    with failing_on(ctx, RankInputError):
        lib = pb.ranker.read(library)
        cand = pb.ranker.read(candidates)
        for msg in (lib.problems + cand.problems)[:MAX_PRINTED_PROBLEMS]:
            click.echo(f"skipped: {msg}", err=True)
        ranked = pb.ranker.rank(lib.papers, cand.papers)
    if as_json:
        json.dump([r.to_dict() for r in ranked], sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        for n, r in enumerate(ranked, 1):
            click.echo(f"{n:>5}. {r.score:8.3f}  {r.id}  {r.title}\n       {r.reason}")
    if lib.problems or cand.problems:
        ctx.exit(EXIT_PARTIAL)
