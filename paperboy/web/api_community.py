"""/api/v1 for discussions and collections: the same service calls as the pages.

Writes need the session cookie and the page's CSRF token in X-CSRF-Token, like votes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, HTTPException, Path, Query, Request
from fastapi.responses import Response

from paperboy.web import params
from paperboy.web.schemas import (
    CollectionEdit,
    CollectionEntryPublic,
    CollectionIn,
    CollectionItemIn,
    CollectionItemPublic,
    CollectionPagePublic,
    CollectionPublic,
    CollectionsPublic,
    CommentEdit,
    CommentIn,
    CommentPublic,
    CommentsPublic,
    ErrorPublic,
    PaperPublic,
)
from paperboy.web.security import check_csrf, current_user

router = APIRouter(prefix="/api/v1", tags=["paperboy API v1: discussions and collections"])

ID_PATTERN = r"^[1-9][0-9]{0,9}$"
PaperId = params.PaperIdPath
CommentId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Comment id.")]
CollectionId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Collection id.")]
CsrfHeader = Annotated[str | None, Header(alias="X-CSRF-Token", max_length=200)]
Limit = Annotated[int, Query(ge=1, le=params.MAX_LIMIT, description="Results per page.")]
Offset = Annotated[int, Query(ge=0, le=params.MAX_OFFSET, description="Results to skip.")]


def _err(description: str) -> dict:
    return {"model": ErrorPublic, "description": description}


BAD = {
    400: _err("Bad parameter or a body the rules refuse (empty, too long, spam), with the reason"),
    422: {"description": "The JSON body or a parameter does not match the schema"},
}
AUTH = {401: _err("Not logged in"), 403: _err("Missing or wrong CSRF token, or not yours to change")}
NOT_FOUND = {404: _err("No such paper, comment or collection (private collections of others are not found)")}
CONFLICT = {
    409: _err("A collection of yours already has that name, or you hold the most collections or papers allowed")
}
LIMITED = {429: _err("Too many comments from this account; Retry-After says when to try again")}
DELETES = {"status_code": 204, "response_class": Response, "responses": {**BAD, **AUTH, **NOT_FOUND}}


def _user(request: Request, token: str | None, what: str):
    user = current_user(request)
    if user is None:
        raise HTTPException(401, f"Log in to {what} (session cookie), and send the page's CSRF token in X-CSRF-Token.")
    check_csrf(request, token)
    return user


# -- discussions ----------------------------------------------------------------------------------


@router.get("/comments", response_model=CommentsPublic, responses=BAD)
def recent_comments(request: Request, limit: Limit = 20, offset: Offset = 0) -> CommentsPublic:
    """The newest comments on any paper, newest first."""
    items, total = request.app.state.pb.comments.recent(limit, offset)
    return CommentsPublic(data=[CommentPublic.of(c) for c in items], count=total)


@router.get("/papers/{paper_id:path}/comments", response_model=CommentsPublic, responses={**BAD, **NOT_FOUND})
def paper_comments(request: Request, paper_id: PaperId) -> CommentsPublic:
    """A paper's discussion in reading order (each reply after its parent)."""
    key = params.paper_key(paper_id)
    items = request.app.state.pb.comments.thread(key, current_user(request))
    return CommentsPublic(data=[CommentPublic.of(c) for c in items], count=len(items))


@router.post(
    "/papers/{paper_id:path}/comments",
    response_model=CommentPublic,
    status_code=201,
    responses={**BAD, **AUTH, **NOT_FOUND, **LIMITED},
)
def post_comment(request: Request, paper_id: PaperId, comment: CommentIn, x_csrf_token: CsrfHeader = None):
    """Comment on a paper, or reply to one of its comments (`parent_id`)."""
    key = params.paper_key(paper_id)
    user = _user(request, x_csrf_token, "comment")
    c = request.app.state.pb.comments.add(user, key, comment.body, comment.parent_id)
    return CommentPublic.of(c)


@router.patch("/comments/{comment_id}", response_model=CommentPublic, responses={**BAD, **AUTH, **NOT_FOUND, **LIMITED})
def edit_comment(request: Request, comment_id: CommentId, edit: CommentEdit, x_csrf_token: CsrfHeader = None):
    """Change the text of your own comment."""
    user = _user(request, x_csrf_token, "edit comments")
    return CommentPublic.of(request.app.state.pb.comments.edit(user, comment_id, edit.body))


@router.delete("/comments/{comment_id}", **DELETES)
def delete_comment(request: Request, comment_id: CommentId, x_csrf_token: CsrfHeader = None) -> Response:
    """Delete your own comment (replies to it stay, under a "[deleted]" placeholder)."""
    user = _user(request, x_csrf_token, "delete comments")
    request.app.state.pb.comments.delete(user, comment_id)
    return Response(status_code=204)


# -- collections ----------------------------------------------------------------------------------


@router.get("/collections", response_model=CollectionsPublic, responses={**BAD, 401: _err("Not logged in")})
def my_collections(request: Request) -> CollectionsPublic:
    """Your collections, most recently changed first."""
    user = current_user(request)
    if user is None:
        raise HTTPException(401, "Log in to list your collections (session cookie).")
    items = request.app.state.pb.collections.mine(user)
    return CollectionsPublic(data=[CollectionPublic.of(c) for c in items], count=len(items))


@router.post("/collections", response_model=CollectionPublic, status_code=201, responses={**BAD, **AUTH, **CONFLICT})
def create_collection(request: Request, collection: CollectionIn, x_csrf_token: CsrfHeader = None):
    """Create a collection (private unless `public`)."""
    user = _user(request, x_csrf_token, "create collections")
    c = request.app.state.pb.collections.create(user, collection.name, collection.description, collection.public)
    return CollectionPublic.of(c)


@router.get("/collections/{collection_id}", response_model=CollectionPagePublic, responses={**BAD, **NOT_FOUND})
def collection(
    request: Request, collection_id: CollectionId, limit: Limit = 50, offset: Offset = 0
) -> CollectionPagePublic:
    """A public collection (or one of yours) with its papers, newest added first, and their notes."""
    user = current_user(request)
    pb = request.app.state.pb
    c, entries, total = pb.collections.entries(collection_id, user, limit, offset)
    views = pb.community.views([e.paper for e in entries], user)
    data = [
        CollectionEntryPublic(paper=PaperPublic.of(v, logged_in=user is not None), note=e.note, added_at=e.added_at)
        for v, e in zip(views, entries)
    ]
    return CollectionPagePublic(collection=CollectionPublic.of(c), data=data, count=total)


@router.patch(
    "/collections/{collection_id}", response_model=CollectionPublic, responses={**BAD, **AUTH, **NOT_FOUND, **CONFLICT}
)
def edit_collection(
    request: Request, collection_id: CollectionId, edit: CollectionEdit, x_csrf_token: CsrfHeader = None
) -> CollectionPublic:
    """Rename a collection of yours, change its description, make it public or private."""
    user = _user(request, x_csrf_token, "change collections")
    c = request.app.state.pb.collections.update(
        user, collection_id, name=edit.name, description=edit.description, public=edit.public
    )
    return CollectionPublic.of(c)


@router.delete("/collections/{collection_id}", **DELETES)
def delete_collection(request: Request, collection_id: CollectionId, x_csrf_token: CsrfHeader = None) -> Response:
    user = _user(request, x_csrf_token, "delete collections")
    request.app.state.pb.collections.delete(user, collection_id)
    return Response(status_code=204)


@router.put(
    "/collections/{collection_id}/papers/{paper_id:path}",
    response_model=CollectionItemPublic,
    responses={**BAD, **AUTH, **NOT_FOUND, **CONFLICT},
)
def put_paper(
    request: Request,
    collection_id: CollectionId,
    paper_id: PaperId,
    item: Annotated[CollectionItemIn | None, Body()] = None,
    x_csrf_token: CsrfHeader = None,
) -> CollectionItemPublic:
    """Put a paper into a collection of yours, with an optional note (repeating it updates the note)."""
    key = params.paper_key(paper_id)
    user = _user(request, x_csrf_token, "change collections")
    cols = request.app.state.pb.collections
    added = cols.add(user, collection_id, key, item.note if item else None)
    return CollectionItemPublic(collection_id=collection_id, paper_id=request.app.state.pb.paper(key).id, added=added)


@router.delete(
    "/collections/{collection_id}/papers/{paper_id:path}",
    status_code=204,
    response_class=Response,
    responses={**BAD, **AUTH, **NOT_FOUND},
)
def remove_paper(
    request: Request, collection_id: CollectionId, paper_id: PaperId, x_csrf_token: CsrfHeader = None
) -> Response:
    key = params.paper_key(paper_id)
    user = _user(request, x_csrf_token, "change collections")
    request.app.state.pb.collections.remove(user, collection_id, key)
    return Response(status_code=204)
