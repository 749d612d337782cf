"""Every route, fed malformed, oversized and hostile input, answers 2xx-4xx with a message: never a 5xx."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute

from tests.web.conftest import ADMIN, XSS, csrf_of, sign_up

HOSTILE = [
    XSS,
    '"><svg onload=alert(1)>',
    "../../../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "x" * 10_000,
    "-1",
    "0",
    "99999999999999999999999999",
    "1e308",
    "' OR 1=1 --",
    "{{7*7}}",
    "",
    "   ",
    "\u202eevil\u0000nul",
    "2401.01234v99999999999999999999",
    "hep-th/9901001",
    "😀" * 100,
    "%",
    "cs.CL",
    "2026-02-30",
    "2026-W53",
]
EXTRA_METHODS = ["PUT", "PATCH", "DELETE", "POST", "GET"]


def _routes(app) -> list[APIRoute]:
    """Every API route of the app, including those of included routers (whatever FastAPI wraps them in)."""
    out: list[APIRoute] = []

    def walk(routes):
        for r in routes:
            if isinstance(r, APIRoute):
                out.append(r)
            elif hasattr(r, "original_router"):  # FastAPI >= 0.16x keeps included routers wrapped
                walk(r.original_router.routes)
            elif hasattr(r, "routes") and not hasattr(r, "app"):
                walk(r.routes)

    walk(app.routes)
    assert len(out) > 30, "route discovery found too few routes"
    return out


def _fill(path_format: str, names: list[str], value: str, raw: bool = False) -> str:
    out = path_format
    for n in names:
        out = out.replace("{" + n + "}", value if raw else quote(value, safe=""))
    return out


def _requests(route: APIRoute, values: list[str] = HOSTILE):
    """(method, url, query params, form data) combinations for one route."""
    path_names = [p.alias for p in route.dependant.path_params]
    query_names = [p.alias for p in route.dependant.query_params]
    form_names = [p.alias for p in route.dependant.body_params]
    for method in route.methods:
        for value in values:
            paths = {_fill(route.path_format, path_names, value)}
            if path_names and "\x00" not in value and "%" not in value:
                paths.add(_fill(route.path_format, path_names, value, raw=True))
            for path in paths:
                yield method, path, {n: value for n in query_names}, {n: value for n in form_names}
            base = _fill(route.path_format, path_names, "2606.30647" if path_names else "")
            for n in query_names:  # one hostile parameter at a time, the others left out
                yield method, base, {n: value}, {}


def _check(client, method, url, params, data, **kw):
    try:
        r = client.request(method, url, params=params or None, data=data or None, follow_redirects=False, **kw)
    except Exception as exc:  # the client itself refuses some URLs (too long, unencodable): nothing was sent
        if type(exc).__name__ in ("InvalidURL", "UnicodeEncodeError"):
            return None
        raise
    assert r.status_code < 500, (method, url[:200], {k: v[:80] for k, v in (params or {}).items()}, r.text[:500])
    if "html" in r.headers.get("content-type", ""):  # JSON may quote input verbatim; HTML must escape it
        assert "<script>alert" not in r.text, (method, url[:200])
        assert "<svg onload" not in r.text, (method, url[:200])
    if r.status_code >= 400:
        assert r.text.strip(), "a 4xx without a message"
    return r


@pytest.fixture
def strict_client(app):
    """A client to which server errors come back as 500s rather than raising, so none passes for the
    client refusing a URL (see _check)."""
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "logged-in"])
def test_no_route_answers_5xx_to_hostile_input(strict_client, app, logged_in):
    client = strict_client
    if logged_in:
        sign_up(client)
        token = csrf_of(client, "/")
    n = 0
    for route in _routes(app):
        for method, url, params, data in _requests(route):
            if logged_in and method in ("POST", "DELETE"):
                if "csrf_token" in data:
                    data = {**data, "csrf_token": token}
                client.headers["X-CSRF-Token"] = token
            _check(client, method, url, params, data)
            n += 1
    assert n > 500


def test_wrong_methods_are_405_with_a_message(client, app):
    allowed: dict[str, set[str]] = {}
    for route in _routes(app):
        path = route.path_format
        for name in [p.alias for p in route.dependant.path_params]:
            path = path.replace(
                "{" + name + "}", {"fmt": "atom", "search_id": "1", "cat": "cs.CL"}.get(name, "2606.30647")
            )
        allowed.setdefault(path, set()).update(route.methods)
    for path, methods in allowed.items():
        for method in EXTRA_METHODS:
            if method in methods:
                continue
            r = client.request(method, path, follow_redirects=False)
            assert r.status_code in (404, 405), (method, path, r.status_code)
            if r.status_code == 405:
                assert "not allowed here" in r.text or "only takes POST" in r.text


def test_oversized_and_malformed_bodies(client):
    token = csrf_of(client, "/login")
    r = client.post(
        "/login", content=b"a=" + b"x" * 200_000, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 413
    r = client.post(
        "/login", content=b"\xff\xfe\x00garbage", headers={"Content-Type": "multipart/form-data; boundary=zz"}
    )
    assert 400 <= r.status_code < 500
    r = client.post("/login", content=b"{not json", headers={"Content-Type": "application/json"})
    assert 400 <= r.status_code < 500
    r = client.post("/login", data={"email": "a@b.co", "password": "x" * 5000, "csrf_token": token})
    assert 400 <= r.status_code < 500
    r = client.post("/login", headers={"Content-Length": "not-a-number"}, content=b"")
    assert 400 <= r.status_code < 500

    def chunks():  # no Content-Length: the size is only known while reading
        for _ in range(100):
            yield b"x" * 4096

    r = client.post("/login", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code in (400, 413)


def test_unknown_paths_and_traversal_are_404(client):
    for path in (
        "/nope",
        "/static/../../etc/passwd",
        "/static/%2e%2e/app.py",
        "/api/v1/nope",
        "/feeds/x.atom",
        "/papers/",
        "/authors/",
    ):
        r = client.get(path)
        assert r.status_code in (400, 404), path
        assert "root:" not in r.text


# -- the admin routes, as an administrator ---------------------------------------------------------

VICTIM = "victim@example.org"
TARGET = "2606.99002"  # a fixture paper the sweep hides and shows again
OTHER = "2606.99001"  # the one a form that repeats its `paper` field names last
# users.id is a 32-bit INTEGER: the last id there can be, the first past it, and far past it.
ID_EDGES = ["2147483647", "2147483648", "4294967296", "9223372036854775808"]
ADMIN_ROUTES = {
    ("GET", "/admin"),
    ("POST", "/admin/papers/hide"),
    ("POST", "/admin/papers/unhide"),
    ("POST", "/admin/users/{user_id}/ban"),
    ("POST", "/admin/users/{user_id}/unban"),
    ("GET", "/api/v1/admin/spam"),
    ("GET", "/api/v1/admin/hidden"),
    ("GET", "/api/v1/admin/banned"),
    ("GET", "/api/v1/admin/log"),
    ("POST", "/api/v1/admin/papers/{paper_id}/hide"),
    ("DELETE", "/api/v1/admin/papers/{paper_id}/hide"),
    ("POST", "/api/v1/admin/users/{user_id}/ban"),
    ("DELETE", "/api/v1/admin/users/{user_id}/ban"),
}
# Bodies for the JSON API: wrong types and shapes, duplicate keys, broken JSON, lone surrogates, NULs.
JSON_BODIES = [
    b'{"reason": 5}',
    b'{"reason": null}',
    b'{"reason": ["a"]}',
    b'{"reason": {"a": 1}}',
    b'{"reason": true}',
    b'{"reason": 1e999}',
    b"[1]",
    b'"reason"',
    b"null",
    b"NaN",
    b"{}",
    b'{"reason": "a", "reason": "b"}',
    b'{"reason": "x", "admin": true}',
    b"{bad",
    b"",
    b"\xff\xfe{",
    b'{"reason": "\\ud800"}',
    b'{"reason": "\\u0000\\u0000"}',
    b'{"reason": "a\\u0001\\u001f\\u202eb"}',
    b"[" * 5000 + b"]" * 5000,
    b'{"reason": "' + b"x" * 501 + b'"}',
    b'{"reason": "' + b" " * 400 + b"x" * 100 + b'"}',
]


@pytest.fixture
def admin_clients(admin_pb):
    """A signed-up client per email on one app; server errors come back as 500s rather than raising,
    so that none passes for the client refusing a URL."""
    from fastapi.testclient import TestClient

    from paperboy.web import create_app

    app, made = create_app(admin_pb), []

    def make(email: str) -> TestClient:
        c = TestClient(app, base_url="http://testserver", raise_server_exceptions=False)
        c.__enter__()
        made.append(c)
        sign_up(c, email)
        c.headers["X-CSRF-Token"] = csrf_of(c, "/")
        return c

    yield app, make
    for c in made:
        c.__exit__(None, None, None)


def _census(pb) -> dict:
    """Row counts and the invariants of the moderation columns, straight from the store."""
    import sqlalchemy as sa

    from paperboy.store.schema import moderation_log, papers, users

    with pb.store.engine.connect() as conn:

        def count(table, *where):
            return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()

        log = conn.execute(sa.select(moderation_log)).all()
        return {
            "papers": count(papers),
            "users": count(users),
            "hidden": count(papers, papers.c.hidden_at.is_not(None)),
            "hidden without a reason": count(
                papers, papers.c.hidden_at.is_not(None), sa.func.coalesce(papers.c.hidden_reason, "") == ""
            ),
            "reason without hiding": count(papers, papers.c.hidden_at.is_(None), papers.c.hidden_reason.is_not(None)),
            "log": log,
            "user ids": dict(conn.execute(sa.select(users.c.email, users.c.id)).all()),
            "banned": {e for (e,) in conn.execute(sa.select(users.c.email).where(users.c.banned_at.is_not(None)))},
        }


def _admin_requests(route: APIRoute, ids: dict[str, int]):
    """(method, url, request keywords) for one admin route: the generic sweep, then hostile payloads aimed
    at real targets (a stored paper, a real account, the admin's own account, ids at the 32-bit edge).

    The caller adds the CSRF token: the API reads it from the client's header, forms from `data`.
    """
    for method, url, params, data in _requests(route, HOSTILE + ID_EDGES):
        yield method, url, {"params": params, "data": data}
    path, names = route.path_format, [p.alias for p in route.dependant.path_params]
    forms = [p.alias for p in route.dependant.body_params]
    for method in route.methods:
        if "paper" in forms:
            for v in HOSTILE:
                yield method, path, {"data": {"paper": TARGET, "reason": v, "next": v}}
                yield method, path, {"data": {"paper": v, "reason": "spam", "next": "/admin"}}
        targets = [str(ids[VICTIM]), str(ids[ADMIN]), *ID_EDGES] if "user_id" in names else [TARGET]
        for target in targets if names else []:
            url = _fill(path, names, target)
            if forms == ["body"]:  # the JSON API
                for v in HOSTILE:
                    yield method, url, {"json": {"reason": v}}
                for raw in JSON_BODIES:
                    yield method, url, {"content": raw, "headers": {"Content-Type": "application/json"}}
                yield method, url, {"data": {"reason": "form, not JSON"}}
            else:
                for v in HOSTILE:
                    yield method, url, {"data": {"reason": v}}


def test_admin_routes_answer_hostile_input_with_4xx_and_leave_the_store_sane(admin_pb, admin_clients):
    app, make = admin_clients
    admin, victim = make(ADMIN), make(VICTIM)
    assert victim.post(f"/api/v1/papers/{TARGET}/vote").status_code == 200
    before = _census(admin_pb)
    ids = before["user ids"]
    token = admin.headers["X-CSRF-Token"]
    routes = [r for r in _routes(app) if r.path_format.startswith(("/admin", "/api/v1/admin"))]
    assert ADMIN_ROUTES <= {(m, r.path_format) for r in routes for m in r.methods}, "admin route discovery"

    n = 0
    for route in routes:
        for method, url, kw in _admin_requests(route, ids):
            data = kw.get("data")
            if data is not None and method != "GET":
                kw["data"] = {**data, "csrf_token": token}
            _check(admin, method, url, kw.pop("params", None), kw.pop("data", None), **kw)
            n += 1
    # Forms with fields missing, repeated, or sent in another encoding.
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for path, body in [
        ("/admin/papers/hide", f"csrf_token={token}"),
        ("/admin/papers/hide", f"paper={TARGET}&csrf_token={token}"),
        ("/admin/papers/hide", f"paper=&reason=&csrf_token={token}"),
        ("/admin/papers/hide", f"paper={TARGET}&paper={OTHER}&reason=a&reason=b&csrf_token={token}"),
        ("/admin/papers/unhide", f"paper={TARGET}&next=//evil.example&next=/x&csrf_token={token}"),
        ("/admin/papers/hide", f"paper=%ff%fe&reason=%ed%a0%80&csrf_token={token}"),
        ("/admin/papers/hide", f"paper={TARGET}&reason=%00%00&csrf_token={token}"),
        ("/admin/papers/hide", f"csrf_token={token}&csrf_token=forged&paper={TARGET}&reason=x"),
        (f"/admin/users/{ids[VICTIM]}/ban", f"reason=%ed%a0%80&reason=x&csrf_token={token}"),
        (f"/admin/users/{ids[VICTIM]}/unban", f"csrf_token={token}&junk=" + "x" * 3000),
    ]:
        _check(admin, "POST", path, None, None, content=body.encode(), headers=form)
    _check(admin, "POST", "/admin/papers/hide", None, None, json={"paper": TARGET, "reason": "x", "csrf_token": token})
    _check(
        admin,
        "POST",
        "/admin/papers/hide",
        None,
        None,
        files={"paper": ("p.txt", TARGET.encode()), "reason": (None, "x"), "csrf_token": (None, token)},
    )
    n += 12
    assert n > 1000

    # Nothing was created, lost or half-written: same papers and accounts, the admin untouched,
    # hidden papers with their reasons, and a log of only well-formed entries on real targets.
    after = _census(admin_pb)
    assert (after["papers"], after["users"], after["user ids"]) == (before["papers"], before["users"], ids)
    assert after["hidden without a reason"] == after["reason without hiding"] == 0
    assert ADMIN not in after["banned"]
    from paperboy.service.moderation import ACTIONS, MAX_REASON

    for e in after["log"]:
        assert e.action in ACTIONS and e.actor_email == ADMIN, e
        assert "\x00" not in e.reason and len(e.reason) <= MAX_REASON, e
        assert e.paper_id in (None, TARGET, OTHER) and e.user_id in (None, ids[VICTIM]), e
        assert (e.paper_id is None) == (e.action.endswith("_user")), e
    assert any(e.action == "hide_paper" for e in after["log"])  # the sweep did reach the handlers
    page = _check(admin, "GET", "/admin", None, None)
    assert page.status_code == 200
    assert _check(admin, "GET", "/api/v1/admin/log", {"limit": "1000"}, None).status_code == 200

    # And ordinary moderation still works on the swept store.
    for h in admin.get("/api/v1/admin/hidden").json():
        assert admin.delete(f"/api/v1/admin/papers/{h['id']}/hide").json()["changed"] is True
    assert admin.get(f"/api/v1/papers/{TARGET}").status_code == 200
    admin.delete(f"/api/v1/admin/users/{ids[VICTIM]}/ban")
    assert admin.get("/api/v1/admin/banned").json() == []
    r = admin.post(
        "/admin/papers/hide",
        data={"paper": TARGET, "reason": "after the sweep", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert victim.get(f"/api/v1/papers/{TARGET}").status_code == 404
    latest = admin.get("/api/v1/admin/log", params={"limit": 1}).json()[0]
    assert (latest["action"], latest["paper_id"], latest["reason"]) == ("hide_paper", TARGET, "after the sweep")
    assert admin.delete(f"/api/v1/admin/papers/{TARGET}/hide").json()["changed"] is True
    assert victim.get(f"/api/v1/papers/{TARGET}").status_code == 200
    assert _census(admin_pb)["hidden"] == before["hidden"]
