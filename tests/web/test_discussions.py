"""Discussions and collections: API and pages, hostile bodies, rate limits, spam, bans, moderation, feeds (both backends)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import bibtexparser
import feedparser
import pytest
from fastapi.testclient import TestClient

from paperboy.service.comments import MAX_BODY, MAX_DEPTH, PER_HOUR
from tests.web.conftest import ADMIN, csrf_of, web_settings

P = "2606.99002"  # "Popular Paper From Hugging Face Daily", with a code_url
P2 = "2605.99003"


@pytest.fixture
def pb(admin_pb):
    return admin_pb


@pytest.fixture
def clients(pb):
    from paperboy.web import create_app

    app = create_app(pb)
    made = []

    def make(email: str | None = None, verified: bool = True) -> TestClient:
        c = TestClient(app, base_url="http://testserver")
        c.__enter__()
        made.append(c)
        if email:
            log_in_fast(pb, c, email, verified)
        c.headers["X-CSRF-Token"] = csrf_of(c, "/about")  # bound to the login: good for every form after it
        return c

    yield make
    for c in made:
        c.__exit__(None, None, None)


def log_in_fast(pb, c: TestClient, email: str, verified: bool = True) -> None:
    """A new account with a session cookie, without hashing a password (argon2 costs ~1 s a sign-up here);
    the sign-up form itself is covered by test_accounts.py and the browser journey."""
    from datetime import datetime, timezone

    from paperboy.service.community import User
    from paperboy.store import community as users

    now = datetime.now(timezone.utc)
    with pb.store.writing() as conn:
        uid = users.insert_user(conn, email, "not-a-password-hash", now)
        if verified:  # as for votes, only confirmed accounts' comments are shown to others
            users.set_verified(conn, uid, now)
    c.cookies.set("pb_session", pb.community.start_session(User(uid, email, now)))


def _user(pb, email: str):
    """The account as the service sees it, read directly (log_in would spend a second on argon2)."""
    from paperboy.service.community import User
    from paperboy.store import community as users

    with pb.store.reading() as conn:
        row = users.user_by_email(conn, email)
    return User(row.id, row.email, row.created_at, verified_at=row.verified_at)


def _form(c: TestClient, path: str, data: dict, page: str = ""):
    return c.post(path, data={**data, "csrf_token": c.headers["X-CSRF-Token"]}, follow_redirects=False)


def test_thread_through_the_api_and_the_page(clients):
    ann, bob, anon = clients("ann@example.org"), clients("bob@example.org"), clients()
    r = ann.post(f"/api/v1/papers/{P}/comments", json={"body": "Does **this** hold for $n \\to \\infty$?"})
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["html"] == '<p>Does <strong>this</strong> hold for <span class="math">$n \\to \\infty$</span>?</p>\n'
    assert (first["depth"], first["mine"]) == (0, True)
    # Authors show as a stable pseudonym: nothing of the email address reaches other readers.
    assert first["author"].startswith("reader-") and "ann" not in first["author"]
    reply = bob.post(f"/api/v1/papers/{P}v1/comments", json={"body": "Yes, see section 3.", "parent_id": first["id"]})
    assert reply.status_code == 201 and reply.json()["depth"] == 1
    later = ann.post(f"/api/v1/papers/{P}/comments", json={"body": "Thanks!"}).json()

    # Reading order: each reply right after its parent.
    thread = anon.get(f"/api/v1/papers/{P}/comments").json()
    assert [c["id"] for c in thread["data"]] == [first["id"], reply.json()["id"], later["id"]]
    assert not any(c["mine"] for c in thread["data"])

    # Only the author edits or deletes; others get 403, logged-out callers 401.
    assert bob.patch(f"/api/v1/comments/{first['id']}", json={"body": "hijack"}).status_code == 403
    assert anon.patch(f"/api/v1/comments/{first['id']}", json={"body": "x"}).status_code == 401
    edited = ann.patch(f"/api/v1/comments/{first['id']}", json={"body": "Does it hold?"})
    assert edited.status_code == 200 and edited.json()["edited_at"]
    assert ann.delete(f"/api/v1/comments/{first['id']}").status_code == 204
    after = anon.get(f"/api/v1/papers/{P}/comments").json()["data"]
    assert after[0]["state"] == "deleted" and after[0]["body"] == "" and after[0]["author"] == "[deleted]"
    assert after[1]["parent_id"] == first["id"]  # the reply keeps its place

    # Counts on cards and in the API; the page shows the thread and a login prompt when logged out.
    assert anon.get(f"/api/v1/papers/{P}").json()["num_comments"] == 2
    page = anon.get(f"/papers/{P}").text
    assert "Yes, see section 3." in page and "to join the discussion" in page and "[deleted]" in page
    assert re.search(r'href="/papers/2606.99002#discussion">2 comments<', anon.get("/?window=all").text)

    # Forms: post, reply, edit, delete, with post/redirect/get.
    r = _form(bob, f"/papers/{P}/comments", {"body": "Form comment"}, f"/papers/{P}")
    assert r.status_code == 303 and re.fullmatch(rf"/papers/{P}#comment-\d+", r.headers["location"])
    cid = int(r.headers["location"].rsplit("-", 1)[1])
    assert _form(bob, f"/papers/{P}/comments", {"body": "Form reply", "parent_id": str(cid)}).status_code == 303
    assert _form(bob, f"/comments/{cid}/edit", {"body": "Form comment, edited"}).status_code == 303
    assert _form(ann, f"/comments/{cid}/delete", {}).status_code == 403
    assert _form(bob, f"/comments/{cid}/delete", {}).status_code == 303
    assert _form(bob, "/comments/0/delete", {}).status_code == 404
    assert _form(bob, "/comments/99999999999/edit", {"body": "x"}).status_code == 404

    # The newest discussions: a page and Atom feeds, the paper's thread too.
    assert "Form reply" in anon.get("/discussions").text
    for path in ("/feeds/comments.atom", f"/feeds/papers/{P}/comments.atom"):
        r = anon.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
        feed = feedparser.parse(r.content)
        assert not feed.bozo and any("Form reply" in e.content[0].value for e in feed.entries)
    assert anon.get("/feeds/papers/2606.00000/comments.atom").status_code == 404
    assert anon.get("/feeds/papers/nonsense/comments.atom").status_code == 400


HOSTILE = [
    "<script>alert('x')</script>",
    '<img src=x onerror=alert(1)>[click](javascript:alert(1)) <a href="javascript:alert(2)">a</a>',
    "nul\x00 bell\x07 esc\x1b del\x7f done",
    ">" * 5000 + " deep quote",
    "".join("  " * i + f"- level {i}\n" for i in range(80)),
    "Nested links: " + "".join(f"[w{i} " for i in range(900)) + "x" + "](b)" * 900,
    "$<script>alert(3)</script>$ and $$</span><script>alert(4)</script>$$",
]


class _Elements(HTMLParser):
    """Every element and attribute of an HTML fragment, as a browser's parser would see them."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, list]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def assert_inert(fragment: str) -> None:
    for tag, attrs in _Elements(fragment).tags:
        assert tag not in ("script", "img", "iframe", "style", "object", "svg"), fragment[:200]
        for name, value in attrs:
            assert not name.startswith("on") and name != "style", (tag, name)
            assert not (value or "").strip().lower().startswith(("javascript:", "data:")), (tag, name, value)


def test_hostile_bodies_are_stored_safely_and_rendered_inert(clients, pb):
    c = clients("eve@example.org")
    ids = []
    for body in HOSTILE:
        r = c.post(f"/api/v1/papers/{P}/comments", json={"body": body})
        assert r.status_code == 201, (body[:40], r.status_code, r.text[:200])
        ids.append(r.json()["id"])
        assert_inert(r.json()["html"])
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", r.json()["body"])
    assert pb.comments.get(ids[2]).body == "nul bell esc del done"
    page = c.get(f"/papers/{P}").text
    discussion = page[page.index('id="discussion"') : page.index('id="similar-h"')]
    assert_inert(discussion)
    assert "<script>alert" not in page

    # Too long, empty and over-long form bodies: a clear 400/422, never a 5xx.
    r = c.post(f"/api/v1/papers/{P}/comments", json={"body": "x" * (MAX_BODY + 1)})
    assert r.status_code == 422
    blank = {"body": "\x00\x01 "}  # nothing left once cleaned: the schema refuses it
    assert c.post(f"/api/v1/papers/{P}/comments", json=blank).status_code == 422
    r = _form(c, f"/papers/{P}/comments", {"body": "y" * (MAX_BODY + 10)})
    assert r.status_code == 400 and "too long" in r.text
    assert c.post(f"/api/v1/papers/{P}/comments", json={"body": "hi", "parent_id": 2**31}).status_code == 422
    assert c.post(f"/api/v1/papers/{P2}/comments", json={"body": "hi", "parent_id": ids[0]}).status_code == 404

    # Replies to replies: the thread stops getting deeper at MAX_DEPTH.
    parent = ids[0]
    for i in range(MAX_DEPTH + 3):
        r = c.post(f"/api/v1/papers/{P2}/comments", json={"body": f"level {i}", **({"parent_id": parent} if i else {})})
        assert r.status_code == 201
        parent = r.json()["id"]
    assert max(x["depth"] for x in c.get(f"/api/v1/papers/{P2}/comments").json()["data"]) == MAX_DEPTH


def test_rate_limits_spam_bans_and_moderation(clients, pb):
    c, admin, anon = clients("fast@example.org"), clients(ADMIN), clients()
    user = _user(pb, "fast@example.org")
    for i in range(PER_HOUR):
        pb.comments.add(user, P2, f"Comment number {i} about the method.")
    r = c.post(f"/api/v1/papers/{P}/comments", json={"body": "one more"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0

    spammer = clients("spam@example.org")
    links = " ".join(f"https://spam.example/{i}" for i in range(6))
    assert "Too many links" in spammer.post(f"/api/v1/papers/{P}/comments", json={"body": links}).json()["detail"]
    assert spammer.post(f"/api/v1/papers/{P}/comments", json={"body": "Buy now"}).status_code == 201
    r = spammer.post(f"/api/v1/papers/{P2}/comments", json={"body": "Buy now"})
    assert r.status_code == 400 and "exactly this" in r.json()["detail"]
    assert spammer.post(f"/api/v1/papers/{P}/comments", json={"body": "buy " * 30}).status_code == 400

    # An admin hides a comment: readers see a placeholder, the log records it, the author cannot edit it.
    cid = spammer.get(f"/api/v1/papers/{P}/comments").json()["data"][0]["id"]
    assert _form(spammer, f"/admin/comments/{cid}/hide", {"reason": "spam"}).status_code == 403
    assert _form(admin, f"/admin/comments/{cid}/hide", {"reason": "spam"}).status_code == 303
    shown = anon.get(f"/api/v1/papers/{P}/comments").json()["data"][0]
    assert (shown["state"], shown["body"], shown["html"]) == ("hidden", "", "")
    assert "[hidden by a moderator]" in anon.get(f"/papers/{P}").text and "Buy now" not in anon.get(f"/papers/{P}").text
    assert "Buy now" in admin.get(f"/papers/{P}").text  # admins still read it, under a banner
    assert spammer.patch(f"/api/v1/comments/{cid}", json={"body": "sneaky"}).status_code == 403
    assert anon.get(f"/api/v1/papers/{P}").json()["num_comments"] == 0
    assert any(e.action == "hide_comment" for e in pb.moderation.log())
    assert _form(admin, f"/admin/comments/{cid}/unhide", {}).status_code == 303
    assert anon.get(f"/api/v1/papers/{P}").json()["num_comments"] == 1

    # A banned account cannot comment (its session ends; the service refuses it too).
    victim = _user(pb, "spam@example.org")
    pb.moderation.ban(_user(pb, ADMIN), victim.id, "spam")
    assert spammer.post(f"/api/v1/papers/{P}/comments", json={"body": "still here?"}).status_code == 401
    from paperboy.service.comments import CommentForbidden

    with pytest.raises(CommentForbidden):
        pb.comments.add(victim, P, "direct call")


def test_collections_private_public_share_feed_and_bibtex(clients):
    ann, bob, anon = clients("ann@example.org"), clients("bob@example.org"), clients()
    r = ann.post("/api/v1/collections", json={"name": "Reading group", "description": "Week 1"})
    assert r.status_code == 201 and r.json()["public"] is False
    cid = r.json()["id"]
    put = ann.put(f"/api/v1/collections/{cid}/papers/{P}", json={"note": "Start here"})
    assert put.status_code == 200 and put.json() == {"collection_id": cid, "paper_id": P, "added": True}
    assert ann.put(f"/api/v1/collections/{cid}/papers/{P2}").json()["added"] is True
    assert ann.post("/api/v1/collections", json={"name": "Reading group"}).status_code == 409  # name taken

    # Private: only the owner sees it; everyone else gets the same 404 as for no collection at all.
    for c in (bob, anon):
        assert c.get(f"/api/v1/collections/{cid}").status_code == 404
        assert c.get(f"/collections/{cid}").status_code == 404
        assert c.get(f"/feeds/collections/{cid}.atom").status_code == 404
    assert bob.put(f"/api/v1/collections/{cid}/papers/{P}").status_code == 404

    # Public: a shareable page, Atom feed and BibTeX for everyone; changes stay the owner's.
    assert ann.patch(f"/api/v1/collections/{cid}", json={"public": True}).json()["public"] is True
    page = anon.get(f"/collections/{cid}")
    assert page.status_code == 200 and "Start here" in page.text and f"/collections/{cid}" in page.text
    data = anon.get(f"/api/v1/collections/{cid}").json()
    assert [e["paper"]["id"] for e in data["data"]] == [P2, P] and data["data"][1]["note"] == "Start here"
    assert bob.put(f"/api/v1/collections/{cid}/papers/{P}").status_code == 403
    feed = feedparser.parse(anon.get(f"/feeds/collections/{cid}.atom").content)
    assert not feed.bozo and len(feed.entries) == 2
    bib = bibtexparser.parse_string(anon.get(f"/collections/{cid}.bib").text)
    assert len(bib.entries) == 2 and len({e.key for e in bib.entries}) == 2

    # Forms: a card's Collect, a note, remove, delete.
    assert (
        _form(ann, "/collections/add", {"collection": str(cid), "paper": "2606.99001", "next": "/"}).status_code == 303
    )
    assert _form(ann, f"/collections/{cid}/note", {"paper": P2, "note": "Then this"}).status_code == 303
    assert _form(ann, f"/collections/{cid}/remove", {"paper": P}).status_code == 303
    assert [e["note"] for e in anon.get(f"/api/v1/collections/{cid}").json()["data"]][-1] == "Then this"
    assert _form(bob, "/collections/add", {"collection": str(cid), "paper": P}).status_code == 403
    assert _form(ann, "/collections/add", {"collection": "0", "paper": P}).status_code == 404
    assert [c["name"] for c in ann.get("/api/v1/collections").json()["data"]] == ["Reading group"]
    assert anon.get("/api/v1/collections").status_code == 401
    assert ann.delete(f"/api/v1/collections/{cid}").status_code == 204
    assert anon.get(f"/collections/{cid}").status_code == 404
    for bad in ("/collections/abc", "/collections/0", "/collections/99999999999.bib", "/api/v1/collections/0"):
        assert anon.get(bad).status_code in (404, 422), bad


def test_has_code_search_filter(clients):
    anon = clients()
    r = anon.get("/api/v1/search", params={"q": "has:code", "limit": 100})
    assert r.status_code == 200
    found = r.json()["data"]
    assert found and P in [p["id"] for p in found]
    assert all(any(link["kind"] == "code" for link in p["links"]) for p in found)
    both = anon.get("/api/v1/search", params={"q": "has:code popular", "limit": 100}).json()["data"]
    assert [p["id"] for p in both][0] == P
    assert anon.get("/search", params={"q": "has:code"}).status_code == 200


def test_comment_emails_are_opt_in_sent_through_the_outbox_and_unsubscribable(web_home):
    """Earlier commenters who opted in get one email per new comment over real SMTP; the link turns them off."""
    from paperboy.email.send import run_digests
    from paperboy.service import Paperboy
    from paperboy.web import create_app
    from tests.email.conftest import SmtpSink

    with SmtpSink() as sink:
        pb = Paperboy(
            web_settings(
                web_home,
                smtp_host="127.0.0.1",
                smtp_port=sink.port,
                smtp_timeout=5.0,
                base_url="http://testserver",
                mail_from="paperboy <digest@paperboy.test>",
            )
        )
        try:
            with (
                TestClient(create_app(pb), base_url="http://testserver") as ann,
                TestClient(create_app(pb), base_url="http://testserver") as bob,
            ):
                for c, email in ((ann, "ann@example.org"), (bob, "bob@example.org")):
                    log_in_fast(pb, c, email)
                    c.headers["X-CSRF-Token"] = csrf_of(c, "/about")
                assert ann.post(f"/api/v1/papers/{P}/comments", json={"body": "First!"}).status_code == 201

                # Off by default; switching on needs a confirmed address (an active digest subscription).
                assert "subscribe to email digests" in ann.get("/discussions").text
                assert _form(ann, "/discussions/emails", {"on": "on"}).status_code == 400
                pb.digests.subscribe("ann@example.org", user_id=_user(pb, "ann@example.org").id, confirmed=True)
                assert "are <strong>off</strong>" in ann.get("/discussions").text
                assert bob.post(f"/api/v1/papers/{P}/comments", json={"body": "Unnoticed"}).status_code == 201
                assert _form(ann, "/discussions/emails", {"on": "on"}).status_code == 303
                assert "are <strong>on</strong>" in ann.get("/discussions").text

                r = bob.post(f"/api/v1/papers/{P}/comments", json={"body": "A *reply* <script>x()</script>"})
                assert r.status_code == 201
                ann.post(f"/api/v1/papers/{P}/comments", json={"body": "My own comment: no email to me"})
                report = run_digests(pb.digests, plan=False, kind="comment")  # the digest itself is not the point
                assert report.sent == 1, report.summary()
                (got,) = sink.to("ann@example.org")
                msg = got.message
                assert msg["Subject"] == "New comment on “Popular Paper From Hugging Face Daily”"
                assert (
                    f"http://testserver/papers/{P}#comment-{r.json()['id']}" in msg.get_body(("plain",)).get_content()
                )
                assert "<script>" not in msg.get_body(("html",)).get_content()
                off = msg["List-Unsubscribe"].strip("<>")
                assert off.startswith("http://testserver/discussions/emails/off/")

                # The link (GET, or the one-click POST) turns them off; a tampered one is a 404.
                assert ann.post(off.removeprefix("http://testserver")).status_code == 200
                assert ann.get(off.removeprefix("http://testserver") + "x").status_code == 404
                bob.post(f"/api/v1/papers/{P}/comments", json={"body": "Another one"})
                assert run_digests(pb.digests, plan=False, kind="comment").sent == 0
                assert len(sink.to("ann@example.org")) == 1
        finally:
            pb.close()


def test_deleted_accounts_leave_placeholders_and_unverified_comments_wait(clients, pb):
    from paperboy.store import community as users

    ann, bob, anon = clients("ann@example.org"), clients("bob@example.org"), clients()
    thread_url = f"/api/v1/papers/{P}/comments"
    top = ann.post(thread_url, json={"body": "Ann asks about the ablation"}).json()
    reply = bob.post(thread_url, json={"body": "Bob answers", "parent_id": top["id"]}).json()
    aside = ann.post(thread_url, json={"body": "Ann's aside nobody answered"}).json()
    with pb.store.writing() as conn:  # what deleting the account does once its password checked out
        gone = users.delete_user(conn, _user(pb, "ann@example.org").id, "ann@example.org")
    assert gone["comments"] == 2
    data = anon.get(thread_url).json()["data"]
    by_id = {c["id"]: c for c in data}
    assert all(c["parent_id"] is None or c["parent_id"] in by_id for c in data)  # no reply points nowhere
    assert by_id[top["id"]]["state"] == "deleted" and by_id[top["id"]]["author"] == "[deleted]"
    assert by_id[top["id"]]["body"] == "" and by_id[reply["id"]]["parent_id"] == top["id"]
    assert aside["id"] not in by_id  # a deleted comment without replies says nothing
    assert "Ann asks" not in anon.get(f"/papers/{P}").text

    # As for votes: an unconfirmed account's comment is kept, seen by its author only, counted once confirmed.
    count = anon.get(f"/api/v1/papers/{P}").json()["num_comments"]
    eve = clients("eve@example.org", verified=False)
    r = eve.post(thread_url, json={"body": "Great paper, see my site"})
    assert r.status_code == 201
    assert r.json()["id"] in [c["id"] for c in eve.get(thread_url).json()["data"]]
    assert r.json()["id"] not in [c["id"] for c in anon.get(thread_url).json()["data"]]
    assert "see my site" not in anon.get(f"/papers/{P}").text + anon.get("/feeds/comments.atom").text
    assert anon.get(f"/api/v1/papers/{P}").json()["num_comments"] == count
    pb.community.mark_verified(_user(pb, "eve@example.org").id)
    assert r.json()["id"] in [c["id"] for c in anon.get(thread_url).json()["data"]]
    assert anon.get(f"/api/v1/papers/{P}").json()["num_comments"] == count + 1
