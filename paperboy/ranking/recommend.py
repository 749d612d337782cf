"""Personal recommendations: the one recommender behind "recommended for you", the digest and `rank`. Pure.

Candidates are scored for a reader's profile with paperboy.ranking.scorers' DEFAULT_SCORER (chosen by
benchmarks/recommend.py): top-k similarity to the profile's papers fused with lexical (TF-IDF)
similarity, pushed away from papers rated thumbs down. With no positives the caller's trending
order is used. Papers matching one of the reader's saved searches come first, explained as such.
Exploration picks well-rated papers outside the profile for a share of the slots.

Features are the rows of any matrix with unit-norm rows: sentence embeddings (numpy), or TF-IDF
(scipy sparse) when an instance has no embeddings yet. Every result carries a short reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from paperboy.ranking import scorers
from paperboy.ranking.scorers import fit_linear_svm  # noqa: F401  (re-exported for callers and tests)

MAX_SEARCH_SHARE = 0.5  # saved-search matches take at most this share of the list


@dataclass(slots=True, frozen=True)
class Recommendation:
    id: str
    score: float
    reason: str
    method: str  # a scorer name | "search" | "trending" | "explore"


def _rows(X) -> int:
    return 0 if X is None else X.shape[0]


def preference_scores(
    cand,
    pos,
    not_interested=None,
    background=None,
    *,
    method: str = scorers.DEFAULT_SCORER,
    cand_lexical=None,
    pos_lexical=None,
) -> tuple[np.ndarray, str]:
    """Score every candidate row for a reader; returns (scores, scorer used).

    Sparse (TF-IDF) features are lexical already, so they get the top-k scorer alone.
    """
    if hasattr(cand, "tocsr") or hasattr(pos, "tocsr"):
        method = "topk"
    lib = scorers.Library(
        pos,
        not_interested=not_interested if _rows(not_interested) else None,
        background=background if _rows(background) else None,
        lexical=pos_lexical,
    )
    return scorers.score(method, cand, lib, cand_lexical=cand_lexical), method


def nearest_positive(rows, pos) -> np.ndarray:
    """Index of the most similar positive for each row (cosine: rows are unit vectors)."""
    sims = rows @ pos.T
    sims = sims.toarray() if hasattr(sims, "toarray") else np.asarray(sims)
    return np.argmax(sims, axis=1)


def recommend(
    cand_ids: Sequence[str],
    cand,
    pos=None,
    pos_labels: Sequence[str] = (),
    not_interested=None,
    background=None,
    *,
    exclude: set[str] | frozenset[str] = frozenset(),
    search_matches: Mapping[str, str] | None = None,
    trending: Sequence[tuple[str, str]] = (),
    limit: int = 10,
    method: str = scorers.DEFAULT_SCORER,
    cand_lexical=None,
    pos_lexical=None,
) -> list[Recommendation]:
    """Rank `cand_ids` (feature rows `cand`) for one reader, best first, each with its reason.

    pos / pos_labels: the reader's papers and how to name each in a reason ('“X” in your retrieval profile').
    cand_lexical / pos_lexical: TF-IDF rows of candidates and positives in one vocabulary (optional).
    not_interested, background: negative rows. exclude: ids never to return (library, sent).
    search_matches: candidate id -> saved-search query it matches. trending: (id, reason) pairs,
    best first, used when the reader has no positives or the model finds too few candidates.
    """
    if limit <= 0:
        return []
    search_matches = search_matches or {}
    keep = np.array([i not in exclude for i in cand_ids], dtype=bool)
    idx = np.flatnonzero(keep)
    out: list[Recommendation] = []
    taken: set[str] = set()

    def add(rec: Recommendation) -> None:
        if rec.id not in taken and rec.id not in exclude and len(out) < limit:
            out.append(rec)
            taken.add(rec.id)

    scores = None
    if _rows(pos) and idx.size:
        lex = cand_lexical[idx] if cand_lexical is not None else None
        scores, method = preference_scores(
            cand[idx], pos, not_interested, background, method=method, cand_lexical=lex, pos_lexical=pos_lexical
        )
    # Saved-search matches first (an explicit interest), best-scored first, capped to a share.
    matched = [k for k in range(idx.size) if cand_ids[idx[k]] in search_matches]
    if scores is not None:
        matched.sort(key=lambda k: -scores[k])
    cap = max(1, int(limit * MAX_SEARCH_SHARE)) if scores is not None else limit
    for k in matched[:cap]:
        pid = cand_ids[idx[k]]
        add(
            Recommendation(
                pid,
                float(scores[k]) if scores is not None else 0.0,
                f"matches your search “{search_matches[pid]}”",
                "search",
            )
        )
    if scores is not None:
        order = np.argsort(-scores, kind="stable")[: limit + len(out)]
        top = [k for k in order if cand_ids[idx[k]] not in taken][: limit - len(out)]
        if top:
            near = nearest_positive(cand[idx[top]], pos)
            for k, j in zip(top, near):
                label = pos_labels[j] if j < len(pos_labels) else "papers in your library"
                add(Recommendation(cand_ids[idx[k]], float(scores[k]), f"like {label}", method))
    for pid, reason in trending:
        if len(out) >= limit:
            break
        add(Recommendation(pid, 0.0, reason, "trending"))
    return out


def explore(
    cand_ids: Sequence[str],
    scores: np.ndarray,
    well_rated: Sequence[tuple[str, str]],
    n: int,
    exclude: set[str] | frozenset[str] = frozenset(),
    outside_quantile: float = 0.5,
) -> list[Recommendation]:
    """Up to n well-rated papers (best first) that lie outside the profile: scored below its median candidate.

    Keeps a profile from closing in on itself: the reader sees what others rate well beyond it.
    """
    if n <= 0 or not len(cand_ids):
        return []
    cut = float(np.quantile(scores, outside_quantile))
    where = {pid: k for k, pid in enumerate(cand_ids)}
    out = []
    for pid, why in well_rated:
        k = where.get(pid)
        if k is None or pid in exclude or scores[k] > cut:
            continue
        out.append(Recommendation(pid, float(scores[k]), f"exploring beyond your profile · {why}", "explore"))
        if len(out) >= n:
            break
    return out
