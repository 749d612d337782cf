"""Request size limits (_Guard in paperboy/web/app.py and the app's form limits), in process and on a real server."""

from __future__ import annotations

import http.client

import pytest

from paperboy.web.app import MAX_BODY_BYTES, MAX_FORM_FIELDS, MAX_QUERY_BYTES
from tests.web.conftest import LiveServer, csrf_of

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_a_body_declared_too_big_is_refused_before_it_is_read(client):
    r = client.post("/login", content=b"a" * (MAX_BODY_BYTES + 1), headers=FORM)
    assert r.status_code == 413 and "too large" in r.json()["detail"]
    r = client.post(
        "/api/v1/papers/2606.99002/vote",
        content=b"{}" + b" " * MAX_BODY_BYTES,
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413


def test_a_chunked_body_without_length_is_cut_off(client):
    def chunks():
        for _ in range(MAX_BODY_BYTES // 8192 + 2):
            yield b"email=" + b"x" * 8186

    r = client.post("/login", content=chunks(), headers=FORM)
    assert r.status_code == 413, r.text[r.text.find('class="message"') :][:300]


def test_a_body_just_under_the_limit_is_fine(client):
    token = csrf_of(client)
    body = f"email=a%40b.org&password=wrong-password&csrf_token={token}&pad=".encode()
    body += b"x" * (MAX_BODY_BYTES - len(body) - 10)
    r = client.post("/login", content=body, headers=FORM)
    assert r.status_code == 401  # read, parsed and answered: wrong password


def test_a_bad_content_length_is_400(client):
    r = client.post("/login", content=b"email=x", headers={**FORM, "Content-Length": "12abc"})
    assert r.status_code == 400


def test_a_long_query_string_is_414(client):
    r = client.get("/search", params={"q": "a" * (MAX_QUERY_BYTES + 1)})
    assert r.status_code == 414
    r = client.get("/api/v1/search", params={"q": "b" * (MAX_QUERY_BYTES + 10)})
    assert r.status_code == 414 and "too long" in r.json()["detail"]
    # Under the guard's limit the app's own parameter checks answer (a clear 400), not the guard.
    r = client.get("/search", params={"q": "c" * (MAX_QUERY_BYTES - 100)})
    assert r.status_code == 400


def test_too_many_form_fields_is_400(client):
    token = csrf_of(client)
    fields = [("email", "a@b.org"), ("password", "wrong-password"), ("csrf_token", token)]
    many = fields + [(f"f{i}", "") for i in range(MAX_FORM_FIELDS)]
    r = client.post("/login", data=dict(many), follow_redirects=False)
    assert r.status_code == 400 and "fields" in r.text.lower()
    few = fields + [(f"f{i}", "") for i in range(MAX_FORM_FIELDS - len(fields))]
    r = client.post("/login", data=dict(few), follow_redirects=False)
    assert r.status_code == 401


@pytest.fixture
def live(app):
    with LiveServer(app) as srv:
        yield srv


def test_limits_hold_on_a_real_server(live):
    """The same answers through uvicorn, where a chunked body really streams in pieces."""
    conn = http.client.HTTPConnection("127.0.0.1", live.port, timeout=30)
    conn.request(
        "POST", "/login", body=iter([b"x" * 8192] * (MAX_BODY_BYTES // 8192 + 2)), headers=FORM, encode_chunked=True
    )
    resp = conn.getresponse()
    assert resp.status == 413
    resp.read()
    conn.close()

    conn = http.client.HTTPConnection("127.0.0.1", live.port, timeout=30)
    conn.request("GET", "/search?q=" + "a" * (MAX_QUERY_BYTES + 1))
    resp = conn.getresponse()
    assert resp.status == 414
    resp.read()
    conn.close()

    conn = http.client.HTTPConnection("127.0.0.1", live.port, timeout=30)
    conn.request("GET", "/search?q=" + "a" * 70_000)  # past uvicorn's own request-line limit
    resp = conn.getresponse()
    assert resp.status in (400, 414)
    resp.read()
    conn.close()
