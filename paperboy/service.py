"""The Paperboy facade: the one object every surface (CLI, web, email) calls."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from paperboy.config import Settings
from paperboy.ingest import Ingester, combine, status_of
from paperboy.models import IngestReport, Paper, SourceError
from paperboy.store import Store


class Paperboy:
    """One instance per process; cheap to build in tests: `Paperboy(Settings(home=tmp_path))`."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.settings.home.mkdir(parents=True, exist_ok=True)
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.settings.resolved_database_url())
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    # -- ingest -------------------------------------------------------------------------
    def ingest(
        self,
        paths: Sequence[Path],
        fmt: str = "auto",
        *,
        progress: bool = False,
        on_problem: Callable[[str], None] | None = None,
    ) -> IngestReport:
        """Ingest files (any supported format, gzip or not); one summed report."""
        ing = Ingester(self.store, self.settings.batch_size, on_problem)
        reports = ing.ingest_files([Path(p) for p in paths], fmt, progress)
        return combine(reports, fmt if fmt != "auto" else ",".join(sorted({r.source for r in reports})))

    def ingest_arxiv_query(
        self,
        query: str,
        max_results: int = 100,
        *,
        base_url: str | None = None,
        min_interval: float = 3.0,
        on_problem: Callable[[str], None] | None = None,
    ) -> IngestReport:
        """Fetch papers matching an arXiv API query (e.g. 'cat:cs.CL') and ingest them."""
        from paperboy.sources import arxiv_atom

        ing = Ingester(self.store, self.settings.batch_size, on_problem)
        report = IngestReport(source="arxiv-api")
        run = self.store.start_run("arxiv-api", query)
        seen: dict[str, str] = {}
        kwargs: dict[str, Any] = {"min_interval": min_interval}
        if base_url:
            kwargs["base_url"] = base_url
        try:
            for n, page in enumerate(arxiv_atom.fetch_query(query, max_results, **kwargs), 1):
                ing.feed(arxiv_atom.parse(io.BytesIO(page), f"arxiv-api page {n}"), report, seen)
        except SourceError as e:
            report.aborted = f"arXiv API: {e}"
        except Exception as e:  # network failures of any kind end the run with what was stored
            report.aborted = f"arXiv API request failed: {e}"
        if report.aborted:
            ing._problem(report, report.aborted)
        self.store.finish_run(run, report, status_of(report))
        return report

    # -- reading ------------------------------------------------------------------------
    def paper(self, key: str) -> Paper | None:
        """A paper by id, arXiv id (with or without version) or arxiv.org URL."""
        return self.store.get(key)

    def stats(self) -> dict[str, Any]:
        return self.store.stats()

    def iter_papers(self) -> Iterator[Paper]:
        for _seq, p in self.store.iter_papers(0):
            yield p
