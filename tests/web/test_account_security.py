"""Accounts that resist abuse: votes count only after the emailed verification link, password reset by
signed expiring link, the settings page (email, password, delete with data), per-address limits.

Mail goes through a real SMTP server on loopback (aiosmtpd); links are followed as a reader would.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from paperboy.store.schema import saved_papers, saved_searches, subscriptions, users, votes
from tests.email.conftest import SmtpSink
from tests.web.conftest import csrf_of, sign_up, web_settings

PAPER, IMPORTED = "2606.99002", 42  # a fixture paper with 42 upvotes imported from the Hub
EMAIL, PASSWORD = "reader@example.org", "correct horse battery"
LINK = re.compile(r"http://paperboy\.test(/\S+)")


class Clock:
    def __init__(self):
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def sink():
    with SmtpSink() as s:
        yield s


@pytest.fixture
def clock():
    return Clock()


def _site(web_home, sink, clock, **kw):
    from paperboy.service import Paperboy
    from paperboy.service.community import Community
    from paperboy.web import create_app

    settings = web_settings(web_home, smtp_host="127.0.0.1", smtp_port=sink.port, base_url="http://paperboy.test", **kw)
    pb = Paperboy(settings)
    return pb, create_app(pb, community=Community(pb.store, settings, clock=clock))


@pytest.fixture
def site(web_home, sink, clock):
    pb, app = _site(web_home, sink, clock)
    with TestClient(app, base_url="http://testserver") as c:
        yield c, pb
    pb.close()


def _link(sink, address: str, n: int = 1) -> str:
    """The path of the link in the newest of the `n` emails `address` got (waits for it)."""
    msg = sink.wait_for(address, n)[-1].message
    return LINK.search(msg.get_body(preferencelist=("plain",)).get_content()).group(1)


def _count(client) -> int:
    return client.get(f"/api/v1/papers/{PAPER}").json()["upvotes"]


def _vote(client):
    token = csrf_of(client, "/")
    return client.post(f"/api/v1/papers/{PAPER}/vote", headers={"X-CSRF-Token": token})


def test_votes_count_only_after_the_emailed_link_is_followed(site, sink, clock):
    client, pb = site
    sign_up(client, EMAIL, PASSWORD, verify=False)
    assert "Confirm your email address to make your upvotes count" in client.get("/").text
    r = _vote(client)
    assert r.status_code == 200 and r.json() == {
        "paper_id": PAPER,
        "upvotes": IMPORTED,
        "voted": True,
        "counted": False,
    }
    assert _count(client) == IMPORTED  # kept, not counted, not ranked
    assert pb.community.trending("all", 1).items[0].upvotes == IMPORTED

    path = _link(sink, EMAIL)
    assert path.startswith("/verify/")
    forged = path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb")
    assert client.get(forged).status_code == 400
    clock.now += timedelta(hours=pb.settings.verify_hours + 1)
    r = client.get(path)
    assert r.status_code == 400 and "expired" in r.text
    clock.now -= timedelta(hours=pb.settings.verify_hours + 1)
    r = client.get(path)
    assert r.status_code == 200 and "Email confirmed" in r.text
    assert _count(client) == IMPORTED + 1  # the kept vote counts from now on
    assert "Confirm your email address" not in client.get("/").text
    assert client.app.state.community.trending("all", 1).items[0].upvotes == IMPORTED + 1


def test_password_reset_by_signed_expiring_single_use_link(site, sink, clock):
    client, pb = site
    sign_up(client, EMAIL, PASSWORD)
    client.cookies.clear()
    token = csrf_of(client, "/forgot")
    r = client.post("/forgot", data={"email": "nobody@example.org", "csrf_token": token})
    assert r.status_code == 200 and "If an account has the address" in r.text
    r = client.post("/forgot", data={"email": EMAIL.upper(), "csrf_token": token})
    assert r.status_code == 200 and "If an account has the address" in r.text  # the same answer
    assert sink.to("nobody@example.org") == []
    path = _link(sink, EMAIL, 2)  # the verification email, then the reset email
    assert path.startswith("/reset/")

    clock.now += timedelta(hours=pb.settings.reset_hours + 1)
    assert "expired" in client.get(path).text
    clock.now -= timedelta(hours=pb.settings.reset_hours + 1)
    assert client.get(path).status_code == 200
    token = csrf_of(client, path)
    r = client.post(path, data={"password": "short", "csrf_token": token})
    assert r.status_code == 400 and "8 to 1024" in r.text
    r = client.post(path, data={"password": "a brand new password", "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/settings?done=password"
    assert "Log out" in client.get("/").text
    r = client.get(path)
    assert r.status_code == 400 and "already used" in r.text  # single use: the password it was for is gone

    client.cookies.clear()
    for pw, status in ((PASSWORD, 401), ("a brand new password", 303)):
        token = csrf_of(client, "/login")
        r = client.post("/login", data={"email": EMAIL, "password": pw, "csrf_token": token}, follow_redirects=False)
        assert r.status_code == status


def test_settings_change_email_password_and_delete_with_data(site, sink):
    client, pb = site
    sign_up(client, EMAIL, PASSWORD)
    assert client.get("/settings").status_code == 200
    assert _vote(client).json()["upvotes"] == IMPORTED + 1
    token = csrf_of(client, "/settings")
    client.post(f"/papers/{PAPER}/save", data={"csrf_token": token})
    client.post("/searches", data={"q": "diffusion", "csrf_token": token})
    client.post("/subscribe", data={"email": EMAIL, "frequency": "daily", "trending": "on", "csrf_token": token})

    r = client.post(
        "/settings/password", data={"current": "wrong password", "new": "another password", "csrf_token": token}
    )
    assert r.status_code == 401 and "current password is not right" in r.text
    r = client.post("/settings/password", data={"current": PASSWORD, "new": "another password", "csrf_token": token})
    assert r.status_code == 200 and "Your password is changed" in r.text  # still logged in here

    r = client.post(
        "/settings/email", data={"email": "new@example.org", "password": "another password", "csrf_token": token}
    )
    assert "Your email is changed" in r.text and "not confirmed yet" in r.text
    assert _count(client) == IMPORTED  # unverified again: the vote stops counting
    assert _link(sink, "new@example.org").startswith("/verify/")
    assert client.get(_link(sink, "new@example.org")).status_code == 200
    assert _count(client) == IMPORTED + 1

    r = client.post("/settings/delete", data={"password": "another password", "csrf_token": token})
    assert r.status_code == 400 and "Tick the box" in r.text
    r = client.post("/settings/delete", data={"password": "another password", "confirm": "delete", "csrf_token": token})
    assert r.status_code == 200 and "1 votes, 1 saved papers, 1 saved searches, 1 digest" in r.text
    assert "Log in" in client.get("/").text
    assert _count(client) == IMPORTED
    with pb.store.engine.connect() as conn:
        for table in (users, votes, saved_papers, saved_searches, subscriptions):
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 0, table.name


def test_sign_up_and_votes_are_limited_per_client_address(web_home, sink, clock):
    pb, app = _site(web_home, sink, clock, signup_max_per_hour=2, vote_max_per_hour=3)
    try:
        with TestClient(app, base_url="http://testserver", client=("198.51.100.7", 40000)) as one:
            for i in range(2):
                one.cookies.clear()
                sign_up(one, f"bot{i}@example.org", PASSWORD)
            one.cookies.clear()
            token = csrf_of(one, "/signup")
            r = one.post("/signup", data={"email": "bot2@example.org", "password": PASSWORD, "csrf_token": token})
            assert r.status_code == 429 and "Too many new accounts" in r.text
            assert 0 < int(r.headers["retry-after"]) <= 3600
            with TestClient(app, base_url="http://testserver", client=("203.0.113.9", 40000)) as other:
                sign_up(other, "person@example.org", PASSWORD)  # another address is not affected
            clock.now += timedelta(hours=1, seconds=1)
            sign_up(one, "bot2@example.org", PASSWORD)  # the window moved on

            statuses = [_vote(one).status_code for _ in range(3)]  # up, down, up
            r = _vote(one)
            assert statuses == [200, 200, 200] and r.status_code == 429 and "Too many votes" in r.json()["detail"]
            token = csrf_of(one, "/")
            r = one.post(f"/papers/{PAPER}/vote", data={"csrf_token": token, "action": "up"}, follow_redirects=False)
            assert r.status_code == 429  # the form route too
    finally:
        pb.close()
