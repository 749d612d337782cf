"""Text dump of a Hugging Face Papers page: a short header, then a title line and an abstract line per paper."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from paperboy.models import Paper, Rejected, SourceError
from paperboy.sources.text import clean_text, guard_format, head_text, iter_lines

NAME = "hf-page"
MAX_TITLE_CHARS = 300  # arXiv titles stay well below this; a longer line is an abstract
_HEADER_LINES = 15  # the page header is only looked for this far from the top
_HEADER = re.compile(
    r"(?:new|subscribe|get trending papers in your email inbox!?|by\s*ak and the research community"
    r"|(?:daily|trending) papers|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}(?:,? \d{4})?)",
    re.I,
)
_MARKERS = ("Get trending papers in your email inbox", "AK and the research community")
# JSON, XML or BibTeX at the top; a title may still start with "[" ("[Re] Reproducing ...").
_OTHER_FORMAT = re.compile(r'[\[{]\s*(?:["{\[]|$)|<(?:\?xml|!doctype|feed|html|rss)\b|@\s*[A-Za-z]+\s*[{(]', re.I)


def sniff(head: bytes) -> bool:
    """The HF page header, or at least two title/abstract pairs of plain text at the top."""
    text = head_text(head)
    if not text or "\x00" in text or _OTHER_FORMAT.match(text):
        return False
    if any(m in text for m in _MARKERS):
        return True
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    while lines and _HEADER.fullmatch(lines[0]):
        lines.pop(0)
    pairs = 0
    while len(lines) >= 2 and pairs < 3 and _is_title(lines[0]) and not _is_title(lines[1]):
        pairs += 1
        lines = lines[2:]
    return pairs >= 2


def parse(stream: BinaryIO, origin: str) -> Iterator[Paper | Rejected]:
    """Papers (title + abstract, nothing else is on the page); a title without an abstract is Rejected."""
    yield from guard_format(_records(stream, origin), NAME, origin)


def _is_title(text: str) -> bool:
    return len(text) <= MAX_TITLE_CHARS


def _body(stream: BinaryIO, origin: str) -> Iterator[tuple[int, str] | Rejected]:
    """Non-blank stripped lines after the page header."""
    in_header = True
    for n, item in enumerate(iter_lines(stream, origin)):
        if isinstance(item, Rejected):
            yield item
            continue
        line_no, text = item
        text = text.strip()
        if n == 0 and _OTHER_FORMAT.match(text):
            raise SourceError(f"{origin} looks like JSON, XML or BibTeX, not a Hugging Face Papers page dump")
        if in_header and n < _HEADER_LINES and _HEADER.fullmatch(text):
            continue
        in_header = False
        yield line_no, text


def _records(stream: BinaryIO, origin: str) -> Iterator[tuple[bool, Paper | Rejected]]:
    # A short line after a title is either a (rare) short abstract or the next title when the
    # title had no abstract; the line after it decides: a long line means it was a title.
    title: tuple[int, str] | None = None
    short: tuple[int, str] | None = None
    for item in _body(stream, origin):
        if isinstance(item, Rejected):
            yield False, item
            continue
        line_no, text = item
        if title is None:
            if _is_title(text):
                title = item
            else:
                yield False, Rejected(f"{origin}:{line_no}", "abstract without a title line before it")
        elif short is None:
            if _is_title(text):
                short = item
            else:
                yield True, _paper(title, text, origin)
                title = None
        elif _is_title(text):
            yield True, _paper(title, short[1], origin)
            title, short = item, None
        else:
            yield True, _no_abstract(title, origin)
            yield True, _paper(short, text, origin)
            title = short = None
    if title and short:
        yield True, _paper(title, short[1], origin)
    elif title:
        yield True, _no_abstract(title, origin)


def _paper(title: tuple[int, str], abstract: str, origin: str) -> Paper:
    line_no, text = title
    return Paper(
        title=clean_text(text, html_ok=False),
        abstract=clean_text(abstract, html_ok=False),
        source=NAME,
        source_ref=f"{origin}:{line_no}",
    )


def _no_abstract(title: tuple[int, str], origin: str) -> Rejected:
    line_no, text = title
    return Rejected(f"{origin}:{line_no}", f"title without an abstract: {text[:80]!r}")
