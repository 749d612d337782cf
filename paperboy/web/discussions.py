"""Discussion pages and form actions: post, reply, edit and delete comments; newest discussions; admins hide comments.

Every POST checks the CSRF token first and answers with a 303 back to the thread (post/redirect/get);
a refused comment re-renders the paper page with the reason and the text the user wrote.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse

from paperboy.service.comments import MAX_BODY, CommentError, CommentForbidden, CommentNotFound
from paperboy.web import errors, params
from paperboy.web.render import render
from paperboy.web.security import check_csrf, current_user, form_user, page_user
from paperboy.web.urls import paper_url

router = APIRouter(include_in_schema=False)

# A little above the limit, so an over-long comment reaches the service and its clear message.
Body = Annotated[str, Form(max_length=MAX_BODY + 1000)]
OptText = Annotated[str | None, Form(max_length=2000)]
MAX_ID = 2**31 - 1


def comment_id(value: str) -> int:
    """A comment id from a path or form (1 .. 2^31-1); 404 for anything else, as for an unknown one."""
    if not value.isascii() or not value.isdigit() or len(value) > 10 or not 0 < int(value) <= MAX_ID:
        raise HTTPException(404, f"No comment {value[:20]!r}.")
    return int(value)


def _refused(request: Request, paper_key: str, exc: CommentError, body: str, parent: int | None = None):
    """The paper page again with the reason and the draft; not found / not yours are the app's 404 / 403."""
    if isinstance(exc, (CommentNotFound, CommentForbidden)):
        raise exc
    from paperboy.web.pages import paper_context

    paper = request.app.state.pb.paper(paper_key)
    if paper is None:
        raise HTTPException(404, f"No paper with id {paper_key}.")
    ctx = paper_context(request, paper.id)
    ctx.update(comment_error=str(exc), comment_draft=body[:MAX_BODY], comment_parent=parent)
    status, headers = errors.status_of(exc)
    return render(request, "paper.html", ctx, status_code=status, headers=headers)


@router.post("/papers/{paper_id:path}/comments")
def post_comment(request: Request, paper_id: str, body: Body, csrf_token: OptText = None, parent_id: OptText = None):
    """Post a comment or a reply; back to the thread at the new comment."""
    check_csrf(request, csrf_token)
    key = params.paper_key(paper_id)
    user = page_user(request, paper_url(key) + "#discussion")
    parent = comment_id(parent_id) if parent_id else None
    pb = request.app.state.pb
    try:
        c = pb.comments.add(user, key, body, parent)
    except CommentError as exc:
        return _refused(request, key, exc, body, parent)
    return RedirectResponse(f"{paper_url(c.paper_id)}#comment-{c.id}", status_code=303)


@router.post("/comments/{cid}/edit")
def edit_comment(request: Request, cid: str, body: Body, csrf_token: OptText = None):
    check_csrf(request, csrf_token)
    n = comment_id(cid)
    user = page_user(request, "/discussions")
    pb = request.app.state.pb
    try:
        c = pb.comments.edit(user, n, body)
    except (CommentNotFound, CommentForbidden):
        raise
    except CommentError as exc:
        return _refused(request, pb.comments.get(n, user).paper_id, exc, body)
    return RedirectResponse(f"{paper_url(c.paper_id)}#comment-{c.id}", status_code=303)


@router.post("/comments/{cid}/delete")
def delete_comment(request: Request, cid: str, csrf_token: OptText = None):
    check_csrf(request, csrf_token)
    n = comment_id(cid)
    user = page_user(request, "/discussions")
    pb = request.app.state.pb
    paper_id = pb.comments.get(n, user).paper_id
    pb.comments.delete(user, n)
    return RedirectResponse(f"{paper_url(paper_id)}#discussion", status_code=303)


@router.post("/admin/comments/{cid}/{action}")
def moderate_comment(request: Request, cid: str, action: str, csrf_token: OptText = None, reason: OptText = None):
    """Hide (with a reason) or unhide a comment; administrators only, logged in the moderation log."""
    check_csrf(request, csrf_token)
    if action not in ("hide", "unhide"):
        raise HTTPException(404, "Comments can be hidden or unhidden.")
    n = comment_id(cid)
    user = current_user(request)
    pb = request.app.state.pb
    if not pb.moderation.is_admin(user):
        raise HTTPException(403, "Only administrators can do this.")
    pb.comments.set_hidden(user, n, action == "hide", reason or "")
    paper_id = pb.comments.get(n, user).paper_id
    return RedirectResponse(f"{paper_url(paper_id)}#comment-{n}", status_code=303)


@router.get("/discussions")
def discussions(request: Request, page: Annotated[int, Query(ge=1, le=params.MAX_PAGE)] = 1, error: str | None = None):
    """The newest comments on any paper, and the viewer's comment-email switch."""
    per = params.PER_PAGE
    pb = request.app.state.pb
    items, total = pb.comments.recent(per, (page - 1) * per)
    user = current_user(request)
    return render(
        request,
        "discussions.html",
        {
            "items": items,
            **params.pagination(total, page, per),
            "emails": pb.comments.comment_emails(user) if user else None,
            "email_error": error,
        },
    )


@router.post("/discussions/emails")
def comment_emails(request: Request, csrf_token: OptText = None, on: OptText = None):
    """Opt in to (or out of) emails about new comments on papers you commented on."""
    user = form_user(request, csrf_token, "/discussions")
    try:
        request.app.state.pb.comments.set_comment_emails(user, on == "on")
    except CommentError as exc:
        return render(request, "error.html", {"status": 400, "message": str(exc)}, status_code=400)
    return RedirectResponse("/discussions#emails", status_code=303)


@router.api_route("/discussions/emails/off/{token}", methods=["GET", "POST"])
def comment_emails_off(request: Request, token: str):
    """The link in every comment email (and its RFC 8058 one-click POST): no more comment emails."""
    try:
        request.app.state.pb.comments.emails_off(token)
    except CommentError as exc:
        raise HTTPException(404, str(exc)) from None
    return render(
        request,
        "notice.html",
        {
            "heading": "Comment emails are off",
            "message": "No more emails about comments. You can switch them on again on the Discussions page.",
        },
    )
