"""Reading a whole document, for the formats parsed in one piece (Atom, OAI-PMH, BibTeX, HF daily JSON):
a size limit, the BOM, UTF-8 with bad bytes replaced and reported."""

from __future__ import annotations

from collections.abc import Generator
from typing import BinaryIO

from paperboy.models import Rejected, SourceError
from paperboy.sources.text import UTF8_BOM


def read_document(stream: BinaryIO, origin: str, max_bytes: int, what: str = "") -> bytes:
    """The whole input, for formats parsed as one document; SourceError when it is larger than
    max_bytes (`what` names what such a large input is not)."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise SourceError(f"{origin} is larger than {max_bytes // 2**20} MB" + (f"; not {what}" if what else ""))
    return data


def decode_document(data: bytes, origin: str) -> Generator[Rejected, None, str]:
    """A whole document as text, BOM dropped ("" when it is blank); bytes that are not UTF-8 are
    replaced by U+FFFD and reported once, as a Rejected at their line. Use: `text = yield from ...`."""
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    if not data.strip():
        return ""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Keep going with replacement characters; say where the bad bytes are.
        line_no = data.count(b"\n", 0, exc.start) + 1
        yield Rejected(f"{origin}:{line_no}", "not valid UTF-8; undecodable bytes replaced by U+FFFD")
        return data.decode("utf-8", errors="replace")
