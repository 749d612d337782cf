"""Session cookies, CSRF tokens, the current user, and safe redirects.

CSRF: every browser gets a random `pb_csrf` cookie (HttpOnly, SameSite=Lax). A form's token is
HMAC(secret, csrf cookie | session token), so it is bound to the browser *and* to the login: a
token from before logging in stops working after it, and nobody without the secret key can mint
one for a cookie they cannot read. Forms send it as `csrf_token`, scripts as `X-CSRF-Token`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

from fastapi import HTTPException, Request, Response
from fastapi.responses import RedirectResponse

from paperboy.service.community import User

SESSION_COOKIE = "pb_session"
CSRF_COOKIE = "pb_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
CSRF_FAILED = "The form expired or came from another site; reload the page and try again."


def _cookie_value(request: Request, name: str) -> str | None:
    value = request.cookies.get(name)
    return value if value and len(value) <= 200 else None


def csrf_seed(request: Request) -> str:
    """This browser's CSRF cookie value, creating one (set on the response by `set_csrf_cookie`)."""
    seed = getattr(request.state, "csrf_seed", None)
    if seed is None:
        seed = _cookie_value(request, CSRF_COOKIE)
        if seed is None:
            seed = secrets.token_urlsafe(24)
            request.state.new_csrf_seed = True
        request.state.csrf_seed = seed
    return seed


def csrf_token(request: Request) -> str:
    """The token forms on this page must send back."""
    secret: bytes = request.app.state.secret_key
    session = getattr(request.state, "session_token", None) or _cookie_value(request, SESSION_COOKIE) or ""
    mac = hmac.new(secret, f"csrf|{csrf_seed(request)}|{session}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def check_csrf(request: Request, submitted: str | None) -> None:
    """403 unless `submitted` is this browser's current token."""
    if not _cookie_value(request, CSRF_COOKIE) or not submitted or len(submitted) > 200:
        raise HTTPException(403, CSRF_FAILED)
    if not hmac.compare_digest(submitted.encode(), csrf_token(request).encode()):
        raise HTTPException(403, CSRF_FAILED)


def cookie_secure(request: Request) -> bool:
    mode = request.app.state.settings.cookie_secure
    return mode == "always" or (mode == "auto" and request.url.scheme == "https")


def set_csrf_cookie(request: Request, response: Response) -> None:
    """Send the CSRF cookie if this request had to create one."""
    if getattr(request.state, "new_csrf_seed", False):
        response.set_cookie(
            CSRF_COOKIE,
            request.state.csrf_seed,
            max_age=365 * 86400,
            httponly=True,
            samesite="lax",
            secure=cookie_secure(request),
            path="/",
        )


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    days = request.app.state.settings.session_days
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=days * 86400,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
        path="/",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=cookie_secure(request))


def current_user(request: Request) -> User | None:
    """The logged-in user of this request (looked up once per request), or None."""
    if not hasattr(request.state, "user"):
        token = _cookie_value(request, SESSION_COOKIE)
        request.state.user = request.app.state.community.session_user(token) if token else None
    return request.state.user


class _Styles(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: set[str] = set()
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self._in_style = tag == "style"
        self.found.update(v for k, v in attrs if k == "style" and v)

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.found.add(data)


def styled_document_csp(html: str) -> str:
    """A CSP for one server-made HTML document (the digest preview): its own inline styles, by hash, and
    nothing else; no scripts at all. Style attributes need 'unsafe-hashes' (CSP 3); the hashes pin them
    to exactly these declarations, so injected markup gets no styles it did not already have."""
    parser = _Styles()
    parser.feed(html)
    hashes = " ".join(
        sorted("'sha256-" + base64.b64encode(hashlib.sha256(v.encode()).digest()).decode() + "'" for v in parser.found)
    )
    return (
        "default-src 'none'; img-src 'self' data:; style-src 'unsafe-hashes' "
        + hashes
        + "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def client_address(request: Request) -> str:
    return (request.client.host if request.client else "") or "unknown"


def safe_next(target: str | None, default: str = "/") -> str:
    """`target` if it is a path on this site (no scheme, host or protocol-relative //), else `default`."""
    if not target or len(target) > 2000 or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 32 for c in target):
        return default
    parts = urlsplit(target)
    return default if parts.scheme or parts.netloc else target


class LoginRequired(Exception):
    """A page or form needs a signed-in reader; the app answers with `login_redirect(back)`."""

    def __init__(self, back: str) -> None:
        super().__init__(back)
        self.back = back


def login_redirect(back: str | None) -> RedirectResponse:
    """303 to the login page, which comes back to `back` (a path on this site; else the home page)."""
    return RedirectResponse("/login?" + urlencode({"next": safe_next(back)}), status_code=303)


def page_user(request: Request, back: str | None = None) -> User:
    """The signed-in reader of a page; LoginRequired (back to `back`, default this very page) otherwise."""
    user = current_user(request)
    if user is None:
        raise LoginRequired(back or request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return user


def form_user(request: Request, csrf_token: str | None, back: str) -> User:
    """The signed-in reader who posted a page's form: the CSRF token first (403), then LoginRequired."""
    check_csrf(request, csrf_token)
    return page_user(request, back)
