"""paperboy's own JSON API, versioned under /api/v1; the same service calls as the pages."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Request

from paperboy.service.community import NotFound, RateLimited
from paperboy.web import params, services
from paperboy.web.schemas import (
    DailyPublic,
    ErrorPublic,
    PaperPublic,
    PapersPublic,
    RankedPublic,
    RankRequest,
    SearchPublic,
    TrendingPublic,
    VotePublic,
)
from paperboy.web.security import check_csrf, client_address, current_user

router = APIRouter(
    prefix="/api/v1",
    tags=["paperboy API v1"],
    responses={400: {"model": ErrorPublic, "description": "Bad parameter, with the reason"}},
)

Limit = Annotated[int, Query(ge=1, le=params.MAX_LIMIT, description="Results per page.")]
Offset = Annotated[int, Query(ge=0, le=params.MAX_OFFSET, description="Results to skip.")]
NOT_FOUND = {404: {"model": ErrorPublic, "description": "No such paper"}}


def _paper_or_404(request: Request, paper_id: str):
    key = params.paper_key(paper_id)
    p = services.paperboy(request).paper(key)
    if p is None:
        raise HTTPException(404, f"No paper with id {key}.")
    return p


NO_MATCH_HINT = (
    "No papers match: no paper holds these words and none is close in meaning. Try fewer or other "
    "words (see `suggestion`), author:Name or cat:cs.CL, mode=dense, or fewer filters."
)


@router.get("/search", response_model=SearchPublic)
def search(
    request: Request,
    q: Annotated[str, Query(max_length=params.MAX_QUERY_CHARS, description="Search text; empty lists by date.")] = "",
    category: Annotated[
        list[str] | None, Query(max_length=20, description="Any of these categories (cs.CL, or cs).")
    ] = None,
    since: Annotated[str | None, Query(max_length=10, description="Earliest paper day, YYYY-MM-DD.")] = None,
    until: Annotated[str | None, Query(max_length=10, description="Latest paper day, YYYY-MM-DD.")] = None,
    sort: Literal["relevance", "date", "upvotes"] = "relevance",
    mode: Literal["hybrid", "lexical", "dense"] = "hybrid",
    limit: Limit = 20,
    offset: Offset = 0,
) -> SearchPublic:
    """Search papers: hybrid (lexical + semantic) by default, with category and date filters.

    Papers found by meaning alone are returned only when close enough to the query; a query nothing
    matches returns no papers (count 0), with a `suggestion` when a word looks misspelled.
    """
    query = params.query_text(q)
    f = params.filters(category, since, until, empty_window_ok=True)
    user = current_user(request)
    r = services.search(request, query, f, sort=sort, mode=mode, limit=limit, offset=offset, user=user)
    data = [PaperPublic.of(v, logged_in=user is not None, matched_by=m) for v, m in zip(r.views, r.matched_by)]
    return SearchPublic(
        data=data,
        count=r.page.total,
        query=query,
        mode=r.page.mode,
        warnings=r.page.warnings,
        limit=limit,
        offset=offset,
        count_estimated=r.page.total_estimated,
        suggestion=r.page.suggestion,
        hint=None if r.page.total or offset else NO_MATCH_HINT,
    )


@router.get("/papers/{paper_id:path}/similar", response_model=PapersPublic, responses=NOT_FOUND)
def similar(request: Request, paper_id: str, limit: Annotated[int, Query(ge=1, le=50)] = 10) -> PapersPublic:
    """Papers most similar to this one."""
    p = _paper_or_404(request, paper_id)
    user = current_user(request)
    views = services.similar(request, p.id, limit=limit, user=user)
    return PapersPublic(data=[PaperPublic.of(v, logged_in=user is not None) for v in views], count=len(views))


def _vote(request: Request, paper_id: str, token: str | None, up: bool) -> VotePublic:
    key = params.paper_key(paper_id)
    user = current_user(request)
    if user is None:
        raise HTTPException(401, "Log in to vote (session cookie), and send the page's CSRF token in X-CSRF-Token.")
    check_csrf(request, token)
    com = services.community(request)
    try:
        client = client_address(request)
        view = com.upvote(user, key, client) if up else com.unvote(user, key, client)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except RateLimited as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    return VotePublic(paper_id=view.paper.id, upvotes=view.upvotes, voted=view.voted, counted=user.verified)


CsrfHeader = Annotated[str | None, Header(alias="X-CSRF-Token", max_length=200)]
VOTE_ERRORS = {
    401: {"model": ErrorPublic, "description": "Not logged in"},
    403: {"model": ErrorPublic, "description": "Missing or wrong CSRF token"},
    429: {
        "model": ErrorPublic,
        "description": "Too many votes from this client address (vote_max_per_hour); "
        "Retry-After says when to try again",
    },
    **NOT_FOUND,
}


@router.post("/papers/{paper_id:path}/vote", response_model=VotePublic, responses=VOTE_ERRORS)
def upvote(request: Request, paper_id: str, x_csrf_token: CsrfHeader = None) -> VotePublic:
    """Upvote a paper (once per user; repeating it changes nothing). `upvotes` counts verified accounts only:
    the vote of an account whose email is not confirmed yet is kept, and counts once it is (`counted`)."""
    return _vote(request, paper_id, x_csrf_token, True)


@router.delete("/papers/{paper_id:path}/vote", response_model=VotePublic, responses=VOTE_ERRORS)
def unvote(request: Request, paper_id: str, x_csrf_token: CsrfHeader = None) -> VotePublic:
    """Take an upvote back."""
    return _vote(request, paper_id, x_csrf_token, False)


@router.get("/papers/{paper_id:path}", response_model=PaperPublic, responses=NOT_FOUND)
def paper(request: Request, paper_id: str) -> PaperPublic:
    """One paper by arXiv id (any version suffix) or paperboy id."""
    p = _paper_or_404(request, paper_id)
    user = current_user(request)
    view = services.community(request).views([p], user)[0]
    view.chosen_keywords = services.paperboy(request).keywords.of(p)
    return PaperPublic.of(view, logged_in=user is not None, detail=True)


@router.get("/trending", response_model=TrendingPublic)
def trending(
    request: Request, window: Literal["today", "week", "month", "all"] = "week", limit: Limit = 20, offset: Offset = 0
) -> TrendingPublic:
    """Trending papers: today by votes / (age_hours + 2) ** gravity; week, month, all by votes (see /about)."""
    user = current_user(request)
    listing = services.community(request).trending(window, limit, offset, user)
    return TrendingPublic(
        data=[PaperPublic.of(v, logged_in=user is not None) for v in listing.items],
        count=listing.total,
        window=window,
        as_of=listing.as_of,
        gravity=request.app.state.settings.trending_gravity,
    )


@router.get("/daily", response_model=DailyPublic)
def daily(
    request: Request,
    date: Annotated[str | None, Query(max_length=10, description="YYYY-MM-DD; default the newest listing day.")] = None,
    sort: Literal["trending", "date"] = "trending",
    limit: Limit = 50,
    offset: Offset = 0,
) -> DailyPublic:
    """Papers listed on one day, with the previous and next listing days."""
    user = current_user(request)
    d = services.community(request).daily(params.day(date), sort=sort, limit=limit, offset=offset, user=user)
    return DailyPublic(
        data=[PaperPublic.of(v, logged_in=user is not None) for v in d.items],
        count=d.total,
        date=d.day,
        prev=d.prev,
        next=d.next,
    )


RANK_ERRORS = {
    401: {"model": ErrorPublic, "description": "No library given and not logged in"},
    404: {"model": ErrorPublic, "description": "No such profile, or an id that names no stored paper"},
    409: {"model": ErrorPublic, "description": "The profile has no papers yet: rate, import or pick a few first"},
    422: {"description": "Body not valid (no candidates, too many ids, a file over 5 MB, wrong types)"},
}


@router.post("/rank", response_model=RankedPublic, responses=RANK_ERRORS)
def rank(request: Request, body: RankRequest) -> RankedPublic:
    """Rank every candidate (stored ids and/or a file's papers, not stored) for a library or one of your profiles.

    No cap on the answer: all candidates come back, best first, each with the library paper it is most like.
    Unknown ids answer 404, a profile with no papers 409, unreadable files and inputs with no paper 400,
    each with the reason; malformed records of a file are skipped and listed in `skipped`.
    """
    from paperboy.service.profiles import ProfileNotFound
    from paperboy.service.ranklist import EmptyProfile, RankInputError, UnknownPaper, dedupe, parse_bytes

    pb = services.paperboy(request)
    try:
        cand = pb.ranker.read(body.candidates, files=False)
        if body.candidates_file:
            cand.papers = dedupe(
                cand.papers + parse_bytes(body.candidates_file.encode(), "candidates_file", cand.problems)
            )
        if not cand.papers:
            raise RankInputError("no candidates: give candidate ids or a candidates_file")
        if body.library or body.library_file:
            lib = pb.ranker.read(body.library, files=False)
            if body.library_file:
                lib.papers = dedupe(lib.papers + parse_bytes(body.library_file.encode(), "library_file", lib.problems))
            ranked = pb.ranker.rank(lib.papers, cand.papers)
            skipped = lib.problems + cand.problems
        else:
            user = current_user(request)
            if user is None:
                raise HTTPException(401, "Give a library, or log in to rank for one of your profiles.")
            ranked = pb.ranker.for_profile(user.id, body.profile, cand.papers)
            skipped = cand.problems
    except (ProfileNotFound, UnknownPaper) as exc:
        raise HTTPException(404, str(exc)) from None
    except EmptyProfile as exc:
        raise HTTPException(409, str(exc)) from None
    except RankInputError as exc:
        raise HTTPException(400, str(exc)) from None
    return RankedPublic(data=[r.to_dict() for r in ranked], count=len(ranked), skipped=skipped[:100])
