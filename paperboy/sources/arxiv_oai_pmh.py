"""arXiv OAI-PMH responses (`ListRecords`, metadataPrefix=arXiv), parsed with lxml; the fetcher is `oai_pmh`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from lxml import etree

from paperboy.models import Paper, Rejected, SourceError, parse_arxiv_id
from paperboy.sources.documents import read_document
from paperboy.sources.text import RecordError, clean_names, clean_text, dedupe, head_text, parse_date, require_title

NAME = "arxiv-oai-pmh"
MAX_BYTES = 200 * 1024 * 1024
OAI_NS = "http://www.openarchives.org/OAI/2.0/"
ARXIV_NS = "http://arxiv.org/OAI/arXiv/"
_O = f"{{{OAI_NS}}}"
_A = f"{{{ARXIV_NS}}}"
# Strict (no recover): a truncated or corrupt page must be noticed and fetched again, not half-read.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True)


@dataclass(slots=True)
class OaiPage:
    """One OAI-PMH response: its records, deleted identifiers, next resumption token and protocol error."""

    records: list[Paper | Rejected] = field(default_factory=list)
    datestamps: dict[str, str] = field(default_factory=dict)  # arXiv id -> header datestamp
    deleted: list[str] = field(default_factory=list)
    token: str | None = None  # None: this was the last page
    complete_size: int | None = None
    cursor: int | None = None
    error_code: str | None = None  # e.g. noRecordsMatch, badResumptionToken
    error_message: str = ""


def sniff(head: bytes) -> bool:
    """An OAI-PMH response carrying arXiv-format metadata."""
    text = head_text(head)
    return text.startswith("<") and "<OAI-PMH" in text and ARXIV_NS in text


def parse(stream: BinaryIO, origin: str) -> Iterator[Paper | Rejected]:
    """Papers from one saved OAI-PMH response (as `paperboy ingest` reads it)."""
    data = read_document(stream, origin, MAX_BYTES, "an OAI-PMH response")
    page = parse_page(data, origin)
    if page.error_code and page.error_code != "noRecordsMatch":
        raise SourceError(f"{origin}: OAI-PMH error {page.error_code}: {page.error_message}")
    yield from page.records


def parse_page(data: bytes, origin: str) -> OaiPage:
    """Parse one response body; raises SourceError (with the line) when it is not well-formed OAI-PMH XML."""
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno is not None else "?"
        raise SourceError(f"{origin}:{line}: malformed OAI-PMH XML ({exc.msg})") from None
    if root.tag != f"{_O}OAI-PMH":
        raise SourceError(f"{origin}: not an OAI-PMH response (root element {etree.QName(root).localname})")
    page = OaiPage()
    err = root.find(f"{_O}error")
    if err is not None:
        page.error_code = err.get("code", "")
        page.error_message = " ".join((err.text or "").split())
        return page
    listing = root.find(f"{_O}ListRecords")
    if listing is None:
        listing = root.find(f"{_O}GetRecord")
    if listing is None:
        raise SourceError(f"{origin}: OAI-PMH response holds neither ListRecords nor GetRecord")
    for n, rec in enumerate(listing.iterfind(f"{_O}record"), 1):
        loc = f"{origin}:line {rec.sourceline} (record {n})"
        header = rec.find(f"{_O}header")
        if header is not None and header.get("status") == "deleted":
            ident = (header.findtext(f"{_O}identifier") or "").rsplit(":", 1)[-1]
            page.deleted.append(ident)
            continue
        meta = rec.find(f"{_O}metadata/{_A}arXiv")
        if meta is None:
            page.records.append(Rejected(loc, "record without arXiv-format metadata"))
            continue
        try:
            paper = _paper(meta, loc)
        except RecordError as exc:
            page.records.append(Rejected(loc, str(exc)))
            continue
        page.records.append(paper)
        stamp = header.findtext(f"{_O}datestamp") if header is not None else None
        if stamp and paper.arxiv_id:
            page.datestamps[paper.arxiv_id] = stamp.strip()
            # The datestamp of a new record is its announcement day; the store keeps the earliest.
            paper.listed = parse_date(stamp.strip())
    tok = listing.find(f"{_O}resumptionToken")
    if tok is not None:
        page.token = (tok.text or "").strip() or None  # an empty token marks the last page
        page.complete_size = _int(tok.get("completeListSize"))
        page.cursor = _int(tok.get("cursor"))
    return page


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _text(meta: etree._Element, tag: str) -> str | None:
    value = meta.findtext(f"{_A}{tag}")
    return value if value is None else " ".join(value.split()) or None


def _paper(meta: etree._Element, loc: str) -> Paper:
    raw_id = _text(meta, "id") or ""
    parsed = parse_arxiv_id(raw_id)
    if not parsed:
        raise RecordError(f"missing or malformed arXiv id {raw_id!r}")
    return Paper(
        title=require_title(clean_text(_text(meta, "title"), accents=True)),
        abstract=clean_text(meta.findtext(f"{_A}abstract"), accents=True),
        authors=clean_names(_authors(meta)),
        categories=dedupe((_text(meta, "categories") or "").split()),  # primary first
        arxiv_id=parsed[0],
        version=parsed[1],  # the arXiv format carries no version number; `updated` marks a new one
        published=parse_date(_text(meta, "created")),
        updated=parse_date(_text(meta, "updated")) or parse_date(_text(meta, "created")),
        comment=clean_text(_text(meta, "comments"), accents=True) or None,
        doi=clean_text(_text(meta, "doi")) or None,
        journal_ref=clean_text(_text(meta, "journal-ref"), accents=True) or None,
        source=NAME,
        source_ref=loc,
    )


def _authors(meta: etree._Element) -> list[str]:
    names = []
    for a in meta.iterfind(f"{_A}authors/{_A}author"):
        parts = [" ".join((a.findtext(f"{_A}{t}") or "").split()) for t in ("forenames", "keyname", "suffix")]
        name = " ".join(p for p in parts if p)
        if name:
            names.append(clean_text(name, accents=True))
    return names
