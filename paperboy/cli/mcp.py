"""`paperboy mcp`: serve paperboy to agents over the Model Context Protocol (stdio or streamable HTTP)."""

from __future__ import annotations

import click

from paperboy.cli.common import home_option, service


@click.command("mcp")
@home_option
@click.option(
    "--transport",
    type=click.Choice(["stdio", "http"]),
    default="stdio",
    show_default=True,
    help="stdio for a client that starts paperboy itself; http for streamable HTTP at /mcp.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (http).")
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True, help="Port (http).")
@click.pass_context
def mcp(ctx: click.Context, transport: str, host: str, port: int) -> None:
    """MCP server: tools search_papers, get_paper, similar_papers, trending, daily_papers; paper:// resources."""
    from paperboy.mcp.server import build_server

    server = build_server(service(ctx))
    if transport == "stdio":
        server.run("stdio")
    else:
        click.echo(f"paperboy: MCP over streamable HTTP at http://{host}:{port}/mcp", err=True)
        server.run("streamable-http", host=host, port=port)
