"""Upvotes (one per user per paper, by the database), un-votes, the JSON vote API, library, trending."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from paperboy.store.schema import votes
from tests.web.conftest import csrf_of, sign_up, verified_user

PAPER = "2606.30647"  # a real paper of the 2026-07 shard


def _count(html: str, paper_id: str) -> int:
    m = re.search(r'data-paper="' + re.escape(paper_id) + r'">.*?<span class="count">(\d+)</span>', html, re.S)
    assert m, "no vote form for " + paper_id
    return int(m.group(1))


def _vote(client, paper_id: str, action: str = "up"):
    token = csrf_of(client, f"/papers/{paper_id}")
    return client.post(f"/papers/{paper_id}/vote", data={"csrf_token": token, "action": action}, follow_redirects=False)


def test_upvote_once_then_unvote_with_forms(client):
    sign_up(client)
    assert _count(client.get(f"/papers/{PAPER}").text, PAPER) == 0
    r = _vote(client, PAPER)
    assert r.status_code == 303 and r.headers["location"] == f"/papers/{PAPER}"
    html = client.get(f"/papers/{PAPER}").text
    assert _count(html, PAPER) == 1 and 'class="vote voted"' in html
    assert _vote(client, PAPER).status_code == 303  # a second upvote is accepted but changes nothing
    assert _count(client.get(f"/papers/{PAPER}").text, PAPER) == 1
    _vote(client, PAPER, "down")
    assert _count(client.get(f"/papers/{PAPER}").text, PAPER) == 0


def test_votes_add_to_imported_upvotes(client):
    sign_up(client)
    assert _count(client.get("/papers/2606.99002").text, "2606.99002") == 42
    _vote(client, "2606.99002")
    assert _count(client.get("/papers/2606.99002").text, "2606.99002") == 43


def test_the_database_refuses_a_second_vote(web_pb, app):
    user = app.state.community.sign_up("db@example.org", "password123")
    now = datetime.now(timezone.utc)
    with web_pb.store.engine.begin() as conn:
        conn.execute(votes.insert().values(user_id=user.id, paper_id=PAPER, created_at=now))
    with pytest.raises(sa.exc.IntegrityError):
        with web_pb.store.engine.begin() as conn:
            conn.execute(votes.insert().values(user_id=user.id, paper_id=PAPER, created_at=now))


def test_anonymous_vote_goes_to_log_in(client):
    r = _vote(client, PAPER)
    assert r.status_code == 303 and r.headers["location"] == f"/login?next=%2Fpapers%2F{PAPER}"


def test_vote_api_needs_session_and_csrf_header(client):
    assert client.post(f"/api/v1/papers/{PAPER}/vote").status_code == 401
    sign_up(client)
    r = client.post(f"/api/v1/papers/{PAPER}/vote")
    assert r.status_code == 403 and "reload the page" in r.json()["detail"]
    token = csrf_of(client, "/")
    r = client.post(f"/api/v1/papers/{PAPER}/vote", headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and r.json() == {"paper_id": PAPER, "upvotes": 1, "voted": True, "counted": True}
    r = client.post(f"/api/v1/papers/{PAPER}v2/vote", headers={"X-CSRF-Token": token})
    assert r.json()["upvotes"] == 1  # any version of the id is the same paper
    r = client.delete(f"/api/v1/papers/{PAPER}/vote", headers={"X-CSRF-Token": token})
    assert r.json() == {"paper_id": PAPER, "upvotes": 0, "voted": False, "counted": True}
    assert client.post("/api/v1/papers/2401.00009/vote", headers={"X-CSRF-Token": token}).status_code == 404
    assert client.get(f"/api/v1/papers/{PAPER}").json()["voted"] is False


def test_library_lists_upvoted_and_saved_papers(client):
    sign_up(client)
    _vote(client, PAPER)
    token = csrf_of(client, "/papers/2606.99002")
    r = client.post("/papers/2606.99002/save", data={"csrf_token": token, "action": "save"}, follow_redirects=False)
    assert r.status_code == 303
    assert "★ Saved" in client.get("/papers/2606.99002").text
    upvoted = client.get("/library").text
    assert f'data-paper="{PAPER}"' in upvoted and 'data-paper="2606.99002"' not in upvoted
    saved = client.get("/library?tab=saved").text
    assert 'data-paper="2606.99002"' in saved and f'data-paper="{PAPER}"' not in saved
    client.post("/papers/2606.99002/save", data={"csrf_token": token, "action": "unsave"})
    assert "Papers you save appear here." in client.get("/library?tab=saved").text


def test_local_votes_move_trending(client, app):
    com = app.state.community
    before = [v.paper.id for v in com.trending("today", 400).items]
    target = before[-1]
    for i in range(3):
        u = verified_user(com, f"voter{i}@example.org")
        com.upvote(u, target)
    after = com.trending("today", 5)
    assert after.items[0].paper.id == target and after.items[0].upvotes == 3
    assert after.items[0].score == pytest.approx(3 / 2**1.8)


def test_saved_searches_round_trip(client):
    sign_up(client)
    token = csrf_of(client, "/searches")
    data = {
        "csrf_token": token,
        "q": "diffusion",
        "category": "cs.CV",
        "since": "2026-01-01",
        "until": "",
        "sort": "date",
    }
    r = client.post("/searches", data=data, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/searches"
    client.post("/searches", data=data)  # the same search twice is kept once
    page = client.get("/searches").text
    assert page.count('class="saved-search"') == 1
    assert 'href="/search?q=diffusion&amp;category=cs.CV&amp;since=2026-01-01&amp;sort=date"' in page
    assert 'href="/feeds/search.atom?q=diffusion&amp;category=cs.CV&amp;since=2026-01-01&amp;sort=date"' in page
    sid = re.search(r'action="/searches/(\d+)/delete"', page).group(1)
    r = client.post(f"/searches/{sid}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and "No saved searches yet" in client.get("/searches").text
    assert client.post(f"/searches/{sid}/delete", data={"csrf_token": token}).status_code == 404
    r = client.post("/searches", data={"csrf_token": token, "q": ""})
    assert r.status_code == 400 and "Nothing to save" in r.text


def test_library_totals_and_pages_leave_out_papers_a_moderator_hid(client, app, web_pb):
    from paperboy.store.moderation import set_hidden

    sign_up(client)
    com = app.state.community
    user = com.log_in("reader@example.org", "correct horse battery", "test")
    ids = [p.id for _seq, p in itertools.islice(web_pb.store.iter_papers(0), 21)]
    for pid in ids:  # 21 saved: two pages of 20, until one is hidden
        com.save_paper(user, pid)
    com.upvote(user, ids[0])
    with web_pb.store.engine.begin() as conn:
        for pid in (ids[0], ids[-1]):  # ids[-1] is the newest save: it would leave page 1 short
            set_hidden(conn, pid, datetime.now(timezone.utc), "spam")

    saved = com.library(user, "saved", 20)
    assert saved.total == 19 and len(saved.items) == 19 and ids[-1] not in {v.paper.id for v in saved.items}
    assert com.library(user, "upvoted").total == 0
    com.save_paper(user, "2606.99002")
    page = client.get("/library?tab=saved").text
    assert page.count("<article") == 20 and 'rel="next"' not in page and f'data-paper="{ids[-1]}"' not in page
    assert "Papers you upvote appear here." in client.get("/library").text
