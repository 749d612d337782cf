"""Request targets shared by the web benchmarks: search queries and paper ids drawn from a store.

Imported by the scripts as `from _targets import sample_targets` (a script's own folder is first
on sys.path when it runs as `.venv/bin/python benchmarks/x.py`).
"""

from __future__ import annotations

import random
import re


def sample_targets(
    url: str, n: int, seed: int, *, max_words: int, separators: str = r"[\s:,]+"
) -> tuple[list[str], list[str]]:
    """(search queries, paper ids) drawn deterministically from the papers in the store at `url`.

    Each query is 1..max_words words (over three letters, alphabetic) of a sampled paper's title
    split at `separators`; the scripts keep their own seed and word rules so that their numbers
    stay comparable with earlier runs.
    """
    import sqlalchemy as sa

    from paperboy.store.db import create_engine
    from paperboy.store.schema import papers

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(papers.c.id, papers.c.title).order_by(papers.c.id)).all()
    finally:
        engine.dispose()
    rng = random.Random(seed)
    picked = rng.sample(rows, min(n, len(rows)))
    queries = []
    for _pid, title in picked:
        words = [w for w in re.split(separators, title) if len(w) > 3 and w.isalpha()]
        if words:
            queries.append(" ".join(rng.sample(words, rng.randint(1, min(max_words, len(words))))).lower())
    return queries, [pid for pid, _t in picked]
