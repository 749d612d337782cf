"""`paperboy serve`: run the web app with uvicorn (registered in paperboy.cli with main.add_command)."""

from __future__ import annotations

from pathlib import Path

import click


def _home(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.ensure_object(dict)["home"] = value


@click.command("serve")
@click.option("--home", type=click.Path(file_okay=False), expose_value=False, callback=_home, is_eager=True,
              help="Data directory (default: $PAPERBOY_HOME or the platform's user data dir).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--proxy-headers", is_flag=True,
              help="Trust X-Forwarded-Proto/For from the proxy at --forwarded-allow-ips (for HTTPS behind nginx).")
@click.option("--forwarded-allow-ips", default="127.0.0.1", show_default=True,
              help="Proxy addresses whose X-Forwarded-* headers are trusted.")
@click.option("--access-log/--no-access-log", default=True, show_default=True, help="Log every request.")
@click.option("--digests/--no-digests", default=True, show_default=True,
              help="Send due email digests from this process (turn off when cron runs `paperboy digest run`).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Web processes (each with its own connections and index readers). With more than one, "
                   "digests are left to `paperboy worker`.")
@click.pass_context
def serve_command(ctx: click.Context, host: str, port: int, proxy_headers: bool, forwarded_allow_ips: str,
                  access_log: bool, digests: bool = True, workers: int = 1) -> None:
    """Serve the web pages, JSON API, Hugging Face-compatible API and feeds."""
    import uvicorn

    from paperboy.config import Settings
    from paperboy.service import Paperboy
    from paperboy.web import create_app

    home = (ctx.find_root().obj or {}).get("home") or (ctx.obj or {}).get("home")
    pb = Paperboy(Settings(home=Path(home)) if home else Settings())
    ctx.call_on_close(pb.close)
    if workers > 1:
        _serve_workers(pb, host, port, workers, proxy_headers=proxy_headers, forwarded_allow_ips=forwarded_allow_ips,
                       access_log=access_log)
        return
    app = create_app(pb)
    click.echo(f"paperboy: {pb.store.count():,} papers from {pb.settings.home}; serving http://{host}:{port}/",
               err=True)
    scheduler = None
    if digests:
        from paperboy.email.send import start_scheduler

        scheduler = start_scheduler(pb, community=app.state.community, secret=app.state.secret_key)
    try:
        uvicorn.run(app, host=host, port=port, proxy_headers=proxy_headers, forwarded_allow_ips=forwarded_allow_ips,
                    access_log=access_log, log_level="info", timeout_graceful_shutdown=5)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


def _serve_workers(pb, host: str, port: int, workers: int, **uvicorn_options) -> None:
    """N uvicorn worker processes, each building its own app with paperboy.web.asgi.app_factory."""
    import os

    import uvicorn

    from paperboy.config import load_secret_key

    # The workers read their settings from the environment: pass on what the options decided.
    os.environ["PAPERBOY_HOME"] = str(pb.settings.home)
    if pb.settings.database_url:
        os.environ["PAPERBOY_DATABASE_URL"] = pb.settings.database_url
    load_secret_key(pb.settings)  # create <home>/secret_key once, before N processes want it
    click.echo(f"paperboy: {pb.store.count():,} papers from {pb.settings.home}; serving http://{host}:{port}/ "
               f"with {workers} worker processes", err=True)
    click.echo("paperboy: email digests are not sent by `serve --workers`; run `paperboy worker` "
               "(or `paperboy digest run` from cron)", err=True)
    pb.close()  # the parent only supervises; each worker opens its own store
    uvicorn.run("paperboy.web.asgi:app_factory", factory=True, workers=workers, host=host, port=port,
                log_level="info", timeout_graceful_shutdown=5, **uvicorn_options)
