"""Query -> ranked ids: lexical, dense or hybrid retrieval over the Indexes, fused by ranking.fusion.

Hybrid = convex combination of z-normalized BM25 and cosine scores over the union of both
candidate lists, where every candidate gets *both* scores (the cosine of a lexical-only candidate
is computed exactly from its stored vector, instead of being treated as missing).

Tuned on SciFact train only (`benchmarks/tune_hybrid.py`, 809 queries, packaged MiniLM):
lexical 0.7044, dense 0.6605 nDCG@10; convex w_lex=0.4 z-score 0.7393 (+0.035); RRF k=60 0.7186
(+0.014), k=20 0.7248. Pseudo-relevance feedback of the dense query with the top lexical
documents moved nDCG by at most +0.001 at w_lex 0.3-0.4, within noise, so it is off by default.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import numpy as np

from paperboy.index.indexes import Indexes
from paperboy.index.query import ParsedQuery, merge, parse_query
from paperboy.models import Hits, SearchFilters
from paperboy.ranking.fusion import convex_fusion, reciprocal_rank_fusion

MODES = ("lexical", "dense", "hybrid")

# Cosine below which a paper found only by meaning (no keyword match) is not shown: without it every
# query, even "zzqxjv plorkt", was padded with the nearest vectors however far. `benchmarks/dense_floor.py`
# (packaged MiniLM, SciFact train): nearest-paper cosine of 200 nonsense queries p50 0.23, p95 0.32,
# max 0.39; at 0.40 none gets a hit while hybrid nDCG@10 is 0.7397 (0.7393 without a floor) and ~19
# dense-only hits per query remain. A different embedding model needs its own floor.
DENSE_FLOOR = 0.40


@dataclass(slots=True)
class HybridParams:
    """Fusion knobs (defaults tuned on SciFact train)."""

    # Re-tuned on SciFact train for the shipped encoder (int8 document vectors, dense floor 0.40): the
    # plateau is 0.35-0.4 (0.7398 / 0.7394 / 0.7385); the middle of it is kept. See benchmarks/RESULTS.md.
    lexical_weight: float = 0.375
    dense_weight: float = 0.625
    fusion: str = "convex"  # convex | rrf
    norm: str = "zscore"  # score normalization for convex fusion: zscore | minmax
    rrf_k: float = 60.0
    depth: int = 100  # candidates taken from each retriever
    prf_docs: int = 0  # lexical top docs averaged into the dense query (0 = off)
    prf_weight: float = 0.0
    dense_floor: float | None = DENSE_FLOOR  # min cosine of a dense-only hit (None: keep every neighbour)


@dataclass(slots=True)
class Retrieved:
    hits: Hits
    mode: str
    warnings: list[str] = field(default_factory=list)
    parsed: ParsedQuery | None = None
    sources: dict[str, tuple[str, ...]] = field(default_factory=dict)  # id -> retrievers that found it
    total: int = 0  # papers matching in all (exact for keywords but very common words; see total_estimated)
    total_estimated: bool = False


class HybridSearcher:
    """Runs one query in the requested mode, degrading to lexical when no vectors exist yet."""

    def __init__(self, indexes: Indexes, params: HybridParams | None = None):
        self.indexes = indexes
        self.params = params or HybridParams()

    def retrieve(
        self,
        query: str | ParsedQuery,
        *,
        mode: str = "hybrid",
        filters: SearchFilters | None = None,
        depth: int | None = None,
        require_all: bool = False,
        exclude_ids: Collection[str] = (),
    ) -> Retrieved:
        """Ranked ids for a search-box query; never raises on user text.

        require_all: every free word must match as a keyword (alerts); papers found by meaning alone
        then never qualify, and the dense side only helps rank the keyword matches.
        exclude_ids: papers left out inside both retrievers (hidden by a moderator), so `depth` hits
        come back whenever that many match, and the counts leave them out too.
        """
        if mode not in MODES:
            raise ValueError(f"unknown search mode {mode!r}; choose from {', '.join(MODES)}")
        parsed = query if isinstance(query, ParsedQuery) else parse_query(query)
        warnings = list(parsed.warnings)
        flt = merge(parsed.filters, filters)
        depth = max(1, depth or self.params.depth)
        lex = self.indexes.lexical
        if parsed.arxiv_id:
            hits = lex.search_counted(parsed, limit=depth, filters=flt, count=False, exclude_ids=exclude_ids)[0]
            if not len(hits):
                warnings.append(f"no paper {parsed.arxiv_id} here yet; it can be submitted by id")
            return Retrieved(hits, "id", warnings, parsed, total=len(hits))
        if not parsed.has_text():
            hits, total, _ = lex.search_counted(parsed, limit=depth, filters=flt, exclude_ids=exclude_ids)
            return Retrieved(hits, "filter", warnings, parsed, total=total)
        if mode != "lexical" and not self.indexes.dense_ready():
            warnings.append(self._not_ready_warning())
            mode = "lexical"
        if mode == "lexical":
            hits, total, about = lex.search_counted(
                parsed, limit=depth, filters=flt, require_all=require_all, exclude_ids=exclude_ids
            )
            return Retrieved(hits, "lexical", warnings, parsed, {i: ("lexical",) for i in hits.ids}, total, about)

        # Hybrid: the keyword half runs on another thread while this one encodes the query and searches the
        # vectors. tantivy, onnxruntime and usearch release the GIL, so on two cores a search takes the
        # longer half, not the sum (`benchmarks/scale.py`).
        keywords = (
            _HALVES.submit(
                lex.search_counted, parsed, limit=depth, filters=flt, require_all=require_all, exclude_ids=exclude_ids
            )
            if mode == "hybrid"
            else None
        )
        try:
            return self._dense_and_fused(parsed, mode, flt, depth, require_all, exclude_ids, warnings, keywords)
        finally:
            # On an error in the dense half: never leave the keyword half running past its request.
            if keywords is not None and not keywords.cancel():
                wait([keywords])

    def _dense_and_fused(
        self,
        parsed: ParsedQuery,
        mode: str,
        flt: SearchFilters,
        depth: int,
        require_all: bool,
        exclude_ids: Collection[str],
        warnings: list[str],
        keywords: Future | None,
    ) -> Retrieved:
        """Dense retrieval, and for hybrid its fusion with the keyword half (`keywords`, running)."""
        lex = self.indexes.lexical
        covers = self.indexes.dense_coverage()
        if covers:  # a first embedding run is under way, newest papers first
            warnings.append(
                f"semantic search covers papers since {covers[:7]}; older ones match by keywords "
                "until indexing finishes"
            )
        qvec = self.indexes.embedder.embed_query(parsed.text)
        vec = self.indexes.vectors
        floor = self.params.dense_floor
        # Phrases and exclusions are hard constraints: dense may only rank what the lexical side allows.
        constrained = bool(parsed.phrases or parsed.excluded or require_all)
        allowed: set[str] | None = None
        if constrained:
            allowed = set(
                lex.search_counted(parsed, limit=100_000, filters=flt, count=False, require_all=require_all)[0].ids
            )
        # Filters reach the vector search as a cached row mask, not a per-query set of ids.
        mask = self.indexes.filter_mask(flt, vec)
        if mode == "dense":
            hits = vec.search(qvec, depth, allowed=allowed, mask=mask, exclude=exclude_ids)
            if floor is not None and not constrained:  # constrained hits all match the keywords
                keep = [k for k, sc in enumerate(hits.scores) if sc >= floor]
                hits = Hits([hits.ids[k] for k in keep], hits.scores[keep])
            # A full list may go on past `depth`: then the count is a lower bound.
            return Retrieved(
                hits, "dense", warnings, parsed, {i: ("dense",) for i in hits.ids}, len(hits), len(hits) >= depth
            )

        p = self.params
        if p.prf_docs:  # the dense query takes in the top keyword papers: wait for them first
            lex_hits, lex_total, lex_about = keywords.result()
        if p.prf_docs and len(lex_hits):
            _found, top = vec.vectors_of(lex_hits.ids[: p.prf_docs])
            if len(top):
                qvec = qvec + p.prf_weight * np.mean(top, axis=0)
                qvec = qvec / (np.linalg.norm(qvec) or 1.0)
        dense_hits = vec.search(qvec, depth, allowed=allowed, mask=mask, exclude=exclude_ids)
        lex_hits, lex_total, lex_about = keywords.result()
        sources: dict[str, tuple[str, ...]] = {}
        for i in lex_hits.ids:
            sources[i] = ("lexical",)
        for i in dense_hits.ids:
            sources[i] = sources.get(i, ()) + ("dense",)
        if p.fusion == "rrf":
            fused = reciprocal_rank_fusion(
                [lex_hits, dense_hits], k=p.rrf_k, weights=[p.lexical_weight, p.dense_weight]
            )
        else:
            dense_full = _dense_scores_for(vec, qvec, list(sources))
            fused = convex_fusion([lex_hits, dense_full], [p.lexical_weight, p.dense_weight], norm=p.norm)
        if constrained:  # every dense hit was a keyword match already (and counted in lex_total)
            return Retrieved(fused, "hybrid", warnings, parsed, sources, max(lex_total, len(fused)), lex_about)
        # Dense-only hits below the floor leave after fusion, so the order of the rest is unchanged.
        cosine = dict(zip(dense_hits.ids, dense_hits.scores.tolist()))
        too_far = (
            set()
            if floor is None
            else {i for i, src in sources.items() if src == ("dense",) and cosine.get(i, -1.0) < floor}
        )
        if too_far:
            keep = [k for k, i in enumerate(fused.ids) if i not in too_far]
            fused = Hits([fused.ids[k] for k in keep], fused.scores[keep])
            for i in too_far:
                del sources[i]
        dense_only = sum(1 for src in sources.values() if src == ("dense",))
        # Keyword matches are counted (exactly, unless every word is very common); papers found by
        # meaning alone only within `depth`.
        return Retrieved(
            fused, "hybrid", warnings, parsed, sources, lex_total + dense_only, lex_about or dense_only > 0
        )

    def _not_ready_warning(self) -> str:
        """Why hybrid/dense fell back to keywords: vectors being built (how far) or never built."""
        progress = self.indexes.dense_progress()
        if progress is not None:
            return (
                f"semantic index being built ({progress:.0%} of papers embedded so far): "
                "showing keyword results meanwhile"
            )
        return "semantic index not built yet: showing keyword results (run `paperboy index`)"


# Threads for the keyword half of hybrid searches, made on demand and reused; one per search in flight
# (a web process runs a few dozen request threads), so no search waits for another's keyword half.
def _halves() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=64, thread_name_prefix="paperboy-keywords")


_HALVES = _halves()


def _after_fork() -> None:
    # A forked child has none of the parent's threads, but the pool would count its idle ones as there.
    global _HALVES
    _HALVES = _halves()


os.register_at_fork(after_in_child=_after_fork)


def _dense_scores_for(vec, qvec: np.ndarray, ids: list[str]) -> Hits:
    """Exact cosine scores of `ids` (those with a stored vector) against the query."""
    keep, rows = vec.vectors_of(ids)
    if not keep:
        return Hits.empty()
    scores = rows @ qvec.astype(np.float32)
    return Hits(keep, scores)
