"""Helpers shared by the source parsers: line decoding, text cleaning, dates, field checks, format guard."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import date
from email.utils import parsedate_to_datetime
from typing import Any, BinaryIO

from paperboy.models import Paper, Rejected, SourceError

MAX_FIELD_CHARS = 100_000  # longer text fields are truncated, the paper is kept
GUARD_LINES = 20  # this many unreadable records before anything readable means "wrong format"
UTF8_BOM = b"\xef\xbb\xbf"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # NUL etc. (PostgreSQL text cannot hold NUL)
_SPACE = re.compile(r"\s+")
# Math is left for the web page to render; HTML stripping and accent conversion must not touch it.
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$]+\$|\\\(.+?\\\)|\\\[.+?\\\]", re.S)
_ATTRS = r"""(?:\s+[a-zA-Z_:][-\w:.]*\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))*\s*/?>"""  # name="value" only
_HTML_HINT = re.compile(
    r"</?(?:p|br|hr|i|b|u|em|strong|sub|sup|a|span|div|ul|ol|li|code|pre|h[1-6]|blockquote|img|table|tr|td|th)"
    + _ATTRS,
    re.I,
)
_TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)" + _ATTRS)
_BLOCK_TAGS = {
    "p",
    "br",
    "hr",
    "div",
    "ul",
    "ol",
    "li",
    "pre",
    "blockquote",
    "table",
    "tr",
    "td",
    "th",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
}
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]*);")

_COMBINING = {
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    '"': "\u0308",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "c": "\u0327",
    "k": "\u0328",
    "r": "\u030a",
}
_SYMBOL_ACCENT = r"""['`^"~=.]"""
_LETTER_ACCENT = r"[uvHckr]"
_BASE = r"\\[ij](?![a-zA-Z])|[A-Za-z]"
# {\"o}, \"{o}, \"o, {\v s}, \v{s}, {\"}o; letter accents need braces so \cite or \vec are never touched.
_ACCENT = re.compile(
    rf"\{{\\(?P<a1>{_SYMBOL_ACCENT})\s*(?:\{{(?P<b1>{_BASE})\}}|(?P<c1>{_BASE}))\}}"
    rf"|\{{\\(?P<a2>{_LETTER_ACCENT})\s*(?:\{{(?P<b2>{_BASE})\}}|\s(?P<c2>{_BASE}))\}}"
    rf"|\\(?P<a3>{_SYMBOL_ACCENT})\s*(?:\{{(?P<b3>{_BASE})\}}|(?P<c3>{_BASE}))"
    rf"|\\(?P<a4>{_LETTER_ACCENT})\{{(?P<b4>{_BASE})\}}"
    rf"|\{{\\(?P<a5>{_SYMBOL_ACCENT})\}}(?P<c5>{_BASE})"  # T{\"}ulu
)
_SPECIAL_LETTERS = {
    "ss": "ß",
    "o": "ø",
    "O": "Ø",
    "aa": "å",
    "AA": "Å",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "l": "ł",
    "L": "Ł",
    "i": "ı",
}
_SPECIAL = re.compile(r"\{\\(ss|o|O|aa|AA|ae|AE|oe|OE|l|L|i)\}")

_MONTHS = {
    m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)
}


def _outside_math(text: str, fn) -> str:
    """Apply `fn` to the parts of `text` that are not LaTeX math."""
    if "$" not in text and "\\(" not in text and "\\[" not in text:
        return fn(text)
    out, pos = [], 0
    for m in _MATH.finditer(text):
        out.append(fn(text[pos : m.start()]))
        out.append(m.group())
        pos = m.end()
    out.append(fn(text[pos:]))
    return "".join(out)


def _strip_tags(text: str) -> str:
    return _TAG.sub(lambda m: " " if m.group(1).lower() in _BLOCK_TAGS else "", text)


def _accent(m: re.Match) -> str:
    g = m.groupdict()
    accent = next(g[k] for k in ("a1", "a2", "a3", "a4", "a5") if g[k])
    base = next(g[k] for k in ("b1", "c1", "b2", "c2", "b3", "c3", "b4", "c5") if g[k])
    base = base[-1] if base.startswith("\\") else base  # \i, \j: dotless letters under an accent
    return unicodedata.normalize("NFC", base + _COMBINING[accent])


def latex_accents(text: str) -> str:
    """Turn TeX accent macros outside math (Schr\\"odinger, Fr\\'{e}chet, {\\ss}) into Unicode letters."""
    if "\\" not in text:
        return text
    return _outside_math(
        text, lambda part: _SPECIAL.sub(lambda m: _SPECIAL_LETTERS[m.group(1)], _ACCENT.sub(_accent, part))
    )


def clean_text(value: Any, *, max_chars: int = MAX_FIELD_CHARS, html_ok: bool = True, accents: bool = False) -> str:
    """One-line display text: HTML removed (only when it really is HTML), whitespace collapsed, capped.

    `accents` converts TeX accent macros (arXiv text); math like `$x<y$` is always kept as is.
    """
    if value is None:
        return ""
    text = str(value)[: max_chars * 2]  # cleaning only shrinks text; bound the work on giant fields
    text = _CONTROL.sub(" ", text)
    if html_ok:
        if "<" in text and _HTML_HINT.search(_MATH.sub("", text)):
            text = _outside_math(text, _strip_tags)
        if "&" in text and _ENTITY.search(text):
            text = html.unescape(text)
    if accents:
        text = latex_accents(text)
    text = unicodedata.normalize("NFC", _SPACE.sub(" ", text).strip())
    return text[:max_chars].rstrip()


def parse_date(value: Any) -> date | None:
    """Date from '2024-01-03', '2024-01-03T18:00:00.000Z' or 'Mon, 2 Apr 2007 19:18:42 GMT'; None if unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    m = re.match(r"(\d{4})-(\d{2})-(\d{2})", value)
    try:
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        return parsedate_to_datetime(value).date()
    except (ValueError, TypeError, IndexError):
        return None


def parse_month(value: Any) -> int | None:
    """Month number from 'mar', 'March', '3' or '03'; None if unreadable."""
    text = str(value or "").strip().strip("{}").strip().lower()
    if text.isdigit() and 1 <= int(text) <= 12:
        return int(text)
    return _MONTHS.get(text[:3])


# --- record fields -------------------------------------------------------------------------------


class RecordError(ValueError):
    """A single record is unusable; the message becomes the Rejected reason."""


def opt_str(obj: dict, key: str) -> str | None:
    """The string at `key`, None if missing/null; RecordError if it is another type."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"field '{key}' should be a string, got {type(value).__name__}")
    return value


def str_list(obj: dict, key: str) -> list[str]:
    """The list of strings at `key` ([] if missing/null); RecordError on other types."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RecordError(f"field '{key}' should be a list of strings")
    return value


def opt_int(obj: dict, key: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RecordError(f"field '{key}' should be a number, got {type(value).__name__}")
    return int(value)


def require_title(title: str | None) -> str:
    title = clean_text(title, accents=True)
    if not title:
        raise RecordError("missing title")
    return title


def clean_names(items: Iterable[str]) -> list[str]:
    """Author names cleaned (TeX accents too), empty ones dropped; repeats kept (two people can share a name)."""
    return [n for n in (clean_text(i, max_chars=1000, accents=True) for i in items) if n]


def dedupe(items: Iterable[str]) -> list[str]:
    """Cleaned, non-empty, first occurrence kept (for categories)."""
    out: list[str] = []
    for item in items:
        item = clean_text(item, max_chars=1000)
        if item and item not in out:
            out.append(item)
    return out


# --- streams -------------------------------------------------------------------------------------


def iter_lines(stream: BinaryIO, origin: str) -> Iterator[tuple[int, str] | Rejected]:
    """(line_no, text) for each non-blank line, or a Rejected for a line that is not UTF-8. Streams."""
    for line_no, raw in enumerate(stream, 1):
        if line_no == 1 and raw.startswith(UTF8_BOM):
            raw = raw[len(UTF8_BOM) :]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Rejected(
                f"{origin}:{line_no}", f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
            )
            continue
        if text.strip():
            yield line_no, text


def guard_format(
    records: Iterable[tuple[bool, Paper | Rejected]], name: str, origin: str, limit: int = GUARD_LINES
) -> Iterator[Paper | Rejected]:
    """Pass records through, but raise SourceError when the input does not look like `name` at all.

    A record "fits" when it has the shape of the format, even if it is rejected for a bad field.
    The first rejections are held back until something fits; `limit` unfitting records in a row
    at the start (or an input with nothing that fits) means the whole input is not this format.
    """
    held: list[Paper | Rejected] = []
    fitted = False
    for fits, item in records:
        if fitted:
            yield item
        elif fits:
            fitted = True
            yield from held
            held.clear()
            yield item
        else:
            held.append(item)
            if len(held) >= limit:
                raise SourceError(
                    f"{origin} does not look like {name}: the first {limit} records are all "
                    f"unreadable (first: {held[0]})"
                )
    if held:
        raise SourceError(f"{origin} does not look like {name}: no record could be read (first: {held[0]})")


def head_text(head: bytes) -> str:
    """Sniffing helper: the head as text without BOM and leading whitespace."""
    if head.startswith(UTF8_BOM):
        head = head[len(UTF8_BOM) :]
    return head.decode("utf-8", errors="replace").lstrip()
