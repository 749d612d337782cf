"""Accounts: argon2 passwords, session cookies, CSRF on every form, login rate limiting, redirects."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from fastapi.testclient import TestClient

from paperboy.store.schema import sessions, users
from tests.web.conftest import csrf_of, sign_up

EMAIL, PASSWORD = "reader@example.org", "correct horse battery"


def _login(client, email=EMAIL, password=PASSWORD, token=None, **extra):
    token = token if token is not None else csrf_of(client, "/login")
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token, **extra}, follow_redirects=False
    )


def test_sign_up_logs_in_with_a_secure_session_cookie(client, web_pb):
    sign_up(client, EMAIL, PASSWORD)
    cookie = client.cookies.get("pb_session")
    assert cookie
    home = client.get("/").text
    assert "Log out" in home and f'title="Logged in as {EMAIL}"' in home
    with web_pb.store.engine.connect() as conn:
        row = conn.execute(sa.select(users)).one()
        stored = conn.execute(sa.select(sessions.c.token_hash)).scalars().all()
    assert row.email == EMAIL and row.password_hash.startswith("$argon2id$")
    assert PASSWORD not in row.password_hash
    assert cookie not in stored  # only a hash of the session token is kept


def test_cookie_flags(app):
    with TestClient(app, base_url="http://testserver") as plain:
        token = csrf_of(plain, "/signup")
        r = plain.post(
            "/signup", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token}, follow_redirects=False
        )
        set_cookie = r.headers["set-cookie"]
        assert "pb_session=" in set_cookie and "HttpOnly" in set_cookie and "SameSite=lax" in set_cookie
        assert "Secure" not in set_cookie
    with TestClient(app, base_url="https://testserver") as tls:
        r = tls.get("/login")
        assert "Secure" in r.headers["set-cookie"] and "HttpOnly" in r.headers["set-cookie"]


def test_log_out_ends_the_session_server_side(client):
    sign_up(client)
    old = client.cookies.get("pb_session")
    token = csrf_of(client, "/")
    r = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    client.cookies.set("pb_session", old)  # replaying the old cookie must not work
    assert "Log in" in client.get("/").text
    assert client.get("/library", follow_redirects=False).status_code == 303


def test_log_in_and_wrong_password(client):
    sign_up(client)
    client.cookies.clear()
    r = _login(client, password="wrong password")
    assert r.status_code == 401 and "Wrong email or password." in r.text
    r = _login(client, email="nobody@example.org")
    assert r.status_code == 401 and "Wrong email or password." in r.text  # same message: no account probing
    r = _login(client, email="  READER@example.org ", next="/library")
    assert r.status_code == 303 and r.headers["location"] == "/library"


def test_sign_up_refusals_are_400_with_reasons(client):
    token = csrf_of(client, "/signup")
    cases = [("not-an-email", PASSWORD, "valid email"), (EMAIL, "short", "8 to 1024 characters")]
    for email, pw, reason in cases:
        r = client.post("/signup", data={"email": email, "password": pw, "csrf_token": token})
        assert r.status_code == 400 and reason in r.text
    sign_up(client)
    client.cookies.delete("pb_session")
    token = csrf_of(client, "/signup")
    r = client.post("/signup", data={"email": EMAIL.upper(), "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 400 and "already exists" in r.text


def test_every_form_needs_the_csrf_token(client, app):
    sign_up(client)
    posts = [
        ("/logout", {}),
        ("/papers/2606.99001/vote", {"action": "up"}),
        ("/papers/2606.99001/save", {}),
        ("/searches", {"q": "diffusion"}),
        ("/searches/1/delete", {}),
        ("/submit", {"paper": "2401.00001"}),
        ("/login", {"email": EMAIL, "password": PASSWORD}),
        ("/signup", {"email": "x@example.org", "password": PASSWORD}),
    ]
    for path, data in posts:
        r = client.post(path, data=data, follow_redirects=False)
        assert r.status_code == 403, path
        assert "reload the page" in r.text
    # A token minted for another browser does not work with this browser's cookie.
    with TestClient(app, base_url="http://testserver") as other:
        foreign = csrf_of(other, "/")
    r = client.post("/papers/2606.99001/vote", data={"csrf_token": foreign}, follow_redirects=False)
    assert r.status_code == 403


def test_csrf_token_changes_at_login(client):
    before = csrf_of(client, "/")
    sign_up(client)
    after = csrf_of(client, "/")
    assert before != after
    r = client.post("/papers/2606.99001/vote", data={"csrf_token": before}, follow_redirects=False)
    assert r.status_code == 403


def test_login_is_rate_limited_per_email_and_client(client, app):
    sign_up(client)
    client.cookies.delete("pb_session")
    token = csrf_of(client, "/login")
    for _ in range(5):
        assert _login(client, password="guess", token=token).status_code == 401
    r = _login(client, token=token)  # even the right password waits now
    assert r.status_code == 429 and "Too many failed logins" in r.text
    assert int(r.headers["retry-after"]) > 0
    other = app.state.community
    # Another email from the same client is not blocked by these failures.
    other.sign_up("second@example.org", PASSWORD)
    assert _login(client, email="second@example.org", token=token).status_code == 303


def test_login_rate_limit_window_expires(web_pb):
    from paperboy.service.community import AuthError, Community, RateLimited

    now = [datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc)]
    com = Community(web_pb.store, web_pb.settings, clock=lambda: now[0])
    com.sign_up(EMAIL, PASSWORD)
    for _ in range(5):
        try:
            com.log_in(EMAIL, "nope", "10.0.0.1")
        except AuthError:
            pass
    try:
        com.log_in(EMAIL, PASSWORD, "10.0.0.1")
        raise AssertionError("expected RateLimited")
    except RateLimited as exc:
        assert 0 < exc.retry_after <= 15 * 60 + 1
    assert com.log_in(EMAIL, PASSWORD, "10.0.0.2").email == EMAIL  # another client address
    now[0] += timedelta(minutes=16)
    assert com.log_in(EMAIL, PASSWORD, "10.0.0.1").email == EMAIL


def test_next_parameter_cannot_redirect_off_site(client):
    sign_up(client)
    client.cookies.delete("pb_session")
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        r = _login(client, next=evil)
        assert r.status_code == 303 and r.headers["location"] == "/", evil
        client.cookies.delete("pb_session")


def test_pages_that_need_an_account_send_you_to_log_in(client):
    for path in ("/library", "/searches", "/submit"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
