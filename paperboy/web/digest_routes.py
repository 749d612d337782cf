"""Digest pages: subscribe, confirm, unsubscribe (incl. RFC 8058 one-click POST), "recommended for you",
"not interested", and the admin preview of anyone's next digest.

Include with `app.include_router(digest_routes.router)`; the `Digests` service is created on first
use and kept on `app.state.digests`.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, BackgroundTasks, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from paperboy.service.digests import DigestError, Digests, Options
from paperboy.web import params
from paperboy.web.render import followed_link, message_page, render
from paperboy.web.security import check_csrf, current_user, page_user, safe_next, styled_document_csp

log = logging.getLogger("paperboy.web")
router = APIRouter(include_in_schema=False)
_init_lock = threading.Lock()

Token = Annotated[str, Path(min_length=10, max_length=4000, pattern=r"^[A-Za-z0-9_.\-]+$")]
OptField = Annotated[str | None, Form(max_length=2000)]
Box = Annotated[str | None, Form(max_length=10)]
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
COMMON_ZONES = (
    "UTC",
    "America/Los_Angeles",
    "America/New_York",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Africa/Lagos",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Australia/Sydney",
)


def digests(request: Request) -> Digests:
    """The facade's Digests service."""
    return request.app.state.pb.digests


def _send_now(d: Digests, outbox_id: int) -> None:
    """Send one queued email right after the response; on failure it stays queued for `digest run`."""
    from paperboy.email.send import run_digests

    try:
        rep = run_digests(d, only_id=outbox_id, plan=False)
        if rep.aborted or rep.retry:
            log.warning("confirmation email %s not sent yet: %s", outbox_id, rep.aborted or "temporary failure")
    except Exception:  # the page already answered; the outbox keeps the email for the next run
        log.exception("sending confirmation email %s failed", outbox_id)


def _split(text: str | None, seps: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in re.split(f"[{seps}]", text or "") if x.strip())


# -- subscribe ------------------------------------------------------------------------------------


@router.get("/subscribe")
def subscribe_form(request: Request):
    user = current_user(request)
    d = digests(request)
    sub = d.for_user(user.id) if user else None
    opts = sub.options if sub else Options.defaults(d.settings)
    ctx = _form_ctx(user, sub, opts, None, sub.display_email if sub else user.email if user else "")
    if sub is not None and sub.state == "active":  # your own subscription: leave without opening an email
        ctx["unsubscribe_path"] = "/digest/unsubscribe/" + d.unsubscribe_token(sub)
    return render(request, "digest/subscribe.html", ctx)


def _form_ctx(user, sub, opts: Options, error: str | None, email: str) -> dict:
    return {
        "subscription": sub,
        "opts": opts,
        "error": error,
        "email": email,
        "weekdays": WEEKDAYS,
        "zones": COMMON_ZONES,
        "logged_in": user is not None,
        "unsubscribe_path": None,
    }


@router.post("/subscribe")
def subscribe(
    request: Request,
    background: BackgroundTasks,
    email: OptField = None,
    frequency: Annotated[str, Form(max_length=10)] = "daily",
    hour: Annotated[int, Form(ge=0, le=23)] = 8,
    weekday: Annotated[int, Form(ge=0, le=6)] = 0,
    timezone: Annotated[str, Form(max_length=64)] = "UTC",
    trending: Box = None,
    searches: Box = None,
    recommended: Box = None,
    categories: OptField = None,
    authors: OptField = None,
    csrf_token: OptField = None,
):
    check_csrf(request, csrf_token)
    user = current_user(request)
    d = digests(request)
    address = (email or "").strip() or (user.email if user else "")
    opts = Options(
        frequency=frequency,
        send_hour=hour,
        weekday=weekday,
        timezone=timezone,
        trending=bool(trending),
        searches=bool(searches),
        recommended=bool(recommended),
        categories=_split(categories, ",\\s"),
        authors=_split(authors, ";\\n"),
    )
    # A logged-in reader whose email the account already proved (verification link) changes their own
    # digest at once; any other address still gets the double opt-in email.
    proven = user is not None and user.verified and address.strip().lower() == user.email
    try:
        sub, outbox_id = d.subscribe(address, opts, user_id=user.id if user else None, confirmed=proven)
    except DigestError as exc:
        return render(
            request, "digest/subscribe.html", _form_ctx(user, None, opts, str(exc), address[:254]), status_code=400
        )
    if proven:
        return message_page(
            request,
            "Digest saved",
            f"{sub.display_email} gets a {sub.options.describe()} digest from now on. Change or stop it "
            "here at any time; every email also has a one-click unsubscribe link.",
        )
    if outbox_id is not None:
        background.add_task(_send_now, d, outbox_id)
    return message_page(
        request,
        "Check your inbox",
        f"We sent a confirmation link to {sub.display_email}. Your {opts.validated().describe()} "
        f"digest starts once you follow it (the link works for {d.settings.confirm_hours} hours).",
    )


@router.get("/digest/confirm/{token}")
def confirm(request: Request, token: Token):
    # Confirming on GET is what the emailed link needs; it only ever activates what was asked for.
    return followed_link(
        request, DigestError, "You're subscribed", lambda: _subscribed(digests(request).confirm(token))
    )


def _subscribed(sub) -> str:
    return f"{sub.display_email} gets a {sub.options.describe()} digest. Every email has a one-click unsubscribe link."


# -- unsubscribe ----------------------------------------------------------------------------------


@router.get("/digest/unsubscribe/{token}")
def unsubscribe_page(request: Request, token: Token):
    """A button, not an action: link scanners fetch GET links, and must not unsubscribe anyone."""
    return message_page(
        request,
        "Unsubscribe",
        "Stop getting paperboy digests at this address?",
        form_action=f"/digest/unsubscribe/{token}",
        button="Unsubscribe",
    )


@router.post("/digest/unsubscribe/{token}")
def unsubscribe(request: Request, token: Token):
    """RFC 8058 one-click: the signed token is the authorization, so no cookie or CSRF token is needed."""
    unsubscribe = digests(request).unsubscribe
    said = "{} will get no more digests. You can subscribe again at any time."
    return followed_link(request, DigestError, "Unsubscribed", lambda: said.format(unsubscribe(token).display_email))


# -- recommended for you --------------------------------------------------------------------------


@router.get("/recommended")
def recommended(request: Request, profile: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None):
    user = page_user(request, "/recommended")
    d = digests(request)
    pb = request.app.state.pb
    current = pb.profiles.get(user.id, profile)
    recs = d.recommender.for_user(user.id, limit=params.PER_PAGE, profile_id=current.id)
    views = request.app.state.community.views([p for p, _r in recs], user)
    ratings = pb.profiles.rating_map(current, [p.id for p, _r in recs])
    return render(
        request,
        "digest/recommended.html",
        {
            "items": list(zip(views, [r for _p, r in recs])),
            "profiles": pb.profiles.of(user.id),
            "profile": current,
            "ratings": ratings,
            "has_library": bool(d.recommender.reader(user.id, current.id).library),
        },
    )


@router.post("/recommended/not-interested")
def not_interested(
    request: Request,
    paper: Annotated[str, Form(max_length=100)],
    action: Annotated[str, Form(max_length=10)] = "hide",
    profile: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
    csrf_token: OptField = None,
    next: OptField = None,
):
    """Mark a paper "Not interested" (or undo it) in the profile being viewed: the default profile's marks
    are the reader's own (every page shows them), another profile's are its 👎."""
    check_csrf(request, csrf_token)
    user = page_user(request, "/recommended")
    pb = request.app.state.pb
    key = params.paper_key(paper)
    found = pb.paper(key)
    if found is None:
        raise HTTPException(404, f"No paper with id {key!r}.")
    prof = pb.profiles.get(user.id, profile)  # another reader's profile: 404 (web/errors.py)
    on = action != "undo"
    if prof.is_default:
        digests(request).recommender.mark_not_interested(user.id, found.id, on=on)
    elif on:
        pb.profiles.rate(user.id, prof.id, found.id, -1, origin="web")
    else:
        pb.profiles.unrate(user.id, prof.id, found.id)
    # Back to the page, which offers an Undo after a mark (the paper may have left its list, e.g. /recommended).
    base, _, frag = safe_next(next, "/recommended").partition("#")
    parts = urlsplit(base)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "dismissed"] + ([("dismissed", found.id)] if on else [])
    return RedirectResponse(urlunsplit(("", "", parts.path, urlencode(query), frag)), status_code=303)


@router.get("/not-interested")
def not_interested_list(request: Request):
    """Every paper the reader marked "Not interested", each with an Undo."""
    user = page_user(request, "/not-interested")
    return render(request, "not_interested.html", {"items": request.app.state.community.not_interested(user)})


# -- preview --------------------------------------------------------------------------------------


@router.get("/digest/preview")
def preview(request: Request, email: Annotated[str | None, Query(max_length=300)] = None):
    """The HTML of the next digest: any address for admins (settings.admin_emails), else your own."""
    from paperboy.email.compose import html_part
    from paperboy.email.send import compose_preview

    user = page_user(request, "/digest/preview")
    d = digests(request)
    admins = {a.strip().lower() for a in d.settings.admin_emails}
    target = (email or "").strip() or user.email
    if target.lower() != user.email.lower() and user.email.lower() not in admins:
        raise HTTPException(403, "Only administrators can preview other people's digests.")
    dg = d.preview(target)  # no subscription: the app's 404 (web/errors.py)
    msg = compose_preview(d, dg)
    # Exactly what the subscriber gets, styled: this response carries its own CSP that allows the
    # email's inline styles by hash (the site-wide policy would block them) and no scripts.
    html = html_part(msg)
    return HTMLResponse(
        html, headers={"X-Preview-Of": dg.subscription.email, "Content-Security-Policy": styled_document_csp(html)}
    )
