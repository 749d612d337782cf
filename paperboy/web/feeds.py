"""Atom and RSS feeds (feedgen) for trending, daily papers, any search and any category."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from feedgen.feed import FeedGenerator

from paperboy.service.community import PaperView
from paperboy.web import params, services
from paperboy.web.urls import category_url, paper_url

router = APIRouter(prefix="/feeds", tags=["feeds"])

Fmt = Literal["atom", "rss"]
FEED_SIZE = 50
# Characters XML 1.0 forbids; one stray control character in an abstract would break the whole feed.
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
MEDIA = {"atom": "application/atom+xml; charset=utf-8", "rss": "application/rss+xml; charset=utf-8"}
# What the document says a feed route answers: Atom or RSS XML by the address's extension.
FEED_RESPONSE = {
    200: {
        "description": "An Atom feed (`.atom`) or an RSS 2.0 feed (`.rss`)",
        "content": {kind.split(";")[0]: {"schema": {"type": "string"}} for kind in MEDIA.values()},
    }
}


def _x(text: str | None) -> str:
    return _XML_BAD.sub("", text or "")


def _when(d: date | None) -> datetime:
    return datetime.combine(d or date(1970, 1, 1), time(0, 0), tzinfo=timezone.utc)


def _feed(request: Request, fmt: str, title: str, page_path: str, subtitle: str, items: list[PaperView]) -> Response:
    base = str(request.base_url).rstrip("/")
    self_url = str(request.url)
    fg = FeedGenerator()
    fg.id(base + page_path)
    fg.title(_x(title))
    fg.subtitle(_x(subtitle))  # also RSS <description>, which RSS requires
    fg.link(href=base + page_path, rel="alternate")
    fg.link(href=_x(self_url), rel="self")
    fg.language("en")
    fg.generator("paperboy")
    newest = max((v.paper.listed or v.paper.published or date(1970, 1, 1) for v in items), default=None)
    fg.updated(_when(newest) if newest else datetime.now(timezone.utc))
    for v in items:
        p = v.paper
        url = base + paper_url(p)
        fe = fg.add_entry(order="append")
        fe.id(url)
        fe.title(_x(p.title))
        fe.link(href=url, rel="alternate")
        for a in p.authors[:50]:
            fe.author(name=_x(a))
        for c in p.categories[:10]:
            fe.category(term=_x(c))
        summary = f"{_x(', '.join(p.authors[:20]))}\n\n{_x(p.abstract)}\n\nUpvotes: {v.upvotes}"
        fe.description(summary, isSummary=True)  # Atom <summary>, RSS <description>
        d = p.listed or p.published or p.updated
        fe.published(_when(d))
        fe.updated(_when(p.updated or d))
    body = fg.atom_str(pretty=True) if fmt == "atom" else fg.rss_str(pretty=True)
    return Response(body, media_type=MEDIA[fmt])


@router.get("/trending.{fmt}", response_class=Response, responses=FEED_RESPONSE)
def trending_feed(request: Request, fmt: Fmt, window: Literal["today", "week", "month", "all"] = "week"):
    """Trending papers as Atom (`.atom`) or RSS (`.rss`)."""
    listing = services.community(request).trending(window, FEED_SIZE, 0)
    return _feed(
        request,
        fmt,
        f"paperboy: trending papers ({window})",
        f"/?window={window}",
        "Papers ranked by upvotes with time decay (see /about).",
        listing.items,
    )


@router.get("/daily.{fmt}", response_class=Response, responses=FEED_RESPONSE)
def daily_feed(request: Request, fmt: Fmt, date: Annotated[str | None, Query(max_length=10)] = None):
    """Papers of one listing day (default the newest)."""
    d = services.community(request).daily(params.day(date), limit=200)
    label = d.day.isoformat() if d.day else "today"
    return _feed(
        request, fmt, f"paperboy: daily papers {label}", f"/daily?date={label}", f"Papers listed on {label}.", d.items
    )


@router.get("/search.{fmt}", response_class=Response, responses=FEED_RESPONSE)
def search_feed(
    request: Request,
    fmt: Fmt,
    q: Annotated[str, Query(max_length=params.MAX_QUERY_CHARS)] = "",
    category: Annotated[list[str] | None, Query(max_length=20)] = None,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
    sort: Literal["relevance", "date", "upvotes"] = "date",
):
    """Any search as a feed; newest papers first by default so readers see new matches (no query: the newest)."""
    query = params.query_text(q)
    f = params.filters(category, since, until, empty_window_ok=True)
    r = services.search(request, query, f, sort=sort, limit=FEED_SIZE)
    what = query or ", ".join(f.categories) or "filtered papers"
    return _feed(
        request,
        fmt,
        f"paperboy: search “{what}”",
        "/search?" + str(request.url.query),
        f"Papers matching {what}.",
        r.views,
    )


@router.get("/categories/{cat}.{fmt}", response_class=Response, responses=FEED_RESPONSE)
def category_feed(request: Request, cat: str, fmt: Fmt):
    """The newest papers in a category (cs.CL) or archive (cs)."""
    cat = params.category(cat) or ""
    listing = services.community(request).in_category(cat, FEED_SIZE, 0)
    return _feed(request, fmt, f"paperboy: {cat}", category_url(cat), f"Newest papers in {cat}.", listing.items)
