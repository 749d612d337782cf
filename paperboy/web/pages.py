"""Browsing pages: trending home, daily papers, search, paper, author and category pages, about."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from paperboy.service.community import CommunityError
from paperboy.service.export import bibtex
from paperboy.web import params, services
from paperboy.web.render import render
from paperboy.web.security import current_user
from paperboy.web.urls import paper_url

router = APIRouter(include_in_schema=False)

Text = Annotated[str | None, Query(max_length=2000)]
# Longer than any allowed query, so an over-long one reaches params.query_text and its clear message.
QueryText = Annotated[str | None, Query(max_length=20_000)]
PageNo = Annotated[int, Query(ge=1, le=params.MAX_PAGE)]
WINDOW_LABELS = {"today": "Today", "week": "This week", "month": "This month", "all": "All time"}
SORT_LABELS = {"relevance": "Relevance", "date": "Newest", "upvotes": "Most upvoted"}
MODE_LABELS = {"hybrid": "Keywords + meaning", "lexical": "Keywords only", "dense": "Meaning (semantic)"}


@router.get("/")
def home(request: Request, window: Text = None, page: PageNo = 1):
    """Trending papers in a window (today / this week / this month / all time)."""
    window = params.choice(window, params.WINDOWS, "window", "week")
    user = current_user(request)
    listing = services.community(request).trending(window, params.PER_PAGE, (page - 1) * params.PER_PAGE, user)
    return render(
        request,
        "home.html",
        {
            "window": window,
            "windows": WINDOW_LABELS,
            "items": listing.items,
            "as_of": listing.as_of,
            "rising": services.rising_topics(request),
            "offset": (page - 1) * params.PER_PAGE,
            **params.pagination(listing.total, page),
        },
    )


DAILY_VIEW_LABELS = {"day": "Day", "week": "Week", "month": "Month"}


@router.get("/daily")
def daily(request: Request, date: Text = None, view: Text = None, page: PageNo = 1):
    """Papers listed on one day, or in the week or month ending on it, with links to the spans around it."""
    day = params.day(date)
    view_ = params.choice(view, tuple(DAILY_VIEW_LABELS), "view", "day")
    user = current_user(request)
    per = 50
    d = services.community(request).daily(day, limit=per, offset=(page - 1) * per, user=user, view=view_)
    return render(
        request,
        "daily.html",
        {"daily": d, "items": d.items, "views": DAILY_VIEW_LABELS, **params.pagination(d.total, page, per)},
    )


@router.get("/search")
def search(
    request: Request,
    q: QueryText = None,
    category: Text = None,
    since: Text = None,
    until: Text = None,
    sort: Text = None,
    mode: Text = None,
    page: PageNo = 1,
):
    """One search box with category and date filters, sort, pagination and highlighted matches."""
    query = params.query_text(q)
    f = params.filters([category] if category else [], since, until)
    sort_ = params.choice(sort, params.SORTS, "sort", "relevance")
    mode_ = params.choice(mode, params.MODES, "mode", "hybrid")
    user = current_user(request)
    cats = services.community(request).categories()[:40]
    ctx = {
        "q": query,
        "category": f.categories[0] if f.categories else "",
        "since": f.since or "",
        "until": f.until or "",
        "sort": sort_,
        "mode": mode_,
        "sorts": SORT_LABELS,
        "top_categories": cats,
        "modes": MODE_LABELS,
        "mode_labels": {**MODE_LABELS, "lexical": "keywords", "dense": "meaning"},
        "result": None,
        "saved_search": None,
        **params.pagination(0, page),
    }
    if query or not f.is_empty():
        result = services.search(
            request,
            query,
            f,
            sort=sort_,
            mode=mode_,
            limit=params.PER_PAGE,
            offset=(page - 1) * params.PER_PAGE,
            user=user,
        )
        # Counts are honest (thousands), but pages only reach as deep as the search goes.
        reachable = min(result.page.total, services.SEARCH_DEPTH)
        ctx.update(
            result=result,
            items=result.views,
            offset=(page - 1) * params.PER_PAGE,
            **{**params.pagination(reachable, page), "total": result.page.total},
        )
        if result.page.suggestion:
            keep = {
                "q": result.page.suggestion,
                "category": ctx["category"],
                "since": ctx["since"],
                "until": ctx["until"],
                "mode": mode_ if mode_ != "hybrid" else "",
            }
            ctx["suggestion_url"] = "/search?" + urlencode({k: str(v) for k, v in keep.items() if v})
        if user:
            filters = _filters_dict(f, sort_)
            ctx["profiles"] = services.paperboy(request).profiles.of(user.id)  # whose the search would be
            ctx["saved_search"] = next(
                (
                    s
                    for s in services.community(request).saved_searches(user)
                    if s.query == query and s.filters == filters
                ),
                None,
            )
    return render(request, "search.html", ctx)


def _filters_dict(f, sort: str) -> dict:
    """The filters of a search as a saved search stores them (empty ones left out)."""
    out = {
        "categories": list(f.categories),
        "since": f.since.isoformat() if f.since else None,
        "until": f.until.isoformat() if f.until else None,
        "sort": sort if sort != "relevance" else None,
    }
    return {k: v for k, v in sorted(out.items()) if v not in (None, "", [], ())}


@router.get("/papers/{paper_id:path}/bibtex")
def paper_bibtex(request: Request, paper_id: str):
    """The paper's BibTeX entry as a .bib download."""
    p = _paper(request, paper_id)
    name = (p.id or "paper").replace("/", "_")
    return PlainTextResponse(
        bibtex(p),
        media_type="application/x-bibtex; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="{name}.bib"'},
    )


@router.get("/papers/{paper_id:path}")
def paper_page(request: Request, paper_id: str) -> Response:
    """Everything about one paper: abstract, links, upvotes, discussion, similar papers, BibTeX and sharing."""
    ctx = paper_context(request, paper_id)
    if isinstance(ctx, Response):
        return ctx
    return render(request, "paper.html", ctx)


def paper_context(request: Request, paper_id: str) -> dict | Response:
    """What the paper page shows (a redirect to the canonical address instead when `paper_id` is not it)."""
    user = current_user(request)
    hidden = None
    if services.is_admin(request, user):  # admins see hidden papers too, under a banner
        found = services.moderation(request).paper_state(params.paper_key(paper_id))
        if found is None:
            raise HTTPException(404, f"No paper with id {paper_id[:80]} here.")
        p, hidden = found
    else:
        p = _paper(request, paper_id)
    if paper_id != p.id:  # /papers/2401.01234v2 and friends land on the canonical address
        return RedirectResponse(paper_url(p), status_code=308)
    if hidden is None:
        view, similar = services.paper_and_similar(request, p, limit=6, user=user)
    else:
        view, similar = services.community(request).views([p], user)[0], []
    view.chosen_keywords = services.paperboy(request).keywords.of(p)
    absolute = str(request.base_url).rstrip("/") + paper_url(p)
    thread = services.paperboy(request).comments.thread(p.id, user, include_hidden_paper=hidden is not None)
    from_hf = "hf-daily" in (p.source or "")
    hf = services.paperboy(request).harvest.hf_extras(p.id) if from_hf else None
    return {
        "v": view,
        "p": p,
        "similar": similar,
        "bibtex": bibtex(p),
        "share_url": absolute,
        "citation": _citation(p),
        "hidden": hidden,
        "thread": thread,
        "comment_error": None,
        "comment_draft": "",
        "comment_parent": None,
        "hf": hf,
        "from_hf": from_hf,
    }


def _paper(request: Request, key: str):
    key = params.paper_key(key)
    p = services.paperboy(request).paper(key)  # None for papers a moderator hid: 404 like unknown ones
    if p is None:
        raise HTTPException(404, f"No paper with id {key} here. You can submit it from the Submit page.")
    return p


def _citation(p) -> str:
    """A plain-text citation: 'A, B and C (2025). Title. arXiv:2501.01234.'"""
    names = p.authors[:3]
    who = ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + (names[-1] if names else "")
    if len(p.authors) > 3:
        who = f"{p.authors[0]} et al."
    d = p.published or p.listed or p.updated
    year = f" ({d.year})" if d else ""
    where = f" arXiv:{p.arxiv_id}." if p.arxiv_id else ""
    return f"{who or 'Anonymous'}{year}. {p.title}.{where}"


@router.get("/authors/{name:path}")
def author_page(request: Request, name: str, page: PageNo = 1):
    """Papers by one author (exact name as it appears in bylines)."""
    name = params.author_name(name)
    missing = f"No papers by an author named {name[:100]!r}."
    return _listing_page(request, "author.html", page, services.community(request).by_author, name, missing, name=name)


@router.get("/categories/{cat}")
def category_page(request: Request, cat: str, page: PageNo = 1):
    """Papers in a category (cs.CL) or archive (cs), newest first."""
    com = services.community(request)
    cat = params.category(cat) or ""
    name = com.category_name(cat)
    return _listing_page(
        request, "category.html", page, com.in_category, cat, f"No papers in category {cat}.", cat=cat, cat_name=name
    )


def _listing_page(request: Request, template: str, page: int, listing, key: str, missing: str, **ctx):
    """A page of a community listing (`listing(key, limit, offset, viewer)`): 404 with `missing` when empty."""
    offset = (page - 1) * params.PER_PAGE
    found = listing(key, params.PER_PAGE, offset, current_user(request))
    if found.total == 0:
        raise HTTPException(404, missing)
    return render(
        request, template, {"items": found.items, "offset": offset, **params.pagination(found.total, page), **ctx}
    )


@router.get("/categories")
def categories_page(request: Request):
    """Every category with papers, its arXiv name and its paper count."""
    return render(request, "categories.html", {"cats": services.community(request).categories()})


@router.get("/about")
def about(request: Request):
    """How trending is computed, in words and numbers."""
    settings = request.app.state.settings
    g = settings.trending_gravity
    examples = [(v, h, v / (h + 2) ** g) for v, h in ((10, 0), (10, 24), (50, 24), (50, 72), (200, 168))]
    try:
        as_of = services.community(request).reference_day()
    except CommunityError:
        as_of = date.today()
    pb = services.paperboy(request)
    return render(
        request,
        "about.html",
        {
            "gravity": g,
            "examples": examples,
            "as_of": as_of,
            "papers": pb.store.count(),
            "updated": minutes_ago(pb.harvest.last_update()),
        },
    )


def minutes_ago(when: datetime | None) -> int | None:
    """Whole minutes since `when` (None stays None): the "updated N minutes ago" of harvested instances."""
    if when is None:
        return None
    return max(0, int((datetime.now(timezone.utc) - when).total_seconds() // 60))


@router.get("/healthz", include_in_schema=False)
def healthz(request: Request):
    return {"ok": True, "papers": services.paperboy(request).store.count()}


@router.get("/favicon.ico", include_in_schema=False)
def favicon():
    # Browsers ask for /favicon.ico on documents without <link rel="icon"> (the digest preview, JSON,
    # feeds); point them at the one icon instead of answering 404.
    return RedirectResponse("/static/favicon.svg", status_code=301, headers={"Cache-Control": "max-age=86400"})
