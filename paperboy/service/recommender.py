"""The I/O around `paperboy.ranking.recommend`: one reader's profile, candidate pools and their features.

Shared by the "recommended for you" page and the digest, so both rank with the same scorer as `rank`.
A pool also carries TF-IDF rows (fitted once per pool) for the scorer's lexical part.
Features are the dense index's embeddings when it has them, else TF-IDF of title + abstract
fitted on the candidate pool plus random background papers (so an instance that has not
embedded yet still gets personal recommendations).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np

from paperboy.index.embedder import document_text
from paperboy.index.query import parse_query
from paperboy.models import Paper, SearchFilters
from paperboy.ranking import scorers
from paperboy.ranking.recommend import Recommendation, preference_scores, recommend
from paperboy.service.digest_model import parse_date, short
from paperboy.store import digests as _sql
from paperboy.store import listings as _listings

MAX_POSITIVES = 200  # newest library papers the recommender learns from
BACKGROUND = 256  # random papers used as generic negatives
RECOMMEND_DAYS = 30  # the web page recommends among papers of the last month
CACHE_SECONDS = 300.0  # a long-lived process reuses pools and features this long
MAX_SEARCHES = 10  # saved searches consulted per reader


class Features:
    """Unit-norm feature rows of papers: dense embeddings, else TF-IDF of title + abstract."""

    def __init__(self, pb):
        self.store = pb.store
        self.dense, self._vec = False, None
        try:
            if pb.indexes.dense_ready():
                self._vec = pb.indexes.vectors
                self.dense = len(self._vec) > 0
        except Exception:  # an index (or model) that cannot load must not stop recommendations
            self.dense, self._vec = False, None
        self._tfidf = None

    @property
    def kind(self) -> str:
        return "dense" if self.dense else "tfidf"

    def fit(self, papers: Sequence[Paper]) -> None:
        """TF-IDF only: learn the vocabulary from these papers (once)."""
        if self.dense or self._tfidf is not None:
            return
        texts = [_text(p) for p in papers] or ["empty"]
        self._tfidf = scorers.tfidf_vectorizer(max_features=50_000).fit(texts)

    def rows(self, ids: Sequence[str], papers: dict[str, Paper] | None = None) -> tuple[list[str], Any]:
        """(ids that have features, their rows), in the order given."""
        if self.dense:
            vec = self._vec
            found = [i for i in ids if i in vec]
            X = np.stack([vec.vector(i) for i in found]) if found else np.zeros((0, vec.dim), np.float32)
            return found, X
        papers = papers if papers is not None else self.store.get_many(list(ids))
        found = [i for i in ids if i in papers]
        self.fit([papers[i] for i in found])
        if not found:
            import scipy.sparse as sp

            return found, sp.csr_matrix((0, self._tfidf.n_terms), dtype=np.float32)
        return found, self._tfidf.transform([_text(papers[i]) for i in found])


def _text(p: Paper) -> str:
    return f"{p.title}. {p.abstract}"


@dataclass(slots=True)
class Pool:
    """Candidate papers of one date window with their feature rows (and, for dense rows, TF-IDF rows)."""

    ids: list[str]
    X: Any
    lexical: Any = None
    vectorizer: Any = None


@dataclass(slots=True)
class _Cache:
    """What a run (or a few minutes of a long-lived process) computes once and reuses."""

    pb: Any
    expires: float
    pools: dict[tuple[date, date], Pool] = field(default_factory=dict)
    background: tuple[list[str], Any] | None = None
    searches: dict[tuple, list[tuple[str, str]]] = field(default_factory=dict)
    trending: dict[tuple[str, int], list[tuple[str, str]]] = field(default_factory=dict)
    _features: Features | None = None

    @property
    def features(self) -> Features:
        # Created on first use: opening the vectors loads the embedding model, which digests
        # without recommendations never need.
        if self._features is None:
            self._features = Features(self.pb)
        return self._features


@dataclass(slots=True)
class Reader:
    """What one reader told us in one profile: papers rated up and down, and saved searches."""

    user_id: int | None
    library: list[tuple[str, str]] = field(default_factory=list)  # (paper id, how), newest first
    not_interested: list[str] = field(default_factory=list)
    searches: list[tuple[str, dict]] = field(default_factory=list)  # (query, filters)
    profile_id: int | None = None
    where: str = "your library"  # how reasons name the profile

    def excluded(self) -> set[str]:
        """Papers never to recommend to this reader: those already in the library or marked."""
        return {pid for pid, _ in self.library} | set(self.not_interested)


class Recommender:
    """Recommendations and saved-search matches for readers of one Paperboy service."""

    def __init__(self, pb, community):
        self.pb = pb
        self.community = community
        self._lock = threading.Lock()
        self._cached: _Cache | None = None

    @property
    def store(self):
        return self.pb.store

    def refresh(self) -> None:
        """Forget cached pools, features and searches (a new digest run sees new papers)."""
        with self._lock:
            self._cached = None

    def _cache(self) -> _Cache:
        with self._lock:
            if self._cached is None or self._cached.expires < time.monotonic():
                self._cached = _Cache(self.pb, time.monotonic() + CACHE_SECONDS)
            return self._cached

    def features(self) -> Features:
        return self._cache().features

    def reader(self, user_id: int | None, profile_id: int | None = None) -> Reader:
        """One reader's profile (the default one for None): thumbs up, thumbs down, saved searches."""
        if user_id is None:
            return Reader(None)
        prof = self.pb.profiles.get(user_id, profile_id)
        pos, neg = self.pb.profiles.ratings(prof)
        searches = [(q, f) for _id, q, f in self.pb.profiles.searches(prof)]
        return Reader(
            user_id, [(pid, "rated") for pid in pos[:MAX_POSITIVES]], neg, searches[:MAX_SEARCHES], prof.id, prof.where
        )

    # -- candidates --------------------------------------------------------------------------------
    def pool(self, since: date, until: date) -> Pool:
        """Papers whose day lies in [since, until], with features (cached per window)."""
        cache = self._cache()
        got = cache.pools.get((since, until))
        if got is not None:
            return got
        with self.store.reading() as conn:
            ids = sorted(r.id for r in _listings.rows_between(conn, since, until))
        feats = cache.features
        papers = None
        if not feats.dense:  # TF-IDF learns its vocabulary from the pool and the background
            papers = self.pb.store.get_many(ids)
            feats.fit(list(papers.values()) + list(self.pb.store.get_many(self._background_ids(cache)).values()))
        found, X = feats.rows(ids, papers)
        got = Pool(found, X)
        if feats.dense and found:
            papers = papers or self.pb.store.get_many(found)
            got.vectorizer = scorers.tfidf_vectorizer()
            got.lexical = got.vectorizer.fit_transform([document_text(papers[i]) if i in papers else "" for i in found])
        cache.pools[(since, until)] = got
        return got

    def _background_ids(self, cache: _Cache) -> list[str]:
        if cache.background is None:
            with self.store.reading() as conn:
                cache.background = (_sql.random_paper_ids(conn, BACKGROUND), None)
        return cache.background[0]

    def _background_rows(self, cache: _Cache) -> tuple[list[str], Any]:
        ids = self._background_ids(cache)
        if cache.background[1] is None:
            cache.background = cache.features.rows(ids)
        return cache.background

    def search_matches(self, reader: Reader, since: date, until: date) -> dict[str, str]:
        """Paper id -> the saved search of the reader's profile it matches (the first one), for `rank`."""
        matches: dict[str, str] = {}
        for query, flt in reader.searches:
            for pid in self.search(query, flt, since, until, limit=20):
                matches.setdefault(pid, short(query or "(filters only)", 60))
        return matches

    def search(self, query: str, flt: dict, since: date, until: date, limit: int = 30) -> list[str]:
        """Ids of papers in [since, until] matching a saved search (see `matches`)."""
        return [pid for pid, _why in self.matches(query, flt, since, until, limit)]

    def matches(self, query: str, flt: dict, since: date, until: date, limit: int = 30) -> list[tuple[str, str]]:
        """(id, where it matched) of papers in [since, until] matching a saved search, best first.

        The search page's matching (same query language, same ranking and relevance floor) with every
        word required, as an alert should match literally: papers found by meaning alone never qualify.
        """
        lo = max(since, parse_date(flt.get("since")) or since)
        hi = min(until, parse_date(flt.get("until")) or until)
        key = (query, tuple(flt.get("categories") or ()), tuple(flt.get("authors") or ()), lo, hi, limit)
        cache = self._cache()
        hit = cache.searches.get(key)
        if hit is not None:
            return hit
        found: list[tuple[str, str]] = []
        if lo <= hi:
            filters = SearchFilters(categories=key[1], authors=key[2], since=lo, until=hi)
            try:
                page = self.pb.search(
                    query,
                    mode="hybrid",
                    filters=filters,
                    require_all=True,
                    sort="relevance" if query else "upvotes",
                    limit=limit,
                )
                parsed = parse_query(query)
                lexical = self.pb.indexes.lexical
                found = [(h.paper.id, lexical.where_matched(parsed, h.paper) if query else "") for h in page.hits]
            except ValueError:  # a saved query the engine no longer parses matches nothing
                found = []
        cache.searches[key] = found
        return found

    def trending(self, window: str, limit: int = 50) -> list[tuple[str, str]]:
        """(id, reason) of the trending papers of a window, best first."""
        cache = self._cache()
        hit = cache.trending.get((window, limit))
        if hit is None:
            hit = cache.trending[(window, limit)] = self._trending(window, limit)
        return hit

    def _trending(self, window: str, limit: int) -> list[tuple[str, str]]:
        when = {"today": "today", "week": "this week", "month": "this month", "all": ""}[window]
        listing = self.community.trending(window, limit)
        return [
            (
                v.paper.id,
                f"trending {when} · {v.upvotes} upvote{'s' if v.upvotes != 1 else ''}".replace("  ", " ")
                if v.upvotes
                else f"new {when}".strip(),
            )
            for v in listing.items
        ]

    # -- ranking -----------------------------------------------------------------------------------
    def rank(
        self,
        reader: Reader,
        pool: Pool,
        exclude: set[str],
        limit: int,
        search_matches: dict[str, str] | None = None,
        trending: Sequence[tuple[str, str]] = (),
    ) -> list[Recommendation]:
        """`paperboy.ranking.recommend` for one reader over one pool."""
        cache = self._cache()
        feats = cache.features
        lib_ids = [pid for pid, _how in reader.library]
        papers = None if feats.dense else self.pb.store.get_many(lib_ids + reader.not_interested)
        pos_ids, P = feats.rows(lib_ids, papers)
        neg_ids, N = feats.rows(reader.not_interested, papers)
        with self.store.reading() as conn:
            titles = _sql.titles(conn, pos_ids)
        labels = [f"“{short(titles.get(i, ''), 70)}” in {reader.where}" for i in pos_ids]
        pos_lex = None
        if pool.vectorizer is not None and pos_ids:
            got = self.pb.store.get_many(pos_ids)
            pos_lex = pool.vectorizer.transform([document_text(got[i]) if i in got else "" for i in pos_ids])
        bg_ids, B = self._background_rows(cache)
        mine = set(lib_ids)
        if any(i in mine for i in bg_ids):
            keep = [k for k, i in enumerate(bg_ids) if i not in mine]
            B = B[keep]
        return recommend(
            pool.ids,
            pool.X,
            P if pos_ids else None,
            labels,
            N if neg_ids else None,
            B,
            exclude=exclude,
            search_matches=search_matches,
            trending=trending,
            limit=limit,
            cand_lexical=pool.lexical,
            pos_lexical=pos_lex,
        )

    def profile_scores(self, reader: Reader, pool: Pool) -> Any:
        """Every pool paper's score for a profile (exploration looks for well-rated papers scoring low)."""
        feats = self._cache().features
        lib_ids = [pid for pid, _how in reader.library]
        papers = None if feats.dense else self.pb.store.get_many(lib_ids)
        pos_ids, P = feats.rows(lib_ids, papers)
        if not pos_ids or not len(pool.ids):
            return None
        return preference_scores(pool.X, P, method="topk")[0]

    def for_user(
        self, user_id: int, limit: int = 20, profile_id: int | None = None
    ) -> list[tuple[Paper, Recommendation]]:
        """The "recommended for you" page for one profile: papers of the last month, each with its reason."""
        as_of = self.community.reference_day()
        since = as_of - timedelta(days=RECOMMEND_DAYS - 1)
        reader = self.reader(user_id, profile_id)
        matches = self.search_matches(reader, since, as_of)
        recs = self.rank(
            reader, self.pool(since, as_of), reader.excluded(), limit, matches, self.trending("month", limit * 3)
        )
        papers = self.pb.store.get_many([r.id for r in recs])
        return [(papers[r.id], r) for r in recs if r.id in papers]

    def mark_not_interested(self, user_id: int, paper_id: str, on: bool = True) -> None:
        """Record (or withdraw) that a reader does not want papers like this one."""
        now = datetime.now(timezone.utc)
        with self.store.writing() as conn:
            if not on:
                _sql.delete_not_interested(conn, user_id, paper_id)
                return
            _sql.insert_not_interested(conn, user_id, paper_id, now)
