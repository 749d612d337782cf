"""JSON Lines formats (the arXiv listing and OAI snapshot files): sniffing the first record's keys,
streaming one object per line through a format's record reader, the arXiv id of a record."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

from paperboy.models import Paper, Rejected, parse_arxiv_id
from paperboy.sources.text import RecordError, guard_format, head_text, iter_lines, opt_str


def iter_json_objects(
    stream: BinaryIO, origin: str, keys: set[str], name: str
) -> Iterator[tuple[bool, int, dict | Rejected]]:
    """JSON Lines reader: (fits, line_no, object or Rejected); `fits` means the object has one of `keys`."""
    for item in iter_lines(stream, origin):
        if isinstance(item, Rejected):
            yield False, 0, item
            continue
        line_no, text = item
        loc = f"{origin}:{line_no}"
        try:
            obj = json.loads(text)
        except ValueError as exc:
            yield False, line_no, Rejected(loc, f"invalid JSON: {exc}")
            continue
        if not isinstance(obj, dict):
            yield False, line_no, Rejected(loc, f"expected a JSON object, got {type(obj).__name__}")
        elif not keys & obj.keys():
            yield False, line_no, Rejected(loc, f"not a {name} record (none of the fields {', '.join(sorted(keys))})")
        else:
            yield True, line_no, obj


def first_line_keys(head: bytes) -> set[str]:
    """Top-level keys of the first JSON Lines record in `head` (approximate if the line is cut off)."""
    text = head_text(head)
    if not text.startswith("{"):
        return set()
    line = text.split("\n", 1)[0]
    try:
        obj = json.loads(line)
        return set(obj) if isinstance(obj, dict) else set()
    except ValueError:
        if "\n" in text:  # a complete first line that is not JSON
            return set()
        return set(re.findall(r'"([A-Za-z_][\w\-]*)"\s*:', line))


def parse_json_lines(
    stream: BinaryIO, origin: str, keys: set[str], name: str, to_paper: Callable[[dict, str], Paper]
) -> Iterator[Paper | Rejected]:
    """Stream a JSON Lines file of one format: each object through `to_paper(obj, "origin:line")`,
    a RecordError becomes a Rejected at that line, and a file that never fits raises SourceError."""

    def records() -> Iterator[tuple[bool, Paper | Rejected]]:
        for fits, line_no, obj in iter_json_objects(stream, origin, keys, name):
            if not fits:
                yield False, obj
                continue
            loc = f"{origin}:{line_no}"
            try:
                yield True, to_paper(obj, loc)
            except RecordError as exc:
                yield True, Rejected(loc, str(exc))

    yield from guard_format(records(), name, origin)


def require_arxiv_id(obj: dict) -> tuple[str, int | None]:
    """The record's arXiv id split into (id, version); RecordError when missing or malformed."""
    raw_id = opt_str(obj, "id")
    parsed = parse_arxiv_id(raw_id or "")
    if not parsed:
        raise RecordError(f"missing or invalid arXiv id {raw_id!r}")
    return parsed
