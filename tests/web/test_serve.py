"""`paperboy serve` starts uvicorn over a home directory and answers on the chosen port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx

from paperboy.cli.serve import serve_command


def _cmd(home, port: int) -> list[str]:
    args = ["--home", str(home), "serve", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    return [sys.executable, "-m", "paperboy.cli", *args]


def test_serve_command_runs_the_app(web_home):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ)
    if (web_home / "database_url").exists():  # --db=postgres runs
        env["PAPERBOY_DATABASE_URL"] = (web_home / "database_url").read_text()
    proc = subprocess.Popen(_cmd(web_home, port), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read()
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert r.json()["papers"] >= 400
        assert httpx.get(f"http://127.0.0.1:{port}/api/papers/2606.99002").json()["upvotes"] == 42
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert f"serving http://127.0.0.1:{port}/" in proc.stderr.read()


def test_serve_help_lists_its_options():
    from click.testing import CliRunner

    out = CliRunner().invoke(serve_command, ["--help"]).output
    for opt in ("--host", "--port", "--home", "--proxy-headers"):
        assert opt in out
