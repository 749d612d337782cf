"""Pydantic response schemas of the JSON APIs (ours under /api/v1, Hugging Face's under /api)."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

from pydantic import BaseModel, Field

from paperboy.service.community import PaperView
from paperboy.web.urls import paper_url


class PaperPublic(BaseModel):
    """One paper; `upvotes` counts Hugging Face's imported upvotes plus this instance's."""

    id: str
    arxiv_id: str | None = None
    version: int | None = None
    title: str
    abstract: str = ""
    authors: list[str] = []
    categories: list[str] = []
    published: date | None = None
    updated: date | None = None
    listed: date | None = None
    comment: str | None = None
    doi: str | None = None
    journal_ref: str | None = None
    abs_url: str | None = None
    pdf_url: str | None = None
    code_url: str | None = None
    project_url: str | None = None
    upvotes: int = 0
    voted: bool | None = Field(None, description="Whether the caller upvoted it (only when logged in).")
    url: str = Field(description="The paper's page on this instance (a path).")
    score: float | None = Field(None, description="Ranking score, for search and trending results.")
    matched_by: list[str] = Field([], description="Retrievers that found it (search only).")

    @classmethod
    def of(cls, view: PaperView, *, logged_in: bool = False, matched_by: tuple[str, ...] = ()) -> "PaperPublic":
        p = view.paper
        return cls(
            id=p.id or p.paper_id(), arxiv_id=p.arxiv_id, version=p.version, title=p.title, abstract=p.abstract,
            authors=list(p.authors), categories=list(p.categories), published=p.published, updated=p.updated,
            listed=p.listed, comment=p.comment, doi=p.doi, journal_ref=p.journal_ref, abs_url=p.abs_url,
            pdf_url=p.pdf_url, code_url=p.code_url, project_url=p.project_url, upvotes=view.upvotes,
            voted=view.voted if logged_in else None, url=paper_url(p), score=view.score, matched_by=list(matched_by),
        )


class PapersPublic(BaseModel):
    """A page of papers and how many there are in all."""

    data: list[PaperPublic]
    count: int


class SearchPublic(PapersPublic):
    query: str
    mode: str = Field(description="Retrieval mode actually used: lexical | dense | hybrid | filter | id.")
    warnings: list[str] = []
    limit: int
    offset: int


class TrendingPublic(PapersPublic):
    window: str
    as_of: date | None = Field(None, description="Day the windows count back from (the newest listing day).")
    gravity: float = Field(description="G in votes / (age_hours + 2) ** G.")


class DailyPublic(PapersPublic):
    date: date | None
    prev: date | None = None
    next: date | None = None


class VotePublic(BaseModel):
    paper_id: str
    upvotes: int
    voted: bool


class ErrorPublic(BaseModel):
    detail: str


# -- Hugging Face Papers API shapes (what huggingface_hub's PaperInfo reads) ------------------------

def hf_time(d: date | datetime | None) -> str | None:
    """The Hub's timestamp format, e.g. 2025-02-27T00:00:00.000Z."""
    if d is None:
        return None
    if not isinstance(d, datetime):
        d = datetime.combine(d, time(0, 0), tzinfo=timezone.utc)
    return d.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


class HfAuthor(BaseModel):
    name: str
    hidden: bool = False


class HfUser(BaseModel):
    # The Hub sends `name`; huggingface_hub's User reads `user`: send both.
    user: str
    name: str
    fullname: str
    avatarUrl: str = ""
    type: str = "user"


class HfPaper(BaseModel):
    id: str
    authors: list[HfAuthor]
    publishedAt: str | None = None
    submittedOnDailyAt: str | None = None
    title: str
    summary: str
    upvotes: int
    numComments: int = 0
    githubRepo: str | None = None
    projectPage: str | None = None
    githubStars: int | None = None
    submittedOnDailyBy: HfUser | None = None

    @classmethod
    def of(cls, view: PaperView) -> "HfPaper":
        p = view.paper
        who = HfUser(user=p.submitted_by, name=p.submitted_by, fullname=p.submitted_by) if p.submitted_by else None
        return cls(
            id=p.arxiv_id or p.id or p.paper_id(), authors=[HfAuthor(name=a) for a in p.authors],
            publishedAt=hf_time(p.published or p.listed), submittedOnDailyAt=hf_time(p.listed),
            title=p.title, summary=p.abstract, upvotes=view.upvotes, githubRepo=p.code_url,
            projectPage=p.project_url, githubStars=p.github_stars, submittedOnDailyBy=who,
        )


class HfDailyPaper(BaseModel):
    """One entry of /api/daily_papers and /api/papers/search: the paper plus its daily-listing facts."""

    paper: HfPaper
    publishedAt: str | None = Field(None, description="When it was listed in the daily papers.")
    title: str
    summary: str
    numComments: int = 0
    submittedBy: HfUser | None = None
    isAuthorParticipating: bool = False

    @classmethod
    def of(cls, view: PaperView) -> "HfDailyPaper":
        paper = HfPaper.of(view)
        p = view.paper
        return cls(paper=paper, publishedAt=hf_time(p.listed or p.published), title=p.title, summary=p.abstract,
                   submittedBy=paper.submittedOnDailyBy)
