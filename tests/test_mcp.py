"""`paperboy mcp` driven by the official MCP SDK's own client, over stdio and over streamable HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests import homes
from tests.web.conftest import SHARD

# The MCP surface over served processes; its tools call the service the web API tests run on PostgreSQL.
pytestmark = pytest.mark.sqlite_only

TOOLS = {"search_papers", "get_paper", "similar_papers", "trending", "daily_papers"}


def _build_mcp_home(home, url) -> None:
    with homes.service(home, url) as pb:
        pb.ingest([SHARD])
        pb.update_index(embed=False)


@pytest.fixture(scope="module")
def mcp_home(base_homes):
    """One real day of arXiv (the July 2026 shard), keyword-indexed; on PostgreSQL a database of its own."""
    home, url = base_homes.get("mcp", _build_mcp_home)  # only this file uses it: the servers read it as it is
    with homes.service(home, url) as pb:
        _, first = next(iter(pb.store.iter_papers()))
    return home, url, first


def _env(url: str | None) -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if url:
        env["PAPERBOY_DATABASE_URL"] = url
    return env


def _data(result) -> object:
    """A tool result's value: the structured content, else the JSON text it carries."""
    assert not result.is_error, result.content
    if result.structured_content is not None:
        value = result.structured_content
        return value.get("result", value) if isinstance(value, dict) and set(value) == {"result"} else value
    return json.loads(result.content[0].text)


async def _exercise(client: Client, paper) -> None:
    tools = await client.list_tools()
    assert TOOLS <= {t.name for t in tools.tools}
    hits = _data(await client.call_tool("search_papers", {"query": paper.title, "limit": 5}))
    assert hits and hits[0]["id"] == paper.id
    got = _data(await client.call_tool("get_paper", {"paper_id": paper.id}))
    assert got["title"] == paper.title and got["abstract"]
    similar = _data(await client.call_tool("similar_papers", {"paper_id": paper.id, "limit": 3}))
    assert len(similar) == 3 and paper.id not in [s["id"] for s in similar]
    daily = _data(await client.call_tool("daily_papers", {}))
    assert daily["date"] == "2026-07-01" and daily["total"] >= 300 and len(daily["papers"]) == 50
    week = _data(await client.call_tool("trending", {"window": "week", "limit": 5}))
    assert len(week) == 5
    missing = await client.call_tool("get_paper", {"paper_id": "2601.99999"})
    assert missing.is_error and "no paper" in missing.content[0].text
    bad = await client.call_tool("search_papers", {"query": "x", "limit": 10_000})
    assert bad.is_error
    res = await client.read_resource(f"paper://{paper.id}")
    text = res.contents[0].text
    assert text.startswith(f"# {paper.title}") and "## Abstract" in text


def test_stdio_server_with_the_sdk_client(mcp_home):
    home, url, paper = mcp_home
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "paperboy.cli", "--home", str(home), "mcp"], env=_env(url)
    )

    async def main():
        async with Client(params) as client:
            await _exercise(client, paper)

    asyncio.run(main())


def test_streamable_http_server_with_the_sdk_client(mcp_home):
    home, url, paper = mcp_home
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "paperboy.cli", "--home", str(home), "mcp", "--transport", "http", "--port", str(port)],
        env=_env(url),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Ready when it says so on stderr (after the store opened), then when the port accepts.
        for line in proc.stderr:
            if "streamable HTTP" in line:
                break
        while True:  # the port opens a moment after that line
            assert proc.poll() is None, "the MCP server exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                break
            except OSError:
                time.sleep(0.05)

        async def main():
            async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                await _exercise(client, paper)

        asyncio.run(main())
    finally:
        proc.terminate()
        proc.wait(timeout=60)
