"""A real `paperboy serve` child process on a free 127.0.0.1 port, and HTTP helpers for logged-in clients."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

_META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServeProcess:
    """`python -m paperboy.cli --home HOME serve` on a free port; stderr goes to a file read by `log()`."""

    def __init__(self, home: Path, database_url: str | None, log_path: Path, *extra: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items() if k != "PAPERBOY_DATABASE_URL"}
        if database_url:
            env["PAPERBOY_DATABASE_URL"] = database_url
        env.setdefault("PAPERBOY_SECRET_KEY", "test-secret")
        # These tests sign up and vote as many readers from one address (127.0.0.1); the per-address
        # limits themselves are tested in tests/web/test_account_security.py.
        env.setdefault("PAPERBOY_SIGNUP_MAX_PER_HOUR", "100000")
        env.setdefault("PAPERBOY_VOTE_MAX_PER_HOUR", "1000000")
        self.home, self.database_url = home, database_url
        self._pb = None
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "paperboy.cli",
                "--home",
                str(home),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                "--no-digests",
                *extra,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, f"paperboy serve exited {self.proc.returncode}:\n{self.log()}"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"paperboy serve did not start:\n{self.log()}"
            time.sleep(0.1)

    def verify(self, email: str) -> None:
        """Mark the account verified through the service API an operator uses (as if its link was followed)."""
        if self._pb is None:  # one service over the server's store for all the accounts a test verifies
            from paperboy.config import Settings
            from paperboy.service import Paperboy

            self._pb = Paperboy(Settings(home=self.home, database_url=self.database_url, secret_key="test-secret"))
        com = self._pb.community
        com.mark_verified(com.user_by_email(email).id)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self._pb is not None:
            self._pb.close()
            self._pb = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()

    def __enter__(self) -> ServeProcess:
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def page_csrf(client: httpx.Client, path: str = "/") -> str:
    r = client.get(path)
    m = _META_CSRF.search(r.text)
    assert m, f"no csrf meta tag on {path} ({r.status_code})"
    return m.group(1)


def signed_up_client(
    server: ServeProcess, email: str, password: str = "correct horse battery", **kw
) -> tuple[httpx.Client, str]:
    """A client that signed up (and so is logged in) through the real forms, with its account verified
    (so its votes count), and its CSRF token for the API."""
    client = httpx.Client(base_url=server.url, follow_redirects=True, **kw)
    token = page_csrf(client, "/signup")
    r = client.post("/signup", data={"email": email, "password": password, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    assert client.cookies.get("pb_session")
    server.verify(email)
    token = page_csrf(client, "/")  # the token is bound to the new session
    # Hand back the session on a new connection pool. The server closes a connection left idle past its
    # keep-alive (uvicorn: 5 s), and a request written just as it closes is lost: the HTTP/1.1 race that
    # httpx does not retry for a POST. Tests sign up many users before using any, so the first ones
    # would start on a connection idle for as long as the rest took to sign up.
    fresh = twin(client, **kw)
    client.close()
    return fresh, token


def twin(client: httpx.Client, **kw) -> httpx.Client:
    """Another connection of the same browser: same cookies, separate connection pool."""
    return httpx.Client(base_url=client.base_url, cookies=dict(client.cookies), follow_redirects=True, **kw)
