"""Account upkeep pages: email verification, password reset by emailed link, and the settings page
(change email, change password, delete the account with its data).

Links in emails are built from `settings.base_url`, never from the request's Host header (a forged
Host would otherwise send someone a reset link to the attacker's site).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Path, Query, Request
from fastapi.responses import RedirectResponse

from paperboy.service.community import AuthError, CommunityError, InvalidLink, RateLimited, User
from paperboy.web import params, services
from paperboy.web.render import followed_link, form_again, message_page, render
from paperboy.web.security import (
    SESSION_COOKIE,
    check_csrf,
    clear_session_cookie,
    client_address,
    form_user,
    page_user,
    set_session_cookie,
)

log = logging.getLogger("paperboy.web")
router = APIRouter(include_in_schema=False)

Field = Annotated[str, Form(max_length=2000)]
OptField = Annotated[str | None, Form(max_length=2000)]
Secret = Annotated[str, Form(max_length=params.MAX_QUERY_CHARS * 4)]
Token = Annotated[str, Path(min_length=10, max_length=1000, pattern=r"^[A-Za-z0-9_.\-]+$")]


def _link(request: Request, path: str) -> str:
    return request.app.state.settings.base_url.rstrip("/") + path


def _send(settings, msg) -> None:
    from paperboy.email.account import send_account_mail

    send_account_mail(settings, msg)


def queue_verification(request: Request, background: BackgroundTasks, user: User) -> None:
    """Email `user` a verification link after the response is sent."""
    from paperboy.email.account import verification_mail

    token = services.community(request).verification_token(user)
    msg = verification_mail(request.app.state.settings, user.email, _link(request, "/verify/" + token))
    background.add_task(_send, request.app.state.settings, msg)


# -- verification ---------------------------------------------------------------------------------


@router.get("/verify/{token}")
def verify(request: Request, token: Token):
    # GET, because the emailed link is what proves the address; it only ever marks that address verified.
    follow = services.community(request).verify_email
    return followed_link(
        request, InvalidLink, "Email confirmed", lambda: f"{follow(token).email} is confirmed: your upvotes count now."
    )


# -- password reset -------------------------------------------------------------------------------


@router.get("/forgot")
def forgot_form(request: Request):
    return render(request, "forgot.html", {"error": None, "sent": False, "email": ""})


@router.post("/forgot")
def forgot(request: Request, background: BackgroundTasks, email: Field, csrf_token: OptField = None):
    check_csrf(request, csrf_token)
    com = services.community(request)
    try:  # as many reset emails per address and hour as sign-ups: both send mail to any address typed in
        com.throttle(
            "reset",
            client_address(request),
            request.app.state.settings.signup_max_per_hour,
            "Too many reset requests from your network; try again in {minutes} minutes.",
        )
    except RateLimited as exc:
        return form_again(request, "forgot.html", {"sent": False, "email": email[:254]}, exc)
    com.record_client_event("reset", client_address(request))
    found = com.reset_token(email)
    if found is not None:
        from paperboy.email.account import reset_mail

        user, token = found
        msg = reset_mail(request.app.state.settings, user.email, _link(request, "/reset/" + token))
        background.add_task(_send, request.app.state.settings, msg)
    # The same answer whether or not an account has this email: the form does not reveal who has one.
    return render(request, "forgot.html", {"error": None, "sent": True, "email": email[:254]})


@router.get("/reset/{token}")
def reset_form(request: Request, token: Token):
    try:
        user = services.community(request).check_reset_token(token)
    except InvalidLink as exc:
        return message_page(request, "Link not valid", str(exc), status=400)
    return render(request, "reset.html", {"token": token, "email": user.email, "error": None})


@router.post("/reset/{token}")
def reset(request: Request, token: Token, password: Secret, csrf_token: OptField = None):
    check_csrf(request, csrf_token)
    com = services.community(request)
    try:
        user = com.reset_password(token, password)
    except InvalidLink as exc:
        return message_page(request, "Link not valid", str(exc), status=400)
    except CommunityError as exc:
        return render(request, "reset.html", {"token": token, "email": "", "error": str(exc)}, status_code=400)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        com.end_session(old)
    resp = RedirectResponse("/settings?done=password", status_code=303)
    set_session_cookie(request, resp, com.start_session(user))
    return resp


# -- settings -------------------------------------------------------------------------------------

DONE = {
    "password": "Your password is changed; other devices were logged out.",
    "email": "Your email is changed. We sent a link to the new address: your votes count again once you follow it.",
    "sent": "We sent a new verification link; it may take a minute to arrive.",
}


def _settings_page(request: Request, user: User, error: str | None = None, status: int = 200, done: str | None = None):
    return render(
        request, "settings.html", {"account": user, "error": error, "done": DONE.get(done or "")}, status_code=status
    )


def _settings_refused(request: Request, user: User, exc: CommunityError):
    return _settings_page(request, user, str(exc), 401 if isinstance(exc, AuthError) else 400)


@router.get("/settings")
def settings_page(request: Request, done: Annotated[str | None, Query(max_length=20)] = None):
    user = page_user(request, "/settings")
    return _settings_page(request, user, done=done)


@router.post("/settings/verify")
def resend_verification(request: Request, background: BackgroundTasks, csrf_token: OptField = None):
    user = form_user(request, csrf_token, "/settings")
    if not user.verified:
        queue_verification(request, background, user)
    return RedirectResponse("/settings?done=sent", status_code=303)


@router.post("/settings/email")
def change_email(
    request: Request, background: BackgroundTasks, email: Field, password: Secret, csrf_token: OptField = None
):
    user = form_user(request, csrf_token, "/settings")
    try:
        changed = services.community(request).change_email(user, password, email)
    except CommunityError as exc:
        return _settings_refused(request, user, exc)
    if not changed.verified:
        queue_verification(request, background, changed)
    return RedirectResponse("/settings?done=email", status_code=303)


@router.post("/settings/password")
def change_password(request: Request, current: Secret, new: Secret, csrf_token: OptField = None):
    user = form_user(request, csrf_token, "/settings")
    try:
        services.community(request).change_password(
            user, current, new, keep_session=request.cookies.get(SESSION_COOKIE)
        )
    except CommunityError as exc:
        return _settings_refused(request, user, exc)
    return RedirectResponse("/settings?done=password", status_code=303)


@router.post("/settings/delete")
def delete_account(request: Request, password: Secret, confirm: OptField = None, csrf_token: OptField = None):
    user = form_user(request, csrf_token, "/settings")
    if confirm != "delete":
        return _settings_page(request, user, "Tick the box to confirm that the account and its data go for good.", 400)
    try:
        counts = services.community(request).delete_account(user, password)
    except CommunityError as exc:
        return _settings_refused(request, user, exc)
    resp = message_page(
        request,
        "Account deleted",
        f"{user.email} and its data are gone: {counts['votes']} votes, {counts['saved papers']} saved "
        f"papers, {counts['saved searches']} saved searches, {counts['subscriptions']} digest "
        "subscription(s).",
    )
    clear_session_cookie(request, resp)
    return resp
