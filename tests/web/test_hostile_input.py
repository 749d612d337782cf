"""Every route, fed malformed, oversized and hostile input, answers 2xx-4xx with a message: never a 5xx."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute

from tests.web.conftest import XSS, csrf_of, sign_up

HOSTILE = [
    XSS,
    "\"><svg onload=alert(1)>",
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


def _requests(route: APIRoute):
    """(method, url, query params, form data) combinations for one route."""
    path_names = [p.alias for p in route.dependant.path_params]
    query_names = [p.alias for p in route.dependant.query_params]
    form_names = [p.alias for p in route.dependant.body_params]
    for method in route.methods:
        for value in HOSTILE:
            paths = {_fill(route.path_format, path_names, value)}
            if path_names and "\x00" not in value and "%" not in value:
                paths.add(_fill(route.path_format, path_names, value, raw=True))
            for path in paths:
                yield method, path, {n: value for n in query_names}, {n: value for n in form_names}
            base = _fill(route.path_format, path_names, "2606.30647" if path_names else "")
            for n in query_names:  # one hostile parameter at a time, the others left out
                yield method, base, {n: value}, {}


def _check(client, method, url, params, data):
    try:
        r = client.request(method, url, params=params or None, data=data or None, follow_redirects=False)
    except Exception as exc:  # the client itself refuses some URLs (too long, unencodable): nothing was sent
        if type(exc).__name__ in ("InvalidURL", "UnicodeEncodeError"):
            return None
        raise
    assert r.status_code < 500, (method, url[:200], {k: v[:80] for k, v in params.items()}, r.text[:500])
    if "html" in r.headers.get("content-type", ""):  # JSON may quote input verbatim; HTML must escape it
        assert "<script>alert" not in r.text, (method, url[:200])
        assert "<svg onload" not in r.text, (method, url[:200])
    if r.status_code >= 400:
        assert r.text.strip(), "a 4xx without a message"
    return r


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "logged-in"])
def test_no_route_answers_5xx_to_hostile_input(client, app, logged_in):
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
            path = path.replace("{" + name + "}", {"fmt": "atom", "search_id": "1", "cat": "cs.CL"}.get(name, "2606.30647"))
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
    r = client.post("/login", content=b"a=" + b"x" * 200_000, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    r = client.post("/login", content=b"\xff\xfe\x00garbage", headers={"Content-Type": "multipart/form-data; boundary=zz"})
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
    for path in ("/nope", "/static/../../etc/passwd", "/static/%2e%2e/app.py", "/api/v1/nope", "/feeds/x.atom",
                 "/papers/", "/authors/"):
        r = client.get(path)
        assert r.status_code in (400, 404), path
        assert "root:" not in r.text
