"""Collection pages and form actions: your collections, a collection's shareable page and BibTeX, add/remove papers.

Every POST checks the CSRF token first and answers with a 303 (post/redirect/get).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse, RedirectResponse

from paperboy.service.collections import (
    MAX_DESCRIPTION,
    MAX_NAME,
    MAX_NOTE,
    CollectionError,
)
from paperboy.service.export import bibtex_many
from paperboy.web import errors, params
from paperboy.web.render import render
from paperboy.web.security import check_csrf, current_user, form_user, page_user, safe_next

router = APIRouter(include_in_schema=False)

OptText = Annotated[str | None, Form(max_length=MAX_DESCRIPTION + 1000)]
MAX_ID = 2**31 - 1
PER_PAGE = 50


def collection_id(value: str) -> int:
    """A collection id from a path or form (1 .. 2^31-1); 404 for anything else, as for an unknown one."""
    if not value.isascii() or not value.isdigit() or len(value) > 10 or not 0 < int(value) <= MAX_ID:
        raise HTTPException(404, f"No collection {value[:20]!r} here.")
    return int(value)


def _back(target: str | None, default: str) -> RedirectResponse:
    return RedirectResponse(safe_next(target, default), status_code=303)


@router.get("/collections")
def my_collections(request: Request):
    """The viewer's collections and a form for a new one."""
    user = page_user(request, "/collections")
    return render(
        request,
        "collections.html",
        {
            "collections": request.app.state.pb.collections.mine(user),
            "error": None,
            "limits": (MAX_NAME, MAX_DESCRIPTION),
        },
    )


@router.post("/collections")
def create_collection(
    request: Request,
    name: OptText = None,
    description: OptText = None,
    public: OptText = None,
    csrf_token: OptText = None,
    paper: OptText = None,
    next: OptText = None,
):
    """Create a collection (and put `paper` in it right away when given, e.g. from a card)."""
    user = form_user(request, csrf_token, "/collections")
    pb = request.app.state.pb
    try:
        c = pb.collections.create(user, name, description or "", public == "on")
        if paper:
            pb.collections.add(user, c.id, params.paper_key(paper))
    except CollectionError as exc:
        return render(
            request,
            "collections.html",
            {"collections": pb.collections.mine(user), "error": str(exc), "limits": (MAX_NAME, MAX_DESCRIPTION)},
            status_code=errors.status_of(exc)[0],
        )
    return _back(next, f"/collections/{c.id}")


@router.post("/collections/add")
def add_from_card(
    request: Request,
    collection: OptText = None,
    paper: OptText = None,
    csrf_token: OptText = None,
    next: OptText = None,
):
    """The card's "add to collection" form: put the paper into the chosen collection and go back."""
    user = form_user(request, csrf_token, next or "/")
    key = params.paper_key(paper or "")
    cid = collection_id(collection or "")
    request.app.state.pb.collections.add(user, cid, key)
    return _back(next, f"/collections/{cid}")


@router.get("/collections/{cid}.bib")
def collection_bibtex(request: Request, cid: str):
    """Every paper of the collection as one .bib file."""
    n = collection_id(cid)
    c, entries, _ = request.app.state.pb.collections.entries(n, current_user(request), limit=1000)
    body = bibtex_many([e.paper for e in entries])
    return PlainTextResponse(
        body,
        media_type="application/x-bibtex; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="collection-{c.id}.bib"'},
    )


@router.get("/collections/{cid}")
def collection_page(request: Request, cid: str, page: Annotated[int, Query(ge=1, le=params.MAX_PAGE)] = 1):
    """A collection's shareable page: its papers (newest added first) with notes; the owner edits it here."""
    n = collection_id(cid)
    user = current_user(request)
    pb = request.app.state.pb
    c, entries, total = pb.collections.entries(n, user, PER_PAGE, (page - 1) * PER_PAGE)
    views = pb.community.views([e.paper for e in entries], user)
    share = str(request.base_url).rstrip("/") + f"/collections/{c.id}"
    return render(
        request,
        "collection.html",
        {
            "c": c,
            "rows": list(zip(views, entries)),
            "share_url": share,
            "note_limit": MAX_NOTE,
            "limits": (MAX_NAME, MAX_DESCRIPTION),
            **params.pagination(total, page, PER_PAGE),
        },
    )


@router.post("/collections/{cid}/{action}")
def change_collection(
    request: Request,
    cid: str,
    action: str,
    csrf_token: OptText = None,
    name: OptText = None,
    description: OptText = None,
    public: OptText = None,
    paper: OptText = None,
    note: OptText = None,
    next: OptText = None,
):
    """Owner actions: edit (name, description, public), delete, note (a paper's note), remove (a paper)."""
    check_csrf(request, csrf_token)
    n = collection_id(cid)
    if action not in ("edit", "delete", "note", "remove", "add"):
        raise HTTPException(404, "Collections can be edited, deleted, or have papers added, removed or annotated.")
    user = page_user(request, f"/collections/{n}")
    cols = request.app.state.pb.collections
    if action == "edit":
        cols.update(user, n, name=name, description=description, public=public == "on")
    elif action == "delete":
        cols.delete(user, n)
        return _back(None, "/collections")
    elif action == "remove":
        cols.remove(user, n, params.paper_key(paper or ""))
    else:  # add, note
        cols.add(user, n, params.paper_key(paper or ""), note if note is not None else None)
    return _back(next, f"/collections/{n}")
