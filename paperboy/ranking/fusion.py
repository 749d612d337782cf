"""Rank fusion: several retrievers' Hits in, one ranked Hits out. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from paperboy.models import Hits


def _union(runs: Sequence[Hits]) -> tuple[list[str], dict[str, int]]:
    ids: list[str] = []
    pos: dict[str, int] = {}
    for run in runs:
        for i in run.ids:
            if i not in pos:
                pos[i] = len(ids)
                ids.append(i)
    return ids, pos


def _ranked(ids: list[str], scores: np.ndarray, limit: int | None) -> Hits:
    order = np.argsort(-scores, kind="stable")
    if limit is not None:
        order = order[:limit]
    return Hits([ids[i] for i in order], scores[order])


def reciprocal_rank_fusion(
    runs: Sequence[Hits], *, k: float = 60.0, weights: Sequence[float] | None = None, limit: int | None = None
) -> Hits:
    """RRF (Cormack et al. 2009): score(d) = sum_r w_r / (k + rank_r(d)), ranks from 1."""
    weights = list(weights) if weights is not None else [1.0] * len(runs)
    ids, pos = _union(runs)
    scores = np.zeros(len(ids), dtype=np.float64)
    for run, w in zip(runs, weights):
        for rank, i in enumerate(run.ids, 1):
            scores[pos[i]] += w / (k + rank)
    return _ranked(ids, scores, limit)


def _normalize_minmax(s: np.ndarray) -> np.ndarray:
    lo, hi = float(s.min()), float(s.max())
    return (s - lo) / (hi - lo) if hi > lo else np.ones_like(s)


def _normalize_zscore(s: np.ndarray) -> np.ndarray:
    sd = float(s.std())
    return (s - float(s.mean())) / sd if sd > 0 else np.zeros_like(s)


NORMALIZERS = {"minmax": _normalize_minmax, "zscore": _normalize_zscore}


def convex_fusion(
    runs: Sequence[Hits], weights: Sequence[float], *, norm: str = "zscore", limit: int | None = None
) -> Hits:
    """Weighted sum of per-run normalized scores (Bruch et al. 2023, "convex combination").

    A document a run did not return gets that run's lowest normalized score: it ranked below
    everything the run did return.
    """
    normalize = NORMALIZERS[norm]
    ids, pos = _union(runs)
    scores = np.zeros(len(ids), dtype=np.float64)
    for run, w in zip(runs, weights):
        if len(run) == 0:
            continue
        s = normalize(run.scores.astype(np.float64))
        filled = np.full(len(ids), float(s.min()))
        filled[[pos[i] for i in run.ids]] = s
        scores += w * filled
    return _ranked(ids, scores, limit)
