"""Account pages and form actions: sign up, log in/out, votes, library, saved searches, submissions.

Every POST checks the CSRF token first; actions answer with a 303 redirect (post/redirect/get).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, BackgroundTasks, Form, HTTPException, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from paperboy.service.community import AuthError, CommunityError, RateLimited
from paperboy.web import params, services
from paperboy.web.account_pages import queue_verification
from paperboy.web.render import form_again, render
from paperboy.web.security import (
    SESSION_COOKIE,
    check_csrf,
    clear_session_cookie,
    client_address,
    current_user,
    form_user,
    page_user,
    safe_next,
    set_session_cookie,
)
from paperboy.web.urls import paper_url

router = APIRouter(include_in_schema=False)

Field = Annotated[str, Form(max_length=2000)]
OptField = Annotated[str | None, Form(max_length=2000)]
Secret = Annotated[str, Form(max_length=params.MAX_QUERY_CHARS * 4)]
Next = Annotated[str | None, Query(max_length=2000)]
Action = Annotated[str, Form(max_length=10)]


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# -- sign up / log in / log out -------------------------------------------------------------------


SIGNUP_CATEGORIES = 16  # the instance's biggest categories offered at sign-up (cold start)


def _signup_ctx(request: Request, **ctx) -> dict:
    return {"categories": services.community(request).categories()[:SIGNUP_CATEGORIES], "chosen": [], **ctx}


@router.get("/signup")
def signup_form(request: Request, next: Next = None):
    if current_user(request):  # already in: carry on to where the visitor was going
        return _see_other(safe_next(next))
    return render(request, "signup.html", _signup_ctx(request, next=safe_next(next), error=None, email=""))


@router.post("/signup")
def signup(
    request: Request,
    background: BackgroundTasks,
    email: Field,
    password: Secret,
    category: Annotated[list[str] | None, Form(max_length=SIGNUP_CATEGORIES)] = None,
    csrf_token: OptField = None,
    next: OptField = None,
):
    """Create the account and log in; with categories chosen, go on to pick papers that start the first profile."""
    check_csrf(request, csrf_token)
    com = services.community(request)
    chosen = [c[:64] for c in category or [] if c.strip()]
    ctx = _signup_ctx(request, next=safe_next(next), email=email[:254], chosen=chosen)
    try:
        user = com.sign_up(email, password, client_address(request))
    except CommunityError as exc:
        return form_again(request, "signup.html", ctx, exc, 400)
    queue_verification(request, background, user)
    target = safe_next(next)
    if chosen:  # cold start: a short, diverse list of those categories' papers; the picks start the profile
        first = services.paperboy(request).profiles.default(user.id)
        query = urlencode([("category", c) for c in chosen] + [("next", safe_next(next, "/recommended"))])
        target = f"/profiles/{first.id}/start?{query}"
    return _logged_in(request, com.start_session(user), target)


@router.get("/login")
def login_form(request: Request, next: Next = None):
    if current_user(request):
        return _see_other(safe_next(next))
    return render(request, "login.html", {"next": safe_next(next), "error": None, "email": ""})


@router.post("/login")
def login(request: Request, email: Field, password: Secret, csrf_token: OptField = None, next: OptField = None):
    check_csrf(request, csrf_token)
    com = services.community(request)
    ctx = {"next": safe_next(next), "email": email[:254]}
    try:
        user = com.log_in(email, password, client_address(request))
    except (RateLimited, AuthError) as exc:
        return form_again(request, "login.html", ctx, exc, 401)
    return _logged_in(request, com.start_session(user), safe_next(next))


def _logged_in(request: Request, token: str, target: str) -> Response:
    # A fresh token on every login: a session id planted before login is worthless after it.
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        services.community(request).end_session(old)
    resp = _see_other(target)
    set_session_cookie(request, resp, token)
    return resp


@router.post("/logout")
def logout(request: Request, csrf_token: OptField = None):
    check_csrf(request, csrf_token)
    services.community(request).end_session(request.cookies.get(SESSION_COOKIE))
    resp = _see_other("/")
    clear_session_cookie(request, resp)
    return resp


# -- votes and saved papers (form fallbacks of the JSON vote API) ---------------------------------


@router.post("/papers/{paper_id:path}/vote")
def vote(request: Request, paper_id: str, action: Action = "up", csrf_token: OptField = None, next: OptField = None):
    com, client = services.community(request), client_address(request)
    do = {"up": lambda u, k: com.upvote(u, k, client), "down": lambda u, k: com.unvote(u, k, client)}
    return _toggle(request, paper_id, action, do, csrf_token, next)


@router.post("/papers/{paper_id:path}/save")
def save(request: Request, paper_id: str, action: Action = "save", csrf_token: OptField = None, next: OptField = None):
    com = services.community(request)
    return _toggle(request, paper_id, action, {"save": com.save_paper, "unsave": com.unsave_paper}, csrf_token, next)


def _toggle(request: Request, paper_id: str, action: str | None, do: dict, csrf_token: str | None, back: str | None):
    """A card's toggle form: `do[action](user, paper)` (the first action by default), then back where the reader was."""
    key = params.paper_key(paper_id)
    user = form_user(request, csrf_token, back or paper_url(key))
    actions = tuple(do)
    view = do[params.choice(action, actions, "action", actions[0])](user, key)
    return _see_other(safe_next(back, paper_url(view.paper)))


@router.get("/library")
def library(
    request: Request,
    tab: Annotated[str | None, Query(max_length=20)] = None,
    page: Annotated[int, Query(ge=1, le=params.MAX_PAGE)] = 1,
):
    """The user's upvoted and saved papers."""
    user = page_user(request)
    tab = params.choice(tab, ("upvoted", "saved"), "tab", "upvoted")
    listing = services.community(request).library(user, tab, params.PER_PAGE, (page - 1) * params.PER_PAGE)
    return render(
        request,
        "library.html",
        {
            "tab": tab,
            "items": listing.items,
            "offset": (page - 1) * params.PER_PAGE,
            **params.pagination(listing.total, page),
        },
    )


# -- saved searches -------------------------------------------------------------------------------


@router.get("/searches")
def saved_searches(request: Request):
    user = page_user(request)
    searches = services.community(request).saved_searches(user)
    profiles = services.paperboy(request).profiles.of(user.id)
    names = {p.id: p.name for p in profiles if not p.is_default} if len(profiles) > 1 else {}
    return render(
        request,
        "searches.html",
        {"searches": [(s, _search_url(s)) for s in searches], "profile_names": names, "default": profiles[0].name},
    )


def _search_url(s) -> str:
    f = s.filters
    q = {
        "q": s.query,
        "category": (f.get("categories") or [""])[0],
        "since": f.get("since", ""),
        "until": f.get("until", ""),
        "sort": f.get("sort", ""),
    }
    return "/search?" + urlencode({k: v for k, v in q.items() if v})


@router.post("/searches")
def save_search(
    request: Request,
    q: OptField = None,
    category: OptField = None,
    since: OptField = None,
    until: OptField = None,
    sort: OptField = None,
    profile: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
    csrf_token: OptField = None,
):
    """Save a search for one of the reader's profiles (the default one when none is chosen)."""
    check_csrf(request, csrf_token)
    query = params.query_text(q)
    user = page_user(request, "/search?" + urlencode({"q": query}))
    f = params.filters([category] if category else [], since, until)
    sort_ = params.choice(sort, params.SORTS, "sort", "relevance")
    filters = {
        "categories": list(f.categories),
        "since": f.since.isoformat() if f.since else None,
        "until": f.until.isoformat() if f.until else None,
        "sort": sort_ if sort_ != "relevance" else None,
    }
    try:
        services.paperboy(request).profiles.save_search(user, query, filters, profile)  # another's profile: 404
    except CommunityError as exc:
        raise HTTPException(400, str(exc)) from None
    return _see_other("/searches")


@router.post("/searches/{search_id}/delete")
def delete_search(request: Request, search_id: Annotated[int, Path(ge=1, le=2**31)], csrf_token: OptField = None):
    user = form_user(request, csrf_token, "/searches")
    services.community(request).delete_saved_search(user, search_id)
    return _see_other("/searches")


# -- submissions ----------------------------------------------------------------------------------


@router.get("/submit")
def submit_form(request: Request):
    user = page_user(request)
    return render(
        request,
        "submit.html",
        {"submissions": services.community(request).submissions(user), "error": None, "value": ""},
    )


@router.post("/submit")
def submit(request: Request, background: BackgroundTasks, paper: Field, csrf_token: OptField = None):
    user = form_user(request, csrf_token, "/submit")
    com = services.community(request)
    try:
        sub = com.submit(user, paper)
    except RateLimited:
        raise  # the app's 429 with Retry-After, not the form again
    except CommunityError as exc:
        return render(
            request,
            "submit.html",
            {"submissions": com.submissions(user), "error": str(exc), "value": paper[:300]},
            status_code=400,
        )
    if sub.state == "queued":
        # Runs after the response is sent, in the thread pool; the page shows the state on reload.
        background.add_task(services.fetch_submitted, request.app)
    return _see_other("/submit#submission-" + quote(str(sub.id)))
