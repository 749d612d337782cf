"""The service calls every surface shares (pages, JSON, feeds), so they all see the same results."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import HTTPException, Request

from paperboy.models import Paper, SearchFilters, SearchPage
from paperboy.service import DATABASE_DOWN  # the database went away: the app answers 503 (web/app.py)
from paperboy.service.community import Community, PaperView, User
from paperboy.service.facade import MAX_DEPTH
from paperboy.service.moderation import Moderation

log = logging.getLogger("paperboy.web")
SEARCH_DEPTH = MAX_DEPTH  # deepest result a search page reaches (the count itself goes further)


def paperboy(request: Request):
    return request.app.state.pb


def community(request: Request) -> Community:
    return request.app.state.community


def moderation(request: Request) -> Moderation:
    return request.app.state.moderation


def is_admin(request: Request, user: User | None) -> bool:
    return moderation(request).is_admin(user)


@dataclass(slots=True)
class SearchResult:
    page: SearchPage
    views: list[PaperView]  # same order as page.hits, with upvotes and the viewer's state
    matched_by: list[tuple[str, ...]]


def search(
    request: Request,
    query: str,
    filters: SearchFilters,
    *,
    sort: str = "relevance",
    mode: str = "hybrid",
    limit: int = 20,
    offset: int = 0,
    user: User | None = None,
) -> SearchResult:
    """pb.search with the viewer's vote state attached; a query the engine rejects is a 400."""
    pb = paperboy(request)
    try:
        page = pb.search(query, mode=mode, filters=filters, sort=sort, limit=limit, offset=offset)
    except ValueError as exc:  # e.g. a query the lexical engine cannot parse
        raise HTTPException(400, f"Cannot search for that: {exc}") from None
    views = community(request).views([h.paper for h in page.hits], user)
    for v, h in zip(views, page.hits):
        v.score = float(h.score)
    return SearchResult(page, views, [tuple(h.matched_by) for h in page.hits])


def similar(request: Request, key: str | Paper, limit: int = 6, user: User | None = None) -> list[PaperView]:
    """Papers similar to `key` (or a Paper already read); an empty list (logged) when the index cannot answer."""
    return _similar_views(request, key, limit, user, [])[1]


def paper_and_similar(
    request: Request, paper: Paper, limit: int = 6, user: User | None = None
) -> tuple[PaperView, list[PaperView]]:
    """The paper page's paper and its similar papers, with votes read for all of them at once."""
    views, similar = _similar_views(request, paper, limit, user, [paper])
    return views[0], similar


def _similar_views(
    request: Request, key: str | Paper, limit: int, user: User | None, first: list[Paper]
) -> tuple[list[PaperView], list[PaperView]]:
    pb = paperboy(request)
    try:
        hits = pb.similar(key, limit=limit)
    except (KeyError, LookupError):
        hits = []
    except DATABASE_DOWN:
        raise  # the page cannot render either: the app answers 503 + Retry-After, no traceback
    except Exception:  # similar papers are an extra on the page; the page itself must still render
        log.exception("similar(%r) failed", getattr(key, "id", key))
        hits = []
    views = community(request).views([*first, *(h.paper for h in hits)], user)
    for v, h in zip(views[len(first) :], hits):
        v.score = float(h.score)
    return views[: len(first)], views[len(first) :]


def fetch_submitted(app) -> list:
    """Process queued paper submissions (fetch from arXiv, ingest, index); the processed rows."""
    return app.state.pb.process_submissions()


def rising_topics(request: Request, limit: int = 5) -> list:
    """The map's rising topics for a side panel; none (logged) when there is no map or it cannot be read."""
    pm = paperboy(request).map
    if not pm.exists():
        return []
    try:
        return pm.rising(limit)
    except Exception:  # a broken map file must not take the trending page down with it
        log.exception("reading the map's rising topics failed")
        return []
