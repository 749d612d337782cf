"""`paperboy ingest`, `stats`, `show` and `export`: papers in and out of the store."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from paperboy.cli.common import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, emit, home_option, json_option, service

MAX_PRINTED_PROBLEMS = 50
INGEST_FORMATS = ["auto", "hf-page", "arxiv-jsonl", "arxiv-oai", "arxiv-oai-pmh", "arxiv-atom", "hf-daily", "bibtex"]


class _Problems:
    """Prints record-level problems to stderr, at most MAX_PRINTED_PROBLEMS of them."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, msg: str) -> None:
        self.count += 1
        if self.count <= MAX_PRINTED_PROBLEMS:
            click.echo(f"warning: {msg}", err=True)

    def close(self) -> None:
        if self.count > MAX_PRINTED_PROBLEMS:
            click.echo(f"warning: ... and {self.count - MAX_PRINTED_PROBLEMS} more problems", err=True)


def summary(r) -> str:
    rate = (r.added + r.updated + r.unchanged) / r.seconds if r.seconds > 0 else 0.0
    line = (
        f"{r.source or 'ingest'}: {r.added} added, {r.updated} updated, {r.unchanged} unchanged, "
        f"{r.rejected} rejected, {r.duplicates} duplicates in {r.seconds:.1f} s ({rate:,.0f} papers/s)"
    )
    if r.aborted:
        line += f"; stopped early: {r.aborted}"
    return line


def exit_code(r) -> int:
    stored = r.added + r.updated + r.unchanged + r.duplicates
    if r.aborted and not stored:
        return EXIT_FAILED
    if r.aborted or r.rejected:
        return EXIT_PARTIAL
    return EXIT_OK


@click.command()
@home_option
@click.argument("paths", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(INGEST_FORMATS),
    default="auto",
    show_default=True,
    help="Input format; auto detects it from the content.",
)
@click.option("--arxiv-query", help='Fetch from the arXiv API instead of files, e.g. "cat:cs.CL".')
@click.option(
    "--max",
    "max_results",
    type=click.IntRange(1, 100_000),
    default=100,
    show_default=True,
    help="Most papers to fetch with --arxiv-query.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as a JSON object.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--no-index", is_flag=True, help="Do not bring the search index up to date afterwards.")
@click.pass_context
def ingest(ctx, paths, fmt, arxiv_query, max_results, as_json, quiet, no_index) -> None:
    """Ingest papers from files (JSONL, gzip, Atom, BibTeX, HF dumps) or a live arXiv query."""
    if not paths and not arxiv_query:
        raise click.UsageError("give one or more PATHs or --arxiv-query")
    if paths and arxiv_query:
        raise click.UsageError("give PATHs or --arxiv-query, not both")
    pb = service(ctx)
    problems = _Problems()
    if arxiv_query:
        report = pb.ingest_arxiv_query(arxiv_query, max_results, on_problem=problems)
    else:
        report = pb.ingest(
            list(paths), fmt, progress=not quiet and not as_json, on_problem=problems, index=not no_index
        )
    problems.close()
    if report.index_error:
        click.echo(f"warning: keyword indexing beside the ingest failed ({report.index_error}); indexing now", err=True)
    if not no_index and (report.added or report.updated) and hasattr(pb, "update_index"):
        from paperboy.service import IndexBusy

        try:
            pb.update_index(progress=not quiet and not as_json, embed=False, wait=False)
        except IndexBusy:  # a worker picks the papers up itself; a `paperboy index` run started earlier won't
            click.echo(
                "note: another process is updating the search index; run `paperboy index` afterwards "
                "unless `paperboy worker` is running",
                err=True,
            )
    if as_json:
        emit(report.to_dict())
    else:
        click.echo(summary(report))
    ctx.exit(exit_code(report))


@click.command()
@home_option
@json_option
@click.pass_context
def stats(ctx, as_json) -> None:
    """How many papers, from which sources, and the latest ingest runs."""
    s = service(ctx).stats()
    if as_json:
        emit(s)
        return
    click.echo(f"papers: {s['papers']:,} ({s['with_arxiv_id']:,} with an arXiv id), authors: {s['authors']:,}")
    click.echo(f"dates: {s['earliest']} .. {s['latest']}")
    for src, n in s["by_source"].items():
        click.echo(f"  from {src}: {n:,}")
    if s["top_categories"]:
        click.echo("top categories: " + ", ".join(f"{c} {n:,}" for c, n in s["top_categories"].items()))
    for name, h in (s.get("harvest") or {}).get("sources", {}).items():
        click.echo(
            f"harvest {name}: watermark {h['watermark'] or 'none'}, last success {h['last_success'] or 'never'}"
            + (f", last error: {h['last_error']}" if h["last_error"] else "")
            + (f", next run {h['next_run']}" if h["next_run"] else "")
        )
    for r in s["runs"]:
        click.echo(
            f"  run {r['id']} {r['status']:<7} {r['source']}: +{r['added']} ~{r['updated']} "
            f"={r['unchanged']} !{r['rejected']}  {r['inputs'][:60]}"
        )


@click.command()
@home_option
@click.argument("paper_id")
@json_option
@click.option("--bibtex", is_flag=True, help="Print a BibTeX entry.")
@click.pass_context
def show(ctx, paper_id, as_json, bibtex) -> None:
    """Show one paper by id, arXiv id (any version) or arxiv.org URL."""
    p = service(ctx).paper(paper_id)
    if p is None:
        click.echo(f"error: no paper {paper_id!r}", err=True)
        ctx.exit(EXIT_FAILED)
    if as_json:
        emit(p.to_dict())
    elif bibtex:
        from paperboy.service.export import bibtex as to_bibtex

        click.echo(to_bibtex(p), nl=False)
    else:
        click.echo(click.style(p.title, bold=True))
        click.echo(", ".join(p.authors) or "(no authors)")
        meta = [
            p.id or "",
            f"v{p.version}" if p.version else "",
            " ".join(p.categories),
            str(p.published or p.listed or ""),
        ]
        click.echo("  ".join(m for m in meta if m))
        for label, url in (("abs", p.abs_url), ("pdf", p.pdf_url), ("code", p.code_url), ("project", p.project_url)):
            if url:
                click.echo(f"{label}: {url}")
        if p.upvotes is not None:
            click.echo(f"upvotes: {p.upvotes}")
        if p.comment:
            click.echo(f"comment: {p.comment}")
        click.echo(f"sources: {p.source}")
        click.echo()
        click.echo(p.abstract)


@click.command()
@home_option
@click.option("--format", "fmt", type=click.Choice(["jsonl", "bibtex", "csv"]), default="jsonl", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default stdout).")
@click.pass_context
def export(ctx, fmt, output) -> None:
    """Write every stored paper as JSON Lines, BibTeX or CSV."""
    from paperboy.service.export import write

    pb = service(ctx)
    if output:
        tmp = output.with_name(output.name + ".part")
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            n = write(pb.iter_papers(), fmt, f)
        os.replace(tmp, output)
        click.echo(f"wrote {n:,} papers to {output}", err=True)
    else:
        write(pb.iter_papers(), fmt, sys.stdout)
