"""Pydantic response schemas of the JSON APIs (ours under /api/v1, Hugging Face's under /api)."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

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
    num_comments: int = Field(0, description="Readable comments in its discussion on this instance.")
    links: list[LinkPublic] = Field(
        [], description="Code, model, dataset and project links (stored and found in the text)."
    )
    keywords: list[str] = Field(
        [],
        description="A few keywords (in the single-paper answer only; empty in lists): Hugging Face's AI "
        "keywords when harvested, else phrases of the text closest to the paper's embedding, else from the text.",
    )

    @classmethod
    def of(
        cls, view: PaperView, *, logged_in: bool = False, matched_by: tuple[str, ...] = (), detail: bool = False
    ) -> PaperPublic:
        p = view.paper
        return cls(
            id=p.id or p.paper_id(),
            arxiv_id=p.arxiv_id,
            version=p.version,
            title=p.title,
            abstract=p.abstract,
            authors=list(p.authors),
            categories=list(p.categories),
            published=p.published,
            updated=p.updated,
            listed=p.listed,
            comment=p.comment,
            doi=p.doi,
            journal_ref=p.journal_ref,
            abs_url=p.abs_url,
            pdf_url=p.pdf_url,
            code_url=p.code_url,
            project_url=p.project_url,
            upvotes=view.upvotes,
            voted=view.voted if logged_in else None,
            url=paper_url(p),
            score=view.score,
            matched_by=list(matched_by),
            num_comments=view.comments,
            links=[LinkPublic(kind=k.kind, url=k.url, label=k.label, stars=k.stars) for k in view.links],
            keywords=view.keywords if detail else [],
        )


class LinkPublic(BaseModel):
    kind: str = Field(description="code | model | dataset | space | collection | project")
    url: str
    label: str
    stars: int | None = Field(None, description="GitHub stars, when Hugging Face reported them.")


PaperPublic.model_rebuild()


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
    count_estimated: bool = Field(
        False,
        description="True when `count` is an estimate (papers found by meaning "
        "alone are counted only as deep as retrieved); keyword matches are counted exactly.",
    )
    hint: str | None = Field(None, description="When nothing matches: what to try instead.")
    suggestion: str | None = Field(
        None,
        description="The query with misspelled words replaced by the nearest words "
        'of the index ("did you mean"), or null.',
    )


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
    upvotes: int = Field(description="Upvotes counted: imported ones plus those of accounts with a confirmed email.")
    voted: bool
    counted: bool = Field(description="False while your email is not confirmed: your vote is kept but not counted yet.")


class ErrorPublic(BaseModel):
    detail: str


# -- discussions and collections ------------------------------------------------------------------


class CommentPublic(BaseModel):
    """One comment; `html` is sanitised markdown, `body` its source (empty for deleted or hidden comments)."""

    id: int
    paper_id: str
    parent_id: int | None = Field(None, description="The comment this replies to; null for a top-level comment.")
    depth: int = Field(description="0 for top-level comments; replies nest at most 6 deep.")
    author: str
    body: str
    html: str
    state: str = Field(description="live | deleted | hidden")
    created_at: datetime
    edited_at: datetime | None = None
    mine: bool = Field(False, description="Whether the caller wrote it (and may edit or delete it).")
    paper_title: str | None = Field(None, description="Set in the list of recent comments.")

    @classmethod
    def of(cls, c) -> CommentPublic:
        return cls.model_validate(c, from_attributes=True)


class CommentsPublic(BaseModel):
    """Comments in reading order (each reply after its parent), and how many there are."""

    data: list[CommentPublic]
    count: int


# At least one character that is neither white space (str.strip's) nor a control character the
# services remove: the same test on the server (pydantic) and in the document, so a body the rules
# would find empty is refused as invalid rather than accepted by the schema and refused later.
NON_BLANK = (
    "[^\\x00-\\x20\\x7f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ue000\\ue001\\ufffe\\uffff]"
)


class CommentIn(BaseModel):
    body: str = Field(
        min_length=1, max_length=10_000, pattern=NON_BLANK, description="Markdown; $...$ math is kept for KaTeX."
    )
    parent_id: int | None = Field(None, ge=1, le=2**31 - 1, description="Reply to this comment of the same paper.")


class CommentEdit(BaseModel):
    body: str = Field(min_length=1, max_length=10_000, pattern=NON_BLANK)


class CollectionPublic(BaseModel):
    id: int
    name: str
    description: str
    public: bool
    owner: str
    created_at: datetime
    updated_at: datetime
    mine: bool = False
    papers: int | None = Field(None, description="How many papers it holds (in lists of collections).")
    url: str = Field(description="Its page on this instance (a path); shareable when public.")

    @classmethod
    def of(cls, c) -> CollectionPublic:
        fields = {name: getattr(c, name) for name in cls.model_fields if name != "url"}
        return cls(**fields, url=f"/collections/{c.id}")


class CollectionsPublic(BaseModel):
    data: list[CollectionPublic]
    count: int


class CollectionEntryPublic(BaseModel):
    paper: PaperPublic
    note: str | None = None
    added_at: datetime


class CollectionPagePublic(BaseModel):
    collection: CollectionPublic
    data: list[CollectionEntryPublic]
    count: int


class CollectionIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=NON_BLANK)
    description: str = Field("", max_length=2000)
    public: StrictBool = False  # strict: 0 or "yes" is not a JSON boolean, as the document says


class CollectionEdit(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=100, pattern=NON_BLANK)
    description: str | None = Field(None, max_length=2000)
    public: StrictBool | None = None


class CollectionItemIn(BaseModel):
    note: str | None = Field(None, max_length=1000)


class CollectionItemPublic(BaseModel):
    collection_id: int
    paper_id: str
    added: bool = Field(description="False when the paper was there already (its note is updated if given).")


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
    def of(cls, view: PaperView) -> HfPaper:
        p = view.paper
        who = HfUser(user=p.submitted_by, name=p.submitted_by, fullname=p.submitted_by) if p.submitted_by else None
        return cls(
            id=p.arxiv_id or p.id or p.paper_id(),
            authors=[HfAuthor(name=a) for a in p.authors],
            publishedAt=hf_time(p.published or p.listed),
            submittedOnDailyAt=hf_time(p.listed),
            title=p.title,
            summary=p.abstract,
            upvotes=view.upvotes,
            githubRepo=p.code_url,
            projectPage=p.project_url,
            githubStars=p.github_stars,
            submittedOnDailyBy=who,
            numComments=view.comments,
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
    def of(cls, view: PaperView) -> HfDailyPaper:
        paper = HfPaper.of(view)
        p = view.paper
        return cls(
            paper=paper,
            publishedAt=hf_time(p.listed or p.published),
            title=p.title,
            summary=p.abstract,
            submittedBy=paper.submittedOnDailyBy,
            numComments=view.comments,
        )


# -- rank a list ------------------------------------------------------------------------------------


class RankRequest(BaseModel):
    """Papers to rank and what to rank them for: a library (ids and/or a file's text) or one of your profiles."""

    candidates: list[Annotated[str, Field(max_length=300)]] = Field(
        default=[], max_length=10_000, description="Ids of stored papers to rank."
    )
    candidates_file: str | None = Field(
        None,
        max_length=5 * 1024 * 1024,
        description="Text of a file in any ingest format (BibTeX, arXiv JSONL/OAI/Atom, HF daily); its papers are "
        "ranked too, without being stored.",
    )
    library: list[Annotated[str, Field(max_length=300)]] = Field(
        default=[], max_length=500, description="Ids of stored papers making up the library."
    )
    library_file: str | None = Field(
        None, max_length=5 * 1024 * 1024, description="Library papers as the text of a file in any ingest format."
    )
    profile: int | None = Field(
        None,
        ge=1,
        le=2**31 - 1,
        description="Rank for this profile of the logged-in reader (no library given: the default profile).",
    )
    # Something to rank is required: stated in the document (anyOf) and checked by the same rule here.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["candidates"], "properties": {"candidates": {"type": "array", "minItems": 1}}},
                {
                    "required": ["candidates_file"],
                    "properties": {"candidates_file": {"type": "string", "minLength": 1}},
                },
            ]
        }
    )

    @model_validator(mode="after")
    def _something_to_rank(self) -> RankRequest:
        if not self.candidates and not self.candidates_file:
            raise ValueError("give candidate ids (candidates) or a candidates_file")
        return self


class RankedPaperPublic(BaseModel):
    id: str = Field(description="The id `paperboy ingest` assigns (the arXiv id when there is one).")
    title: str
    score: float = Field(description="Higher fits the library better; comparable within one answer only.")
    reason: str = Field(description="The library paper the candidate is most like.")


class RankedPublic(BaseModel):
    """Every candidate, best first."""

    data: list[RankedPaperPublic]
    count: int
    skipped: list[str] = Field(default=[], description="Malformed records skipped, with their location.")
