"""The Paperboy facade: the one object every surface (CLI, web, email, worker) calls.

It builds and owns every service object (community, moderation, digests, recommender), each once,
lazily, so a command that needs only the store never loads the rest.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from paperboy.config import Settings
from paperboy.models import IngestReport, Paper, SearchFilters, SearchHit, SearchPage, SourceError
from paperboy.store import Store
from paperboy.store.backup import BackupError, BackupResult

__all__ = ["Paperboy", "BackupError", "BackupResult"]

log = logging.getLogger(__name__)

SORTS = ("relevance", "date", "upvotes")
MAX_LIMIT = 200
MAX_DEPTH = 1000  # deepest result a page can reach; deeper pages are empty


class Paperboy:
    """One instance per process; cheap to build in tests: `Paperboy(Settings(home=tmp_path))`."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.settings.home.mkdir(parents=True, exist_ok=True)
        self._store: Store | None = None
        self._services: dict[str, Any] = {}
        self._secret_key: bytes | None = None
        self._lock = threading.RLock()  # builds each service once when threads race (re-entrant: they nest)
        self.submission_lock = threading.Lock()  # one submission fetch at a time per process

    def _once(self, name: str, build: Callable[[], Any]) -> Any:
        """The service kept under `name`, built by `build()` on first use (once, even when threads race)."""
        got = self._services.get(name)
        if got is None:
            with self._lock:
                got = self._services.get(name)
                if got is None:
                    got = self._services[name] = build()
        return got

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.settings.resolved_database_url())
        return self._store

    @property
    def indexes(self):
        """The lexical + dense index files under home/index."""
        from paperboy.index.indexes import Indexes

        return self._once(
            "indexes",
            lambda: Indexes(
                self.settings.index_dir, self.settings.embedding_model, backend=self.settings.embedding_backend
            ),
        )

    @property
    def searcher(self):
        """Hybrid retrieval over the indexes."""
        from paperboy.ranking.hybrid import HybridSearcher

        return self._once("searcher", lambda: HybridSearcher(self.indexes))

    @property
    def community(self):
        """Accounts, votes, libraries, submissions and trending."""
        from paperboy.service.community import Community

        return self._once("community", lambda: Community(self.store, self.settings))

    @property
    def harvest(self):
        """Following arXiv and Hugging Face: harvest runs, followed categories, status."""
        from paperboy.service.harvest import Harvester

        return self._once("harvest", lambda: Harvester(self.store, self.settings))

    @property
    def moderation(self):
        """Hiding papers, banning accounts, the moderation log."""
        from paperboy.service.moderation import Moderation

        return self._once("moderation", lambda: Moderation(self.community))

    @property
    def comments(self):
        """Threaded discussions under papers (moderated by the same admins)."""
        from email.utils import parseaddr

        from paperboy.service.comments import Comments

        domain = parseaddr(self.settings.mail_from)[1].rpartition("@")[2] or "paperboy.invalid"
        return self._once(
            "comments",
            lambda: Comments(self.store, is_admin=self.moderation.is_admin, secret=self.secret_key, mail_domain=domain),
        )

    @property
    def collections(self):
        """Users' named collections of papers."""
        from paperboy.service.collections import Collections

        return self._once("collections", lambda: Collections(self.store))

    @property
    def secret_key(self) -> bytes:
        """The instance's signing key (sessions, CSRF, links in emails): configured or created once."""
        if self._secret_key is None:
            from paperboy.config import load_secret_key

            self._secret_key = load_secret_key(self.settings)
        return self._secret_key

    @property
    def digests(self):
        """Email digest subscriptions, composition and the outbox."""
        from paperboy.service.digests import Digests

        return self._once("digests", lambda: Digests(self, community=self.community, secret=self.secret_key))

    @property
    def keywords(self):
        """A paper's keywords: HF's AI keywords, else chosen by its embedding, else from its text."""
        from paperboy.service.keywords import Keywords

        return self._once("keywords", lambda: Keywords(self))

    @property
    def ranker(self):
        """ "Rank my list": score any papers (files or stored) for a library."""
        from paperboy.service.ranklist import Ranker

        return self._once("ranker", lambda: Ranker(self))

    @property
    def profiles(self):
        """Readers' interest profiles: ratings, imports, cold start, signed feedback links."""
        from paperboy.service.profiles import Profiles

        return self._once("profiles", lambda: Profiles(self, self.secret_key))

    @property
    def recommender(self):
        """The one recommender behind "recommended for you" and the digests."""
        return self.digests.recommender

    def process_submissions(self) -> list:
        """Fetch queued web submissions from the arXiv API, ingest and index them; the processed rows."""

        def fetch(ids: list[str]) -> IngestReport:
            # One attempt: a submission that finds arXiv unreachable stays queued and the next run (the
            # worker's or the server's scheduler) tries again, instead of sleeping through backoffs here.
            report = self.ingest_arxiv_ids(
                ids, base_url=self.settings.arxiv_api_url, min_interval=self.settings.arxiv_min_interval, max_attempts=1
            )
            if report.added or report.updated:
                from paperboy.index.indexes import IndexBusy

                try:  # embed only where a semantic index exists (loading a model is costly)
                    # Never wait on another updater (a `paperboy worker`): it picks the paper up itself.
                    self.update_index(embed=bool(self.index_status().get("dense_papers")), wait=False)
                except IndexBusy:
                    log.info("index busy in another process; the new paper is indexed by its next update")
                except Exception:  # the paper is stored; the index catches up on the next update
                    log.exception("updating the index after a submission failed")
            return report

        with self.submission_lock:
            return self.community.process_submissions(fetch)

    @property
    def map(self):
        """The map of the field: layout, topics and momentum (files under home/index/map)."""
        from paperboy.service.maps import PaperMap

        return self._once("map", lambda: PaperMap(self.store, self.indexes, self.settings.index_dir / "map"))

    def close(self) -> None:
        self._services.pop("community", None)
        self._services.pop("moderation", None)
        self._services.pop("digests", None)
        self._services.pop("comments", None)
        self._services.pop("collections", None)
        self._services.pop("harvest", None)
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
        share: float = 1.0,
        index: bool = False,
        on_batch: Callable[[int], None] | None = None,
    ) -> IngestReport:
        """Ingest files (any supported format, gzip or not); one summed report.

        `share` < 1 paces the database writes to that share of the time (see Ingester).
        `index`: inputs of at least `ingest_index_min_bytes` are keyword-indexed while they are stored, by a
        second process (IndexFollower); why it failed, if it did, is the report's `index_error`. The caller
        still runs `update_index` afterwards: the catch-up of what the follower had not reached.
        `on_batch(n)`: called after each committed batch with the number of papers it added or changed.
        """
        from paperboy.store.ingest import Ingester, combine  # with every source parser: only when ingesting

        files = [Path(p) for p in paths]
        follower = None
        if index and sum(p.stat().st_size for p in files if p.is_file()) >= self.settings.ingest_index_min_bytes:
            from paperboy.service.index_follower import IndexFollower

            follower = IndexFollower(self.settings, self.settings.ingest_index_every)

        def batch_done(n: int) -> None:
            if follower is not None:
                follower.stored(n)
            if on_batch is not None:
                on_batch(n)

        ing = Ingester(self.store, self.settings.batch_size, on_problem, share=share)
        ing.on_batch = batch_done
        try:
            reports = ing.ingest_files(files, fmt, progress)
        except BaseException:
            if follower is not None:
                follower.close()
            raise
        report = combine(reports, fmt if fmt != "auto" else ",".join(sorted({r.source for r in reports})))
        if follower is not None:
            report.index_error = follower.finish()
        return report

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
        from paperboy.sources import arxiv_api

        kwargs: dict[str, Any] = {"min_interval": min_interval}
        if base_url:
            kwargs["base_url"] = base_url
        return self._ingest_pages(query, arxiv_api.fetch_query(query, max_results, **kwargs), on_problem)

    def ingest_arxiv_ids(
        self,
        ids: Sequence[str],
        *,
        base_url: str | None = None,
        min_interval: float = 3.0,
        max_attempts: int = 4,
        on_problem: Callable[[str], None] | None = None,
    ) -> IngestReport:
        """Fetch specific arXiv papers by id (the API's id_list) and ingest them."""
        from paperboy.sources import arxiv_api

        kwargs: dict[str, Any] = {"min_interval": min_interval, "max_attempts": max_attempts}
        if base_url:
            kwargs["base_url"] = base_url
        return self._ingest_pages("id_list=" + ",".join(ids), arxiv_api.fetch_ids(list(ids), **kwargs), on_problem)

    def _ingest_pages(self, label: str, pages: Iterator[bytes], on_problem) -> IngestReport:
        from paperboy.sources import arxiv_atom
        from paperboy.store.ingest import Ingester, status_of

        ing = Ingester(self.store, self.settings.batch_size, on_problem)
        report = IngestReport(source="arxiv-api")
        run = self.store.start_run("arxiv-api", label)
        seen: dict[str, str] = {}
        try:
            for n, page in enumerate(pages, 1):
                ing.feed_run(run, arxiv_atom.parse(io.BytesIO(page), f"arxiv-api page {n}"), report, seen)
        except SourceError as e:
            report.aborted = f"arXiv API: {e}"
            report.retryable = bool(getattr(e, "transient", False))
        except Exception as e:  # network failures of any kind end the run with what was stored
            report.aborted = f"arXiv API request failed: {e}"
            report.retryable = True
        if report.aborted:
            ing._problem(report, report.aborted)
        self.store.finish_run(run, report, status_of(report))
        return report

    # -- reading ------------------------------------------------------------------------
    def paper(self, key: str, include_hidden: bool = False) -> Paper | None:
        """A paper by id, arXiv id (with or without version) or arxiv.org URL; not one a moderator hid."""
        return self.store.get(key, include_hidden)

    def stats(self) -> dict[str, Any]:
        out = self.store.stats()
        out["harvest"] = self.harvest.status()
        return out

    def iter_papers(self) -> Iterator[Paper]:
        for _seq, p in self.store.iter_papers(0):
            yield p

    # -- index --------------------------------------------------------------------------
    def update_index(
        self,
        *,
        embed: bool = True,
        progress: bool = False,
        rebuild: bool = False,
        wait: bool | float = True,
        on_wait: Callable[[], None] | None = None,
        checkpoint_every: int | None = None,
        ray: str | None = None,
    ):
        """Bring the search indexes up to date with the store (incremental unless rebuild).

        One updater at a time across processes: wait=False raises IndexBusy instead of waiting
        (web requests), on_wait is called once when another process holds the lock.
        ray: embed on a Ray cluster at this address ("local" starts one here).
        """
        st = self.store
        extra: dict[str, Any] = {"checkpoint_every": checkpoint_every} if checkpoint_every else {}
        if ray:
            extra["ray"] = ray
        seq = st.max_seq()
        return self.indexes.update(
            # Up to seq only: the indexes record seq as reached, so papers a writer commits meanwhile (an ingest
            # the keyword index follows) are read once, by the next update, not twice.
            lambda since: st.iter_papers(since, until_seq=seq),
            seq,
            embed=embed,
            progress=progress,
            rebuild=rebuild,
            wait=wait,
            on_wait=on_wait,
            vector_store=st,
            **extra,
        )

    def index_status(self) -> dict[str, Any]:
        """How far the indexes lag behind the store."""
        return self.indexes.status(self.store.max_seq(), self.store.count())

    # -- search -------------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        mode: str = "hybrid",
        filters: SearchFilters | None = None,
        sort: str = "relevance",
        limit: int = 20,
        offset: int = 0,
        require_all: bool = False,
    ) -> SearchPage:
        """One page of results for a search-box query (words, "phrases", author:/cat:/year: filters, ids).

        require_all: every free word must match, not only rank (saved-search alerts).
        """
        if sort not in SORTS:
            raise ValueError(f"unknown sort {sort!r}; choose from {', '.join(SORTS)}")
        limit = max(1, min(int(limit), MAX_LIMIT))
        offset = max(0, int(offset))
        if offset >= MAX_DEPTH:
            return SearchPage([], 0, mode, [f"results stop at {MAX_DEPTH}"], query)
        depth = min(MAX_DEPTH, max(100, offset + limit))
        # Hidden papers are left out inside retrieval, so the retrievers fill `depth` with visible ones.
        hidden = self.store.hidden_ids()
        got = self.searcher.retrieve(
            query or "", mode=mode, filters=filters, depth=depth, require_all=require_all, exclude_ids=hidden or ()
        )
        ids, scores = got.hits.ids, got.hits.scores
        if hidden is None:  # too many hidden papers to pass down: drop them here, fetching deeper once
            ids, scores = self._visible(ids, scores)
            short = len(got.hits.ids) - len(ids)
            if short and len(ids) < offset + limit and len(got.hits.ids) >= depth and depth < MAX_DEPTH:
                depth = min(MAX_DEPTH, depth + 2 * short + limit)
                got = self.searcher.retrieve(
                    query or "", mode=mode, filters=filters, depth=depth, require_all=require_all
                )
                ids, scores = self._visible(got.hits.ids, got.hits.scores)
        if sort != "relevance" and ids:
            ids, scores = self._sorted(ids, scores, sort)
        page_ids = ids[offset : offset + limit]
        papers = self.store.get_many(page_ids)
        hits = [
            SearchHit(papers[i], float(scores[offset + k]), got.sources.get(i, ()))
            for k, i in enumerate(page_ids)
            if i in papers
        ]
        # The retrievers count without hidden papers; past HIDDEN_SCAN only those fetched are known.
        total = max(len(ids), got.total - (len(got.hits.ids) - len(ids)))
        return SearchPage(
            hits, total, got.mode, got.warnings, query, got.total_estimated, self._suggestion(query or "", got.parsed)
        )

    def _suggestion(self, query: str, parsed) -> str | None:
        """The query with misspelled words replaced by the nearest words of the index, None if none is."""
        import re

        if parsed is None or not parsed.terms:
            return None
        fixes = self.indexes.lexical.corrections(parsed)
        if not fixes:
            return None
        for word, fixed in fixes.items():
            query = re.sub(rf"(?<![\w-]){re.escape(word)}(?![\w-])", fixed, query, count=1)
        return query

    def _visible(self, ids: list[str], scores):
        """Hits without the papers a moderator hid (one primary-key query over at most MAX_DEPTH ids)."""
        hidden = self.store.hidden_among(ids) if ids else set()
        if not hidden:
            return ids, scores
        keep = [k for k, i in enumerate(ids) if i not in hidden]
        return [ids[k] for k in keep], scores[keep]

    def _sorted(self, ids: list[str], scores, sort: str):
        papers = self.store.get_many(ids)

        def key(k: int):
            p = papers.get(ids[k])
            if p is None:
                return (0, "")
            if sort == "upvotes":
                return ((p.upvotes or 0), str(p.published or p.listed or ""))
            return (0, str(p.published or p.listed or p.updated or ""))

        order = sorted(range(len(ids)), key=key, reverse=True)
        return [ids[k] for k in order], scores[order]

    def similar(self, key: str | Paper, limit: int = 10) -> list[SearchHit]:
        """Nearest neighbours of one paper, by key or the Paper itself (excluded from the result)."""
        return self.similar_to_set([key], limit)

    def similar_to_set(self, keys: Sequence[str | Paper], limit: int = 10) -> list[SearchHit]:
        """Papers like a set of papers (a library; keys or Papers already read), the set itself excluded."""
        import numpy as np

        from paperboy.models import Hits

        limit = max(1, min(int(limit), MAX_LIMIT))
        found = [p for p in (k if isinstance(k, Paper) else self.paper(k) for k in keys) if p is not None]
        if not found:
            return []
        exclude = {p.id for p in found}
        hidden = self.store.hidden_ids()
        exclude |= hidden or set()  # left out inside the search; past HIDDEN_SCAN, hydration drops them
        want = limit if hidden is not None else limit + 5
        hits = Hits.empty()
        if self.indexes.dense_ready():
            vec = self.indexes.vectors
            vs = [v for v in (vec.vector(p.id) for p in found) if v is not None]
            if vs:
                q = np.mean(vs, axis=0)
                q = q / (np.linalg.norm(q) or 1.0)
                hits = vec.search(q, want, exclude=exclude)
        if not len(hits):
            from paperboy.index.query import plain_text_query

            text = " ".join(f"{p.title} {p.abstract[:600]}" for p in found[:5])
            got = self.indexes.lexical.search(plain_text_query(text), limit=want + len(exclude))
            keep = [k for k, i in enumerate(got.ids) if i not in exclude][:want]
            hits = Hits([got.ids[k] for k in keep], got.scores[keep])
        papers = self.store.get_many(hits.ids)
        return [SearchHit(papers[i], float(s), ()) for i, s in zip(hits.ids, hits.scores) if i in papers][:limit]

    # -- backup -------------------------------------------------------------------------
    def backup(self, path: Path) -> BackupResult:
        """A consistent copy of the store at `path` (SQLite online backup / pg_dump), safe while serving."""
        from paperboy.store.backup import backup

        return backup(self.settings.resolved_database_url(), Path(path))

    def restore(self, path: Path, *, force: bool = False) -> BackupResult:
        """Replace the store with a backup; the indexes then catch up from the start on the next update."""
        from paperboy.store.backup import restore

        self.close()
        res = restore(self.settings.resolved_database_url(), Path(path), force=force)
        self.indexes.invalidate()
        return res
