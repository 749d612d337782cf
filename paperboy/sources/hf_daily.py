"""Hugging Face daily papers JSON (`/api/daily_papers`): a list of {"paper": {...}, "submittedBy": ...}."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO

from paperboy.models import Paper, Rejected, SourceError, parse_arxiv_id
from paperboy.sources.documents import decode_document, read_document
from paperboy.sources.text import (
    RecordError,
    clean_names,
    clean_text,
    guard_format,
    head_text,
    opt_int,
    opt_str,
    parse_date,
    require_title,
)

NAME = "hf-daily"
MAX_BYTES = 200 * 1024 * 1024  # the whole document is loaded; daily listings are a few MB at most
_MARKERS = ('"submittedOnDailyAt"', '"paper"', '"upvotes"', '"githubRepo"', '"numComments"')
_LIST_KEYS = ("papers", "dailyPapers", "data", "items", "results")  # wrappers seen in dumps of the API


def sniff(head: bytes) -> bool:
    """A JSON document (not JSON Lines of another format) with HF daily-paper fields."""
    text = head_text(head)
    if not text.startswith(("[", "{")):
        return False
    return any(m in text for m in _MARKERS) or ('"publishedAt"' in text and '"summary"' in text)


def parse(stream: BinaryIO, origin: str) -> Iterator[Paper | Rejected]:
    """Papers from one daily-papers document; a record that cannot be used becomes Rejected."""
    text = yield from decode_document(read_document(stream, origin, MAX_BYTES, "a daily-papers document"), origin)
    if not text:
        return
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise SourceError(f"{origin} is not a JSON document: {exc}") from None
    yield from guard_format(_records(_entries(doc, origin), origin), NAME, origin)


def _entries(doc: Any, origin: str) -> list:
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key in _LIST_KEYS:
            if isinstance(doc.get(key), list):
                return doc[key]
        return [doc]  # a single entry or a single paper
    raise SourceError(f"{origin}: expected a JSON list of daily papers, got {type(doc).__name__}")


def _records(entries: list, origin: str) -> Iterator[tuple[bool, Paper | Rejected]]:
    for n, entry in enumerate(entries, 1):
        loc = f"{origin}:record {n}"
        if not isinstance(entry, dict):
            yield False, Rejected(loc, f"expected a JSON object, got {type(entry).__name__}")
            continue
        paper = entry.get("paper", entry)
        if not isinstance(paper, dict):
            yield False, Rejected(loc, "field 'paper' should be an object")
            continue
        if not ({"title", "summary", "id"} & (paper.keys() | entry.keys())):
            yield False, Rejected(loc, "not a daily-papers record (no paper, title or summary)")
            continue
        try:
            yield True, _paper(entry, paper, loc)
        except RecordError as exc:
            yield True, Rejected(loc, str(exc))


def _paper(entry: dict, paper: dict, loc: str) -> Paper:
    parsed = parse_arxiv_id(opt_str(paper, "id") or "")
    return Paper(
        title=require_title(opt_str(paper, "title") or opt_str(entry, "title")),
        abstract=clean_text(opt_str(paper, "summary") or opt_str(entry, "summary"), accents=True),
        authors=clean_names(_author_names(paper.get("authors"))),
        arxiv_id=parsed[0] if parsed else None,
        version=parsed[1] if parsed else None,
        published=parse_date(opt_str(paper, "publishedAt")),
        listed=parse_date(
            opt_str(entry, "submittedOnDailyAt")
            or opt_str(paper, "submittedOnDailyAt")
            or (opt_str(entry, "publishedAt") if entry is not paper else None)
        ),
        upvotes=opt_int(paper, "upvotes"),
        submitted_by=_user(entry.get("submittedBy")) or _user(paper.get("submittedOnDailyBy")),
        code_url=clean_text(opt_str(paper, "githubRepo")) or None,
        github_stars=opt_int(paper, "githubStars"),
        project_url=clean_text(opt_str(paper, "projectPage")) or None,
        source=NAME,
        source_ref=loc,
    )


def _author_names(authors: Any) -> list[str]:
    if authors is None:
        return []
    if not isinstance(authors, list):
        raise RecordError("field 'authors' should be a list")
    names = []
    for a in authors:
        if isinstance(a, str):
            names.append(a)
        elif isinstance(a, dict) and isinstance(a.get("name"), str):
            names.append(a["name"])
        else:
            raise RecordError("an author should be an object with a 'name' or a string")
    return names


def _user(value: Any) -> str | None:
    """The user handle from a submittedBy object ({"name": "akhaliq"} or {"user": ...}) or a plain string."""
    if isinstance(value, str):
        return clean_text(value) or None
    if isinstance(value, dict):
        for key in ("name", "user", "fullname"):
            if isinstance(value.get(key), str) and value[key].strip():
                return clean_text(value[key])
    return None
