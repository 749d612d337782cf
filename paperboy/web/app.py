"""`create_app(paperboy)`: the FastAPI application serving pages, JSON APIs and feeds."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from urllib.parse import unquote

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from paperboy.web import contract, errors, services
from paperboy.web.docs import add_docs
from paperboy.web.render import make_templates, render
from paperboy.web.security import LoginRequired, login_redirect

log = logging.getLogger("paperboy.web")
STATIC = Path(__file__).parent / "static"
MAX_BODY_BYTES = 64 * 1024  # forms here are tiny; anything bigger is a mistake or an attack
MAX_QUERY_BYTES = 16 * 1024  # as uvicorn's own request-head limit; real ones are far below (q: 500 chars)
MAX_FORM_FIELDS = 200  # the biggest form has 7 fields; parsing thousands of tiny ones costs CPU
# Routes that take a file (a .bib to import or rank, a list to rank): the file's limit plus form overhead.
MAX_UPLOAD_BODY_BYTES = 5 * 1024 * 1024 + 64 * 1024
UPLOAD_PATHS = re.compile(r"^/(rank|api/v1/rank|profiles/[0-9]+/import)$")

# Pages get a strict policy: only our own CSS/JS, no framing. /docs sends its own (paperboy.web.docs).
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


class _Guard:
    """ASGI middleware: refuse oversized bodies and query strings early; add security headers to every response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if len(scope.get("query_string") or b"") > MAX_QUERY_BYTES:
            resp = JSONResponse(
                {"detail": f"Query string too long (limit {MAX_QUERY_BYTES // 1024} KB)."}, status_code=414
            )
            return await resp(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        limit = MAX_UPLOAD_BODY_BYTES if UPLOAD_PATHS.match(scope.get("path") or "") else MAX_BODY_BYTES
        length = headers.get(b"content-length")
        if length is not None and not length.isdigit():
            return await JSONResponse({"detail": "Invalid Content-Length header."}, status_code=400)(
                scope, receive, send
            )
        if length is not None and int(length) > limit:
            resp = JSONResponse({"detail": f"Request body too large (limit {limit // 1024} KB)."}, status_code=413)
            return await resp(scope, receive, send)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:  # chunked bodies without Content-Length
                    raise _TooLarge()
            return message

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                ]
                if not any(k.lower() == b"content-security-policy" for k, _v in headers):
                    extra.append((b"content-security-policy", PAGE_CSP.encode()))
                message["headers"] = headers + extra
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except _TooLarge as exc:
            resp = JSONResponse({"detail": exc.detail}, status_code=413)
            await resp(scope, receive, send)


class _TooLarge(HTTPException):
    # An HTTPException, because FastAPI turns any other error raised while it reads a body into
    # "400 There was an error parsing the body"; this one it re-raises, and the handler answers 413.
    def __init__(self) -> None:
        super().__init__(413, f"Request body too large (limit {MAX_BODY_BYTES // 1024} KB).")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/feeds/", "/map/")) or request.url.path == "/openapi.json"


def _is_hf(request: Request) -> bool:
    p = request.url.path
    return p.startswith("/api/") and not p.startswith("/api/v1/")


def _error(request: Request, status: int, message: str, headers: dict | None = None) -> Response:
    if _wants_json(request):
        body = {"detail": message}
        if _is_hf(request):
            body["error"] = message  # huggingface_hub shows the Hub's "error" field in its exceptions
        return JSONResponse(body, status_code=status, headers=headers)
    try:
        return render(
            request, "error.html", {"status": status, "message": message}, status_code=status, headers=headers
        )
    except Exception:  # never let the error page itself turn a 4xx into a 500
        log.exception("rendering the error page failed")
        return Response(f"{status}: {message}\n", status_code=status, media_type="text/plain", headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(x) for x in err.get("loc", ())[1:]) or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "Invalid request."


# C0 controls and DEL: never meaningful in an address, refused by XML (feeds) and by PostgreSQL (NUL).
_PATH_CONTROL = re.compile("[\x00-\x1f\x7f]")
# Query values may carry tab and line breaks (a pasted query); the other controls are refused.
_QUERY_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _no_controls(request: Request) -> None:
    """400 for control characters in the path or a query parameter, before any route turns them into a 500."""
    raw_path = request.scope.get("raw_path", b"").decode("latin-1")
    if _PATH_CONTROL.search(request.url.path) or _PATH_CONTROL.search(unquote(raw_path)):
        raise HTTPException(400, "Control characters are not allowed in addresses.")
    for key, value in request.query_params.multi_items():
        if _QUERY_CONTROL.search(key) or _QUERY_CONTROL.search(value):
            raise HTTPException(400, f"Control characters are not allowed in parameters ({key[:40]!r}).")


def create_app(pb, *, community=None) -> FastAPI:
    """The web app over one Paperboy facade; `community` (tests: another clock) defaults to `pb.community`."""
    from paperboy.web import account_pages, accounts, admin, api_hf, api_v1, feeds, pages

    app = FastAPI(
        title="paperboy",
        summary="Self-hosted research-paper discovery: search, trending, daily papers, upvotes and feeds.",
        version="1",
        docs_url=None,  # paperboy.web.docs: the same page, with local assets
        redoc_url=None,
        dependencies=[Depends(_no_controls)],
        form_limits={"max_fields": MAX_FORM_FIELDS, "max_files": 0},  # too many: 400; no route takes files
    )
    app.state.pb = pb
    app.state.settings = pb.settings
    # Every service object comes from the facade, built once there.
    app.state.community = community or pb.community
    app.state.moderation = pb.moderation
    app.state.secret_key = pb.secret_key
    app.state.templates = make_templates()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if exc.status_code == 404 and message == "Not Found" and _PATH_CONTROL.search(request.url.path):
            return _error(request, 400, "Control characters are not allowed in addresses.")  # no route matched
        if exc.status_code == 404 and message == "Not Found":
            message = f"Nothing here: {request.url.path[:200]}"
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            if message == "Method Not Allowed":
                message = f"{request.method} is not allowed here."
            # Every method served at this address, as the document lists them (Starlette names one route's).
            allow = contract.allowed_methods(request.app, request.url.path)
            if allow is not None:
                headers = {**(headers or {}), "Allow": ", ".join(allow)}
        return _error(request, exc.status_code, message, headers)

    # The database went away (PostgreSQL restarting, a dropped connection, a full pool, SQLite
    # locked past its timeout): a clear, retryable 503 rather than a 500. The pool's pre-ping
    # replaces dead connections, so the next request after the outage works again.
    async def database_unavailable(request: Request, exc: Exception):
        log.warning(
            "database unavailable for %s %s: %s",
            request.method,
            request.url.path,
            str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__,
        )
        return _error(
            request, 503, "The database is unavailable right now; try again in a few seconds.", {"Retry-After": "5"}
        )

    for exc_type in services.DATABASE_DOWN:
        app.add_exception_handler(exc_type, database_unavailable)

    async def service_refused(request: Request, exc: Exception):
        status, headers = errors.status_of(exc)
        return _error(request, status, str(exc), headers)

    for exc_type in errors.HANDLED:
        app.add_exception_handler(exc_type, service_refused)

    async def login_required(request: Request, exc: LoginRequired):
        return login_redirect(exc.back)

    app.add_exception_handler(LoginRequired, login_required)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        if request.url.path.startswith("/api/v1/"):
            errors = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in exc.errors()[:20]]
            return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)
        return _error(request, 400, _validation_message(exc))

    app.add_middleware(_Guard)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    add_docs(app)
    contract.install(app)
    from paperboy.web import (
        api_community,
        collection_pages,
        community_feeds,
        digest_routes,
        discussions,
        map_routes,
        profile_routes,
    )

    # Discussions and collections first: their /papers/<id>/comments routes must win over the
    # catch-all /papers/<id:path> routes of pages and api_v1.
    for module in (
        discussions,
        collection_pages,
        community_feeds,
        api_community,
        pages,
        accounts,
        account_pages,
        admin,
        feeds,
        api_v1,
        api_hf,
        digest_routes,
        map_routes,
        profile_routes,
    ):
        app.include_router(module.router)
    return app
