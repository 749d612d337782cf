"""Hugging Face Papers-compatible API, so `huggingface_hub.HfApi(endpoint=...)` works unchanged.

Shapes follow what huggingface_hub's `PaperInfo` reads: `/api/papers/{id}` is a flat paper,
`/api/papers/search` and `/api/daily_papers` are lists of {"paper": {...}, "title", "summary",
"publishedAt" (the daily-listing time), ...}. Errors carry the Hub's {"error": message}.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request

from paperboy.models import SearchFilters
from paperboy.web import params, services
from paperboy.web.schemas import ErrorPublic, HfDailyPaper, HfPaper

router = APIRouter(prefix="/api", tags=["Hugging Face Papers-compatible API"])

_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
MAX_HF_LIMIT = 100


@router.get("/papers/search", response_model=list[HfDailyPaper])
def search_papers(
    request: Request,
    q: Annotated[str, Query(max_length=params.MAX_QUERY_CHARS)] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_HF_LIMIT)] = 50,
) -> list[HfDailyPaper]:
    """Papers matching `q` (HfApi.list_papers); without `q`, the newest listing day's papers."""
    query = params.query_text(q)
    if not query:
        listing = services.community(request).daily(None, limit=limit)
        return [HfDailyPaper.of(v) for v in listing.items]
    r = services.search(request, query, SearchFilters(), limit=limit)
    return [HfDailyPaper.of(v) for v in r.views]


@router.get(
    "/papers/{arxiv_id:path}",
    response_model=HfPaper,
    responses={404: {"model": ErrorPublic, "description": 'No such paper ({"error": ...} as on the Hub)'}},
)
def paper_info(request: Request, arxiv_id: str) -> HfPaper:
    """One paper (HfApi.paper_info); 404 with {"error": ...} when unknown."""
    key = params.paper_key(arxiv_id)
    p = services.paperboy(request).paper(key)
    if p is None:
        raise HTTPException(404, f"Paper {key} not found")
    return HfPaper.of(services.community(request).views([p])[0])


def _range(date_: str | None, week: str | None, month: str | None) -> tuple[date, date] | None:
    # Every value given is checked (400 when malformed); given together, the narrowest wins (date,
    # then week, then month): a query string cannot be documented as "one of", and answering the
    # narrowest is what a caller adding a day most likely means.
    spans = (
        _day_span(date_) if date_ else None,
        _week_span(week) if week else None,
        _month_span(month) if month else None,
    )
    return next((span for span in spans if span is not None), None)


def _day_span(text: str) -> tuple[date, date]:
    d = params.day(text)
    return d, d


def _week_span(week: str) -> tuple[date, date]:
    m = _WEEK_RE.match(week.strip())
    try:
        if not m:
            raise ValueError
        n = int(m.group(2))
        if not 1 <= n <= 53:
            raise ValueError
        # Counted from week 1, so W53 of a 52-week year is the next year's first week.
        start = date.fromisocalendar(int(m.group(1)), 1, 1) + timedelta(weeks=n - 1)
    except ValueError:
        raise params.bad_request(f"week: expected an ISO week like 2025-W09, got {week[:20]!r}.") from None
    except OverflowError:  # past 9999-12-31: nothing was listed there
        return date.max, date.max
    return start, start + timedelta(days=min(6, (date.max - start).days))


def _month_span(month: str) -> tuple[date, date]:
    m = _MONTH_RE.match(month.strip())
    try:
        if not m:
            raise ValueError
        y, mo = int(m.group(1)), int(m.group(2))
        return date(y, mo, 1), date(y, mo, calendar.monthrange(y, mo)[1])
    except ValueError:
        raise params.bad_request(f"month: expected a month like 2025-02, got {month[:20]!r}.") from None


@router.get("/daily_papers", response_model=list[HfDailyPaper])
def daily_papers(
    request: Request,
    date: Annotated[str | None, Query(max_length=10, description="YYYY-MM-DD")] = None,
    week: Annotated[str | None, Query(max_length=8, description="ISO week, YYYY-Www")] = None,
    month: Annotated[str | None, Query(max_length=7, description="YYYY-MM")] = None,
    submitter: Annotated[str | None, Query(max_length=100)] = None,
    sort: Annotated[str, Query(pattern="^(publishedAt|trending)$")] = "publishedAt",
    p: Annotated[int, Query(ge=0, le=params.MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_HF_LIMIT)] = 50,
) -> list[HfDailyPaper]:
    """Daily papers (HfApi.list_daily_papers) for a day, ISO week or month; default the newest day."""
    com = services.community(request)
    span = _range(date, week, month)
    if span is None:
        day = com.reference_day()
        span = (day, day)
    if p * limit > params.MAX_OFFSET:  # deeper than any listing goes: an empty page, as on the site
        return []
    listing = com.papers_between(
        span[0],
        span[1],
        sort="date" if sort == "publishedAt" else "trending",
        limit=limit,
        offset=p * limit,
        submitter=submitter or None,
    )
    return [HfDailyPaper.of(v) for v in listing.items]
