"""Moderation: the admin role, hidden papers on every surface, bans, the moderation log (real app, both backends)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of, sign_up, web_settings

ADMIN = "admin@example.org"
PW = "correct horse battery"
T = "2606.99002"  # "Popular Paper From Hugging Face Daily": top of trending, alone on 2026-06-28
T_TITLE = "Popular Paper From Hugging Face Daily"


@pytest.fixture
def mod_pb(web_home):
    from paperboy.service import Paperboy

    pb = Paperboy(web_settings(web_home, admin_emails=[ADMIN.upper()]))  # emails compare case-blind
    yield pb
    pb.close()


@pytest.fixture
def mod_app(mod_pb):
    from paperboy.web import create_app

    return create_app(mod_pb)


def _client(app, email: str | None):
    c = TestClient(app, base_url="http://testserver")
    c.__enter__()
    if email:
        sign_up(c, email, PW)
    return c


@pytest.fixture
def clients(mod_app):
    made = []

    def make(email: str | None = None) -> TestClient:
        c = _client(mod_app, email)
        made.append(c)
        return c

    yield make
    for c in made:
        c.__exit__(None, None, None)


def _token(c: TestClient, path: str = "/") -> str:
    return csrf_of(c, path)


def _post(c: TestClient, path: str, data: dict, page: str = "/"):
    return c.post(path, data={**data, "csrf_token": _token(c, page)}, follow_redirects=False)


def _api(c: TestClient, method: str, path: str, json=None):
    return c.request(method, path, json=json, headers={"X-CSRF-Token": _token(c)})


ADMIN_FORMS = [
    ("/admin/papers/hide", {"paper": T, "reason": "spam"}),
    ("/admin/papers/unhide", {"paper": T}),
    ("/admin/users/1/ban", {"reason": "x"}),
    ("/admin/users/1/unban", {}),
]
ADMIN_API = [
    ("GET", "/api/v1/admin/spam"),
    ("GET", "/api/v1/admin/hidden"),
    ("GET", "/api/v1/admin/banned"),
    ("GET", "/api/v1/admin/log"),
    ("POST", f"/api/v1/admin/papers/{T}/hide"),
    ("DELETE", f"/api/v1/admin/papers/{T}/hide"),
    ("POST", "/api/v1/admin/users/1/ban"),
    ("DELETE", "/api/v1/admin/users/1/ban"),
]


def test_only_admins_reach_the_admin_routes(clients, mod_pb):
    anon, reader = clients(), clients("reader@example.org")
    r = anon.get("/admin", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert reader.get("/admin").status_code == 403
    for path, data in ADMIN_FORMS:
        assert _post(anon, path, data).status_code == 403, path
        assert _post(reader, path, data).status_code == 403, path
    for method, path in ADMIN_API:
        assert _api(anon, method, path, {"reason": "x"} if method == "POST" else None).status_code == 401, path
        r = _api(reader, method, path, {"reason": "x"} if method == "POST" else None)
        assert r.status_code == 403 and r.json()["detail"], path
    assert "Admin</a>" not in reader.get("/").text
    assert mod_pb.paper(T) is not None and mod_pb.community.store  # nothing was hidden or banned
    admin = clients(ADMIN)
    assert admin.get("/admin").status_code == 200 and 'href="/admin"' in admin.get("/").text
    for _method, path in ADMIN_API[:4]:
        assert admin.get(path).status_code == 200, path
    # A form without the CSRF token is refused even for an admin.
    r = admin.post("/admin/papers/hide", data={"paper": T, "reason": "x"}, follow_redirects=False)
    assert r.status_code == 403
    assert _api(admin, "GET", "/api/v1/admin/log").json() == []


def _find_similar_pointing_to(pb, target: str) -> str:
    """A companion paper, stored and indexed here, whose similar papers include `target`."""
    from paperboy.models import Paper

    companion = Paper(
        title="Popular Paper From Hugging Face Daily, Revisited",
        abstract="A paper many people upvoted on the Hub, revisited a year later.",
        authors=["Charles Babbage"],
        categories=["cs.CL"],
        arxiv_id="2606.99777",
        source="test",
        source_ref="fixture:companion",
    ).with_defaults()
    pb.store.upsert([(companion, False)])
    pb.update_index(embed=False)
    assert target in [h.paper.id for h in pb.similar("2606.99777", limit=6)]
    return "2606.99777"


def _surfaces(c: TestClient, via: str, cat_page: tuple[int, int]) -> dict[str, bool]:
    """Whether T shows on each public surface (404s count as absent)."""

    def has(r) -> bool:
        assert r.status_code in (200, 404), (r.request.url, r.status_code)
        return r.status_code == 200 and T in r.text  # by id: the companion shares the title's words

    return {
        "search lexical": has(c.get("/search", params={"q": T_TITLE, "mode": "lexical"})),
        "search hybrid": has(c.get("/search", params={"q": T_TITLE})),
        "search dense": has(c.get("/api/v1/search", params={"q": T_TITLE, "mode": "dense"})),
        "search by category": has(c.get("/search", params={"category": "cs.CL", "sort": "upvotes"})),
        "search sorted": has(c.get("/api/v1/search", params={"q": "popular paper", "sort": "upvotes"})),
        "trending page": has(c.get("/", params={"window": "all"})),
        "daily page": has(c.get("/daily", params={"date": "2026-06-28"})),
        "author page": has(c.get("/authors/Ada Lovelace")),
        "category page": has(c.get("/categories/cs.CL", params={"page": cat_page[0]})),
        "archive page": has(c.get("/categories/cs", params={"page": cat_page[1]})),
        "similar": has(c.get(f"/api/v1/papers/{via}/similar", params={"limit": 6})),
        "similar on page": has(c.get(f"/papers/{via}")),
        "feed trending": has(c.get("/feeds/trending.atom", params={"window": "all"})),
        "feed daily": has(c.get("/feeds/daily.rss", params={"date": "2026-06-28"})),
        "feed search": has(c.get("/feeds/search.atom", params={"q": T_TITLE, "sort": "relevance"})),
        "api paper": has(c.get(f"/api/v1/papers/{T}")),
        "api trending": has(c.get("/api/v1/trending", params={"window": "all", "limit": 50})),
        "api daily": has(c.get("/api/v1/daily", params={"date": "2026-06-28"})),
        "hf search": has(c.get("/api/papers/search", params={"q": T_TITLE})),
        "hf paper": has(c.get(f"/api/papers/{T}")),
        "hf daily": has(c.get("/api/daily_papers", params={"date": "2026-06-28"})),
        "paper page": has(c.get(f"/papers/{T}")),
        "bibtex": has(c.get(f"/papers/{T}/bibtex")),
    }


def test_a_hidden_paper_disappears_from_every_public_surface_and_unhide_restores_it(clients, mod_pb):
    via = _find_similar_pointing_to(mod_pb, T)
    anon, reader, admin = clients(), clients("reader@example.org"), clients(ADMIN)
    # T is old among cs.CL papers: find its page (category feeds show page 1 of the same listing).
    from paperboy.web.params import PER_PAGE

    cat_page = tuple(
        [v.paper.id for v in mod_pb.community.in_category(c, 5000).items].index(T) // PER_PAGE + 1
        for c in ("cs.CL", "cs")
    )  # the small and the big-category query
    before = _surfaces(anon, via, cat_page)
    assert all(before.values()), [k for k, v in before.items() if not v]
    first = mod_pb.search(T_TITLE, mode="lexical", limit=6)
    ranked = [h.paper.id for h in first.hits]
    assert T in ranked[:5]
    cat_total = anon.get("/api/v1/search", params={"category": "cs.CL", "limit": 5}).json()["count"]

    r = _post(
        admin, "/admin/papers/hide", {"paper": f"https://arxiv.org/abs/{T}v1", "reason": "Duplicate spam"}, "/admin"
    )
    assert r.status_code == 303 and r.headers["location"] == "/admin"

    for c in (anon, reader):
        after = _surfaces(c, via, cat_page)
        assert not any(after.values()), [k for k, v in after.items() if v]
        assert c.get(f"/papers/{T}").status_code == 404
        assert c.get(f"/api/v1/papers/{T}").status_code == 404
    assert T not in [v.paper.id for v in mod_pb.community.in_category("cs", 5000).items]
    # Counts and pages stay right: the total drops by one and a page stays full.
    assert anon.get("/api/v1/search", params={"category": "cs.CL", "limit": 5}).json()["count"] == cat_total - 1
    page = mod_pb.search(T_TITLE, mode="lexical", limit=5)
    assert [h.paper.id for h in page.hits] == [i for i in ranked if i != T][:5]
    assert page.total == first.total - 1
    # Nobody can vote on or save it.
    assert _api(reader, "POST", f"/api/v1/papers/{T}/vote").status_code == 404
    assert _post(reader, f"/papers/{T}/save", {}).status_code == 404
    # The admin sees the page with a banner and the paper in the list of hidden ones.
    page = admin.get(f"/papers/{T}")
    assert page.status_code == 200 and "hidden-banner" in page.text and "Duplicate spam" in page.text
    assert re.search(
        r'action="/admin/papers/unhide".*?name="csrf_token" value="[^"]+".*?name="paper" value="' + re.escape(T) + '"',
        page.text,
        re.S,
    ), "the banner's Unhide form"
    assert [h["id"] for h in admin.get("/api/v1/admin/hidden").json()] == [T]
    assert T in admin.get("/admin").text
    # Hiding twice changes nothing and logs nothing more.
    assert _api(admin, "POST", f"/api/v1/admin/papers/{T}/hide", {"reason": "again"}).json()["changed"] is False
    # Re-importing the paper (a new version from a source) keeps it hidden.
    p = mod_pb.store.get(T, include_hidden=True)
    p.abstract += " Revised."
    mod_pb.store.upsert([(p, False)])
    assert mod_pb.paper(T) is None and mod_pb.paper(T, include_hidden=True).abstract.endswith("Revised.")

    r = _api(admin, "DELETE", f"/api/v1/admin/papers/{T}/hide")
    assert r.status_code == 200 and r.json()["changed"] is True
    restored = _surfaces(anon, via, cat_page)
    assert all(restored.values()), [k for k, v in restored.items() if not v]
    assert "hidden-banner" not in admin.get(f"/papers/{T}").text

    log = admin.get("/api/v1/admin/log").json()
    assert [(e["action"], e["paper_id"], e["actor_email"]) for e in log] == [
        ("unhide_paper", T, ADMIN),
        ("hide_paper", T, ADMIN),
    ]
    assert log[1]["reason"] == "Duplicate spam"


def test_hiding_needs_a_reason_and_a_real_paper(clients):
    admin = clients(ADMIN)
    r = _api(admin, "POST", f"/api/v1/admin/papers/{T}/hide", {"reason": "  "})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "reason"]  # as documented
    assert _api(admin, "POST", "/api/v1/admin/papers/2401.00001/hide", {"reason": "x"}).status_code == 404
    assert _post(admin, "/admin/papers/hide", {"paper": "2401.00001", "reason": "x"}).status_code == 404
    assert admin.get("/api/v1/admin/log").json() == []


def test_ban_removes_all_votes_ends_sessions_and_blocks_login_vote_and_submit(clients, mod_pb):
    anon, admin = clients(), clients(ADMIN)
    spammer, honest = clients("spammer@example.org"), clients("honest@example.org")
    voted = ["2605.99003", "2606.99001", T]
    start = {p: anon.get(f"/api/v1/papers/{p}").json()["upvotes"] for p in voted}
    for p in voted:
        assert _api(spammer, "POST", f"/api/v1/papers/{p}/vote").json()["voted"] is True
    assert _api(honest, "POST", f"/api/v1/papers/{T}/vote").status_code == 200
    assert anon.get(f"/api/v1/papers/{T}").json()["upvotes"] == start[T] + 2
    trending = anon.get("/api/v1/trending", params={"window": "week", "limit": 50}).json()["data"]
    score_before = next(p["score"] for p in trending if p["id"] == T)

    spam = admin.get("/api/v1/admin/spam").json()
    assert [(v["email"], v["votes"]) for v in spam] == [("spammer@example.org", 3), ("honest@example.org", 1)]
    assert "spammer@example.org" in admin.get("/admin").text
    spammer_id = spam[0]["id"]

    r = _post(admin, f"/admin/users/{spammer_id}/ban", {"reason": "vote ring"}, "/admin")
    assert r.status_code == 303

    # Votes are gone and counts and trending drop at once.
    for p in voted:
        assert anon.get(f"/api/v1/papers/{p}").json()["upvotes"] == start[p] + (1 if p == T else 0)
    trending = anon.get("/api/v1/trending", params={"window": "week", "limit": 50}).json()["data"]
    assert next(p["score"] for p in trending if p["id"] == T) < score_before
    # The open session stopped working: not logged in any more, so no vote, no submission, no library.
    r = spammer.get("/library", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert _api(spammer, "POST", f"/api/v1/papers/{T}/vote").status_code == 401
    r = _post(spammer, "/submit", {"paper": "2607.00001"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    # Logging in again is refused, with the reason, for the right password only.
    token = _token(spammer, "/login")
    r = spammer.post("/login", data={"email": "spammer@example.org", "password": PW, "csrf_token": token})
    assert r.status_code == 401 and "suspended" in r.text
    r = spammer.post(
        "/login", data={"email": "spammer@example.org", "password": "wrong password!", "csrf_token": token}
    )
    assert r.status_code == 401 and "suspended" not in r.text
    # The spam view no longer counts the removed votes; the banned list and the log show the ban.
    assert [v["email"] for v in admin.get("/api/v1/admin/spam").json()] == ["honest@example.org"]
    assert [b["email"] for b in admin.get("/api/v1/admin/banned").json()] == ["spammer@example.org"]
    log = admin.get("/api/v1/admin/log").json()
    assert (log[0]["action"], log[0]["user_email"], log[0]["reason"], log[0]["detail"]) == (
        "ban_user",
        "spammer@example.org",
        "vote ring",
        "removed 3 votes",
    )

    # Unban: logging in works again; the removed votes stay removed.
    r = _api(admin, "DELETE", f"/api/v1/admin/users/{spammer_id}/ban")
    assert r.json()["changed"] is True
    token = _token(spammer, "/login")
    r = spammer.post(
        "/login", data={"email": "spammer@example.org", "password": PW, "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    assert anon.get(f"/api/v1/papers/{T}").json()["upvotes"] == start[T] + 1
    assert [e["action"] for e in admin.get("/api/v1/admin/log").json()][:2] == ["unban_user", "ban_user"]


def test_the_api_ban_reports_removed_votes_and_admins_cannot_be_banned(clients, mod_pb):
    from paperboy.store.community import user_by_email

    admin, spammer = clients(ADMIN), clients("spammer@example.org")
    _api(spammer, "POST", f"/api/v1/papers/{T}/vote")
    bot = admin.get("/api/v1/admin/spam").json()[0]
    r = _api(admin, "POST", f"/api/v1/admin/users/{bot['id']}/ban", {"reason": "bot"})
    assert r.status_code == 200 and r.json()["votes_removed"] == 1
    assert [b["id"] for b in admin.get("/api/v1/admin/banned").json()] == [bot["id"]]
    assert _api(admin, "POST", "/api/v1/admin/users/999999/ban", {"reason": "x"}).status_code == 404
    with mod_pb.store.engine.connect() as conn:
        admin_id = user_by_email(conn, ADMIN).id
    r = _api(admin, "POST", f"/api/v1/admin/users/{admin_id}/ban", {"reason": "x"})
    assert r.status_code == 409 and "Administrators" in r.json()["detail"]
    assert admin.get("/admin").status_code == 200  # still an admin, still logged in
    assert len(admin.get("/api/v1/admin/log").json()) == 1


def test_account_ids_past_the_32_bit_store_range_are_a_4xx(clients, mod_pb):
    """users.id is a 32-bit INTEGER: PostgreSQL refused id 2**31 (which the routes let through) with a 500."""
    from paperboy.service.community import NotFound, _user
    from paperboy.service.moderation import Moderation
    from paperboy.store.community import user_by_email

    admin = clients(ADMIN)
    for uid in (2**31 - 1, 2**31, 2**32, 2**63):
        want = (404, 404) if uid < 2**31 else (422, 400)  # (API, form)
        assert _api(admin, "POST", f"/api/v1/admin/users/{uid}/ban", {"reason": "x"}).status_code == want[0], uid
        assert _api(admin, "DELETE", f"/api/v1/admin/users/{uid}/ban").status_code == want[0], uid
        assert _post(admin, f"/admin/users/{uid}/ban", {"reason": "x"}).status_code == want[1], uid
        assert _post(admin, f"/admin/users/{uid}/unban", {}).status_code == want[1], uid
    # Below the web layer too: such an id is no account, not a database error.
    with mod_pb.store.engine.connect() as conn:
        me = _user(user_by_email(conn, ADMIN))
    for uid in (0, -1, 2**31, 2**63):
        with pytest.raises(NotFound):
            Moderation(mod_pb.community).ban(me, uid, "x")
    assert admin.get("/api/v1/admin/log").json() == []


def test_banning_a_banned_account_again_changes_and_logs_nothing(clients):
    admin, spammer = clients(ADMIN), clients("spammer@example.org")
    assert _api(spammer, "POST", f"/api/v1/papers/{T}/vote").status_code == 200
    sid = admin.get("/api/v1/admin/spam").json()[0]["id"]
    first = _api(admin, "POST", f"/api/v1/admin/users/{sid}/ban", {"reason": "bot"}).json()
    again = _api(admin, "POST", f"/api/v1/admin/users/{sid}/ban", {"reason": "bot, again"}).json()
    assert (first["changed"], first["votes_removed"]) == (True, 1)
    assert (again["changed"], again["votes_removed"]) == (False, 0)
    assert _post(admin, f"/admin/users/{sid}/ban", {"reason": "double click"}).status_code == 303
    log = admin.get("/api/v1/admin/log").json()
    assert [(e["action"], e["reason"]) for e in log] == [("ban_user", "bot")]
