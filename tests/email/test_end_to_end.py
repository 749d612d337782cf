"""End to end over HTTP and SMTP: subscribe on the web, confirm from the mail, get a digest that matches
the reader's saved search and upvotes, leave with the one-click POST from the List-Unsubscribe header."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from paperboy.email.send import run_digests
from paperboy.models import SearchFilters
from paperboy.service.digests import Digests, Options

from .conftest import SECRET

META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
PAPER_LINK = re.compile(r'href="http://testserver/papers/([^"]+)"')
QUERY = "reinforcement learning"
READER = "reader@example.org"


def make_app(pb):
    from paperboy.web import create_app, digest_routes

    app = create_app(pb)
    if not any(getattr(r, "path", None) == "/subscribe" for r in app.routes):
        app.include_router(digest_routes.router)
    return app


@pytest.fixture
def client(email_pb):
    from fastapi.testclient import TestClient

    with TestClient(make_app(email_pb), base_url="http://testserver") as c:
        yield c


def csrf(client, path: str) -> str:
    r = client.get(path)
    assert r.status_code == 200, r.text[:300]
    return META_CSRF.search(r.text).group(1)


def post(client, path: str, data: dict, page: str = "/", **kw):
    return client.post(path, data={**data, "csrf_token": csrf(client, page)}, follow_redirects=False, **kw)


def digest_links(msg) -> list[str]:
    return PAPER_LINK.findall(msg.get_body(("html",)).get_content())


def test_subscribe_confirm_digest_and_one_click_unsubscribe(client, email_pb, sink, clock):
    # An account that upvotes three reinforcement-learning papers from the real corpus and saves a search.
    r = post(client, "/signup", {"email": READER, "password": "correct horse battery"}, "/signup")
    assert r.status_code == 303
    [verification] = sink.wait_for(READER)  # votes count once the address is proven: follow the link
    link = re.search(r"http://testserver(/verify/\S+)", verification.message.get_body(("plain",)).get_content())
    assert "Email confirmed" in client.get(link.group(1)).text
    sink.clear()
    upvoted = [h.paper for h in email_pb.search(QUERY, mode="lexical", limit=3).hits]
    for p in upvoted:
        assert post(client, f"/papers/{p.id}/vote", {"action": "up"}).status_code == 303
    assert post(client, "/searches", {"q": "diffusion"}).status_code == 303

    # Subscribe through the form (logged in, address proven: the account's address, on at once, no
    # second confirmation email).
    r = post(
        client,
        "/subscribe",
        {
            "email": "",
            "frequency": "daily",
            "hour": "0",
            "weekday": "0",
            "timezone": "UTC",
            "trending": "on",
            "searches": "on",
            "recommended": "on",
        },
        "/subscribe",
    )
    assert r.status_code == 200 and "Digest saved" in r.text and "Check your inbox" not in r.text
    assert Digests(email_pb, secret=SECRET, clock=clock).get(READER).state == "active"

    # `digest run` (the same run the CLI does) delivers a digest built from the search and the upvotes.
    d = Digests(email_pb, secret=SECRET, clock=clock)
    rep = run_digests(d)
    assert rep.sent == 1, rep.summary()
    mail = sink.wait_for(READER, 1)[0].message
    text = mail.get_body(("plain",)).get_content()
    sent_ids = set(digest_links(mail))
    as_of = d.community.reference_day()
    flt = SearchFilters(since=as_of, until=as_of)
    matches = {h.paper.id for h in email_pb.search("diffusion", mode="lexical", filters=flt, limit=50).hits}
    assert "New for your saved searches" in text and "matches your search “diffusion”" in text
    assert sent_ids & matches
    assert "Recommended for you" in text
    titles = [re.escape(" ".join(p.title.split())[:30]) for p in upvoted]
    assert re.search(r"like “(" + "|".join(titles) + ")", text), text[:2000]
    assert not sent_ids & {p.id for p in upvoted}  # the reader's own papers are not recommended back

    # The one-click unsubscribe from the received header: a bare POST, no cookies, no CSRF token.
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(r"<(http://testserver/digest/unsubscribe/[^>]+)>", mail["List-Unsubscribe"]).group(1)
    from fastapi.testclient import TestClient

    with TestClient(client.app, base_url="http://testserver") as fresh:
        r = fresh.post(
            urlsplit(url).path,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert r.status_code == 200 and "Unsubscribed" in r.text
    assert d.get(READER).state == "unsubscribed"

    # The next run sends nothing to that address, while a subscriber who stayed still gets theirs.
    d.subscribe("stays@example.org", Options(send_hour=0), confirmed=True)
    for _ in range(2):
        clock.advance(days=1)
        run_digests(d)
    assert len(sink.to(READER)) == 1  # the one digest before unsubscribing
    assert len(sink.to("stays@example.org")) == 2


def test_recommended_page_and_not_interested(client, email_pb):
    assert client.get("/recommended", follow_redirects=False).status_code == 303  # login first
    post(client, "/signup", {"email": READER, "password": "correct horse battery"}, "/signup")
    r = client.get("/recommended")
    assert r.status_code == 200 and "Rate, import or pick a few papers" in r.text  # trending until there is a library
    for h in email_pb.search("reinforcement learning", mode="lexical", limit=3).hits:
        post(client, f"/papers/{h.paper.id}/save", {"action": "save"})
    r = client.get("/recommended")
    assert r.status_code == 200 and "in your library" in r.text
    first = re.search(r'name="paper" value="([^"]+)"', r.text).group(1)
    r = post(client, "/recommended/not-interested", {"paper": first}, "/recommended")
    assert r.status_code == 303
    assert f'value="{first}"' not in client.get("/recommended").text
    assert post(client, "/recommended/not-interested", {"paper": "not a paper id"}, "/recommended").status_code == 400


@pytest.mark.parametrize(
    "address, message",
    [
        ("reader@example.org\r\nBcc: victim@example.org", "cannot contain spaces, line breaks"),
        ("a" * 990 + "@example.org", "too long"),
        ("user@exa_mple.org", "not a valid domain"),
    ],
)
def test_subscribe_form_refuses_bad_addresses(client, sink, address, message):
    r = post(
        client, "/subscribe", {"email": address, "frequency": "daily", "hour": "8", "timezone": "UTC"}, "/subscribe"
    )
    assert r.status_code == 400 and message in r.text
    assert not sink.messages


def test_subscribe_form_survives_absurd_input(client, sink):
    r = post(client, "/subscribe", {"email": "x" * 5000, "hour": "99", "timezone": "Mars/Base"}, "/subscribe")
    assert r.status_code == 400
    r = post(client, "/subscribe", {"email": "ok@example.org", "timezone": "Mars/Base"}, "/subscribe")
    assert r.status_code == 400 and "Unknown time zone" in r.text
    r = client.post("/subscribe", data={"email": "ok@example.org"}, follow_redirects=False)
    assert r.status_code == 403  # no CSRF token
    assert not sink.messages


def test_subscribing_while_the_smtp_server_is_down_still_answers(email_home, clock):
    from fastapi.testclient import TestClient

    from paperboy.service import Paperboy

    from .conftest import SmtpSink, email_settings, free_port

    port = free_port()
    pb = Paperboy(email_settings(email_home, port))
    with TestClient(make_app(pb), base_url="http://testserver") as c:
        r = post(c, "/subscribe", {"email": "later@example.org", "hour": "0", "timezone": "UTC"}, "/subscribe")
        assert r.status_code == 200 and "Check your inbox" in r.text
    d = Digests(pb, secret=SECRET, clock=clock)
    [row] = d.outbox_of("later@example.org")
    assert (row.kind, row.state) == ("confirm", "pending")  # kept for the next run
    with SmtpSink(port) as sink:
        clock.advance(minutes=10)
        assert run_digests(d).sent == 1
        assert sink.wait_for("later@example.org")[0].message["Subject"].startswith("Confirm")
    pb.close()


def test_confirm_and_unsubscribe_pages_refuse_bad_tokens(client):
    for path in ("/digest/confirm/abcdefghijkl.mnop", "/digest/unsubscribe/abcdefghijkl.mnop"):
        r = client.get(path) if "confirm" in path else client.post(path)
        assert r.status_code == 400 and "not valid" in r.text
    assert client.get("/digest/confirm/" + "a" * 5000).status_code in (400, 404, 422)
    r = client.get("/digest/unsubscribe/abcdefghijkl.mnop")  # GET only shows a button
    assert r.status_code == 200 and "<form" in r.text


def test_preview_is_for_yourself_or_admins(client, email_pb, clock):
    post(client, "/signup", {"email": READER, "password": "correct horse battery"}, "/signup")
    r = client.get("/digest/preview")
    assert r.status_code == 200 and "paperboy" in r.text and 'style="' in r.text
    assert client.get("/digest/preview", params={"email": "other@example.org"}).status_code == 403
    email_pb.settings.admin_emails = [READER]
    assert client.get("/digest/preview", params={"email": "other@example.org"}).status_code == 404
    Digests(email_pb, secret=SECRET, clock=clock).subscribe("other@example.org", confirmed=True)
    assert client.get("/digest/preview", params={"email": "other@example.org"}).status_code == 200


def test_subscribers_can_leave_from_the_subscription_page(client, email_pb, clock):
    post(client, "/signup", {"email": READER, "password": "correct horse battery"}, "/signup")
    r = client.get("/subscribe")
    assert r.status_code == 200 and "Unsubscribe" not in r.text
    d = Digests(email_pb, secret=SECRET, clock=clock)
    d.subscribe(READER, Options(send_hour=0), confirmed=True)
    r = client.get("/subscribe")
    assert "is active" in r.text
    path = re.search(r'<form method="post" action="(/digest/unsubscribe/[^"]+)">', r.text).group(1)
    assert client.post(path).status_code == 200
    assert d.get(READER).state == "unsubscribed"
