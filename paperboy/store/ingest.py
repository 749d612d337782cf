"""Ingest pipeline: input files or fetched pages -> parsed records -> store, in transactional batches."""

from __future__ import annotations

import gzip
import io
import multiprocessing as mp
import os
import queue
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple

from tqdm import tqdm

from paperboy.models import IngestReport, Paper, Rejected, SourceError
from paperboy.sources import FORMATS, detect_format, read_head
from paperboy.store import Store
from paperboy.store.papers import Fresh, prepare

MAX_REPORTED = 20  # problems kept in the report; all are passed to on_problem
GZIP_MAGIC = b"\x1f\x8b"
PARALLEL_MIN_BYTES = 8 << 20  # below this, starting a parser process costs more than it saves
PACED_BATCH = 250  # papers per transaction when an ingest is paced (share < 1)
ANALYZE_AFTER = 1000  # papers added or changed by one ingest that make fresh planner statistics worth a pass

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
            total=size,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=path.name,
            disable=None if progress else True,
            leave=False,
            dynamic_ncols=True,
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


class Ingester:
    """Feeds parsed records into a Store in batches, counting what happened."""

    on_batch: Callable[[int], None] | None = None  # after each committed batch: papers it added or changed

    def __init__(self, store: Store, batch_size: int = 2000, on_problem: Problem | None = None, share: float = 1.0):
        """`share` < 1 paces the writes: after each batch, pause so writing takes that share of the time.

        A database server on the same cores runs the writes at full priority, whatever the niceness
        of the process sending them; pacing is how a background ingest leaves CPU to web requests.
        """
        if not 0 < share <= 1:
            raise ValueError(f"share must be in (0, 1], not {share}")
        self.store = store
        # Paced, short transactions: a web request never waits behind a long burst of writes.
        self.batch_size = min(batch_size, PACED_BATCH) if share < 1 else batch_size
        self.on_problem = on_problem or (lambda _msg: None)
        self.share = share

    def _problem(self, report: IngestReport, msg: str) -> None:
        if len(report.errors) < MAX_REPORTED:
            report.errors.append(msg)
        self.on_problem(msg)

    def feed(
        self, records: Iterable[Paper | Rejected], report: IngestReport, seen: dict[str, str], run: int | None = None
    ) -> None:
        """Store `records`; a record-level problem is reported and skipped, the rest goes in.

        With `run`, every batch also beats that ledger row's heartbeat.
        """
        batch: list[tuple[Paper, bool]] = []
        prepared: list[Fresh | None] = []
        for rec in records:
            pre = None
            if isinstance(rec, _Prepared):
                rec, pre = rec
            if isinstance(rec, _Abort):
                report.aborted = rec.message
                break
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
            prepared.append(pre)
            if len(batch) >= self.batch_size:
                self._flush(batch, prepared, report, run)
                batch, prepared = [], []
        if batch:
            self._flush(batch, prepared, report, run)

    def _flush(
        self, batch: list[tuple[Paper, bool]], prepared: list[Fresh | None], report: IngestReport, run: int | None
    ) -> None:
        started = time.perf_counter()
        out = self.store.upsert(batch, prepared)
        if self.share < 1:
            time.sleep((time.perf_counter() - started) * (1 / self.share - 1))
        report.added += out.added
        report.updated += out.updated
        report.unchanged += out.unchanged
        if run is not None:
            self.store.heartbeat(run, report)
        if self.on_batch is not None:
            self.on_batch(len(out.changed_ids))

    def feed_run(
        self, run: int, records: Iterable[Paper | Rejected], report: IngestReport, seen: dict[str, str]
    ) -> None:
        """`feed` for a ledger run; an exception or signal ending it early closes the row first.

        A long-lived process (`paperboy worker`, a web process) outlives the failed run, so the
        next run could not tell from its pid that this one is over.
        """
        try:
            self.feed(records, report, seen, run)
        except BaseException as e:
            report.aborted = report.aborted or f"stopped by {type(e).__name__}: {e}".rstrip(": ")
            try:
                self.store.finish_run(run, report, "failed" if isinstance(e, Exception) else "interrupted")
            except Exception:  # the database may be what failed; keep the original error
                pass
            raise

    def ingest_files(self, paths: Iterable[Path], fmt: str = "auto", progress: bool = False) -> list[IngestReport]:
        """Ingest files one after another, one run and report each; never raises for bad content.

        Large inputs are parsed in a second process while this one writes to the store, which
        roughly doubles throughput on a 2-core machine (parsing and SQL each take about half).
        """
        jobs: list[tuple[Path, str]] = []
        reports: list[IngestReport] = []
        for path in map(Path, paths):
            report = IngestReport(source=fmt)
            try:
                if not path.is_file():
                    raise IngestError(f"{path}: no such file")
                name = detect_format(read_head(path), path.name) if fmt == "auto" else fmt
                if name not in FORMATS:
                    raise IngestError(f"unknown format {name!r}; choose from {', '.join(FORMATS)}")
                report.source = name
                jobs.append((path, name))
            except (IngestError, SourceError, OSError) as e:
                report.aborted = str(e)
                self._problem(report, report.aborted)
            reports.append(report)
        pending = iter([r for r in reports if not r.aborted])
        big = sum(p.stat().st_size for p, _ in jobs) >= PARALLEL_MIN_BYTES and (os.cpu_count() or 1) > 1
        reader = _read_in_child(jobs, progress) if big else _read_all(jobs, progress)
        for path, stream in reader:
            report = next(pending)
            run = self.store.start_run(report.source, str(path))
            started = time.perf_counter()
            self.feed_run(run, stream, report, {})
            if report.aborted:
                self._problem(report, report.aborted)
            report.seconds = time.perf_counter() - started
            self.store.finish_run(run, report, status_of(report))
        if sum(r.added + r.updated for r in reports) >= ANALYZE_AFTER:
            self.store.analyze()
        return reports


class _Prepared(NamedTuple):
    """A parsed paper with what storing it as a new row takes, computed in the parser process."""

    paper: Paper
    fresh: Fresh | None


@dataclass(slots=True, frozen=True)
class _Abort:
    """Last item of a record stream whose input stopped early."""

    message: str


def _read_records(path: Path, fmt: str, progress: bool) -> Iterator[Paper | Rejected | _Abort]:
    """Parsed records of one file, ending with an _Abort if the file could not be read to the end."""
    try:
        with _open(path, progress) as stream:
            yield from FORMATS[fmt].parse(stream, path.name)
    except SourceError as e:
        yield _Abort(f"{path.name}: {e}")
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        yield _Abort(f"{path.name}: compressed data is truncated or corrupt ({e}); everything before it was stored")
    except UnicodeDecodeError as e:
        yield _Abort(f"{path.name}: not valid UTF-8 text ({e.reason} at byte {e.start})")
    except OSError as e:
        yield _Abort(f"{path.name}: read failed: {e}")


def _read_all(jobs: list[tuple[Path, str]], progress: bool) -> Iterator[tuple[Path, Iterator]]:
    for path, fmt in jobs:
        yield path, _read_records(path, fmt, progress)


_CHUNK = 500
_END = "end"


def _child_reader(jobs: list[tuple[Path, str]], progress: bool, q) -> None:
    def put(item) -> None:
        # A SIGKILLed parent can't tell us to stop, and a full queue would block forever.
        while True:
            try:
                q.put(item, timeout=1.0)
                return
            except queue.Full:
                parent = mp.parent_process()
                if parent is None or not parent.is_alive():
                    os._exit(1)

    for path, fmt in jobs:
        chunk: list = []
        for rec in _read_records(path, fmt, progress):
            # Per-record work done here, on the parser's core, leaves less to the storing process.
            if isinstance(rec, Paper):
                rec = rec.with_defaults()
                rec = _Prepared(rec, prepare(rec))
            chunk.append(rec)
            if len(chunk) >= _CHUNK:
                put(chunk)
                chunk = []
        put(chunk)
        put(_END)


def _read_in_child(jobs: list[tuple[Path, str]], progress: bool) -> Iterator[tuple[Path, Iterator]]:
    """Like _read_all, with parsing done by a spawned process feeding a bounded queue."""
    ctx = mp.get_context("spawn")  # fork is unsafe from a threaded server process
    q = ctx.Queue(maxsize=16)
    proc = ctx.Process(target=_child_reader, args=(jobs, progress, q), daemon=True)
    proc.start()

    def records() -> Iterator:
        while True:
            try:
                item = q.get(timeout=1.0)
            except queue.Empty:
                if not proc.is_alive():
                    yield _Abort(f"parser process died (exit code {proc.exitcode}); everything before it was stored")
                    return
                continue
            if item == _END:
                return
            yield from item

    try:
        for path, _fmt in jobs:
            stream = records()
            yield path, stream
            for _ in stream:  # the consumer stopped early: drain this file's remaining items
                pass
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join(timeout=5)


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
