"""Following arXiv (OAI-PMH) and Hugging Face daily papers: one harvest run, resumable, with its status.

arXiv: ListRecords per followed archive's set, from the set's watermark to today; after each page
is stored its resumption token is saved, so a crash resumes at that page (ingest is idempotent, so
a page stored twice changes nothing). Hugging Face: one request per day from the watermark, plus
the last `harvest_initial_days` days again, because upvotes keep changing.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from tqdm import tqdm

from paperboy.config import Settings
from paperboy.models import IngestReport, Paper, Rejected, SourceError
from paperboy.sources import arxiv_oai_pmh, hf_daily
from paperboy.sources.hf_api import HfClient, extras
from paperboy.sources.oai_pmh import OaiClient, OaiError, Politeness
from paperboy.store import Store
from paperboy.store.ingest import Ingester, status_of

SOURCES = ("arxiv", "hf")
FOLLOW_KEY = "follow"
SET_RE = re.compile(r"^[a-z][a-z-]*(?::[A-Za-z][A-Za-z.-]*){0,2}$")
CATEGORY_RE = re.compile(r"^[a-z][a-z-]*(?:\.[A-Za-z][A-Za-z-]*)?$")
# arXiv's OAI sets: these archives are sets of their own; the other archives sit under "physics:".
TOP_LEVEL_SETS = {"cs", "econ", "eess", "math", "q-bio", "q-fin", "stat", "nlin", "physics"}
MAX_PAGE_RETRIES = 3  # a malformed page is fetched again this many times before the set stops
Problem = Callable[[str], None]


class HarvestError(Exception):
    """A harvest request was refused (bad arguments, unknown source or set)."""


@dataclass(slots=True)
class SourceReport:
    """What a harvest did for one source."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0  # arXiv records outside the followed categories
    requests: int = 0
    watermark: str | None = None
    errors: list[str] = field(default_factory=list)
    failed: bool = False  # stopped before the end (network, server); what was stored stays

    def add(self, rep: IngestReport) -> None:
        self.added += rep.added
        self.updated += rep.updated
        self.unchanged += rep.unchanged
        self.rejected += rep.rejected


@dataclass(slots=True)
class HarvestReport:
    sources: dict[str, SourceReport] = field(default_factory=dict)

    def total(self, name: str) -> int:
        return sum(getattr(s, name) for s in self.sources.values())

    @property
    def failed(self) -> bool:
        """Every source stopped early: nothing could be done."""
        return bool(self.sources) and all(s.failed for s in self.sources.values())

    @property
    def problems(self) -> bool:
        return any(s.failed or s.rejected or s.errors for s in self.sources.values())

    def to_dict(self) -> dict[str, Any]:
        marks = [s.watermark for s in self.sources.values() if s.watermark]
        out: dict[str, Any] = {
            k: self.total(k) for k in ("added", "updated", "unchanged", "rejected", "skipped", "requests")
        }
        out["watermark"] = min(marks) if marks else None  # everything followed is in up to this day
        out["sources"] = {name: asdict(s) for name, s in self.sources.items()}
        return out


def set_of(category: str) -> str:
    """The arXiv OAI set holding a category ('cs.CL' -> 'cs', 'hep-th' -> 'physics:hep-th')."""
    archive = category.split(".")[0]
    return archive if archive in TOP_LEVEL_SETS else f"physics:{archive}"


def followed(categories: Iterable[str], follow: list[str]) -> bool:
    """A paper is followed when one of its categories is a followed category or inside a followed archive."""
    return any(c == f or c.startswith(f + ".") or set_of(c) == f for c in categories for f in follow)


def _today() -> date:
    return datetime.now(timezone.utc).date()


def _days(start: date, end: date) -> Iterable[date]:
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)


def _joins(watermark: date | None, start: date) -> bool:
    """Does a window starting at `start` continue from `watermark` (so finishing it may move the watermark)?"""
    return watermark is None or start <= watermark + timedelta(days=1)


class Harvester:
    """Runs harvests into the store and answers what is followed and how the harvest stands."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    # -- following --------------------------------------------------------------------------------------
    def follow(self) -> list[str]:
        """The categories followed: the admin's choice, else PAPERBOY_FOLLOW, else those of the papers held."""
        stored = self.store.harvest.get_setting(FOLLOW_KEY)
        if isinstance(stored, list):
            return stored
        if self.settings.follow is not None:
            return list(self.settings.follow)
        return self.store.harvest.held_categories()

    def follow_origin(self) -> str:
        if isinstance(self.store.harvest.get_setting(FOLLOW_KEY), list):
            return "admin"
        return "setting" if self.settings.follow is not None else "papers held"

    def set_follow(self, categories: Iterable[str] | None, by: str | None = None) -> list[str]:
        """Store the admin's choice (None: back to the setting/default); raises HarvestError on a bad name."""
        if categories is None:
            self.store.harvest.delete_setting(FOLLOW_KEY)
            return self.follow()
        clean = list(dict.fromkeys(c.strip() for c in categories if c.strip()))
        bad = [c for c in clean if len(c) > 40 or not CATEGORY_RE.match(c)]
        if bad:
            raise HarvestError(f"not an arXiv category: {', '.join(bad[:5])} (e.g. cs.CL, stat.ML, hep-th)")
        if len(clean) > 200:
            raise HarvestError("at most 200 categories can be followed")
        self.store.harvest.set_setting(FOLLOW_KEY, clean, by)
        return clean

    def sets(self, follow: list[str] | None = None) -> list[str]:
        return sorted({set_of(c) for c in (self.follow() if follow is None else follow)})

    # -- running ----------------------------------------------------------------------------------------
    def _politeness(self) -> Politeness:
        s = self.settings
        return Politeness(
            min_interval=s.harvest_min_interval,
            max_retries=s.harvest_max_retries,
            backoff=s.harvest_backoff,
            default_retry_after=max(s.harvest_backoff, 1.0) * 6,
            timeout=s.harvest_timeout,
        )

    def _contact(self) -> str | None:
        if self.settings.harvest_contact:
            return self.settings.harvest_contact
        m = re.search(r"<([^<>@\s]+@[^<>\s]+)>|([^<>@\s]+@[^<>\s]+)", self.settings.mail_from)
        return (m.group(1) or m.group(2)) if m else None

    def run(
        self,
        source: str = "all",
        *,
        from_: date | None = None,
        until: date | None = None,
        sets: list[str] | None = None,
        progress: bool = False,
        on_problem: Problem | None = None,
    ) -> HarvestReport:
        """One harvest now. A source that fails (network, server) is reported and the others still run."""
        if source not in (*SOURCES, "all"):
            raise HarvestError(f"unknown source {source!r}; choose arxiv, hf or all")
        bad = [x for x in sets or () if not SET_RE.match(x)]
        if bad:
            raise HarvestError(f"not an OAI set of arXiv: {bad[0][:60]!r} (e.g. cs, math, physics:hep-th)")
        if from_ and until and from_ > until:
            raise HarvestError(f"--from {from_} is after --until {until}")
        problem = on_problem or (lambda _m: None)
        report = HarvestReport()
        if source in ("arxiv", "all"):
            report.sources["arxiv"] = self._arxiv(from_, until, sets, progress, problem)
        if source in ("hf", "all"):
            report.sources["hf"] = self._hf(from_, until, progress, problem)
        return report

    def _arxiv(
        self, from_: date | None, until: date | None, sets: list[str] | None, progress: bool, problem: Problem
    ) -> SourceReport:
        rep = SourceReport()
        follow = self.follow()
        if sets:
            follow = follow or list(sets)
        targets = sets or self.sets(follow)
        if not targets:
            rep.errors.append("arxiv: no categories followed (set PAPERBOY_FOLLOW or choose them on the admin page)")
            problem(rep.errors[-1])
            return rep
        with OaiClient(self.settings.arxiv_oai_url, politeness=self._politeness(), contact=self._contact()) as client:
            for set_ in targets:
                try:
                    self._arxiv_set(client, set_, follow, from_, until, rep, progress, problem)
                except (SourceError, OSError) as exc:
                    msg = f"arxiv set {set_}: {exc}"
                    self.store.harvest.fail("arxiv", set_, msg)
                    rep.errors.append(msg)
                    rep.failed = True
                    problem(msg)
                finally:
                    rep.requests = client.requests
        marks = [s.watermark for s in self.store.harvest.states("arxiv") if s.scope in targets]
        rep.watermark = min(marks).isoformat() if marks and all(marks) else None
        if rep.failed and len(rep.errors) < len(targets):
            rep.failed = False  # some sets worked: partial, not a failure of the source
        return rep

    def _arxiv_set(
        self,
        client: OaiClient,
        set_: str,
        follow: list[str],
        from_: date | None,
        until: date | None,
        rep: SourceReport,
        progress: bool,
        problem: Problem,
    ) -> None:
        hs = self.store.harvest
        state = hs.state("arxiv", set_)
        hs.attempt("arxiv", set_)
        token = None
        if from_ is not None:
            window = (from_, until or _today())
        elif state.resume_token:
            token, window = state.resume_token, (state.resume_from, state.resume_until)
        else:
            start = state.watermark or (_today() - timedelta(days=self.settings.harvest_initial_days))
            window = (start, until or _today())
        ing_rep = IngestReport(source=arxiv_oai_pmh.NAME)
        run = self.store.start_run(
            arxiv_oai_pmh.NAME, f"{client.endpoint} set={set_} from={window[0]} until={window[1]}"
        )
        ingester = Ingester(self.store, self.settings.batch_size, problem)
        restarted = False
        page_no = 0
        bar = tqdm(desc=f"arXiv {set_}", unit=" records", disable=None if progress else True, leave=False)
        try:
            while True:
                try:
                    page = self._oai_page(client, set_, window, token, page_no + 1)
                except OaiError as exc:
                    if exc.code == "noRecordsMatch":
                        break
                    if exc.code == "badResumptionToken" and token and not restarted:
                        # Tokens expire; the window is asked for again (stored pages come back unchanged).
                        problem(
                            f"arxiv set {set_}: resumption token refused; harvesting {window[0]}..{window[1]} "
                            "again from its first page"
                        )
                        token, restarted = None, True
                        continue
                    raise
                page_no += 1
                records: list[Paper | Rejected] = []
                for rec in page.records:
                    if isinstance(rec, Paper) and follow and not followed(rec.categories, follow):
                        rep.skipped += 1
                    else:
                        records.append(rec)
                ingester.feed(records, ing_rep, {}, run)
                bar.update(len(page.records))
                if not page.token:
                    break
                token = page.token
                hs.save_resume("arxiv", set_, token, window[0], window[1])
        except BaseException as exc:
            ing_rep.aborted = str(exc) or type(exc).__name__
            self.store.finish_run(run, ing_rep, "failed" if isinstance(exc, Exception) else "interrupted")
            rep.add(ing_rep)
            raise
        finally:
            bar.close()
        # A window that starts after the watermark (an explicit --from) leaves a gap: the watermark stays.
        hs.finish("arxiv", set_, window[1] if _joins(state.watermark, window[0]) else None)
        self.store.finish_run(run, ing_rep, status_of(ing_rep))
        rep.add(ing_rep)
        rep.errors.extend(ing_rep.errors)

    def _oai_page(
        self, client: OaiClient, set_: str, window: tuple[date, date], token: str | None, page_no: int
    ) -> arxiv_oai_pmh.OaiPage:
        """Fetch and parse one page; a malformed answer is fetched again (a proxy cut it, say), then given up on."""
        for attempt in range(MAX_PAGE_RETRIES + 1):
            body = client.list_records(
                set_=set_, from_=window[0].isoformat(), until=window[1].isoformat(), resumption_token=token
            )
            try:
                page = arxiv_oai_pmh.parse_page(body, f"{client.endpoint} set={set_} page {page_no}")
            except SourceError:
                if attempt == MAX_PAGE_RETRIES:
                    raise
                time.sleep(min(self.settings.harvest_backoff * 2**attempt, 300))
                continue
            if page.error_code:
                raise OaiError(page.error_code[:1].upper() + page.error_code[1:], page.error_message)
            return page
        raise AssertionError("unreachable")

    def _hf(self, from_: date | None, until: date | None, progress: bool, problem: Problem) -> SourceReport:
        rep = SourceReport()
        hs = self.store.harvest
        state = hs.state("hf", "")
        hs.attempt("hf", "")
        today = _today()
        end = until or today
        recent = today - timedelta(days=self.settings.harvest_initial_days - 1)
        if from_ is not None:
            start = from_
        else:
            start = min(state.watermark + timedelta(days=1), recent) if state.watermark else recent
        joins = _joins(state.watermark, start)
        ing_rep = IngestReport(source=hf_daily.NAME)
        run = self.store.start_run(hf_daily.NAME, f"{self.settings.hf_api_url} {start}..{end}")
        ingester = Ingester(self.store, self.settings.batch_size, problem)
        try:
            with HfClient(self.settings.hf_api_url, politeness=self._politeness(), contact=self._contact()) as client:
                try:
                    for day in tqdm(
                        list(_days(start, end)),
                        desc="Hugging Face",
                        unit=" days",
                        disable=None if progress else True,
                        leave=False,
                    ):
                        body = client.daily(day)
                        if body is not None:
                            self._hf_day(body, day, ingester, ing_rep, run, problem)
                        if joins:
                            hs.advance("hf", "", day)
                finally:
                    rep.requests = client.requests
        except SourceError as exc:
            msg = f"hf: {exc}"
            hs.fail("hf", "", msg)
            rep.failed = True
            rep.errors.append(msg)
            problem(msg)
            ing_rep.aborted = msg
            self.store.finish_run(run, ing_rep, "failed" if not (ing_rep.added or ing_rep.unchanged) else "partial")
        except BaseException as exc:
            ing_rep.aborted = str(exc) or type(exc).__name__
            self.store.finish_run(run, ing_rep, "failed" if isinstance(exc, Exception) else "interrupted")
            raise
        else:
            hs.finish("hf", "", end if joins else None)
            self.store.finish_run(run, ing_rep, status_of(ing_rep))
        rep.add(ing_rep)
        rep.errors.extend(e for e in ing_rep.errors if e not in rep.errors)
        mark = hs.state("hf", "").watermark
        rep.watermark = mark.isoformat() if mark else None
        return rep

    def _hf_day(
        self, body: bytes, day: date, ingester: Ingester, ing_rep: IngestReport, run: int, problem: Problem
    ) -> None:
        origin = f"{self.settings.hf_api_url}/api/daily_papers?date={day}"
        try:
            records = list(hf_daily.parse(io.BytesIO(body), origin))
            more = extras(body)
        except SourceError as exc:
            # One bad day is reported and skipped; it is inside the window fetched again next time.
            ing_rep.rejected += 1
            msg = str(exc) if str(exc).startswith(origin) else f"{origin}: {exc}"
            if len(ing_rep.errors) < 20:
                ing_rep.errors.append(msg)
            problem(msg)
            return
        ingester.feed(records, ing_rep, {}, run)
        self.store.harvest.save_hf_extras(more)

    # -- status -----------------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Per source: watermark, last success, last error, next run (when the worker harvests)."""
        every = self.settings.harvest_interval_hours
        out: dict[str, Any] = {
            "follow": self.follow(),
            "follow_origin": self.follow_origin(),
            "interval_hours": every,
            "sources": {},
        }
        for source in SOURCES:
            states = self.store.harvest.states(source)
            if source == "arxiv":
                wanted = set(self.sets())
                states = [s for s in states if s.scope in wanted] or states
            marks = [s.watermark for s in states]
            success = [s.last_success_at for s in states if s.last_success_at]
            attempts = [s.last_attempt_at for s in states if s.last_attempt_at]
            errors = sorted((s for s in states if s.last_error), key=lambda s: s.last_error_at or datetime.min)
            last_attempt = max(attempts) if attempts else None
            entry = {
                "watermark": min(marks).isoformat() if marks and all(marks) else None,
                "last_success": max(success).isoformat() if success else None,
                "last_error": errors[-1].last_error if errors else None,
                "last_error_at": errors[-1].last_error_at.isoformat() if errors and errors[-1].last_error_at else None,
                "next_run": ((last_attempt + timedelta(hours=every)).isoformat() if last_attempt else "at worker start")
                if every > 0
                else None,
            }
            if source == "arxiv":
                entry["sets"] = {s.scope: s.watermark.isoformat() if s.watermark else None for s in states}
            out["sources"][source] = entry
        return out

    def last_update(self) -> datetime | None:
        """When a harvest last completed for any source (the about page's "updated N minutes ago")."""
        done = [s.last_success_at for s in self.store.harvest.states() if s.last_success_at]
        return max(done) if done else None

    def hf_extras(self, paper_id: str) -> dict[str, Any] | None:
        return self.store.harvest.hf_extras(paper_id)
