"""Concurrent upvotes against a real `paperboy serve` process count exactly once, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa

from tests.live import ServeProcess, signed_up_client, twin
from tests.web.conftest import web_settings

PAPER = "2605.99003"  # a fixture paper with 3 imported upvotes
THREADS = 24


@pytest.fixture
def server(web_home, tmp_path):
    url_file = web_home / "database_url"
    url = url_file.read_text() if url_file.exists() else None
    with ServeProcess(web_home, url, tmp_path / "serve.log") as srv:
        yield srv
    log = srv.log()
    assert "database is locked" not in log, log[-3000:]
    assert "Traceback" not in log, log[-3000:]


def _store_votes(home) -> tuple[int, set[int]]:
    """(vote rows for PAPER, ids of the users who voted), read straight from the store."""
    from paperboy.service import Paperboy

    pb = Paperboy(web_settings(home))
    try:
        paper = pb.store.get(PAPER)
        with pb.store.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT user_id FROM votes WHERE paper_id = :p"), {"p": paper.id}).all()
    finally:
        pb.close()
    users = {r[0] for r in rows}
    assert len(users) == len(rows), "a user has two vote rows for one paper"
    return len(rows), users


def _count(base_url: str) -> int:
    r = httpx.get(f"{base_url}/api/v1/papers/{PAPER}", timeout=30)
    assert r.status_code == 200, r.text[:300]
    return r.json()["upvotes"]


def _hammer(calls) -> list[httpx.Response]:
    """Run `calls` (zero-argument callables) at once from as many threads, released together."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait(timeout=60)
        return call()

    with ThreadPoolExecutor(len(calls)) as ex:
        return list(ex.map(run, calls))


def _vote(client: httpx.Client, token: str, up: bool) -> httpx.Response:
    method = client.post if up else client.delete
    return method(f"/api/v1/papers/{PAPER}/vote", headers={"X-CSRF-Token": token}, timeout=60)


def _assert_clean(responses: list[httpx.Response]) -> None:
    for r in responses:
        assert r.status_code == 200, (r.status_code, r.text[:500])
        assert "locked" not in r.text


def test_one_user_upvoting_from_many_connections_counts_once(server, web_home):
    before = _count(server.url)
    main, token = signed_up_client(server, "racer@example.org")
    clients = [twin(main) for _ in range(THREADS)]
    try:
        responses = _hammer([lambda c=c: _vote(c, token, True) for c in clients])
    finally:
        for c in clients + [main]:
            c.close()
    _assert_clean(responses)
    assert all(r.json()["voted"] for r in responses)
    assert _count(server.url) == before + 1
    rows, _ = _store_votes(web_home)
    assert rows == 1


def test_distinct_users_upvoting_at_once_count_each(server, web_home):
    before = _count(server.url)
    logged_in = [signed_up_client(server, f"voter{i}@example.org") for i in range(THREADS)]
    try:
        responses = _hammer([lambda c=c, t=t: _vote(c, t, True) for c, t in logged_in])
    finally:
        for c, _ in logged_in:
            c.close()
    _assert_clean(responses)
    assert _count(server.url) == before + THREADS
    rows, users = _store_votes(web_home)
    assert rows == THREADS and len(users) == THREADS


def test_concurrent_toggles_end_consistent(server, web_home):
    before = _count(server.url)
    users = [signed_up_client(server, f"toggler{i}@example.org") for i in range(6)]
    rnd = random.Random(42)
    # Each user toggles from 4 connections at once, 6 rounds each: up and down race for the same row.
    conns = [(twin(c), t) for c, t in users for _ in range(4)]
    plans = [[rnd.random() < 0.5 for _ in range(6)] for _ in conns]

    def run(i):
        c, t = conns[i]
        return [_vote(c, t, up) for up in plans[i]]

    try:
        responses = [r for rs in _hammer([lambda i=i: run(i) for i in range(len(conns))]) for r in rs]
        _assert_clean(responses)
    finally:
        for c, _ in users + conns:
            c.close()
    rows, voters = _store_votes(web_home)
    assert _count(server.url) == before + rows  # the shown count is the number of vote rows
    assert len(voters) == rows <= len(users)
    # Two more users after the storm: the count moves by exactly two.
    fresh = [signed_up_client(server, f"late{i}@example.org") for i in range(2)]
    try:
        _assert_clean(_hammer([lambda c=c, t=t: _vote(c, t, True) for c, t in fresh]))
    finally:
        for c, _ in fresh:
            c.close()
    assert _count(server.url) == before + rows + 2
