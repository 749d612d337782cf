"""Ingest pipeline: input files or fetched pages -> parsed records -> store, in transactional batches."""

from __future__ import annotations

import gzip
import io
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from paperboy.models import IngestReport, Paper, Rejected, SourceError
from paperboy.sources import FORMATS, detect_format
from paperboy.store import Store

MAX_REPORTED = 20  # problems kept in the report; all are passed to on_problem
GZIP_MAGIC = b"\x1f\x8b"

Problem = Callable[[str], None]


class IngestError(Exception):
    """An input could not be ingested at all (missing, unreadable, unknown format)."""


@contextmanager
def _open(path: Path, progress: bool) -> Iterator[BinaryIO]:
    """Open `path` for reading, gunzipping by content, with a byte-progress bar on the raw file."""
    size = path.stat().st_size
    with open(path, "rb") as raw:
        magic = raw.read(2)
        raw.seek(0)
        bar = tqdm(
            total=size, unit="B", unit_scale=True, unit_divisor=1024, desc=path.name,
            disable=None if progress else True, leave=False, dynamic_ncols=True,
        )
        with bar:
            tracked = _Tracked(raw, bar)
            yield gzip.GzipFile(fileobj=tracked) if magic == GZIP_MAGIC else tracked  # type: ignore[misc]


class _Tracked(io.RawIOBase):
    """A read-only file wrapper that advances a progress bar by the bytes read."""

    def __init__(self, raw: BinaryIO, bar: tqdm):
        self._raw, self._bar = raw, bar

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        n = self._raw.readinto(b)
        if n:
            self._bar.update(n)
        return n or 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._bar.update(len(data))
        return data

    def readline(self, size: int = -1) -> bytes:
        data = self._raw.readline(size)
        self._bar.update(len(data))
        return data

    def __iter__(self):
        return iter(self.readline, b"")


def read_head(path: Path, size: int = 65536) -> bytes:
    """First `size` bytes of the (gunzipped) content; a truncated gzip yields what could be read."""
    with open(path, "rb") as f:
        data = f.read(size if not _is_gzip(path) else 4 << 20)
    if data[:2] != GZIP_MAGIC:
        return data[:size]
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        return d.decompress(data, size)
    except zlib.error:
        return b""


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


class Ingester:
    """Feeds parsed records into a Store in batches, counting what happened."""

    def __init__(self, store: Store, batch_size: int = 2000, on_problem: Problem | None = None):
        self.store = store
        self.batch_size = batch_size
        self.on_problem = on_problem or (lambda _msg: None)

    def _problem(self, report: IngestReport, msg: str) -> None:
        if len(report.errors) < MAX_REPORTED:
            report.errors.append(msg)
        self.on_problem(msg)

    def feed(self, records: Iterable[Paper | Rejected], report: IngestReport, seen: dict[str, str]) -> None:
        """Store `records`; a record-level problem is reported and skipped, the rest goes in."""
        batch: list[tuple[Paper, bool]] = []
        for rec in records:
            if isinstance(rec, Rejected):
                report.rejected += 1
                self._problem(report, str(rec))
                continue
            key = rec.arxiv_id or rec.paper_id()
            first = seen.get(key)
            if first is not None:
                report.duplicates += 1
                self._problem(report, f"{rec.source_ref}: duplicate of {key} first seen at {first}; merged")
            else:
                seen[key] = rec.source_ref or "?"
            batch.append((rec.with_defaults(), first is not None))
            if len(batch) >= self.batch_size:
                self._flush(batch, report)
                batch = []
        if batch:
            self._flush(batch, report)

    def _flush(self, batch: list[tuple[Paper, bool]], report: IngestReport) -> None:
        out = self.store.upsert(batch)
        report.added += out.added
        report.updated += out.updated
        report.unchanged += out.unchanged

    def ingest_file(self, path: Path, fmt: str = "auto", progress: bool = False) -> IngestReport:
        """Ingest one file; never raises for bad content, the report says what went wrong."""
        path = Path(path)
        report = IngestReport(source=fmt)
        started = time.perf_counter()
        try:
            if not path.is_file():
                raise IngestError(f"{path}: no such file")
            if fmt == "auto":
                fmt = detect_format(read_head(path), path.name)
            if fmt not in FORMATS:
                raise IngestError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
            report.source = fmt
        except (IngestError, SourceError, OSError) as e:
            report.aborted = str(e)
            self._problem(report, report.aborted)
            return report
        run = self.store.start_run(fmt, str(path))
        seen: dict[str, str] = {}
        try:
            with _open(path, progress) as stream:
                self.feed(FORMATS[fmt].parse(stream, path.name), report, seen)
        except SourceError as e:
            report.aborted = f"{path.name}: {e}"
        except (EOFError, gzip.BadGzipFile, zlib.error) as e:
            report.aborted = f"{path.name}: compressed data is truncated or corrupt ({e}); everything before it was stored"
        except UnicodeDecodeError as e:
            report.aborted = f"{path.name}: not valid UTF-8 text ({e.reason} at byte {e.start})"
        except OSError as e:
            report.aborted = f"{path.name}: read failed: {e}"
        if report.aborted:
            self._problem(report, report.aborted)
        report.seconds = time.perf_counter() - started
        self.store.finish_run(run, report, status_of(report))
        return report


def status_of(report: IngestReport) -> str:
    if report.aborted and not (report.added or report.updated or report.unchanged):
        return "failed"
    if report.aborted or report.rejected:
        return "partial"
    return "ok"


def combine(reports: list[IngestReport], source: str) -> IngestReport:
    """Sum several per-file reports into one."""
    total = IngestReport(source=source)
    for r in reports:
        total.added += r.added
        total.updated += r.updated
        total.unchanged += r.unchanged
        total.rejected += r.rejected
        total.duplicates += r.duplicates
        total.seconds += r.seconds
        total.errors += r.errors[: max(0, MAX_REPORTED - len(total.errors))]
        if r.aborted:
            total.aborted = "; ".join(filter(None, [total.aborted, r.aborted]))
    return total
