"""Kaggle arXiv metadata snapshot (arxiv-metadata-oai-snapshot.json): one OAI record per line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import BinaryIO

from paperboy.models import Paper, Rejected
from paperboy.sources.json_lines import first_line_keys, parse_json_lines, require_arxiv_id
from paperboy.sources.text import RecordError, clean_names, clean_text, dedupe, opt_str, parse_date, require_title

NAME = "arxiv-oai"
_KEYS = {"abstract", "versions", "authors_parsed", "update_date"}
_LISTING_KEYS = {"summary", "crawl_date"}
_AUTHOR_SPLIT = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+")
_PARENS = re.compile(r"\([^()]*\)")


def sniff(head: bytes) -> bool:
    """First line is a JSON object with OAI snapshot fields (versions, authors_parsed, abstract...)."""
    keys = first_line_keys(head)
    return "id" in keys and bool(_KEYS & keys) and not (_LISTING_KEYS & keys)


def parse(stream: BinaryIO, origin: str) -> Iterator[Paper | Rejected]:
    """Stream papers from the snapshot; bad lines become Rejected."""
    yield from parse_json_lines(stream, origin, _KEYS, NAME, _paper)


def _paper(obj: dict, loc: str) -> Paper:
    arxiv_id, version = require_arxiv_id(obj)
    published, updated, last_version = _versions(obj.get("versions"))
    categories = opt_str(obj, "categories") or ""
    return Paper(
        title=require_title(opt_str(obj, "title")),
        abstract=clean_text(opt_str(obj, "abstract"), accents=True),
        authors=_authors(obj),
        categories=dedupe(categories.split()),  # primary first
        arxiv_id=arxiv_id,
        version=last_version or version,
        published=published,
        updated=updated or parse_date(opt_str(obj, "update_date")),
        comment=clean_text(opt_str(obj, "comments"), accents=True) or None,
        doi=clean_text(opt_str(obj, "doi")) or None,
        journal_ref=clean_text(opt_str(obj, "journal-ref"), accents=True) or None,
        source=NAME,
        source_ref=loc,
    )


def _versions(versions: object) -> tuple[date | None, date | None, int | None]:
    """(date of v1, date of the last version, last version number) from the 'versions' list."""
    if versions is None:
        return None, None, None
    if not isinstance(versions, list) or not all(isinstance(v, dict) for v in versions):
        raise RecordError("field 'versions' should be a list of objects")
    if not versions:
        return None, None, None
    numbered = []
    for v in versions:
        m = re.fullmatch(r"v(\d+)", str(v.get("version", "")).strip())
        numbered.append((int(m.group(1)) if m else 0, parse_date(v.get("created"))))
    numbered.sort(key=lambda nv: nv[0])
    return numbered[0][1], numbered[-1][1], numbered[-1][0] or None


def _authors(obj: dict) -> list[str]:
    parsed = obj.get("authors_parsed")
    if isinstance(parsed, list) and parsed and all(isinstance(p, list) for p in parsed):
        names = []
        for parts in parsed:
            last, first, *rest = [str(p).strip() for p in parts] + ["", ""]
            names.append(" ".join(p for p in (first, last, *rest) if p))
        return clean_names(names)
    authors = opt_str(obj, "authors") or ""
    while _PARENS.search(authors):  # affiliations: "A. Smith (MIT, USA)"
        authors = _PARENS.sub("", authors)
    return clean_names(_AUTHOR_SPLIT.split(authors))
