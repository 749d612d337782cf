"""The background worker's loop (run by `paperboy worker`): keeps an instance up to date.

Every pass (every `interval` seconds) it
  1. ingests files dropped into <home>/inbox/ (any format `paperboy ingest` reads), moving each to
     inbox/done/, or to inbox/failed/ with a <name>.log of the report when records were rejected
     or the input stopped early (the good records are stored either way);
  2. harvests arXiv (OAI-PMH) and Hugging Face daily papers for the followed categories: at start,
     then every harvest_interval_hours, and before the first digests of a UTC day when no harvest
     has succeeded that day yet (so a digest never goes out before the day's papers are in);
  3. brings the indexes up to date with the store: lexical first (seconds), then the embeddings
     (CPU-heavy, checkpointed, resumable), then places newly embedded papers on the map (when one
     was built with `paperboy map`; old points never move);
  4. every digest_check_minutes: sends due email digests (through the `deliver` callable the
     command plugs in: the email surface, as `paperboy digest run`) and fetches web submissions
     still queued (`Paperboy.process_submissions`, as the web app does).

Crash safety comes from the steps themselves: ingest is idempotent and transactional per batch (a
file whose ingest was killed stays in the inbox and is simply ingested again), the index update
holds a file lock and resumes from the manifests, digest rows are claimed atomically. So SIGKILL
at any point loses at most work in progress. SIGTERM/SIGINT stop between steps; while sleeping,
ingesting or embedding they stop at once (that work resumes on the next start: ingest is
idempotent, embedding restarts from its last checkpoint). Digests and index commits finish first.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from paperboy.service import IndexBusy, Paperboy

log = logging.getLogger("paperboy.service.worker")

HARVEST_RETRY_SECONDS = 30 * 60  # a failed harvest (no network) is tried again this soon

# Names a file being written carries until it is complete: copy as x.part, then rename into place.
PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".log")


class Stop(BaseException):
    """Raised by the signal handler to end the worker (a BaseException so no `except Exception` eats it)."""


@dataclass(slots=True)
class PassReport:
    """What one pass did."""

    files_done: int = 0
    files_failed: int = 0
    lexical: int = 0
    embedded: int = 0
    mapped: int = 0  # new papers placed on the map
    digests_sent: int = 0
    harvested: int = 0  # papers added or updated by a harvest
    submissions: int = 0
    errors: list[str] = field(default_factory=list)  # steps that failed (logged with a traceback)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.files_failed


class Worker:
    """The loop behind `paperboy worker`; `run_pass()` is one pass, `run()` the loop."""

    def __init__(
        self,
        pb: Paperboy,
        *,
        interval: float = 5.0,
        settle: float = 2.0,
        embed: bool = True,
        deliver: Callable[[], Any] | None = None,
        progress: bool = False,
        checkpoint_every: int | None = None,
        ingest_share: float = 1.0,
    ) -> None:
        self.pb = pb
        self.ingest_share = float(ingest_share)
        self.interval = float(interval)
        self.settle = float(settle)
        self.embed = embed
        self.deliver = deliver  # sends due digests, returns a report with .summary(); None: no digests
        self.progress = progress
        self.checkpoint_every = checkpoint_every
        self.inbox = pb.settings.home / "inbox"
        self.stopping: str | bool = False  # the signal's name once one asked the worker to stop
        self._interruptible = False
        self._last_slow: float | None = None  # monotonic time of the last digest/submission steps
        self._slow = True  # this pass runs them (every digest_check_minutes)
        self._dense_failed_at: int | None = None  # store seq at which embedding last failed
        self._busy_said = False
        self._next_harvest: float | None = None  # monotonic time the next harvest is due; None: at start
        self._last_harvest_try: float | None = None

    # -- signals ----------------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, _frame) -> None:
        name = signal.Signals(signum).name
        again, self.stopping = bool(self.stopping), self.stopping or name
        if self._interruptible or again:
            raise Stop(name)
        log.info("%s: stopping after the current step", name)

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """A stretch (sleeping, ingesting, embedding) that a stop signal may cut short."""
        if self.stopping:
            raise Stop(self.stopping)
        self._interruptible = True
        try:
            yield
        finally:
            self._interruptible = False

    # -- the loop ---------------------------------------------------------------------------------
    def run(self, *, once: bool = False) -> PassReport:
        """Passes until stopped (or one with once=True); returns the last pass's report."""
        log.info("started on %s (inbox %s, every %g s)", self.pb.settings.home, self.inbox, self.interval)
        rep = PassReport()
        try:
            while True:
                rep = self.run_pass()
                if once or self.stopping:
                    break
                with self.interruptible():
                    time.sleep(self.interval)
        except Stop:
            pass
        if self.stopping:
            log.info("stopped (%s)", self.stopping)
        return rep

    def run_pass(self) -> PassReport:
        rep = PassReport()
        every = float(self.pb.settings.digest_check_minutes) * 60
        self._slow = self._last_slow is None or time.monotonic() - self._last_slow >= every
        if self._slow:
            self._last_slow = time.monotonic()
        for name, step in (
            ("inbox", self.ingest_inbox),
            ("harvest", self.harvest),
            ("index", self.update_index),
            ("map", self.update_map),
            ("digests", self.run_digests),
            ("submissions", self.fetch_submissions),
        ):
            if self.stopping:
                break
            try:
                step(rep)
            except Exception as e:  # the worker must outlive one bad step; the next pass retries it
                log.exception("%s step failed", name)
                rep.errors.append(f"{name}: {type(e).__name__}: {e}")
        return rep

    # -- 1. inbox ---------------------------------------------------------------------------------
    def ready_files(self) -> list[Path]:
        """Inbox files to ingest now: not hidden, not partial, unchanged for `settle` seconds."""
        try:
            entries = sorted(self.inbox.iterdir())
        except FileNotFoundError:
            return []
        now = time.time()
        out = []
        for p in entries:
            if p.name.startswith(".") or p.name.endswith(PARTIAL_SUFFIXES):
                continue
            try:
                st = p.stat()
            except OSError:
                continue
            if p.is_file() and now - st.st_mtime >= self.settle:
                out.append(p)
        return out

    def ingest_inbox(self, rep: PassReport) -> None:
        for d in (self.inbox, self.inbox / "done", self.inbox / "failed"):
            d.mkdir(parents=True, exist_ok=True)
        for path in self.ready_files():
            if self.stopping:
                return
            problems: list[str] = []
            try:
                # Interruptible: a stop signal abandons the file mid-way; it stays in the inbox and
                # is ingested again (idempotently) on the next start.
                with self.interruptible():
                    report = self.pb.ingest(
                        [path], progress=self.progress, on_problem=problems.append, share=self.ingest_share
                    )
            except Exception:  # the store, not the file (database down...): keep the file, retry next pass
                log.exception("inbox: ingesting %s failed; left in the inbox for the next pass", path.name)
                rep.errors.append(f"inbox: {path.name}")
                continue
            failed = bool(report.aborted or report.rejected)
            dest = _free_name(self.inbox / ("failed" if failed else "done"), path.name)
            if failed:
                _write_log(dest.with_name(dest.name + ".log"), path, report.to_dict(), problems)
            os.replace(path, dest)
            rep.files_failed += failed
            rep.files_done += not failed
            line = (
                f"{report.source}: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
                f"{report.rejected} rejected in {report.seconds:.1f} s"
            )
            if report.aborted:
                line += f"; stopped early: {report.aborted}"
            log.info("inbox: %s -> %s/ (%s)", path.name, dest.parent.name, line)

    # -- 2. harvest -------------------------------------------------------------------------------
    def harvest_due(self) -> bool:
        every = float(self.pb.settings.harvest_interval_hours) * 3600
        if every <= 0:
            return False
        now = time.monotonic()
        if self._next_harvest is None or now >= self._next_harvest:
            return True
        if not (self._slow and self.deliver is not None):
            return False
        # Digests are checked in this pass: the day's papers must be in first.
        last = self.pb.harvest.last_update()
        start_of_day = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        retry = min(every, HARVEST_RETRY_SECONDS)
        return (last is None or last < start_of_day) and (
            self._last_harvest_try is None or now - self._last_harvest_try >= retry
        )

    def harvest(self, rep: PassReport) -> None:
        if not self.harvest_due():
            return
        every = float(self.pb.settings.harvest_interval_hours) * 3600
        self._last_harvest_try = time.monotonic()
        problems: list[str] = []
        try:
            with self.interruptible():
                report = self.pb.harvest.run("all", progress=self.progress, on_problem=problems.append)
        finally:
            # A harvest that raised (database down) is retried sooner than the regular schedule.
            self._next_harvest = time.monotonic() + min(every, HARVEST_RETRY_SECONDS)
        if not any(s.failed for s in report.sources.values()):
            self._next_harvest = self._last_harvest_try + every
        data = report.to_dict()
        rep.harvested = data["added"] + data["updated"]
        for name, s in data["sources"].items():
            line = (
                f"{name}: {s['added']} added, {s['updated']} updated, {s['unchanged']} unchanged, "
                f"{s['rejected']} rejected, {s['requests']} requests, watermark {s['watermark']}"
            )
            if s["failed"]:
                # One line, no traceback: no network is an expected state, retried on the next passes.
                log.warning(
                    "harvest: %s; stopped: %s (retried in %.0f min)",
                    line,
                    s["errors"][-1],
                    min(every, HARVEST_RETRY_SECONDS) / 60,
                )
                rep.errors.append(f"harvest: {s['errors'][-1]}")
            else:
                log.info("harvest: %s", line)
        for msg in problems[:5]:
            log.warning("harvest: %s", msg)

    # -- 3. indexes -------------------------------------------------------------------------------
    def update_index(self, rep: PassReport) -> None:
        pb = self.pb
        try:
            lex = pb.update_index(embed=False, wait=False)  # keyword search first: seconds
        except IndexBusy:
            if not self._busy_said:
                log.info("index: another process is updating it; retrying on the next passes")
                self._busy_said = True
            return
        self._busy_said = False
        if lex.lexical:
            rep.lexical = lex.lexical
            log.info("index: %s papers indexed for keyword search in %.1f s", f"{lex.lexical:,}", lex.seconds)
        if not self.embed or self.stopping:
            return
        status = pb.index_status()
        if not status["dense_stale"] or self._dense_failed_at == status["store_seq"]:
            return
        log.info("index: embedding new papers (store seq %d; resumable)", status["store_seq"])
        try:
            with self.interruptible():
                dense = pb.update_index(
                    embed=True, wait=False, progress=self.progress, checkpoint_every=self.checkpoint_every
                )
        except IndexBusy:
            return
        if dense.dense_error:
            # Often a model that cannot load: don't retry every few seconds, only when papers arrive.
            self._dense_failed_at = status["store_seq"]
            log.warning("index: semantic index not updated: %s (retried when new papers arrive)", dense.dense_error)
            rep.errors.append(f"index: {dense.dense_error}")
        else:
            rep.embedded = dense.embedded
            log.info("index: embedded %s papers in %.1f s", f"{dense.embedded:,}", dense.seconds)

    def update_map(self, rep: PassReport) -> None:
        """Place newly embedded papers on the map (a built one: building it is `paperboy map`, not a surprise)."""
        from paperboy.service.maps import MapBusy

        if self.stopping or not self.pb.map.stale():
            return
        try:
            rep.mapped = self.pb.map.update(wait=False)
        except MapBusy:
            return
        if rep.mapped:
            log.info("map: placed %s new papers", f"{rep.mapped:,}")

    # -- 4. digests and submissions ---------------------------------------------------------------
    def run_digests(self, rep: PassReport) -> None:
        if self.deliver is None or not self._slow:
            return
        res = self.deliver()
        rep.digests_sent = res.sent
        if res.sent or res.failed or res.retry or res.aborted:
            log.info("digests: %s", res.summary())

    def fetch_submissions(self, rep: PassReport) -> None:
        """Web submissions still queued (their web process died or was busy): fetch them from arXiv."""
        if not self._slow:
            return
        done = self.pb.process_submissions() or []
        rep.submissions = len(done)
        if done:
            states = ", ".join(f"{s.arxiv_id} {s.state}" for s in done[:10])
            log.info("submissions: %d processed (%s%s)", len(done), states, ", ..." if len(done) > 10 else "")


def _free_name(directory: Path, name: str) -> Path:
    """directory/name, or name with a timestamp when a file of that name is already there."""
    dest = directory / name
    if not dest.exists() and not (directory / (name + ".log")).exists():
        return dest
    stem = time.strftime("%Y%m%dT%H%M%S")
    for n in range(1000):
        dest = directory / f"{stem}{'-' + str(n) if n else ''}-{name}"
        if not dest.exists():
            return dest
    raise FileExistsError(f"no free name for {name} in {directory}")


def _write_log(path: Path, source: Path, report: dict, problems: list[str]) -> None:
    body = {
        "file": source.name,
        "ingested_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "report": report,
        "problems": problems[:1000],
        "more_problems": max(0, len(problems) - 1000),
    }
    path.write_text(json.dumps(body, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
