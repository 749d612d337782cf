"""Atom feeds of discussions (newest comments anywhere, one paper's thread) and of a public collection."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import Response
from feedgen.feed import FeedGenerator

from paperboy.service.comments import CommentError
from paperboy.web import params
from paperboy.web.collection_pages import collection_id
from paperboy.web.feeds import FEED_SIZE, MEDIA, _feed, _x
from paperboy.web.urls import paper_url

router = APIRouter(prefix="/feeds", tags=["feeds"])

ATOM = {"content": {"application/atom+xml": {"schema": {"type": "string"}}}, "description": "An Atom 1.0 feed"}
ERRORS = {
    400: {"description": "A bad id or a control character in the address"},
    404: {"description": "No such paper or collection (private collections are not found either)"},
}
PaperId = params.PaperIdPath
CollectionId = Annotated[str, Path(description="Collection id.", pattern=r"^[1-9][0-9]{0,9}$", max_length=10)]


def _comments_feed(request: Request, title: str, page_path: str, comments) -> Response:
    base = str(request.base_url).rstrip("/")
    fg = FeedGenerator()
    fg.id(base + page_path)
    fg.title(_x(title))
    fg.subtitle(_x(title))
    fg.link(href=base + page_path, rel="alternate")
    fg.link(href=_x(str(request.url)), rel="self")
    fg.language("en")
    fg.generator("paperboy")
    fg.updated(max((c.edited_at or c.created_at for c in comments), default=datetime.now(timezone.utc)))
    for c in comments:
        url = f"{base}{paper_url(c.paper_id)}#comment-{c.id}"
        fe = fg.add_entry(order="append")
        fe.id(url)
        about = f" on {c.paper_title}" if c.paper_title else ""
        fe.title(_x(f"{c.author}{about}"))
        fe.link(href=url, rel="alternate")
        fe.author(name=_x(c.author))
        fe.content(_x(c.html), type="html")  # sanitised HTML; the feed escapes it once more
        fe.published(c.created_at)
        fe.updated(c.edited_at or c.created_at)
    return Response(fg.atom_str(pretty=True), media_type=MEDIA["atom"])


@router.get("/comments.atom", response_class=Response, responses={200: ATOM, 400: ERRORS[400]})
def recent_comments_feed(request: Request):
    """The newest comments on any paper, newest first."""
    items, _ = request.app.state.pb.comments.recent(FEED_SIZE)
    return _comments_feed(request, "paperboy: newest discussions", "/discussions", items)


@router.get("/papers/{paper_id:path}/comments.atom", response_class=Response, responses={200: ATOM, **ERRORS})
def thread_feed(request: Request, paper_id: PaperId):
    """One paper's discussion, oldest first (deleted and hidden comments left out)."""
    key = params.paper_key(paper_id)
    pb = request.app.state.pb
    paper = pb.paper(key)
    if paper is None:
        raise HTTPException(404, f"No paper with id {key}.")
    try:
        items = [c for c in pb.comments.thread(paper.id) if c.state == "live"]
    except CommentError as exc:
        raise HTTPException(404, str(exc)) from None
    for c in items:
        c.paper_title = paper.title
    return _comments_feed(request, f"paperboy: discussion of “{paper.title}”", paper_url(paper), items[-FEED_SIZE:])


@router.get("/collections/{cid}.atom", response_class=Response, responses={200: ATOM, **ERRORS})
def collection_feed(request: Request, cid: CollectionId):
    """A public collection's papers, newest added first."""
    n = collection_id(cid)
    pb = request.app.state.pb
    c, entries, _ = pb.collections.entries(n, None, FEED_SIZE)
    views = pb.community.views([e.paper for e in entries])
    return _feed(
        request,
        "atom",
        f"paperboy collection: {c.name}",
        f"/collections/{c.id}",
        c.description or f"Papers collected by {c.owner}.",
        views,
    )
