"""arXiv daily-listing JSON Lines (id, title, authors, categories, comment, summary, abs, pdf, crawl_date)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from paperboy.models import Paper, Rejected, parse_arxiv_id
from paperboy.sources.text import (RecordError, clean_names, clean_text, dedupe, first_line_keys, guard_format,
                                   iter_json_objects, opt_str, parse_date, require_title, str_list)

NAME = "arxiv-jsonl"
_KEYS = {"summary", "crawl_date", "abs"}  # fields that mark a listing record (OAI has "abstract")
_OAI_KEYS = {"abstract", "versions", "authors_parsed", "update_date"}


def sniff(head: bytes) -> bool:
    """First line is a JSON object with listing fields (and none of the OAI snapshot's)."""
    keys = first_line_keys(head)
    return "id" in keys and bool(_KEYS & keys) and not (_OAI_KEYS & keys) and "paper" not in keys


def parse(stream: BinaryIO, origin: str) -> Iterator[Paper | Rejected]:
    """Stream papers from a listing JSONL file; bad lines become Rejected."""
    yield from guard_format(_records(stream, origin), NAME, origin)


def _records(stream: BinaryIO, origin: str) -> Iterator[tuple[bool, Paper | Rejected]]:
    for fits, line_no, obj in iter_json_objects(stream, origin, _KEYS, NAME):
        if not fits:
            yield False, obj
            continue
        loc = f"{origin}:{line_no}"
        try:
            yield True, _paper(obj, loc)
        except RecordError as exc:
            yield True, Rejected(loc, str(exc))


def _paper(obj: dict, loc: str) -> Paper:
    raw_id = opt_str(obj, "id")
    parsed = parse_arxiv_id(raw_id or "")
    if not parsed:
        raise RecordError(f"missing or invalid arXiv id {raw_id!r}")
    arxiv_id, version = parsed
    return Paper(
        title=require_title(opt_str(obj, "title")),
        abstract=clean_text(opt_str(obj, "summary"), accents=True),
        authors=clean_names(str_list(obj, "authors")),
        categories=dedupe(str_list(obj, "categories")),  # the first listed is taken as primary
        arxiv_id=arxiv_id,
        version=version,
        listed=parse_date(opt_str(obj, "crawl_date")),
        comment=clean_text(opt_str(obj, "comment"), accents=True) or None,
        abs_url=clean_text(opt_str(obj, "abs")) or None,
        pdf_url=clean_text(opt_str(obj, "pdf")) or None,
        source=NAME,
        source_ref=loc,
    )
