"""Pure rules for folding a newly parsed Paper into the stored row of the same paper."""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields
from datetime import date
from typing import Any

from paperboy.models import Paper, author_key, normalize_title

# arXiv's own metadata outranks aggregators, which outrank page dumps and hand-made BibTeX.
SOURCE_PRIORITY = {
    "arxiv-atom": 3,
    "arxiv-oai": 3,
    "arxiv-oai-pmh": 3,
    "arxiv-jsonl": 3,
    "hf-daily": 2,
    "bibtex": 1,
    "hf-page": 1,
}

BIBLIOGRAPHIC = (
    "title",
    "abstract",
    "authors",
    "categories",
    "published",
    "updated",
    "comment",
    "doi",
    "journal_ref",
    "abs_url",
    "pdf_url",
)
# Fields that only aggregators know and that change over time: the newest non-empty value wins.
COMMUNITY = ("upvotes", "submitted_by", "github_stars", "code_url", "project_url")
# Earliest wins: the first day a paper was listed does not move.
EARLIEST = ("listed",)

ROW_FIELDS = (
    "arxiv_id",
    "version",
    *BIBLIOGRAPHIC,
    *COMMUNITY,
    *EARLIEST,
    "meta_priority",
)


def _empty(v: Any) -> bool:
    return v is None or v == "" or v == []


def row_from_paper(p: Paper) -> dict[str, Any]:
    """The column values a fresh paper would be stored with (without id, hash and bookkeeping)."""
    row = {f: getattr(p, f) for f in ROW_FIELDS if f != "meta_priority"}
    row["meta_priority"] = SOURCE_PRIORITY.get(p.source, 0)
    return row


def merge(row: dict[str, Any], p: Paper) -> dict[str, Any]:
    """Return `row` updated with what `p` adds; never loses a stored value to an empty one."""
    out = dict(row)
    prio = SOURCE_PRIORITY.get(p.source, 0)
    old_v, new_v = row.get("version"), p.version
    if new_v is not None and old_v is not None:
        authoritative = new_v > old_v or (new_v == old_v and prio >= row["meta_priority"])
    else:
        authoritative = prio >= row["meta_priority"]
    for f in BIBLIOGRAPHIC:
        v = getattr(p, f)
        if not _empty(v) and (authoritative or _empty(out.get(f))):
            out[f] = v
    if authoritative:
        out["meta_priority"] = prio
    if new_v is not None and (old_v is None or new_v > old_v):
        out["version"] = new_v
    if p.arxiv_id and not out.get("arxiv_id"):
        out["arxiv_id"] = p.arxiv_id
    for f in COMMUNITY:
        v = getattr(p, f)
        if not _empty(v):
            out[f] = v
    for f in EARLIEST:
        v = getattr(p, f)
        if v is not None and (out.get(f) is None or v < out[f]):
            out[f] = v
    return out


def derived(row: dict[str, Any], title_key: str | None = None) -> dict[str, Any]:
    """Columns computed from the others: match keys, primary category, content hash (`title_key`: if known)."""
    authors = row.get("authors") or []
    cats = row.get("categories") or []
    extra = {
        "title_key": normalize_title(row["title"]) if title_key is None else title_key,
        "first_author_key": author_key(authors[0]) if authors else "",
        "primary_category": cats[0] if cats else None,
    }
    canon = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in sorted(row.items())}
    extra["content_hash"] = hashlib.sha1(json.dumps(canon, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
    return extra


def paper_from_row(row: Any) -> Paper:
    """A Paper from a `papers` row mapping."""
    m = dict(row._mapping) if hasattr(row, "_mapping") else dict(row)
    kwargs = {f.name: m[f.name] for f in fields(Paper) if f.name in m}
    kwargs["authors"] = list(m.get("authors") or [])
    kwargs["categories"] = list(m.get("categories") or [])
    return Paper(**kwargs)
