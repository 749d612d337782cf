"""The OpenAPI document made exact, and the `Allow` header that agrees with it.

FastAPI derives each operation from its route; what every route shares is added here once: the
answers of the request guard and the error handlers in paperboy.web.app (400 for a control
character or a validation error outside /api/v1, 413, 414, 503), and the formats params.py checks
for ids, categories and dates, stated as patterns. scripts/contract.py holds the server to it.
"""

from __future__ import annotations

import copy
import re

from paperboy.web import params

_ERROR = {"$ref": "#/components/schemas/ErrorPublic"}
_PAPER_ID = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": params.PAPER_ID_PATTERN}


def _or_empty(pattern: str) -> str:
    return f"^$|{pattern}"  # an empty optional value counts as not given


# A real calendar day (format), written YYYY-MM-DD (pattern), or empty.
_DATE = {
    "anyOf": [
        {"type": "string", "format": "date", "pattern": params.DATE_PATTERN},
        {"type": "string", "maxLength": 0},
    ]
}
_CATEGORY = {"type": "string", "maxLength": 62, "pattern": params.CATEGORY_PATTERN}
# Parameters by name, wherever they appear: what params.paper_key, params.category, params.day and
# the HF API's week/month parsing accept (a query value is never null, so no `null` branch).
PARAMETERS = {
    "paper_id": _PAPER_ID,
    "arxiv_id": _PAPER_ID,
    "cat": _CATEGORY,
    "category": {
        "type": "array",
        "maxItems": 20,
        "items": {**_CATEGORY, "pattern": _or_empty(params.CATEGORY_PATTERN)},
    },
    "date": _DATE,
    "since": _DATE,
    "until": _DATE,
    "week": {"type": "string", "pattern": _or_empty(params.WEEK_PATTERN)},
    "month": {"type": "string", "pattern": _or_empty(params.MONTH_PATTERN)},
}


def _json_error(description: str, **extra) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}, **extra}


def _parameter_schema(param: dict) -> None:
    schema = param.get("schema", {})
    if param["in"] in ("query", "path") and "anyOf" in schema:  # `str | None`: absent, never null
        branches = [s for s in schema["anyOf"] if s.get("type") != "null"]
        if len(branches) == 1:
            schema = {**{k: v for k, v in schema.items() if k != "anyOf"}, **branches[0]}
    fixed = PARAMETERS.get(param["name"])
    if fixed is not None:
        schema = {**{k: v for k, v in schema.items() if k in ("title", "default", "description")}, **fixed}
    elif param["in"] == "query" and schema.get("type") == "string" and "pattern" not in schema and "enum" not in schema:
        schema = {**schema, "pattern": params.NO_CONTROLS_PATTERN}  # the guard refuses them in every value
    param["schema"] = copy.deepcopy(schema)


def _responses(path: str, op: dict) -> None:
    r = op.setdefault("responses", {})
    if not path.startswith("/api/v1/"):
        # Outside /api/v1 a request that fails validation is answered 400 with a sentence, not 422.
        r.pop("422", None)
    bad = r.setdefault("400", _json_error("Bad parameter, with the reason"))
    bad.setdefault("content", {"application/json": {"schema": _ERROR}})
    if "Control" not in bad["description"]:
        bad["description"] += " (also: control characters in the address or a parameter)"
    if "requestBody" in op:
        r.setdefault("413", _json_error("Request body too large (64 KB; 5 MB for uploads)"))
    r.setdefault("414", _json_error("Query string too long (16 KB)"))
    r.setdefault(
        "503",
        _json_error(
            "The database is unavailable for a moment; retry after Retry-After seconds",
            headers={"Retry-After": {"schema": {"type": "string"}, "description": "Seconds to wait"}},
        ),
    )


def exact(document: dict) -> dict:
    """The document FastAPI built, with the shared facts above applied to every operation (in place)."""
    for path, ops in document.get("paths", {}).items():
        for op in ops.values():
            for param in op.get("parameters", []):
                _parameter_schema(param)
            _responses(path, op)
    return document


def install(app) -> None:
    """Serve the exact document at /openapi.json (built once, on first request)."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = exact(build())
        return app.openapi_schema

    app.openapi = openapi


_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _templates(app) -> list[tuple[re.Pattern, re.Pattern, list[str]]]:
    """(one-segment regex, any-segments regex, methods) for every path of the document."""
    cached = getattr(app.state, "allow_templates", None)
    if cached is None:
        cached = []
        for path, ops in app.openapi().get("paths", {}).items():
            parts = re.split(r"(\{[^}]+\})", path)
            literal = [re.escape(x) for x in parts[::2]]
            one = "[^/]+".join(literal)
            many = ".+".join(literal)
            methods = sorted(m.upper() for m in ops if m in _METHODS)
            cached.append((re.compile(f"^{one}$"), re.compile(f"^{many}$"), methods))
        app.state.allow_templates = cached
    return cached


def allowed_methods(app, path: str) -> list[str] | None:
    """The methods the document lists for the address `path`, or None when it is not one of its paths.

    Starlette's 405 names only the first route's methods; the document knows them all. An id may hold
    a slash (old arXiv ids), so a path matched segment for segment wins over one matched across them.
    """
    templates = _templates(app)
    for which in (0, 1):
        for t in templates:
            if t[which].match(path):
                return t[2]
    return None
