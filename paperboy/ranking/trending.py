"""Trending per window. Pure: arrays in, ranking out.

Today ranks by a Hacker-News-style gravity score over votes and age:

    score = votes / (age_hours + 2) ** gravity

Week, month and all time rank by votes alone within the window (ties: the newer paper), as Hugging
Face Papers does: with daily batches, gravity would make "this week" the same list as "today".
In every window undated papers (a page dump without dates) come after every dated one: their age is
unknown, so they cannot be said to trend.

`votes` is the paper's imported Hugging Face upvotes plus the upvotes cast on this instance,
`age_hours` is how long ago the paper was listed (else published, else first stored) measured
from the newest listing day, and `gravity` (default 1.8, as Hacker News) sets how fast age wins
over votes. The "+ 2" keeps brand-new papers from dividing by zero and damps their first hours.
Ties (for example all papers without votes) go to the newer paper, then the one with more votes,
then the smaller id, so the order is deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta

import numpy as np

from paperboy.models import Hits

DEFAULT_GRAVITY = 1.8
# Windows are whole days counted back from the reference day (the newest listing day), inclusive.
WINDOW_DAYS: dict[str, int | None] = {"today": 1, "week": 7, "month": 30, "all": None}


def window_start(window: str, as_of: date) -> date | None:
    """First day inside `window` ending on `as_of`; None for all time. ValueError for unknown windows."""
    if window not in WINDOW_DAYS:
        raise ValueError(f"unknown trending window {window!r}; choose from {', '.join(WINDOW_DAYS)}")
    days = WINDOW_DAYS[window]
    return None if days is None else as_of - timedelta(days=days - 1)


def hn_gravity_score(votes: np.ndarray, age_hours: np.ndarray, gravity: float = DEFAULT_GRAVITY) -> np.ndarray:
    """votes / (age_hours + 2) ** gravity, elementwise; negative ages count as 0."""
    votes = np.asarray(votes, dtype=np.float64)
    age = np.maximum(np.asarray(age_hours, dtype=np.float64), 0.0)
    return votes / np.power(age + 2.0, gravity)


def rank_trending(
    ids: Sequence[str],
    votes: np.ndarray,
    age_hours: np.ndarray,
    gravity: float = DEFAULT_GRAVITY,
) -> Hits:
    """All `ids` ordered by gravity score, best first (ties: newer, more votes, smaller id)."""
    return _ranked(ids, votes, age_hours, lambda votes, age: hn_gravity_score(votes, age, gravity))


def age_in_hours(paper_dates: Sequence[date], as_of: date) -> np.ndarray:
    """Hours from each day to `as_of` (day granularity: a paper listed on `as_of` is 0 hours old)."""
    ref = as_of.toordinal()
    return np.array([(ref - d.toordinal()) * 24.0 for d in paper_dates], dtype=np.float64)


def rank_by_votes(ids: Sequence[str], votes: np.ndarray, age_hours: np.ndarray) -> Hits:
    """`ids` by votes, most first (ties: newer, then smaller id); the score is the vote count."""
    return _ranked(ids, votes, age_hours, lambda votes, _age: votes)


def _ranked(
    ids: Sequence[str], votes: np.ndarray, age_hours: np.ndarray, score: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> Hits:
    """`ids` by score(votes, age), best first; ties: newer, more votes, smaller id."""
    if len(ids) == 0:
        return Hits.empty()
    votes = np.asarray(votes, dtype=np.float64)
    age = np.asarray(age_hours, dtype=np.float64)
    if not (len(ids) == len(votes) == len(age)):
        raise ValueError("ids, votes and age_hours differ in length")
    scores = score(votes, age)
    id_rank = np.argsort(np.argsort(np.asarray(ids, dtype=object)))  # position of each id in sorted order
    # np.lexsort sorts by the last key first.
    order = np.lexsort((id_rank, -votes, age, -scores))
    return Hits([ids[i] for i in order], scores[order])


def rank_window(
    window: str,
    ids: Sequence[str],
    votes: np.ndarray,
    days: Sequence[date | None],
    as_of: date,
    gravity: float = DEFAULT_GRAVITY,
) -> Hits:
    """Rank the papers of one window: gravity for today, votes for the others; undated papers last.

    `days[i]` is paper i's listing (else publication) day, None when unknown.
    """
    window_start(window, as_of)  # validates the window name
    votes = np.asarray(votes, dtype=np.float64)
    if not (len(ids) == len(votes) == len(days)):
        raise ValueError("ids, votes and days differ in length")
    rank = rank_trending if window == "today" else (lambda i, v, a, _g: rank_by_votes(i, v, a))
    parts = []
    for dated in (True, False):
        sel = [k for k, d in enumerate(days) if (d is not None) == dated]
        if sel:
            sel_days = [days[k] or as_of for k in sel]
            parts.append(rank([ids[k] for k in sel], votes[sel], age_in_hours(sel_days, as_of), gravity))
    if not parts:
        return Hits.empty()
    return Hits([i for h in parts for i in h.ids], np.concatenate([h.scores for h in parts]))
