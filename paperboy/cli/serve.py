"""`paperboy serve` (the web app under uvicorn) and `paperboy start` (first-run friendly serve)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from paperboy.cli.common import home_option, service


@click.command("serve")
@home_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--proxy-headers",
    is_flag=True,
    help="Trust X-Forwarded-Proto/For from the proxy at --forwarded-allow-ips (for HTTPS behind nginx).",
)
@click.option(
    "--forwarded-allow-ips",
    default="127.0.0.1",
    show_default=True,
    help="Proxy addresses whose X-Forwarded-* headers are trusted.",
)
@click.option("--access-log/--no-access-log", default=True, show_default=True, help="Log every request.")
@click.option(
    "--digests/--no-digests",
    default=True,
    show_default=True,
    help="Send due email digests from this process (turn off when cron runs `paperboy digest run`).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Web processes (each with its own connections and index readers). With more than one, "
    "digests are left to `paperboy worker`.",
)
@click.pass_context
def serve_command(
    ctx: click.Context,
    host: str,
    port: int,
    proxy_headers: bool,
    forwarded_allow_ips: str,
    access_log: bool,
    digests: bool = True,
    workers: int = 1,
) -> None:
    """Serve the web pages, JSON API, Hugging Face-compatible API and feeds."""
    import uvicorn

    from paperboy.web import create_app

    pb = service(ctx)
    options = {
        "host": host,
        "port": port,
        "proxy_headers": proxy_headers,
        "forwarded_allow_ips": forwarded_allow_ips,
        "access_log": access_log,
        "log_level": "info",
        "timeout_graceful_shutdown": 5,
    }
    if workers > 1:
        _serve_workers(pb, workers, **options)
        return
    app = create_app(pb)
    click.echo(
        f"paperboy: {pb.store.count():,} papers from {pb.settings.home}; serving http://{host}:{port}/", err=True
    )
    scheduler = None
    if digests:
        from paperboy.email.send import start_scheduler

        scheduler = start_scheduler(pb)
    try:
        uvicorn.run(app, **options)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


def _serve_workers(pb, workers: int, **uvicorn_options) -> None:
    """N uvicorn worker processes, each building its own app with paperboy.web.asgi.app_factory."""
    import os

    import uvicorn

    from paperboy.config import load_secret_key

    # The workers read their settings from the environment: pass on what the options decided.
    os.environ["PAPERBOY_HOME"] = str(pb.settings.home)
    if pb.settings.database_url:
        os.environ["PAPERBOY_DATABASE_URL"] = pb.settings.database_url
    load_secret_key(pb.settings)  # create <home>/secret_key once, before N processes want it
    click.echo(
        f"paperboy: {pb.store.count():,} papers from {pb.settings.home}; "
        f"serving http://{uvicorn_options['host']}:{uvicorn_options['port']}/ with {workers} worker processes",
        err=True,
    )
    click.echo(
        "paperboy: email digests are not sent by `serve --workers`; run `paperboy worker` "
        "(or `paperboy digest run` from cron)",
        err=True,
    )
    pb.close()  # the parent only supervises; each worker opens its own store
    uvicorn.run("paperboy.web.asgi:app_factory", factory=True, workers=workers, **uvicorn_options)


def _sample_corpus() -> Path | None:
    """../shared/corpus beside the checkout (or beside the working directory), if present."""
    here = Path(__file__).resolve().parents[2]
    for base in (here.parent, Path.cwd().parent, Path.cwd()):
        corpus = base / "shared" / "corpus"
        if corpus.is_dir():
            return corpus
    return None


@click.command()
@home_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--no-serve", is_flag=True, help="Prepare the instance, then exit instead of serving.")
@click.option("--no-embed", is_flag=True, help="Skip building the semantic index in the background.")
@click.pass_context
def start(ctx, host, port, no_serve, no_embed) -> None:
    """First-run friendly start: ingest a sample when empty, index, embed in the background, serve."""
    import subprocess

    from paperboy.cli.ingest import summary

    pb = service(ctx)
    if pb.store.count() == 0:
        corpus = _sample_corpus()
        if corpus is not None:
            files = sorted(corpus.glob("*.txt")) + sorted(corpus.glob("*/*.jsonl.gz"))
            click.echo(f"first run: ingesting the sample corpus from {corpus} ({len(files)} files)", err=True)
            click.echo(summary(pb.ingest(files, progress=True)), err=True)
        else:
            click.echo("first run: no sample corpus found; trying a live arXiv query (cat:cs.CL, 200 papers)", err=True)
            rep = pb.ingest_arxiv_query("cat:cs.CL", 200)
            click.echo(summary(rep), err=True)
            if pb.store.count() == 0:
                click.echo(
                    "paperboy is empty and offline. Add papers with:\n"
                    "  paperboy ingest FILE...            (arXiv JSONL/OAI/Atom, HF daily JSON, BibTeX)\n"
                    '  paperboy ingest --arxiv-query "cat:cs.CL" --max 500',
                    err=True,
                )
    rep = pb.update_index(embed=False, progress=True)
    if rep.lexical:
        click.echo(f"keyword index: {rep.lexical:,} papers in {rep.seconds:.1f} s", err=True)
    status = pb.index_status()
    if not no_embed and status["dense_stale"] and status["store_papers"]:
        log = pb.settings.home / "embed.log"
        click.echo(
            f"semantic index: embedding {status['store_papers'] - status['dense_papers']:,} papers in the "
            f"background (log: {log}); search is keyword-only until it finishes",
            err=True,
        )
        with open(log, "ab") as out:
            subprocess.Popen(
                [sys.executable, "-m", "paperboy.cli", "--home", str(pb.settings.home), "index", "-q"],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=not no_serve,
            )
    if no_serve:
        s = pb.stats()
        click.echo(f'ready: {s["papers"]:,} papers. Try: paperboy search "multi-stage training"', err=True)
        return
    ctx.invoke(
        serve_command, host=host, port=port, proxy_headers=False, forwarded_allow_ips="127.0.0.1", access_log=False
    )
