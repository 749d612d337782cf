"""arXiv export API Atom responses (parsed with feedparser). The fetcher is in `arxiv_api`."""

from __future__ import annotations

import io
import xml.sax
from collections.abc import Iterator
from typing import Any, BinaryIO

import feedparser

from paperboy.models import Paper, Rejected, SourceError, parse_arxiv_id
from paperboy.sources.documents import read_document
from paperboy.sources.text import RecordError, clean_names, clean_text, dedupe, head_text, parse_date, require_title

NAME = "arxiv-atom"
MAX_BYTES = 200 * 1024 * 1024  # feedparser needs the whole document; API pages are well below this
_ATOM_NS = "http://www.w3.org/2005/Atom"
_ERROR_IDS = ("http://arxiv.org/api/errors", "https://arxiv.org/api/errors")


def sniff(head: bytes) -> bool:
    """An Atom feed document."""
    text = head_text(head)
    return text.startswith("<") and "<feed" in text and _ATOM_NS in text


def parse(stream: BinaryIO, origin: str) -> Iterator[Paper | Rejected]:
    """Papers from one Atom document; raises SourceError for non-Atom input or an arXiv API error feed."""
    data = read_document(stream, origin, MAX_BYTES, "an arXiv API response")
    yield from parse_feed(data, origin)


def parse_feed(data: bytes, origin: str) -> Iterator[Paper | Rejected]:
    """Same as `parse`, for a response body already in memory."""
    if not data.strip():
        return
    feed = _load(data, origin)
    for n, entry in enumerate(feed.entries, 1):
        loc = f"{origin}:entry {n}"
        try:
            yield _paper(entry, loc)
        except RecordError as exc:
            yield Rejected(loc, str(exc))
    if feed.bozo and isinstance(feed.get("bozo_exception"), xml.sax.SAXException):
        yield Rejected(
            f"{origin}:end", f"feed is not well-formed XML, later entries may be missing: {feed.bozo_exception}"
        )


def page_info(data: bytes, origin: str = "arXiv API response") -> tuple[int | None, int]:
    """(opensearch totalResults, number of entries) of one API page; SourceError for error feeds."""
    feed = _load(data, origin)
    total = feed.feed.get("opensearch_totalresults")
    try:
        return (int(total) if total is not None else None), len(feed.entries)
    except ValueError:
        return None, len(feed.entries)


def api_error(data: bytes) -> str | None:
    """The message of an arXiv API error feed, None if `data` is not one."""
    try:
        feed = feedparser.parse(io.BytesIO(data))
    except Exception:  # feedparser is tolerant; this is only a best-effort peek at an error body
        return None
    for entry in feed.entries:
        if str(entry.get("id", "")).startswith(_ERROR_IDS):
            return clean_text(entry.get("summary")) or clean_text(entry.get("id"))
    return None


def _load(data: bytes, origin: str) -> Any:
    # A file object, never raw bytes: feedparser would open bytes that happen to name a local file.
    feed = feedparser.parse(io.BytesIO(data))
    if not str(feed.get("version", "")).startswith("atom") and not feed.entries:
        problem = f" ({feed.bozo_exception})" if feed.bozo else ""
        raise SourceError(f"{origin} is not an Atom feed{problem}")
    for entry in feed.entries:
        if str(entry.get("id", "")).startswith(_ERROR_IDS):
            message = clean_text(entry.get("summary")) or entry.get("id")
            raise SourceError(f"arXiv API error: {message}")
    return feed


def _paper(entry: Any, loc: str) -> Paper:
    entry_id = str(entry.get("id") or "")
    parsed = parse_arxiv_id(entry_id)
    primary = (entry.get("arxiv_primary_category") or {}).get("term")
    tags = [t.get("term") for t in entry.get("tags", []) if isinstance(t.get("term"), str)]
    links = entry.get("links", [])
    pdf = next(
        (lk.get("href") for lk in links if lk.get("title") == "pdf" or lk.get("type") == "application/pdf"), None
    )
    alternate = next((lk.get("href") for lk in links if lk.get("rel") == "alternate"), None)
    if parsed:  # versionless links, like every other source gives
        alternate, pdf = f"https://arxiv.org/abs/{parsed[0]}", f"https://arxiv.org/pdf/{parsed[0]}"
    return Paper(
        title=require_title(entry.get("title")),
        abstract=clean_text(entry.get("summary"), accents=True),
        authors=clean_names(str(a.get("name", "")) for a in entry.get("authors", [])),
        categories=dedupe([primary, *tags] if primary else tags),
        arxiv_id=parsed[0] if parsed else None,
        version=parsed[1] if parsed else None,
        published=parse_date(entry.get("published")),
        updated=parse_date(entry.get("updated")),
        comment=clean_text(entry.get("arxiv_comment"), accents=True) or None,
        journal_ref=clean_text(entry.get("arxiv_journal_ref"), accents=True) or None,
        doi=clean_text(entry.get("arxiv_doi")) or None,
        abs_url=alternate,
        pdf_url=pdf,
        source=NAME,
        source_ref=entry_id or loc,
    )


def __getattr__(name: str) -> Any:
    # The fetcher lives in arxiv_api (network apart from parsing); callers may still reach it from here.
    if name in ("fetch_query", "fetch_ids", "FetchError"):
        from paperboy.sources import arxiv_api

        return getattr(arxiv_api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
