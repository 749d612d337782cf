"""Web fixtures: a store built once from the real corpus files, copied per test; hostile hand-made papers."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from paperboy.config import Settings
from paperboy.models import Paper
from tests import homes

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
HF_PAGE = SHARED / "corpus" / "hf-papers-search-page.txt"
SHARD = SHARED / "corpus" / "arxiv-cs-2025-2026" / "papers-2026-07.jsonl.gz"
DAY = date(2026, 7, 1)  # the one listing day of the 2026-07 shard
XSS = "<script>alert('xss')</script>"
ADMIN = "admin@example.org"

# Hand-made papers: hostile text, an HF-style paper with upvotes, and dated ones for windows.
FIXTURE_PAPERS = [
    Paper(
        title=f"Robust {XSS} Transformers <img src=x onerror=alert(1)>",
        abstract=f'We study $\\alpha < \\beta$ & "quotes" {XSS} in multi-stage training of transformers.',
        authors=["<b>Mallory</b> O'Hacker", "Eve & Co"],
        categories=["cs.CR", "cs.LG"],
        arxiv_id="2606.99001",
        listed=DAY,
        source="test",
        source_ref="fixture:1",
    ),
    Paper(
        title="Popular Paper From Hugging Face Daily",
        abstract="A paper many people upvoted on the Hub.",
        authors=["Ada Lovelace", "Alan Turing"],
        categories=["cs.CL"],
        arxiv_id="2606.99002",
        listed=date(2026, 6, 28),
        published=date(2026, 6, 27),
        upvotes=42,
        submitted_by="akhaliq",
        code_url="https://github.com/example/popular",
        source="test",
        source_ref="fixture:2",
    ),
    Paper(
        title="An Older Paper About Diffusion",
        abstract="Diffusion models, a month earlier.",
        authors=["Grace Hopper"],
        categories=["cs.CV"],
        arxiv_id="2605.99003",
        listed=date(2026, 5, 20),
        upvotes=3,
        source="test",
        source_ref="fixture:3",
    ),
]


def require_shared() -> None:
    assert SHARED.is_dir(), f"{SHARED} is missing: the web tests read the real corpus from ../shared"
    assert HF_PAGE.is_file() and SHARD.is_file(), "the corpus files the web tests need are missing"


def build_home(home: Path, database_url: str | None = None) -> None:
    """Ingest the real HF page dump and one real arXiv shard, plus the fixture papers, and index them."""
    require_shared()
    with homes.service(home, database_url) as pb:
        report = pb.ingest([HF_PAGE, SHARD])
        assert report.added >= 400, report
        pb.store.upsert([(p.with_defaults(), False) for p in FIXTURE_PAPERS])
        pb.update_index(embed=False)  # lexical only: the dense tier belongs to the slow tests


@pytest.fixture
def web_home(base_homes, tmp_path: Path, new_database_url) -> Path:
    """A private copy of the built home (and database), so tests can vote and sign up without seeing each other."""
    return base_homes.copy("web", build_home, tmp_path / "home", new_database_url)


def web_settings(home: Path, **kw) -> Settings:
    """Settings for a web_home copy: its own SQLite file, or its own PostgreSQL database.

    Tests sign up and vote as many readers from one client address, so the per-address limits are
    raised unless a test asks for them (tests/web/test_account_security.py tests the defaults).
    """
    kw.setdefault("signup_max_per_hour", 100000)
    kw.setdefault("vote_max_per_hour", 1000000)
    return homes.home_settings(home, arxiv_min_interval=0.0, **kw)


@pytest.fixture
def web_pb(web_home: Path):
    from paperboy.service import Paperboy

    pb = Paperboy(web_settings(web_home))
    yield pb
    pb.close()


@pytest.fixture
def admin_pb(web_home: Path):
    """A Paperboy on a web_home copy where ADMIN (who has no account yet) is an administrator."""
    from paperboy.service import Paperboy

    pb = Paperboy(web_settings(web_home, admin_emails=[ADMIN]))
    yield pb
    pb.close()


@pytest.fixture
def app(web_pb):
    from paperboy.web import create_app

    return create_app(web_pb)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://testserver") as c:
        yield c


_META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def csrf_of(client, path: str = "/login") -> str:
    """The CSRF token a page hands this client (and the cookie it is bound to)."""
    r = client.get(path)
    m = _META_CSRF.search(r.text)
    assert m, f"no csrf meta tag on {path}"
    return m.group(1)


def sign_up(
    client, email: str = "reader@example.org", password: str = "correct horse battery", verify: bool = True
) -> None:
    """Sign up through the form; with `verify`, the account is verified (votes count) through the
    service API an operator uses, as if its owner had followed the emailed link."""
    token = csrf_of(client, "/signup")
    r = client.post("/signup", data={"email": email, "password": password, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    if verify:
        com = client.app.state.community
        com.mark_verified(com.user_by_email(email).id)


def verified_user(com, email: str, password: str = "password123"):
    """A new account, verified (so its votes count), made through the Community service."""
    return com.mark_verified(com.sign_up(email, password).id)


class LiveServer:
    """uvicorn serving `app` on a free 127.0.0.1 port in a background thread."""

    def __init__(self, app):
        import socket
        import threading

        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class AtomServer:
    """A stand-in for the arXiv API on 127.0.0.1: answers every query with the Atom document in `body`."""

    def __init__(self, body: bytes = b"", status: int = 200):
        import http.server
        import threading

        outer = self
        self.body, self.status = body, status
        self.requests: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(self.path)
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/atom+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/query"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> AtomServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def arxiv_atom(entries: list[tuple[str, str, str]]) -> bytes:
    """An arXiv API response with (id, title, abstract) entries, in the real API's format."""
    items = "".join(
        f"""
  <entry>
    <id>http://arxiv.org/abs/{i}v1</id>
    <updated>2026-07-02T17:59:59Z</updated>
    <published>2026-07-02T17:59:59Z</published>
    <title>{t}</title>
    <summary>{a}</summary>
    <author><name>Submitted Author</name></author>
    <author><name>Second Author</name></author>
    <link href="http://arxiv.org/abs/{i}v1" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/{i}v1" rel="related" type="application/pdf"/>
    <arxiv:primary_category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
  </entry>"""
        for i, t, a in entries
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom">
  <id>https://arxiv.org/api/test</id>
  <title>arXiv Query</title>
  <updated>2026-07-03T00:00:00-04:00</updated>
  <opensearch:totalResults>{len(entries)}</opensearch:totalResults>
  <opensearch:startIndex>0</opensearch:startIndex>
  <opensearch:itemsPerPage>{len(entries)}</opensearch:itemsPerPage>{items}
</feed>
""".encode()
