"""Input formats: one pure parser module per format, a registry, format detection and input opening.

Every format module has `NAME`, `sniff(head: bytes) -> bool` and
`parse(stream: BinaryIO, origin: str) -> Iterator[Paper | Rejected]`.
"""

from __future__ import annotations

import functools
import gzip
import importlib
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import BinaryIO

from paperboy.models import SourceError

HEAD_BYTES = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"

# Detection order: the strict JSON Lines sniffers first, the loose plain-text one last.
_PARSERS = ("arxiv_oai", "arxiv_jsonl", "hf_daily", "arxiv_oai_pmh", "arxiv_atom", "bibtex", "hf_page")


@functools.cache
def formats() -> dict[str, ModuleType]:
    """Format name -> parser module, imported on first use: a command that only reads the store (search)
    never loads feedparser, lxml or bibtexparser just because the index imports paperboy.sources.links."""
    mods = [importlib.import_module(f"paperboy.sources.{m}") for m in _PARSERS]
    return {m.NAME: m for m in mods}


def __getattr__(name: str):
    if name == "FORMATS":  # `from paperboy.sources import FORMATS` still works
        return formats()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Only for an empty file, where there is nothing to sniff (ingesting it yields nothing either way).
_EXTENSIONS = {
    ".bib": "bibtex",
    ".atom": "arxiv-atom",
    ".xml": "arxiv-atom",
    ".jsonl": "arxiv-jsonl",
    ".json": "hf-daily",
    ".txt": "hf-page",
}


def detect_format(head: bytes, filename: str = "") -> str:
    """Name of the format whose sniff() accepts `head` (the first bytes, already gunzipped)."""
    for name, module in formats().items():
        if module.sniff(head):
            return name
    if not head.strip():
        suffixes = Path(filename).suffixes
        if suffixes and suffixes[-1] == ".gz":
            suffixes = suffixes[:-1]
        if suffixes and suffixes[-1].lower() in _EXTENSIONS:
            return _EXTENSIONS[suffixes[-1].lower()]
    raise SourceError(
        f"could not detect the format of {filename or 'the input'}; pass --format (one of: {', '.join(formats())})"
    )


@contextmanager
def open_input(path: Path) -> Iterator[tuple[BinaryIO, str]]:
    """Yield (binary stream, origin); gzip is decompressed on the fly when the file starts with 1f 8b."""
    path = Path(path)
    with open(path, "rb") as raw:
        if raw.read(2) == GZIP_MAGIC:
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                yield stream, path.name
        else:
            raw.seek(0)
            yield raw, path.name


def read_head(path: Path, size: int = HEAD_BYTES) -> bytes:
    """The first `size` bytes of the file, gunzipped when needed; a truncated gzip gives what decompressed."""
    with open(path, "rb") as raw:
        data = raw.read(size)
        if not data.startswith(GZIP_MAGIC):
            return data
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = b""
        try:
            while data and len(out) < size:
                out += inflater.decompress(data, size - len(out))
                data = inflater.unconsumed_tail + (raw.read(size) if not inflater.unconsumed_tail else b"")
                if inflater.eof:
                    break
        except zlib.error:
            pass  # corrupt or truncated: sniffing works on what we have
        return out[:size]
