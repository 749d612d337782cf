"""`paperboy` command line: thin commands over the Paperboy service.

Exit codes: 0 success (also when nothing was new), 2 usage error, 3 finished with problems
(rejected records or an input that stopped early; everything else was stored), 4 nothing could be
done (missing/unreadable input, unknown paper), 1 an unexpected internal error.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from paperboy.config import Settings
from paperboy.models import IngestReport

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_PARTIAL, EXIT_FAILED = 0, 1, 2, 3, 4
MAX_PRINTED_PROBLEMS = 50
INGEST_FORMATS = ["auto", "hf-page", "arxiv-jsonl", "arxiv-oai", "arxiv-atom", "hf-daily", "bibtex"]


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


def settings_from(ctx: click.Context) -> Settings:
    home = (ctx.find_root().obj or {}).get("home") or (ctx.obj or {}).get("home")
    return Settings(home=Path(home)) if home else Settings()


def service(ctx: click.Context):
    from paperboy.service import Paperboy

    pb = Paperboy(settings_from(ctx))
    ctx.call_on_close(pb.close)
    return pb


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


def _summary(r: IngestReport) -> str:
    rate = (r.added + r.updated + r.unchanged) / r.seconds if r.seconds > 0 else 0.0
    line = (
        f"{r.source or 'ingest'}: {r.added} added, {r.updated} updated, {r.unchanged} unchanged, "
        f"{r.rejected} rejected, {r.duplicates} duplicates in {r.seconds:.1f} s ({rate:,.0f} papers/s)"
    )
    if r.aborted:
        line += f"; stopped early: {r.aborted}"
    return line


def _exit_code(r: IngestReport) -> int:
    stored = r.added + r.updated + r.unchanged + r.duplicates
    if r.aborted and not stored:
        return EXIT_FAILED
    if r.aborted or r.rejected:
        return EXIT_PARTIAL
    return EXIT_OK


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@home_option
@click.version_option(package_name="paperboy")
@click.pass_context
def main(ctx: click.Context) -> None:
    """paperboy: self-hosted research-paper discovery."""
    ctx.ensure_object(dict)


@main.command()
@home_option
@click.argument("paths", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(INGEST_FORMATS), default="auto", show_default=True,
              help="Input format; auto detects it from the content.")
@click.option("--arxiv-query", help='Fetch from the arXiv API instead of files, e.g. "cat:cs.CL".')
@click.option("--max", "max_results", type=click.IntRange(1, 100_000), default=100, show_default=True,
              help="Most papers to fetch with --arxiv-query.")
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
        report = pb.ingest(list(paths), fmt, progress=not quiet and not as_json, on_problem=problems)
    problems.close()
    if not no_index and (report.added or report.updated) and hasattr(pb, "update_index"):
        from paperboy.service import IndexBusy

        try:
            pb.update_index(progress=not quiet and not as_json, embed=False, wait=False)
        except IndexBusy:  # a worker picks the papers up itself; a `paperboy index` run started earlier won't
            click.echo("note: another process is updating the search index; run `paperboy index` afterwards "
                       "unless `paperboy worker` is running", err=True)
    if as_json:
        _emit(report.to_dict())
    else:
        click.echo(_summary(report))
    ctx.exit(_exit_code(report))


@main.command()
@home_option
@click.option("--json", "as_json", is_flag=True, help="Print as a JSON object.")
@click.pass_context
def stats(ctx, as_json) -> None:
    """How many papers, from which sources, and the latest ingest runs."""
    s = service(ctx).stats()
    if as_json:
        _emit(s)
        return
    click.echo(f"papers: {s['papers']:,} ({s['with_arxiv_id']:,} with an arXiv id), authors: {s['authors']:,}")
    click.echo(f"dates: {s['earliest']} .. {s['latest']}")
    for src, n in s["by_source"].items():
        click.echo(f"  from {src}: {n:,}")
    if s["top_categories"]:
        click.echo("top categories: " + ", ".join(f"{c} {n:,}" for c, n in s["top_categories"].items()))
    for r in s["runs"]:
        click.echo(
            f"  run {r['id']} {r['status']:<7} {r['source']}: +{r['added']} ~{r['updated']} "
            f"={r['unchanged']} !{r['rejected']}  {r['inputs'][:60]}"
        )


@main.command()
@home_option
@click.argument("paper_id")
@click.option("--json", "as_json", is_flag=True, help="Print as a JSON object.")
@click.option("--bibtex", is_flag=True, help="Print a BibTeX entry.")
@click.pass_context
def show(ctx, paper_id, as_json, bibtex) -> None:
    """Show one paper by id, arXiv id (any version) or arxiv.org URL."""
    p = service(ctx).paper(paper_id)
    if p is None:
        click.echo(f"error: no paper {paper_id!r}", err=True)
        ctx.exit(EXIT_FAILED)
    if as_json:
        _emit(p.to_dict())
    elif bibtex:
        from paperboy.export import bibtex as to_bibtex

        click.echo(to_bibtex(p), nl=False)
    else:
        click.echo(click.style(p.title, bold=True))
        click.echo(", ".join(p.authors) or "(no authors)")
        meta = [p.id or "", f"v{p.version}" if p.version else "", " ".join(p.categories),
                str(p.published or p.listed or "")]
        click.echo("  ".join(m for m in meta if m))
        for label, url in (("abs", p.abs_url), ("pdf", p.pdf_url), ("code", p.code_url),
                           ("project", p.project_url)):
            if url:
                click.echo(f"{label}: {url}")
        if p.upvotes is not None:
            click.echo(f"upvotes: {p.upvotes}")
        if p.comment:
            click.echo(f"comment: {p.comment}")
        click.echo(f"sources: {p.source}")
        click.echo()
        click.echo(p.abstract)


@main.command()
@home_option
@click.option("--format", "fmt", type=click.Choice(["jsonl", "bibtex", "csv"]), default="jsonl", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default stdout).")
@click.pass_context
def export(ctx, fmt, output) -> None:
    """Write every stored paper as JSON Lines, BibTeX or CSV."""
    from paperboy.export import write

    pb = service(ctx)
    if output:
        tmp = output.with_name(output.name + ".part")
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            n = write(pb.iter_papers(), fmt, f)
        os.replace(tmp, output)
        click.echo(f"wrote {n:,} papers to {output}", err=True)
    else:
        write(pb.iter_papers(), fmt, sys.stdout)


@main.command()
@home_option
@click.option("--rebuild", is_flag=True, help="Throw the index files away and build them again from the store.")
@click.option("--check", is_flag=True, help="Only report staleness; exit 3 when an index is behind the store.")
@click.option("--no-embed", is_flag=True, help="Lexical index only (seconds); embeddings later.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as a JSON object.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
def index(ctx, rebuild, check, no_embed, as_json, quiet) -> None:
    """Build or update the search indexes (incremental; resumable embedding)."""
    pb = service(ctx)
    if check:
        st = pb.index_status()
        if as_json:
            _emit(st)
        else:
            click.echo(
                f"store: {st['store_papers']:,} papers (seq {st['store_seq']}); "
                f"lexical: {st['lexical_papers']:,} ({'stale' if st['lexical_stale'] else 'up to date'}); "
                f"dense [{st['dense_model']}]: {st['dense_papers']:,} ({'stale' if st['dense_stale'] else 'up to date'})"
            )
        ctx.exit(EXIT_PARTIAL if st["lexical_stale"] or st["dense_stale"] else EXIT_OK)
    def waiting() -> None:
        click.echo(f"waiting for another process updating the index to finish "
                   f"(lock: {pb.settings.index_dir / 'update.lock'})...", err=True)

    rep = pb.update_index(embed=not no_embed, progress=not quiet and not as_json, rebuild=rebuild, on_wait=waiting)
    if as_json:
        _emit({"lexical": rep.lexical, "embedded": rep.embedded, "seconds": rep.seconds, "dense_error": rep.dense_error})
    else:
        click.echo(f"indexed {rep.lexical:,} papers lexically, embedded {rep.embedded:,} in {rep.seconds:.1f} s")
    if rep.dense_error:
        click.echo(f"warning: semantic index not updated: {rep.dense_error}", err=True)
        ctx.exit(EXIT_PARTIAL)


def _hit_json(h) -> dict:
    p = h.paper
    return {
        "id": p.id, "title": p.title, "score": round(h.score, 6), "authors": p.authors,
        "categories": p.categories, "date": str(p.published or p.listed or "") or None,
        "upvotes": p.upvotes, "url": p.abs_url, "matched_by": list(h.matched_by),
    }


def _print_hits(hits, offset: int = 0) -> None:
    for n, h in enumerate(hits, offset + 1):
        p = h.paper
        when = str(p.published or p.listed or "")
        click.echo(f"{n:>3}. {click.style(p.title, bold=True)}")
        byline = ", ".join(p.authors[:4]) + (" et al." if len(p.authors) > 4 else "")
        click.echo(f"     {p.id}  {when}  {' '.join(p.categories[:3])}  score {h.score:.3f}")
        if byline:
            click.echo(f"     {byline}")


@main.command()
@home_option
@click.argument("query")
@click.option("--mode", type=click.Choice(["lexical", "dense", "hybrid"]), default="hybrid", show_default=True)
@click.option("--category", "categories", multiple=True, help="Only these categories (cs.CL, or an archive like cs).")
@click.option("--author", "authors", multiple=True, help="Only papers with this author.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m", "%Y"]), help="On or after this date.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d", "%Y-%m", "%Y"]), help="On or before this date.")
@click.option("--sort", type=click.Choice(["relevance", "date", "upvotes"]), default="relevance", show_default=True)
@click.option("--limit", type=click.IntRange(1, 200), default=10, show_default=True)
@click.option("--offset", type=click.IntRange(0, 100_000), default=0)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of {id, title, score, ...}.")
@click.pass_context
def search(ctx, query, mode, categories, authors, since, until, sort, limit, offset, as_json) -> None:
    """Search papers: words, "phrases", -exclusions, author:/cat:/year: filters, or an arXiv id."""
    from paperboy.models import SearchFilters

    flt = SearchFilters(
        categories=tuple(categories), authors=tuple(authors),
        since=since.date() if since else None, until=until.date() if until else None,
    )
    page = service(ctx).search(query, mode=mode, filters=flt, sort=sort, limit=limit, offset=offset)
    for w in page.warnings:
        click.echo(f"note: {w}", err=True)
    if as_json:
        _emit([_hit_json(h) for h in page.hits])
        return
    if not page.hits:
        click.echo("no results")
        return
    click.echo(f"{page.total:,} results ({page.mode})", err=True)
    _print_hits(page.hits, offset)


@main.command()
@home_option
@click.argument("paper_ids", nargs=-1, required=True)
@click.option("--limit", type=click.IntRange(1, 200), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of {id, title, score, ...}.")
@click.pass_context
def similar(ctx, paper_ids, limit, as_json) -> None:
    """Papers similar to one paper, or to a set of papers (give several ids)."""
    pb = service(ctx)
    missing = [k for k in paper_ids if pb.paper(k) is None]
    if missing:
        click.echo(f"error: no paper {', '.join(map(repr, missing))}", err=True)
        ctx.exit(EXIT_FAILED)
    hits = pb.similar_to_set(list(paper_ids), limit)
    if as_json:
        _emit([_hit_json(h) for h in hits])
    else:
        _print_hits(hits)


@main.command(name="eval")
@home_option
@click.option("--corpus", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True,
              help="BEIR corpus.jsonl ({_id, title, text} per line).")
@click.option("--queries", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True,
              help="BEIR queries.jsonl ({_id, text}).")
@click.option("--qrels", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True,
              help="BEIR qrels TSV (query-id, corpus-id, score; header optional).")
@click.option("--mode", "modes", multiple=True, type=click.Choice(["lexical", "dense", "hybrid"]),
              help="Modes to evaluate (default: all three).")
@click.option("--json", "as_json", is_flag=True, help='Print {"lexical": {"ndcg@10": ..}, "dense": .., "hybrid": ..}.')
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
def eval_(ctx, corpus, queries, qrels, modes, as_json, quiet) -> None:
    """Measure search quality and latency on a BEIR-format dataset (nDCG@10, Recall@100, MRR@10)."""
    from paperboy.evaluation import EvalError, run_eval

    settings = settings_from(ctx)
    try:
        res = run_eval(corpus, queries, qrels, work=settings.home / "eval", model=settings.embedding_model,
                       modes=tuple(modes) or ("lexical", "dense", "hybrid"), progress=not quiet and not as_json)
    except EvalError as e:
        click.echo(f"error: {e}", err=True)
        ctx.exit(EXIT_FAILED)
    if as_json:
        _emit(res)
        return
    click.echo(f"{'mode':<8} {'nDCG@10':>8} {'R@100':>7} {'MRR@10':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    for mode, m in res.items():
        click.echo(f"{mode:<8} {m['ndcg@10']:>8.4f} {m['recall@100']:>7.4f} {m['mrr@10']:>7.4f} "
                   f"{m['p50_ms']:>7.2f} {m['p95_ms']:>7.2f} {m['p99_ms']:>7.2f}")


from paperboy.web.cli import serve_command  # noqa: E402

def _sample_corpus() -> Path | None:
    """../shared/corpus beside the checkout (or beside the working directory), if present."""
    here = Path(__file__).resolve().parents[1]
    for base in (here.parent, Path.cwd().parent, Path.cwd()):
        corpus = base / "shared" / "corpus"
        if corpus.is_dir():
            return corpus
    return None


@main.command()
@home_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--no-serve", is_flag=True, help="Prepare the instance, then exit instead of serving.")
@click.option("--no-embed", is_flag=True, help="Skip building the semantic index in the background.")
@click.pass_context
def start(ctx, host, port, no_serve, no_embed) -> None:
    """First-run friendly start: ingest a sample when empty, index, embed in the background, serve."""
    import subprocess

    pb = service(ctx)
    if pb.store.count() == 0:
        corpus = _sample_corpus()
        if corpus is not None:
            files = sorted(corpus.glob("*.txt")) + sorted(corpus.glob("*/*.jsonl.gz"))
            click.echo(f"first run: ingesting the sample corpus from {corpus} ({len(files)} files)", err=True)
            click.echo(_summary(pb.ingest(files, progress=True)), err=True)
        else:
            click.echo("first run: no sample corpus found; trying a live arXiv query (cat:cs.CL, 200 papers)", err=True)
            rep = pb.ingest_arxiv_query("cat:cs.CL", 200)
            click.echo(_summary(rep), err=True)
            if pb.store.count() == 0:
                click.echo("paperboy is empty and offline. Add papers with:\n"
                           "  paperboy ingest FILE...            (arXiv JSONL/OAI/Atom, HF daily JSON, BibTeX)\n"
                           "  paperboy ingest --arxiv-query \"cat:cs.CL\" --max 500", err=True)
    rep = pb.update_index(embed=False, progress=True)
    if rep.lexical:
        click.echo(f"keyword index: {rep.lexical:,} papers in {rep.seconds:.1f} s", err=True)
    status = pb.index_status()
    if not no_embed and status["dense_stale"] and status["store_papers"]:
        log = pb.settings.home / "embed.log"
        click.echo(f"semantic index: embedding {status['store_papers'] - status['dense_papers']:,} papers in the "
                   f"background (log: {log}); search is keyword-only until it finishes", err=True)
        with open(log, "ab") as out:
            subprocess.Popen([sys.executable, "-m", "paperboy.cli", "--home", str(pb.settings.home), "index", "-q"],
                             stdout=out, stderr=subprocess.STDOUT, start_new_session=not no_serve)
    if no_serve:
        s = pb.stats()
        click.echo(f"ready: {s['papers']:,} papers. Try: paperboy search \"multi-stage training\"", err=True)
        return
    ctx.invoke(serve_command, host=host, port=port, proxy_headers=False, forwarded_allow_ips="127.0.0.1",
               access_log=False)




from paperboy.backup_cli import backup as backup_command, restore as restore_command  # noqa: E402

from paperboy.digest_cli import digest as digest_command  # noqa: E402

class FiniteRange(click.FloatRange):
    """click.FloatRange that also refuses 'nan', which passes every range check (comparisons are false)."""

    def convert(self, value, param, ctx):
        value = super().convert(value, param, ctx)
        if value != value:
            self.fail("nan is not a number", param, ctx)
        return value


@main.command()
@home_option
@click.option("--interval", type=FiniteRange(0.1, 24 * 3600), default=5.0, show_default=True,
              help="Seconds between passes (digests and web submissions: every PAPERBOY_DIGEST_CHECK_MINUTES).")
@click.option("--once", is_flag=True, help="One pass, then exit (for cron and tests); exit 3 if something failed.")
@click.option("--nice", "niceness", type=click.IntRange(0, 19), default=10, show_default=True,
              help="Lower this process's CPU priority by this much, so web requests win the CPU while it embeds.")
@click.option("--settle", type=FiniteRange(0, 3600), default=2.0, show_default=True,
              help="Leave inbox files alone until unchanged for this many seconds (still being copied).")
@click.option("--ingest-share", type=FiniteRange(0.05, 1.0), default=0.5, show_default=True,
              help="Share of the time inbox ingests spend writing: the database runs those writes at full "
                   "priority, so pacing them leaves CPU to web requests (1 = as fast as possible).")
@click.option("--no-embed", is_flag=True, help="Keep the keyword index only; embed with `paperboy index`.")
@click.option("--no-digests", is_flag=True, help="Do not send email digests (cron runs `paperboy digest run`).")
@click.option("--checkpoint-every", type=click.IntRange(1, 1_000_000), default=None, hidden=True,
              help="New vectors between embedding checkpoints (default 2048).")
@click.pass_context
def worker(ctx, interval, once, niceness, settle, ingest_share, no_embed, no_digests, checkpoint_every) -> None:
    """Background work: ingest files dropped in <home>/inbox, keep the indexes up to date, send digests."""
    import logging

    from paperboy.worker import Worker

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("paperboy").setLevel(logging.INFO)
    if niceness:
        os.nice(niceness)
    w = Worker(service(ctx), interval=interval, settle=settle, embed=not no_embed, digests=not no_digests,
               progress=sys.stderr.isatty(), checkpoint_every=checkpoint_every, ingest_share=ingest_share)
    w.install_signal_handlers()
    rep = w.run(once=once)
    if once and not rep.ok:
        ctx.exit(EXIT_PARTIAL)


main.add_command(serve_command)
main.add_command(digest_command)
main.add_command(backup_command)
main.add_command(restore_command)


def run() -> None:
    """Console-script entry point: friendly messages instead of tracebacks."""
    from pydantic import ValidationError

    try:
        main(standalone_mode=True)
    except ValidationError as exc:  # bad PAPERBOY_* settings, e.g. no secret key in production
        problems = "; ".join((f"{'.'.join(map(str, e['loc']))}: " if e["loc"] else "")
                             + e["msg"].removeprefix("Value error, ") for e in exc.errors()[:5])
        click.echo(f"paperboy: refusing to start: {problems}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted; everything committed so far is kept", err=True)
        sys.exit(130)


if __name__ == "__main__":
    run()
