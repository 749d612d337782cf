"""The arXiv API fetcher against a real HTTP server on 127.0.0.1: paging, rate limit, retries, errors."""

import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from paperboy.models import Paper, SourceError
from paperboy.sources import arxiv_atom
from paperboy.sources.arxiv_api import FetchError, fetch_ids, fetch_query
from tests.sources.atom_docs import ERROR, feed

ALL_IDS = [f"2401.0000{i}" for i in range(1, 6)]


class FakeArxiv(BaseHTTPRequestHandler):
    log: list  # (monotonic time, path, query params), set by the fixture
    failures: dict  # path -> remaining failures to serve

    def do_GET(self):
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.log.append((time.monotonic(), url.path, q))
        path = url.path
        if path == "/flaky/query" and self.failures.get(path, 0) > 0:
            self.failures[path] -= 1
            headers = {"Retry-After": "1"} if self.failures[path] == 1 else {}
            return self._send(503, b"Service Unavailable", **headers)
        if path == "/down/query":
            return self._send(503, b"busy")
        if path == "/ratelimit/query":
            return self._send(429, b"slow down", **{"Retry-After": "0"})
        if path == "/error/query":
            return self._send(200, ERROR.encode())
        if path == "/bad/query":
            return self._send(400, ERROR.encode())
        if path == "/empty/query":
            return self._send(200, feed([], total=0))
        if path == "/hiccup/query" and self.failures.get(path, 0) > 0:
            self.failures[path] -= 1
            return self._send(200, feed([], total=len(ALL_IDS), start=int(q.get("start", 0))))
        if "id_list" in q and q["id_list"]:
            return self._send(200, feed(q["id_list"].split(",")))
        start, n = int(q.get("start", 0)), int(q.get("max_results", 10))
        return self._send(200, feed(ALL_IDS[start : start + n], total=len(ALL_IDS), start=start))

    def _send(self, status, body, **headers):
        self.send_response(status)
        self.send_header("Content-Type", "application/atom+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    handler = type("Handler", (FakeArxiv,), {"log": [], "failures": {"/flaky/query": 2, "/hiccup/query": 1}})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", handler.log
    httpd.shutdown()
    httpd.server_close()


def papers(pages) -> list[Paper]:
    return [p for page in pages for p in arxiv_atom.parse(io.BytesIO(page), "api")]


def test_query_pages_with_min_interval(server):
    base, log = server
    pages = list(fetch_query("all:diffusion", 100, base_url=f"{base}/api/query", page_size=2, min_interval=0.3))
    assert len(pages) == 3  # 2 + 2 + 1 of 5 results, then stops at totalResults
    assert [p.arxiv_id for p in papers(pages)] == ALL_IDS
    assert [(q["start"], q["max_results"]) for _, _, q in log] == [("0", "2"), ("2", "2"), ("4", "2")]
    assert log[0][2]["search_query"] == "all:diffusion" and log[0][2]["sortBy"] == "submittedDate"
    gaps = [b[0] - a[0] for a, b in zip(log, log[1:])]
    assert min(gaps) >= 0.29, gaps


def test_query_stops_at_max_results(server):
    base, log = server
    pages = list(fetch_query("all:x", 3, base_url=f"{base}/api/query", page_size=2, min_interval=0.01))
    assert [p.arxiv_id for p in papers(pages)] == ALL_IDS[:3]
    assert [q["max_results"] for _, _, q in log] == ["2", "1"]


def test_retries_503_with_backoff_and_retry_after(server):
    base, log = server
    pages = list(
        fetch_query(
            "all:x", 2, base_url=f"{base}/flaky/query", page_size=2, min_interval=0.05, backoff=0.1, max_attempts=4
        )
    )
    assert len(papers(pages)) == 2 and len(log) == 3
    assert log[1][0] - log[0][0] >= 0.99  # the first 503 said Retry-After: 1
    assert log[2][0] - log[1][0] >= 0.2  # the second had none: backoff * 2**1


def test_gives_up_after_max_attempts(server):
    base, log = server
    with pytest.raises(FetchError, match=r"still failing after 3 attempts \(last: HTTP 503\)"):
        list(fetch_query("all:x", 10, base_url=f"{base}/down/query", min_interval=0.01, backoff=0.01, max_attempts=3))
    assert len(log) == 3
    with pytest.raises(FetchError, match="HTTP 429"):
        list(fetch_ids(["2401.00001"], base_url=f"{base}/ratelimit/query", min_interval=0.01, max_attempts=2))


def test_connection_refused_is_a_fetch_error():
    with socket_closed_port() as url:
        with pytest.raises(FetchError, match="ConnectError"):
            list(fetch_query("all:x", 1, base_url=url, min_interval=0.0, backoff=0.01, max_attempts=2))


def test_api_error_feeds(server):
    base, _ = server
    with pytest.raises(SourceError, match="arXiv API error: incorrect id format for 1234.12345"):
        list(fetch_ids(["1234.12345"], base_url=f"{base}/error/query", min_interval=0.01))
    with pytest.raises(FetchError, match="HTTP 400.*incorrect id format for 1234.12345"):
        list(fetch_ids(["1234.12345"], base_url=f"{base}/bad/query", min_interval=0.01))


def test_empty_results_and_empty_page_hiccup(server):
    base, log = server
    pages = list(fetch_query("ti:nothing", 50, base_url=f"{base}/empty/query", min_interval=0.01))
    assert len(pages) == 1 and papers(pages) == []
    pages = list(fetch_query("all:x", 5, base_url=f"{base}/hiccup/query", min_interval=0.01))
    assert [p.arxiv_id for p in papers(pages)] == ALL_IDS  # the spurious empty page was asked again


def test_fetch_ids_in_chunks(server):
    base, log = server
    client = httpx.Client()
    pages = list(fetch_ids(ALL_IDS, base_url=f"{base}/api/query", page_size=2, min_interval=0.01, client=client))
    assert not client.is_closed  # a caller's client is left open for the caller
    client.close()
    assert [p.arxiv_id for p in papers(pages)] == ALL_IDS
    assert [q["id_list"] for _, _, q in log] == ["2401.00001,2401.00002", "2401.00003,2401.00004", "2401.00005"]


def test_fetcher_is_reachable_from_the_parser_module():
    from paperboy.sources import arxiv_api

    assert arxiv_atom.fetch_query is arxiv_api.fetch_query and arxiv_atom.fetch_ids is arxiv_api.fetch_ids


class socket_closed_port:
    """A URL on 127.0.0.1 where nothing listens."""

    def __enter__(self):
        import socket

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return f"http://127.0.0.1:{port}/api/query"

    def __exit__(self, *exc):
        return False
