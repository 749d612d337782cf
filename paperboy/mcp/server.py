"""An MCP server (the official `mcp` SDK's MCPServer) over one Paperboy facade.

Tools: search_papers, get_paper, similar_papers, trending, daily_papers; resource `paper://{paper_id}`
(the paper as Markdown). Tool errors (an unknown paper, a bad window or date) come back to the
agent as MCP tool errors with the message, never as a crashed server.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError

from paperboy.models import SearchFilters
from paperboy.service import Paperboy
from paperboy.service.export import markdown

MAX_LIMIT = 100


def _paper_dict(p, score: float | None = None, upvotes: int | None = None) -> dict[str, Any]:
    out = {
        "id": p.id,
        "title": p.title,
        "authors": p.authors,
        "categories": p.categories,
        "date": str(p.published or p.listed or "") or None,
        "url": p.abs_url,
        "pdf_url": p.pdf_url,
        "code_url": p.code_url,
        "upvotes": upvotes if upvotes is not None else p.upvotes,
        "abstract": p.abstract,
    }
    if score is not None:
        out["score"] = round(float(score), 6)
    return out


def _limit(n: int) -> int:
    if not 1 <= n <= MAX_LIMIT:
        raise ToolError(f"limit must be between 1 and {MAX_LIMIT}")
    return n


def _day(text: str | None, what: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise ToolError(f"{what} must be a date like 2026-07-01, not {text!r}") from None


def build_server(pb: Paperboy) -> MCPServer:
    """The MCP server with paperboy's tools and the paper resource, bound to `pb`."""
    server = MCPServer(
        name="paperboy",
        title="paperboy research-paper discovery",
        instructions="Search and read research papers (arXiv and Hugging Face Papers) held by "
        "this paperboy instance. Ids are arXiv ids like 2506.01234.",
    )

    @server.tool()
    def search_papers(
        query: str,
        limit: int = 10,
        mode: Literal["hybrid", "lexical", "dense"] = "hybrid",
        category: str | None = None,
        since: str | None = None,
    ) -> list[dict[str, Any]]:
        """Search papers by keywords and meaning; the query understands "phrases", -exclusions, author:, cat:, year:."""
        if len(query) > 500:
            raise ToolError("query is longer than 500 characters")
        flt = SearchFilters(categories=(category,) if category else (), since=_day(since, "since"))
        page = pb.search(query, mode=mode, filters=flt, limit=_limit(limit))
        return [_paper_dict(h.paper, h.score) for h in page.hits]

    @server.tool()
    def get_paper(paper_id: str) -> dict[str, Any]:
        """One paper by arXiv id (any version) or arxiv.org URL, with its abstract and links."""
        p = pb.paper(paper_id)
        if p is None:
            raise ToolError(f"no paper {paper_id!r}")
        return _paper_dict(p, upvotes=pb.community.view(p.id).upvotes)

    @server.tool()
    def similar_papers(paper_id: str, limit: int = 10) -> list[dict[str, Any]]:
        """Papers most like the given one (by embedding, else by its words)."""
        if pb.paper(paper_id) is None:
            raise ToolError(f"no paper {paper_id!r}")
        return [_paper_dict(h.paper, h.score) for h in pb.similar(paper_id, _limit(limit))]

    @server.tool()
    def trending(window: Literal["today", "week", "month", "all"] = "week", limit: int = 10) -> list[dict[str, Any]]:
        """Trending papers of a window, ranked as on the web's trending page."""
        listing = pb.community.trending(window, limit=_limit(limit))
        return [_paper_dict(v.paper, upvotes=v.upvotes) for v in listing.items]

    @server.tool()
    def daily_papers(day: str | None = None, limit: int = 50) -> dict[str, Any]:
        """The papers listed on one day (YYYY-MM-DD; default: the newest day), most upvoted first."""
        d = pb.community.daily(_day(day, "day"), limit=_limit(limit))
        return {
            "date": str(d.day) if d.day else None,
            "previous": str(d.prev) if d.prev else None,
            "next": str(d.next) if d.next else None,
            "total": d.total,
            "papers": [_paper_dict(v.paper, upvotes=v.upvotes) for v in d.items],
        }

    @server.resource(
        "paper://{paper_id}",
        name="paper",
        mime_type="text/markdown",
        description="A paper as Markdown: title, authors, links and abstract.",
    )
    def paper_markdown(paper_id: str) -> str:
        p = pb.paper(paper_id)
        if p is None:
            raise ResourceError(f"no paper {paper_id!r}")
        return markdown(p)

    return server
