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
@click.pass_context
def serve_command(ctx: click.Context, host: str, port: int, proxy_headers: bool, forwarded_allow_ips: str,
                  access_log: bool, digests: bool) -> None:
    """Serve the web pages, JSON API, Hugging Face-compatible API and feeds."""
    import uvicorn

    from paperboy.config import Settings
    from paperboy.service import Paperboy
    from paperboy.web import create_app

    home = (ctx.find_root().obj or {}).get("home") or (ctx.obj or {}).get("home")
    pb = Paperboy(Settings(home=Path(home)) if home else Settings())
    ctx.call_on_close(pb.close)
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
