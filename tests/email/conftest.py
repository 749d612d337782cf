"""Email fixtures: a real SMTP server on 127.0.0.1 (aiosmtpd) and a home built from the real corpus."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests import homes

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
SHARD = SHARED / "corpus" / "arxiv-cs-2025-2026" / "papers-2026-07.jsonl.gz"
HF_PAGE = SHARED / "corpus" / "hf-papers-search-page.txt"
SECRET = "email-test-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass
class SinkBehaviour:
    """How the sink answers: per-recipient codes, delays, and a process to SIGKILL at the Nth MAIL."""

    data_delay: float = 0.0
    rcpt_replies: dict[str, list[str]] = field(default_factory=dict)  # address -> replies to use in turn
    kill_pid: int | None = None
    kill_at_mail: int | None = None


class SmtpSink:
    """aiosmtpd on a free 127.0.0.1 port collecting every accepted message."""

    def __init__(self, port: int | None = None):
        from aiosmtpd.controller import Controller

        self.port = port or free_port()
        self.messages: list[Received] = []
        self.behaviour = SinkBehaviour()
        self.mails = 0
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, ready_timeout=10)

    # aiosmtpd handler hooks --------------------------------------------------------------------
    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self._lock:
            self.mails += 1
            n = self.mails
        b = self.behaviour
        if b.kill_pid and b.kill_at_mail == n:
            # Deterministically mid-run: every earlier message was accepted and answered, this one
            # was not, so the killed run leaves exactly this row in 'sending'.
            os.kill(b.kill_pid, signal.SIGKILL)
            return "421 closing"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        replies = self.behaviour.rcpt_replies.get(address)
        if replies:
            reply = replies.pop(0) if len(replies) > 1 else replies[0]
            if not reply.startswith("250"):
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.behaviour.data_delay:
            await asyncio.sleep(self.behaviour.data_delay)
        with self._lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted"

    # helpers -------------------------------------------------------------------------------------
    def to(self, address: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if address in m.rcpt_tos]

    def wait_for(self, address: str, n: int = 1, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.to(address)
            if len(got) >= n:
                return got
            time.sleep(0.02)
        raise AssertionError(f"{address} got {len(self.to(address))} messages, expected {n}")

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


@pytest.fixture
def sink():
    with SmtpSink() as s:
        yield s


def build_email_home(home: Path, database_url: str | None = None) -> None:
    """The real 2026-07 arXiv shard and HF page dump, ingested and embedded (lexical + dense)."""
    assert SHARED.is_dir(), f"{SHARED} is missing: the email tests read the real corpus from ../shared"
    assert SHARD.is_file() and HF_PAGE.is_file(), "the corpus files the email tests need are missing"
    with homes.service(home, database_url, SECRET) as pb:
        report = pb.ingest([SHARD, HF_PAGE])
        assert report.added >= 400, report
        rep = pb.update_index(embed=True)
        # Without the model the recommender falls back to TF-IDF; the tests still pass, but say so.
        if rep.dense_error:
            print(
                f"note: no dense vectors ({rep.dense_error}); recommendations use the TF-IDF fallback", file=sys.stderr
            )


@pytest.fixture
def email_home(base_homes, tmp_path: Path, new_database_url) -> Path:
    """A private copy of the built home; on PostgreSQL <home>/database_url names its own database copy."""
    return base_homes.copy("email", build_email_home, tmp_path / "home", new_database_url)


def email_settings(home: Path, port: int, **extra):
    values = dict(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_timeout=5.0,
        base_url="http://testserver",
        mail_from="paperboy <digest@paperboy.test>",
        digest_hour=0,
        digest_retry_minutes=5.0,
    )
    values.update(extra)
    return homes.home_settings(home, SECRET, **values)


def email_env(home: Path, port: int, **extra: str) -> dict[str, str]:
    """Environment for a `paperboy` subprocess with the same settings as `email_settings`."""
    env = dict(
        os.environ,
        PAPERBOY_HOME=str(home),
        PAPERBOY_SECRET_KEY=SECRET,
        PAPERBOY_SMTP_HOST="127.0.0.1",
        PAPERBOY_SMTP_PORT=str(port),
        PAPERBOY_SMTP_TIMEOUT="5",
        PAPERBOY_BASE_URL="http://testserver",
        PAPERBOY_MAIL_FROM="paperboy <digest@paperboy.test>",
        PAPERBOY_DIGEST_HOUR="0",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    env.pop("PAPERBOY_DATABASE_URL", None)
    url = homes.home_database_url(home)
    if url:
        env["PAPERBOY_DATABASE_URL"] = url
    env.update(extra)
    return env


def digest_command(*args: str) -> list[str]:
    """`python -m paperboy.cli digest ...`."""
    return [sys.executable, "-m", "paperboy.cli", "digest", *args]


class Clock:
    """A settable UTC clock for Digests, by default at noon tomorrow (UTC).

    Noon: a test that advances minutes or hours never crosses into another digest day, whenever it
    runs (started at the real time, runs just before midnight sent a second day's digest). Tomorrow:
    the clock never lags the real time the store stamps rows with.
    """

    def __init__(self, now=None):
        from datetime import datetime, timedelta, timezone

        self.now = now or (datetime.now(timezone.utc) + timedelta(days=1)).replace(
            hour=12, minute=0, second=0, microsecond=0
        )

    def __call__(self):
        return self.now

    def advance(self, **delta) -> None:
        from datetime import timedelta

        self.now = self.now + timedelta(**delta)


@pytest.fixture
def email_pb(email_home: Path, sink: SmtpSink):
    from paperboy.service import Paperboy

    pb = Paperboy(email_settings(email_home, sink.port))
    yield pb
    pb.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def digests(email_pb, clock):
    from paperboy.service.digests import Digests

    return Digests(email_pb, secret=SECRET, clock=clock)
