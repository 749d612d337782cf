"""Plain data types shared by every layer; no I/O here."""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, fields, replace
from datetime import date
from typing import Any

import numpy as np

# New-style ids (0704.0001 onwards) and old-style ids (hep-th/9901001, math.GT/0309136).
ARXIV_ID_RE = re.compile(
    r"^(?:arxiv:)?(?P<id>\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v(?P<v>\d+))?$",
    re.IGNORECASE,
)
_URL_ID_RE = re.compile(
    r"arxiv\.org/(?:abs|pdf|html)/(?P<id>\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v(?P<v>\d+))?",
    re.IGNORECASE,
)


def parse_arxiv_id(text: str) -> tuple[str, int | None] | None:
    """Split 'arXiv:2401.01234v3' or an arxiv.org URL into ('2401.01234', 3); None if not an arXiv id."""
    text = (text or "").strip()
    m = ARXIV_ID_RE.match(text) or _URL_ID_RE.search(text)
    if not m:
        return None
    ident = m.group("id")
    if "/" in ident:  # old-style archive names are lower case, subject class upper
        archive, num = ident.split("/")
        ident = (
            f"{archive.lower()}/{num}"
            if "." not in archive
            else f"{archive.split('.')[0].lower()}.{archive.split('.')[1].upper()}/{num}"
        )
    return ident, int(m.group("v")) if m.group("v") else None


_WORD_RE = re.compile(r"[^\W_]+")


def normalize_title(title: str) -> str:
    """Case-, accent- and punctuation-insensitive key used to match one paper across sources."""
    t = title or ""
    if not t.isascii():
        t = "".join(ch for ch in unicodedata.normalize("NFKD", t) if not unicodedata.combining(ch))
    return " ".join(_WORD_RE.findall(t.lower()))


@functools.lru_cache(maxsize=1 << 16)  # the same names recur across a bulk load
def author_key(name: str) -> str:
    """Family-name key of an author ('Hinton, Geoffrey' and 'Geoffrey E. Hinton' both give 'hinton')."""
    name = (name or "").strip()
    if "," in name:
        family = name.split(",")[0]
    else:
        parts = name.split()
        family = parts[-1] if parts else ""
    return normalize_title(family)


@dataclass(slots=True)
class Paper:
    """One paper as a source describes it; the store merges papers from several sources into one row."""

    title: str
    abstract: str = ""
    authors: list[str] = field(default_factory=list)  # in byline order
    categories: list[str] = field(default_factory=list)  # primary first
    arxiv_id: str | None = None  # without version
    version: int | None = None  # latest version seen
    published: date | None = None  # first version
    updated: date | None = None  # latest version
    listed: date | None = None  # date it appeared in a daily listing / HF daily papers
    comment: str | None = None
    doi: str | None = None
    journal_ref: str | None = None
    abs_url: str | None = None
    pdf_url: str | None = None
    code_url: str | None = None  # e.g. GitHub repository
    project_url: str | None = None
    upvotes: int | None = None  # Hugging Face community upvotes, when the source has them
    submitted_by: str | None = None
    github_stars: int | None = None
    source: str = ""  # name of the source module that produced it
    source_ref: str | None = None  # where in that source: file:line, URL, BibTeX key
    id: str | None = None  # assigned by `paper_id()` when stored

    @property
    def title_key(self) -> str:
        return normalize_title(self.title)

    @property
    def first_author_key(self) -> str:
        return author_key(self.authors[0]) if self.authors else ""

    def paper_id(self) -> str:
        """Stable id: the arXiv id when there is one, else a hash of title and first author."""
        if self.arxiv_id:
            return self.arxiv_id
        digest = hashlib.sha1(f"{self.title_key}|{self.first_author_key}".encode()).hexdigest()[:16]
        return f"pb-{digest}"

    def with_defaults(self) -> Paper:
        """Fill arXiv links from the id where the source left them out (self when nothing is missing)."""
        if not self.arxiv_id or (self.abs_url and self.pdf_url):
            return self
        return replace(
            self,
            abs_url=self.abs_url or f"https://arxiv.org/abs/{self.arxiv_id}",
            pdf_url=self.pdf_url or f"https://arxiv.org/pdf/{self.arxiv_id}",
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.isoformat() if isinstance(v, date) else v
        out["id"] = self.id or self.paper_id()
        return out


@dataclass(slots=True, frozen=True)
class Rejected:
    """A record a parser could not turn into a Paper, with where it was and why."""

    location: str  # e.g. "papers.jsonl.gz:1234" or "refs.bib:entry smith2020"
    reason: str

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


class SourceError(Exception):
    """A whole input could not be read (not the claimed format, truncated, unreadable)."""


@dataclass(slots=True)
class Hits:
    """Ranked result of any retriever: ids best first, with their scores."""

    ids: list[str]
    scores: np.ndarray

    def __post_init__(self) -> None:
        self.scores = np.asarray(self.scores, dtype=np.float32)
        if len(self.ids) != len(self.scores):
            raise ValueError("ids and scores differ in length")

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def empty(cls) -> Hits:
        return cls([], np.zeros(0, dtype=np.float32))


@dataclass(slots=True)
class IngestReport:
    """What one ingest run did."""

    source: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    duplicates: int = 0  # records whose id repeated inside the same input
    errors: list[str] = field(default_factory=list)  # first few rejection/abort messages
    aborted: str | None = None  # why the input stopped early, if it did
    retryable: bool = False  # the abort was the network or the source being down: the same run may work later
    seconds: float = 0.0
    index_error: str | None = None  # why keyword indexing beside the ingest failed (indexed after it instead)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(slots=True, frozen=True)
class SearchFilters:
    """Restrictions every search mode honours."""

    categories: tuple[str, ...] = ()  # any of these (e.g. "cs.CL"); a prefix like "cs" matches "cs.*"
    authors: tuple[str, ...] = ()  # every one of these names must be on the paper
    since: date | None = None  # inclusive, on the paper's date (published, else listed)
    until: date | None = None  # inclusive
    has: tuple[str, ...] = ()  # every one of these link kinds ("code", "model", "dataset", ...): `has:code`

    def is_empty(self) -> bool:
        return not (self.categories or self.authors or self.since or self.until or self.has)


@dataclass(slots=True)
class SearchHit:
    """One search result: the paper, its score and which retrievers found it."""

    paper: Paper
    score: float
    matched_by: tuple[str, ...] = ()  # e.g. ("lexical", "dense")


@dataclass(slots=True)
class SearchPage:
    """A page of search results plus what a surface needs to paginate and explain them."""

    hits: list[SearchHit]
    total: int  # papers matching in all (exact for keywords; see total_estimated)
    mode: str  # mode actually used: lexical | dense | hybrid | filter | id
    warnings: list[str] = field(default_factory=list)
    query: str = ""
    # "about N": papers found by meaning alone are counted only as deep as retrieved, and a query of only very
    # common words (in more than COMMON_DF papers each) is counted from their document frequencies
    total_estimated: bool = False
    suggestion: str | None = None  # the query with misspelled words corrected ("did you mean")
