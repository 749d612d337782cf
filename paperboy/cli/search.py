"""`paperboy index`, `search`, `similar` and `eval`: the search indexes and queries over them."""

from __future__ import annotations

from pathlib import Path

import click

from paperboy.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    emit,
    failing_on,
    home_option,
    service,
    settings_from,
)


@click.command()
@home_option
@click.option("--rebuild", is_flag=True, help="Throw the index files away and build them again from the store.")
@click.option("--check", is_flag=True, help="Only report staleness; exit 3 when an index is behind the store.")
@click.option("--no-embed", is_flag=True, help="Lexical index only (seconds); embeddings later.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as a JSON object.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option(
    "--ray",
    "ray_address",
    metavar="ADDRESS",
    help="Embed on a Ray cluster: 'local' starts one here, or e.g. 'auto', HOST:6379, ray://HOST:10001 "
    "(needs paperboy[cluster]).",
)
@click.pass_context
def index(ctx, rebuild, check, no_embed, as_json, quiet, ray_address) -> None:
    """Build or update the search indexes (incremental; resumable embedding)."""
    pb = service(ctx)
    if check:
        st = pb.index_status()
        if as_json:
            emit(st)
        else:
            click.echo(
                f"store: {st['store_papers']:,} papers (seq {st['store_seq']}); "
                f"lexical: {st['lexical_papers']:,} ({'stale' if st['lexical_stale'] else 'up to date'}); "
                f"dense [{st['dense_model']}]: {st['dense_papers']:,} ({'stale' if st['dense_stale'] else 'up to date'})"
            )
        ctx.exit(EXIT_PARTIAL if st["lexical_stale"] or st["dense_stale"] else EXIT_OK)

    def waiting() -> None:
        click.echo(
            f"waiting for another process updating the index to finish "
            f"(lock: {pb.settings.index_dir / 'update.lock'})...",
            err=True,
        )

    rep = pb.update_index(
        embed=not no_embed, progress=not quiet and not as_json, rebuild=rebuild, on_wait=waiting, ray=ray_address
    )
    if as_json:
        emit({"lexical": rep.lexical, "embedded": rep.embedded, "seconds": rep.seconds, "dense_error": rep.dense_error})
    else:
        click.echo(f"indexed {rep.lexical:,} papers lexically, embedded {rep.embedded:,} in {rep.seconds:.1f} s")
    if rep.dense_error:
        click.echo(f"warning: semantic index not updated: {rep.dense_error}", err=True)
        ctx.exit(EXIT_PARTIAL)


def _hit_json(h) -> dict:
    p = h.paper
    return {
        "id": p.id,
        "title": p.title,
        "score": round(h.score, 6),
        "authors": p.authors,
        "categories": p.categories,
        "date": str(p.published or p.listed or "") or None,
        "upvotes": p.upvotes,
        "url": p.abs_url,
        "matched_by": list(h.matched_by),
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


@click.command()
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
    settings = settings_from(ctx)
    if mode != "lexical":
        from paperboy.service.warmup import preload_encoder

        preload_encoder(settings, query)  # in a thread, while the store and indexes open
    from paperboy.models import SearchFilters

    flt = SearchFilters(
        categories=tuple(categories),
        authors=tuple(authors),
        since=since.date() if since else None,
        until=until.date() if until else None,
    )
    page = service(ctx, settings).search(query, mode=mode, filters=flt, sort=sort, limit=limit, offset=offset)
    for w in page.warnings:
        click.echo(f"note: {w}", err=True)
    if as_json:
        emit([_hit_json(h) for h in page.hits])
        return
    if page.suggestion:
        click.echo(f"did you mean: {page.suggestion}", err=True)
    if not page.hits:
        click.echo(
            "No papers match."
            + (
                ""
                if offset
                else " Try fewer or other words, author:Name, --mode dense for related meanings, or fewer filters."
            )
        )
        return
    about = "about " if page.total_estimated else ""
    click.echo(f"{about}{page.total:,} results ({page.mode})", err=True)
    _print_hits(page.hits, offset)


@click.command()
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
        emit([_hit_json(h) for h in hits])
    else:
        _print_hits(hits)


def _beir_file(flag: str, help: str):
    return click.option(flag, type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True, help=help)


@click.command(name="eval")
@home_option
@_beir_file("--corpus", "BEIR corpus.jsonl ({_id, title, text} per line).")
@_beir_file("--queries", "BEIR queries.jsonl ({_id, text}).")
@_beir_file("--qrels", "BEIR qrels TSV (query-id, corpus-id, score; header optional).")
@click.option(
    "--mode",
    "modes",
    multiple=True,
    type=click.Choice(["lexical", "dense", "hybrid"]),
    help="Modes to evaluate (default: all three).",
)
@click.option("--json", "as_json", is_flag=True, help='Print {"lexical": {"ndcg@10": ..}, "dense": .., "hybrid": ..}.')
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
def eval_(ctx, corpus, queries, qrels, modes, as_json, quiet) -> None:
    """Measure search quality and latency on a BEIR-format dataset (nDCG@10, Recall@100, MRR@10)."""
    from paperboy.service.evaluation import EvalError, run_eval

    settings = settings_from(ctx)
    with failing_on(ctx, EvalError):
        res = run_eval(
            corpus,
            queries,
            qrels,
            work=settings.home / "eval",
            model=settings.embedding_model,
            modes=tuple(modes) or ("lexical", "dense", "hybrid"),
            progress=not quiet and not as_json,
        )
    if as_json:
        emit(res)
        return
    click.echo(f"{'mode':<8} {'nDCG@10':>8} {'R@100':>7} {'MRR@10':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    for mode, m in res.items():
        click.echo(
            f"{mode:<8} {m['ndcg@10']:>8.4f} {m['recall@100']:>7.4f} {m['mrr@10']:>7.4f} "
            f"{m['p50_ms']:>7.2f} {m['p95_ms']:>7.2f} {m['p99_ms']:>7.2f}"
        )
