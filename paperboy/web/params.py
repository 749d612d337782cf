"""Checking request parameters once, for pages, APIs and feeds alike, with messages people can act on."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from fastapi import HTTPException, Path

from paperboy.models import ARXIV_ID_RE, SearchFilters

MAX_QUERY_CHARS = 500
MAX_PAGE = 500
PER_PAGE = 20
MAX_LIMIT = 100
MAX_OFFSET = 10_000
SORTS = ("relevance", "date", "upvotes")
MODES = ("hybrid", "lexical", "dense")
WINDOWS = ("today", "week", "month", "all")

CATEGORY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9\-]{0,30}(?:\.[A-Za-z0-9\-]{1,30})?$")
LOCAL_ID_RE = re.compile(r"^pb-[0-9a-f]{16}$")
# What paper_key accepts, as an OpenAPI (ECMA) pattern: arXiv id (new or old style, optional arxiv: and
# version) or a paperboy id.
PAPER_ID_PATTERN = (
    r"^(?:[aA][rR][xX][iI][vV]:)?(?:[0-9]{4}\.[0-9]{4,5}|[a-zA-Z][a-zA-Z\-]*(?:\.[a-zA-Z]{2})?/[0-9]{7})"
    r"(?:[vV][0-9]+)?$|^pb-[0-9a-f]{16}$"
)
PaperIdPath = Annotated[
    str,
    Path(
        description="arXiv id (optional version) or paperboy id (pb-<16 hex>).",
        max_length=64,
        pattern=PAPER_ID_PATTERN,
    ),
]
# The same rules as OpenAPI (ECMA) patterns, for the document (paperboy.web.contract).
CATEGORY_PATTERN = r"^[A-Za-z][A-Za-z0-9\-]{0,30}(?:\.[A-Za-z0-9\-]{1,30})?$"
_YEAR = r"(?:[0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)"  # 0001-9999, as datetime.date
DATE_PATTERN = rf"^{_YEAR}-[0-9]{{2}}-[0-9]{{2}}$"
WEEK_PATTERN = rf"^{_YEAR}-W(?:0[1-9]|[1-4][0-9]|5[0-3])$"
MONTH_PATTERN = rf"^{_YEAR}-(?:0[1-9]|1[0-2])$"
# What the guard in paperboy.web.app lets through in a query value (tab and line breaks, no other controls).
NO_CONTROLS_PATTERN = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$"
# A required search text: no controls, and something left after stripping white space.
QUERY_PATTERN = (
    "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*"
    "[^\\x00-\\x20\\x7f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    "[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$"
)
# Author names are free text (escaped on output), but not control characters or absurd lengths.
AUTHOR_RE = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")


def bad_request(message: str) -> HTTPException:
    return HTTPException(400, message)


ACTIONS = ("vote", "save", "comments")


def paper_key(value: str) -> str:
    """A paper id as routes accept it (arXiv id with optional version, or pb-<hash>); 400 otherwise."""
    value = (value or "").strip()
    if value.rpartition("/")[2] in ACTIONS:  # e.g. GET on /papers/<id>/vote, which only takes POST
        raise HTTPException(405, "This address only takes POST (and DELETE in the API).")
    if len(value) <= 64 and (ARXIV_ID_RE.match(value) or LOCAL_ID_RE.match(value)):
        return value
    raise bad_request("Not a paper id: expected an arXiv id like 2401.01234 or a paperboy id like pb-0123456789abcdef.")


def query_text(q: str | None) -> str:
    q = (q or "").strip()
    if len(q) > MAX_QUERY_CHARS:
        raise bad_request(f"The query is too long ({len(q):,} characters); the limit is {MAX_QUERY_CHARS}.")
    if "\x00" in q:
        raise bad_request("The query contains a NUL character.")
    return q


def category(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if not CATEGORY_RE.match(value):
        raise bad_request(f"Not a category: {value[:40]!r}; expected something like cs.CL or cs.")
    return value


def categories(values: list[str] | None) -> tuple[str, ...]:
    if values and len(values) > 20:
        raise bad_request("At most 20 categories per search.")
    return tuple(c for c in (category(v) for v in values or []) if c)


def day(value: str | None, name: str = "date") -> date | None:
    """A YYYY-MM-DD date or None for an empty value; 400 otherwise."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise bad_request(f"{name}: expected a date like 2025-03-18, got {value[:20]!r}.") from None


def author_name(value: str) -> str:
    value = (value or "").strip()
    if not AUTHOR_RE.match(value):
        raise bad_request("Not an author name.")
    return value


def filters(
    cats: list[str] | None, since: str | None, until: str | None, empty_window_ok: bool = False
) -> SearchFilters:
    """Search filters; pages refuse since > until, the APIs answer it with no papers and a warning
    (their document cannot state an order between two parameters)."""
    f = SearchFilters(categories=categories(cats), since=day(since, "since"), until=day(until, "until"))
    if f.since and f.until and f.since > f.until and not empty_window_ok:
        raise bad_request("since is after until; swap the dates.")
    return f


def choice(value: str | None, allowed: tuple[str, ...], name: str, default: str) -> str:
    value = (value or "").strip() or default
    if value not in allowed:
        raise bad_request(f"{name} must be one of {', '.join(allowed)}.")
    return value


def page_number(value: int | None) -> int:
    value = value or 1
    if not 1 <= value <= MAX_PAGE:
        raise bad_request(f"page must be between 1 and {MAX_PAGE}.")
    return value


def pagination(total: int, page: int, per_page: int = PER_PAGE) -> dict:
    """Template variables for a paged list: page, last_page (capped at MAX_PAGE), has_prev/has_next, total."""
    last = max(1, min(MAX_PAGE, -(-total // per_page)))
    return {"page": page, "last_page": last, "has_prev": page > 1, "has_next": page < last, "total": total}
