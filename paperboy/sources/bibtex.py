"""BibTeX files, parsed with bibtexparser v2; LaTeX in fields is turned into text with pylatexenc."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import date
from typing import BinaryIO

import bibtexparser
from bibtexparser.model import Entry, ParsingFailedBlock
from pylatexenc.latex2text import LatexNodes2Text

from paperboy.models import Paper, Rejected, SourceError, parse_arxiv_id
from paperboy.sources.documents import decode_document, read_document
from paperboy.sources.text import MAX_FIELD_CHARS, RecordError, clean_text, head_text, parse_month

NAME = "bibtex"
MAX_BYTES = 200 * 1024 * 1024
_ENTRY_START = re.compile(r"^[ \t]*@[ \t]*[A-Za-z]+[ \t]*[{(]", re.M)
_AND = re.compile(r"\s+and\s+", re.I)
_COMMA = re.compile(r",")
_ARXIV_IN_TEXT = re.compile(r"arXiv[:\s]+([\w.\-/]+)", re.I)
_LATEX_HINT = re.compile(r"[\\{}~%$]|--|``|''")
_LATEX = LatexNodes2Text(math_mode="verbatim")  # keep $...$ for the web page to render


def sniff(head: bytes) -> bool:
    """Entries like `@article{key,` at the start of a line, and not JSON/XML."""
    text = head_text(head)
    return bool(text) and text[0] not in "{[<" and bool(_ENTRY_START.search(text))


def parse(stream: BinaryIO, origin: str) -> Iterator[Paper | Rejected]:
    """Papers from a .bib file; unparsable blocks and entries without a title become Rejected."""
    text = yield from decode_document(read_document(stream, origin, MAX_BYTES), origin)
    if not text.strip():
        return
    library = _parse_library(text, origin)
    n = 0
    for block in library.blocks:
        if isinstance(block, (Entry, ParsingFailedBlock)):
            n += 1
        if isinstance(block, Entry):
            loc = f"{origin}:entry {n} ({block.key})"
            try:
                yield _paper(block, origin)
            except RecordError as exc:
                yield Rejected(loc, str(exc))
        elif isinstance(block, ParsingFailedBlock):
            line = f"line {block.start_line + 1}" if block.start_line is not None else f"entry {n}"
            yield Rejected(f"{origin}:{line}", f"unreadable BibTeX block: {_block_error(block)}")


def _block_error(block: ParsingFailedBlock) -> str:
    error = block.error
    reason = getattr(error, "abort_reason", None) or str(error).split(". Note:")[0]
    return reason.strip() or type(block).__name__


def _parse_library(text: str, origin: str):
    logger = logging.getLogger("bibtexparser")
    level = logger.level
    logger.setLevel(logging.ERROR)  # failed blocks are reported as Rejected, not as log warnings
    try:
        library = bibtexparser.parse_string(text)
    except Exception as exc:  # bibtexparser is tolerant; anything raised means the file is not BibTeX
        raise SourceError(f"{origin} could not be parsed as BibTeX: {exc}") from None
    finally:
        logger.setLevel(level)
    if not library.entries and not library.failed_blocks and not _ENTRY_START.search(text):
        raise SourceError(f"{origin} contains no BibTeX entries")
    return library


def _latex(value: str | None) -> str:
    if not value:
        return ""
    value = value[: MAX_FIELD_CHARS + MAX_FIELD_CHARS // 10]  # pylatexenc is slow (~5 us/char)
    if not _LATEX_HINT.search(value):
        return clean_text(value, html_ok=False)
    try:
        text = _LATEX.latex_to_text(value)
    except Exception:  # pylatexenc is tolerant, but a bad field must not lose the entry
        text = value.replace("{", "").replace("}", "")
    return clean_text(text.replace("<cit.>", "").replace("<ref>", ""), html_ok=False)


def _split_top(value: str, sep: re.Pattern) -> list[str]:
    """Split `value` on `sep`, but not inside {braces} ({Barnes and Noble} is one corporate author)."""
    depth, masked = 0, []
    for ch in value:
        depth += (ch == "{") - (ch == "}")
        masked.append(ch if depth == 0 and ch != "}" else "_")
    parts, start = [], 0
    for m in sep.finditer("".join(masked)):
        parts.append(value[start : m.start()])
        start = m.end()
    parts.append(value[start:])
    return [p.strip() for p in parts if p.strip()]


def _split_authors(value: str) -> list[str]:
    """Authors in byline order as 'First Last' ('Last, First' and 'von Last, Jr, First' are reordered)."""
    names = []
    for raw in _split_top(value, _AND):
        if raw.lower() == "others":
            continue
        pieces = _split_top(raw, _COMMA)
        if len(pieces) == 2:
            raw = f"{pieces[1]} {pieces[0]}"
        elif len(pieces) >= 3:
            raw = f"{pieces[2]} {pieces[0]} {pieces[1]}"
        name = _latex(raw)
        if name:
            names.append(name)
    return names


def _paper(entry: Entry, origin: str) -> Paper:
    fields = {f.key.lower(): str(f.value) for f in entry.fields}
    title = _latex(fields.get("title"))
    if not title:
        raise RecordError("missing title")
    arxiv = _arxiv_id(fields)
    url = fields.get("url", "").strip() or None
    abs_url = pdf_url = None
    if url and not (arxiv or parse_arxiv_id(url)):
        abs_url, pdf_url = (None, url) if url.lower().endswith(".pdf") else (url, None)
    venue = _latex(fields.get("journal") or fields.get("booktitle"))
    doi = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)", "", fields.get("doi", "").strip(), flags=re.I)
    return Paper(
        title=title,
        abstract=_latex(fields.get("abstract")),
        authors=_split_authors(fields.get("author", "")),
        arxiv_id=arxiv[0] if arxiv else None,
        version=arxiv[1] if arxiv else None,
        published=_published(fields),
        doi=doi or None,
        journal_ref=venue if venue and not re.match(r"(arxiv|corr)\b", venue, re.I) else None,
        abs_url=abs_url,
        pdf_url=pdf_url,
        source=NAME,
        source_ref=f"{origin}:{entry.key}",
    )


def _arxiv_id(fields: dict[str, str]) -> tuple[str, int | None] | None:
    prefix = (fields.get("archiveprefix") or fields.get("eprinttype") or "").strip().lower()
    if fields.get("eprint") and prefix == "arxiv":
        return parse_arxiv_id(fields["eprint"])
    if found := parse_arxiv_id(fields.get("url", "")):
        return found
    for key in ("journal", "note", "howpublished"):  # Google Scholar: "arXiv preprint arXiv:1512.03385"
        for m in _ARXIV_IN_TEXT.finditer(fields.get(key, "")):
            if found := parse_arxiv_id(m.group(1).rstrip(".,")):
                return found
    return None


def _published(fields: dict[str, str]) -> date | None:
    year_text = re.search(r"\d{4}", fields.get("year", "") or fields.get("date", ""))
    if not year_text:
        return None
    month = parse_month(fields.get("month"))
    if month is None and re.match(r"\d{4}-\d{2}", fields.get("date", "")):
        month = parse_month(fields["date"][5:7])
    try:
        return date(int(year_text.group()), month or 1, 1)
    except ValueError:
        return None
