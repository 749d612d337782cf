"""Moderation for administrators (settings.admin_emails): the /admin page and /api/v1/admin/... JSON.

Anyone else gets 403 (the page sends a visitor who is not logged in to the login form first; the
API answers 401). Forms check the CSRF token like every other form; the JSON API takes the session
cookie and the page's token in X-CSRF-Token, as the vote API does.
"""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Annotated, get_type_hints
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Form, Header, HTTPException, Path, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field, create_model

from paperboy.service.community import CommunityError, NotFound, User
from paperboy.service.harvest import HarvestError
from paperboy.service.moderation import (
    MAX_ACCOUNT_ID,
    MAX_REASON,
    AdminConflict,
    HiddenPaper,
    LogEntry,
    NotAdmin,
    Voter,
)
from paperboy.web import params, services
from paperboy.web.pages import minutes_ago
from paperboy.web.render import render
from paperboy.web.schemas import NON_BLANK, ErrorPublic
from paperboy.web.security import check_csrf, current_user, safe_next

router = APIRouter()
pages = APIRouter(include_in_schema=False)
api = APIRouter(
    prefix="/api/v1/admin",
    tags=["paperboy API v1: moderation (admins only)"],
    responses={
        401: {"model": ErrorPublic, "description": "Not logged in"},
        403: {"model": ErrorPublic, "description": "Not an administrator, or a missing or wrong CSRF token"},
    },
)
NO_PAPER = {404: {"model": ErrorPublic, "description": "No such paper"}}
NO_ACCOUNT = {404: {"model": ErrorPublic, "description": "No such account"}}

OptField = Annotated[str | None, Form(max_length=2000)]
Reason = Annotated[str | None, Form(max_length=MAX_REASON * 2)]
PaperField = Annotated[str, Form(max_length=300)]
# No account has a larger id (see MAX_ACCOUNT_ID): a clear 422 rather than a database error.
UserId = Annotated[int, Path(ge=1, le=MAX_ACCOUNT_ID)]
FORBIDDEN = "Only administrators can see or do this."


def _admin(request: Request) -> User:
    user = current_user(request)
    if user is None:
        raise HTTPException(401, "Log in as an administrator (session cookie).")
    if not services.is_admin(request, user):
        raise HTTPException(403, FORBIDDEN)
    return user


def _done(request: Request, fn):
    try:
        return fn()
    except NotAdmin:
        raise HTTPException(403, FORBIDDEN) from None
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except AdminConflict as exc:
        raise HTTPException(409, str(exc)) from None
    except CommunityError as exc:
        raise HTTPException(400, str(exc)) from None


# -- the page ------------------------------------------------------------------------------------


@pages.get("/admin")
def admin_page(request: Request, hours: Annotated[int, Query(ge=1, le=24 * 30)] = 24):
    """Hide/unhide papers, the spam view (most votes in the last 24 h), bans and the moderation log."""
    user = current_user(request)
    if user is None:
        return RedirectResponse("/login?" + urlencode({"next": "/admin"}), status_code=303)
    if not services.is_admin(request, user):
        raise HTTPException(403, FORBIDDEN)
    mod = services.moderation(request)
    harvest = services.paperboy(request).harvest
    return render(
        request,
        "admin.html",
        {
            "hours": hours,
            "voters": mod.top_voters(hours),
            "hidden": mod.hidden(),
            "banned": mod.banned(),
            "log": mod.log(100),
            "harvest": harvest.status(),
            "updated": minutes_ago(harvest.last_update()),
        },
    )


def _form_admin(request: Request, csrf_token: str | None) -> User:
    check_csrf(request, csrf_token)
    user = current_user(request)
    if user is None or not services.is_admin(request, user):
        raise HTTPException(403, FORBIDDEN)
    return user


def _form_paper(text: str) -> str:
    """The form takes what an admin pastes: an id, an arXiv id with version, or an arxiv.org URL."""
    from paperboy.models import parse_arxiv_id

    text = text.strip()
    parsed = parse_arxiv_id(text)
    return parsed[0] if parsed else params.paper_key(text)


def _back(next_: str | None) -> RedirectResponse:
    return RedirectResponse(safe_next(next_, "/admin"), status_code=303)


def _form_action(request: Request, csrf_token: str | None, act, next_: str | None = None) -> RedirectResponse:
    """Check the admin and the form's token, then `act(moderation, admin)`, then back to the page."""
    user = _form_admin(request, csrf_token)
    mod = services.moderation(request)
    _done(request, lambda: act(mod, user))
    return _back(next_)


@pages.post("/admin/papers/hide")
def hide_form(
    request: Request, paper: PaperField, reason: Reason = None, csrf_token: OptField = None, next: OptField = None
):
    return _form_action(request, csrf_token, lambda mod, user: mod.hide(user, _form_paper(paper), reason), next)


@pages.post("/admin/papers/unhide")
def unhide_form(
    request: Request, paper: PaperField, reason: Reason = None, csrf_token: OptField = None, next: OptField = None
):
    return _form_action(request, csrf_token, lambda mod, user: mod.unhide(user, _form_paper(paper), reason), next)


@pages.post("/admin/harvest/follow")
def follow_form(request: Request, categories: Annotated[str, Form(max_length=4000)] = "", csrf_token: OptField = None):
    """Set the followed arXiv categories (space or comma separated); empty goes back to the default."""
    user = _form_admin(request, csrf_token)
    wanted = [c for c in re.split(r"[\s,]+", categories) if c]
    try:
        services.paperboy(request).harvest.set_follow(wanted or None, by=user.email)
    except HarvestError as exc:
        raise HTTPException(400, str(exc)) from None
    return _back("/admin#harvest-h")


@pages.post("/admin/users/{user_id}/ban")
def ban_form(request: Request, user_id: UserId, reason: Reason = None, csrf_token: OptField = None):
    return _form_action(request, csrf_token, lambda mod, user: mod.ban(user, user_id, reason))


@pages.post("/admin/users/{user_id}/unban")
def unban_form(request: Request, user_id: UserId, reason: Reason = None, csrf_token: OptField = None):
    return _form_action(request, csrf_token, lambda mod, user: mod.unban(user, user_id, reason))


# -- JSON API ------------------------------------------------------------------------------------


class ReasonIn(BaseModel):
    reason: str = Field(default="", max_length=MAX_REASON, description="Why; kept in the moderation log.")


class ModerationResult(BaseModel):
    ok: bool = True
    changed: bool = Field(description="False when the paper or account already was in that state.")
    votes_removed: int = 0


def _public(record: type, name: str) -> type[BaseModel]:
    """The API shape of a moderation record, field for field: derived, so the two cannot drift apart."""
    hints = get_type_hints(record)
    return create_model(name, **{f.name: (hints[f.name], ...) for f in fields(record)})


HiddenPaperPublic = _public(HiddenPaper, "HiddenPaperPublic")
VoterPublic = _public(Voter, "VoterPublic")
LogEntryPublic = _public(LogEntry, "LogEntryPublic")


CsrfHeader = Annotated[str | None, Header(alias="X-CSRF-Token", max_length=200)]
Body_ = Annotated[ReasonIn | None, Body()]


class HideIn(BaseModel):
    reason: str = Field(min_length=1, max_length=MAX_REASON, pattern=NON_BLANK, description="Why; kept in the log.")


def _api_admin(request: Request, token: str | None) -> User:
    user = _admin(request)
    check_csrf(request, token)
    return user


@api.get("/spam", response_model=list[VoterPublic])
def spam(
    request: Request,
    hours: Annotated[int, Query(ge=1, le=24 * 30)] = 24,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[VoterPublic]:
    """Accounts with the most votes in the last `hours` (the spam view)."""
    _admin(request)
    return [VoterPublic(**_as_dict(v)) for v in services.moderation(request).top_voters(hours, limit)]


def _as_dict(obj) -> dict:
    return {k: getattr(obj, k) for k in obj.__slots__}


@api.get("/hidden", response_model=list[HiddenPaperPublic])
def hidden(request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[HiddenPaperPublic]:
    """Papers hidden by a moderator, most recently hidden first."""
    _admin(request)
    return [HiddenPaperPublic(**_as_dict(h)) for h in services.moderation(request).hidden(limit)]


@api.get("/banned", response_model=list[VoterPublic])
def banned(request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[VoterPublic]:
    """Banned accounts, most recently banned first."""
    _admin(request)
    return [VoterPublic(**_as_dict(v)) for v in services.moderation(request).banned(limit)]


@api.get("/log", response_model=list[LogEntryPublic])
def log(request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[LogEntryPublic]:
    """The moderation log, newest first."""
    _admin(request)
    return [LogEntryPublic(**_as_dict(e)) for e in services.moderation(request).log(limit)]


@api.post("/papers/{paper_id:path}/hide", response_model=ModerationResult, responses=NO_PAPER)
def hide(
    request: Request, paper_id: str, body: Annotated[HideIn, Body()], x_csrf_token: CsrfHeader = None
) -> ModerationResult:
    """Hide a paper from every public surface (a reason is required)."""
    user = _api_admin(request, x_csrf_token)
    key = params.paper_key(paper_id)
    changed = _done(request, lambda: services.moderation(request).hide(user, key, body.reason))
    return ModerationResult(changed=changed)


@api.delete("/papers/{paper_id:path}/hide", response_model=ModerationResult, responses=NO_PAPER)
def unhide(request: Request, paper_id: str, x_csrf_token: CsrfHeader = None) -> ModerationResult:
    """Show a hidden paper again."""
    user = _api_admin(request, x_csrf_token)
    key = params.paper_key(paper_id)
    return ModerationResult(changed=_done(request, lambda: services.moderation(request).unhide(user, key)))


@api.post(
    "/users/{user_id}/ban",
    response_model=ModerationResult,
    responses={**NO_ACCOUNT, 409: {"model": ErrorPublic, "description": "Administrators cannot be banned"}},
)
def ban(request: Request, user_id: UserId, body: Body_ = None, x_csrf_token: CsrfHeader = None) -> ModerationResult:
    """Remove all votes of an account and ban it: no login, votes or submissions; its sessions end."""
    user = _api_admin(request, x_csrf_token)
    mod = services.moderation(request)
    changed, removed = _done(request, lambda: mod.ban(user, user_id, body.reason if body else ""))
    return ModerationResult(changed=changed, votes_removed=removed)


@api.delete("/users/{user_id}/ban", response_model=ModerationResult, responses=NO_ACCOUNT)
def unban(request: Request, user_id: UserId, x_csrf_token: CsrfHeader = None) -> ModerationResult:
    """Let a banned account log in again (removed votes stay removed)."""
    user = _api_admin(request, x_csrf_token)
    return ModerationResult(changed=_done(request, lambda: services.moderation(request).unban(user, user_id)))


router.include_router(pages)
router.include_router(api)
