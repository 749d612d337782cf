"""arXiv daily-listing JSON Lines (id, title, authors, categories, comment, summary, abs, pdf, crawl_date)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from paperboy.models import Paper, Rejected
from paperboy.sources.json_lines import first_line_keys, parse_json_lines, require_arxiv_id
from paperboy.sources.text import clean_names, clean_text, dedupe, opt_str, parse_date, require_title, str_list

NAME = "arxiv-jsonl"
_KEYS = {"summary", "crawl_date", "abs"}  # fields that mark a listing record (OAI has "abstract")
_OAI_KEYS = {"abstract", "versions", "authors_parsed", "update_date"}


def sniff(head: bytes) -> bool:
    """First line is a JSON object with listing fields (and none of the OAI snapshot's)."""
    keys = first_line_keys(head)
    return "id" in keys and bool(_KEYS & keys) and not (_OAI_KEYS & keys) and "paper" not in keys


def parse(stream: BinaryIO, origin: str) -> Iterator[Paper | Rejected]:
    """Stream papers from a listing JSONL file; bad lines become Rejected."""
    yield from parse_json_lines(stream, origin, _KEYS, NAME, _paper)


def _paper(obj: dict, loc: str) -> Paper:
    arxiv_id, version = require_arxiv_id(obj)
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
