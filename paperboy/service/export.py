"""Writing papers out as JSON Lines, CSV or BibTeX (used by the CLI and the web's "cite" box)."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from typing import TextIO

import bibtexparser
from anyascii import anyascii
from bibtexparser.model import Entry, Field

from paperboy.models import Paper

FORMATS = ("jsonl", "csv", "bibtex")
CSV_COLUMNS = (
    "id",
    "arxiv_id",
    "version",
    "title",
    "authors",
    "categories",
    "published",
    "updated",
    "listed",
    "abstract",
    "comment",
    "doi",
    "abs_url",
    "pdf_url",
    "code_url",
    "upvotes",
)


def write(papers: Iterable[Paper], fmt: str, out: TextIO) -> int:
    """Write papers to `out` in `fmt`; returns how many were written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}")
    n = 0
    if fmt == "jsonl":
        for p in papers:
            out.write(json.dumps(p.to_dict(), ensure_ascii=False) + "\n")
            n += 1
    elif fmt == "csv":
        w = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for p in papers:
            d = p.to_dict()
            d["authors"] = "; ".join(p.authors)
            d["categories"] = " ".join(p.categories)
            w.writerow(d)
            n += 1
    else:
        lib = bibtexparser.Library()
        keys: set[str] = set()
        for p in papers:
            lib.add(bibtex_entry(p, keys))
            n += 1
        out.write(bibtexparser.write_string(lib))
    return n


def _ascii(text: str) -> str:
    # Transliterate rather than drop: "Cupiał" keys as "cupial", as BibTeX tools and arXiv do.
    return anyascii(text).lower()


def _cite_key(p: Paper, taken: set[str]) -> str:
    names = p.authors[0].split() if p.authors else []
    family = re.sub(r"[^a-z]", "", _ascii(names[-1] if names else "anon")) or "anon"
    year = str((p.published or p.listed or p.updated).year) if (p.published or p.listed or p.updated) else ""
    word = next((w for w in re.findall(r"[a-z]+", _ascii(p.title)) if len(w) > 3), "paper")
    key = base = f"{family}{year}{word}"
    i = 1
    while key in taken:
        i += 1
        key = f"{base}{i}"
    taken.add(key)
    return key


def _braced(text: str) -> str:
    # Unbalanced braces would break the entry; drop them rather than emit invalid BibTeX.
    return text if text.count("{") == text.count("}") else text.replace("{", "").replace("}", "")


def bibtex_entry(p: Paper, taken: set[str] | None = None) -> Entry:
    """A BibTeX entry for `p` (arXiv papers cite as @misc with eprint, as arXiv itself does)."""
    fields = [Field("title", "{" + _braced(p.title) + "}")]
    if p.authors:
        fields.append(Field("author", _braced(" and ".join(p.authors))))
    d = p.published or p.listed or p.updated
    if d:
        fields.append(Field("year", str(d.year)))
    if p.arxiv_id:
        fields += [
            Field("eprint", p.arxiv_id),
            Field("archivePrefix", "arXiv"),
        ]
        if p.categories:
            fields.append(Field("primaryClass", p.categories[0]))
    if p.doi:
        fields.append(Field("doi", p.doi))
    url = p.abs_url or (f"https://arxiv.org/abs/{p.arxiv_id}" if p.arxiv_id else None)
    if url:
        fields.append(Field("url", url))
    return Entry("misc", _cite_key(p, taken if taken is not None else set()), fields)


def bibtex(p: Paper) -> str:
    """One paper as a BibTeX string."""
    lib = bibtexparser.Library()
    lib.add(bibtex_entry(p))
    return bibtexparser.write_string(lib)


def markdown(p: Paper) -> str:
    """A paper as a Markdown document (for agents and the MCP resource): title, byline, links, abstract."""
    lines = [f"# {p.title}", ""]
    if p.authors:
        lines += [", ".join(p.authors), ""]
    meta = [f"arXiv:{p.arxiv_id}" if p.arxiv_id else p.id, " ".join(p.categories), str(p.published or p.listed or "")]
    lines += [" · ".join(m for m in meta if m), ""]
    for label, url in (
        ("Abstract page", p.abs_url),
        ("PDF", p.pdf_url),
        ("Code", p.code_url),
        ("Project page", p.project_url),
    ):
        if url:
            lines.append(f"- {label}: <{url}>")
    if p.upvotes is not None:
        lines.append(f"- Upvotes: {p.upvotes}")
    lines += ["", "## Abstract", "", p.abstract.strip() or "(no abstract)", ""]
    if p.comment:
        lines += [f"Comment: {p.comment}", ""]
    return "\n".join(lines)


def bibtex_many(papers: list[Paper]) -> str:
    """Several papers as one .bib file, each with a distinct citation key."""
    lib = bibtexparser.Library()
    taken: set[str] = set()
    for p in papers:
        lib.add(bibtex_entry(p, taken))
    return bibtexparser.write_string(lib)
