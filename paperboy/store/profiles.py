"""SQL for interest profiles: a reader's named profiles, their thumbs up / down ratings and saved searches.

Every function takes a Connection and runs inside the caller's transaction. Ratings are upserts keyed by
(profile, paper), so recording the same feedback twice leaves one row with the same rating.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from paperboy.store.rows import insert_row
from paperboy.store.schema import not_interested, papers, profile_ratings, profiles, saved_papers, saved_searches, votes


def profiles_of(conn: sa.Connection, user_id: int) -> list[Any]:
    """A reader's profiles, default first, then by creation."""
    q = sa.select(profiles).where(profiles.c.user_id == user_id).order_by(profiles.c.is_default.desc(), profiles.c.id)
    return list(conn.execute(q))


def profile(conn: sa.Connection, profile_id: int) -> Any:
    return conn.execute(sa.select(profiles).where(profiles.c.id == profile_id)).first()


def insert_profile(conn: sa.Connection, user_id: int, name: str, is_default: bool, now: datetime) -> int:
    """New profile id; IntegrityError when the reader already has a profile of that name."""
    return insert_row(conn, profiles, user_id=user_id, name=name, is_default=is_default, in_digest=True, created_at=now)


def update_profile(conn: sa.Connection, profile_id: int, values: dict[str, Any]) -> None:
    conn.execute(profiles.update().where(profiles.c.id == profile_id).values(**values))


def delete_profile(conn: sa.Connection, profile_id: int) -> int:
    return conn.execute(profiles.delete().where(profiles.c.id == profile_id)).rowcount


def _upsert(conn: sa.Connection):
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(profile_ratings)


def set_ratings(
    conn: sa.Connection, profile_id: int, rows: Sequence[tuple[str, int]], origin: str, now: datetime
) -> int:
    """Set (paper_id, +1 | -1) ratings of a profile; returns how many changed (0 for a replay).

    Counted by reading the previous rating, not from the upsert's rowcount, which drivers report
    differently for ON CONFLICT DO UPDATE ... WHERE.
    """
    changed = 0
    for pid, rating in rows:
        if rating_of(conn, profile_id, pid) == rating:
            continue
        ins = _upsert(conn).values(profile_id=profile_id, paper_id=pid, rating=rating, origin=origin, created_at=now)
        conn.execute(
            ins.on_conflict_do_update(
                index_elements=[profile_ratings.c.profile_id, profile_ratings.c.paper_id],
                set_={
                    "rating": ins.excluded.rating,
                    "origin": ins.excluded.origin,
                    "created_at": ins.excluded.created_at,
                },
            )
        )
        changed += 1
    return changed


def clear_rating(conn: sa.Connection, profile_id: int, paper_id: str) -> int:
    q = profile_ratings.delete().where(
        profile_ratings.c.profile_id == profile_id, profile_ratings.c.paper_id == paper_id
    )
    return conn.execute(q).rowcount


def ratings(conn: sa.Connection, profile_id: int, limit: int = 1000) -> list[tuple[str, int]]:
    """(paper_id, rating) of a profile, newest first."""
    q = (
        sa.select(profile_ratings.c.paper_id, profile_ratings.c.rating)
        .where(profile_ratings.c.profile_id == profile_id)
        .order_by(profile_ratings.c.created_at.desc(), profile_ratings.c.paper_id)
        .limit(limit)
    )
    return [(r.paper_id, int(r.rating)) for r in conn.execute(q)]


def rating_of(conn: sa.Connection, profile_id: int, paper_id: str) -> int | None:
    q = sa.select(profile_ratings.c.rating).where(
        profile_ratings.c.profile_id == profile_id, profile_ratings.c.paper_id == paper_id
    )
    got = conn.execute(q).scalar()
    return None if got is None else int(got)


def library_rows(conn: sa.Connection, user_id: int, limit: int) -> list[tuple[str, int]]:
    """The reader's upvotes and saved papers (+1) and "not interested" marks (-1), for the default profile."""
    out: list[tuple[str, int]] = []
    for table, rating in ((not_interested, -1), (saved_papers, 1), (votes, 1)):
        q = (
            sa.select(table.c.paper_id)
            .where(table.c.user_id == user_id)
            .order_by(table.c.created_at.desc())
            .limit(limit)
        )
        out.extend((pid, rating) for pid in conn.execute(q).scalars())
    return out


def searches_of_profile(conn: sa.Connection, user_id: int, profile_id: int, is_default: bool) -> list[Any]:
    """Saved searches of one profile (the default profile also owns those without one)."""
    cond = saved_searches.c.profile_id == profile_id
    if is_default:
        cond = sa.or_(cond, saved_searches.c.profile_id.is_(None))
    q = (
        sa.select(saved_searches)
        .where(saved_searches.c.user_id == user_id, cond)
        .order_by(saved_searches.c.created_at.desc(), saved_searches.c.id.desc())
    )
    return list(conn.execute(q))


def set_search_profile(conn: sa.Connection, user_id: int, search_id: int, profile_id: int | None) -> int:
    q = (
        saved_searches.update()
        .where(saved_searches.c.user_id == user_id, saved_searches.c.id == search_id)
        .values(profile_id=profile_id)
    )
    return conn.execute(q).rowcount


def existing_ids(conn: sa.Connection, ids: Sequence[str]) -> set[str]:
    """Those of `ids` that are stored papers (a rating needs the paper row)."""
    out: set[str] = set()
    ids = list(dict.fromkeys(ids))
    for i in range(0, len(ids), 500):
        out.update(conn.execute(sa.select(papers.c.id).where(papers.c.id.in_(ids[i : i + 500]))).scalars())
    return out


def diverse_candidates(conn: sa.Connection, categories: Sequence[str], per_category: int) -> list[Any]:
    """Recent papers of each category (id, title, primary category), newest first, for cold-start picking."""
    from paperboy.store.schema import paper_categories

    out = []
    for cat in categories:
        q = (
            sa.select(papers.c.id, papers.c.title, papers.c.abstract)
            .join(paper_categories, paper_categories.c.paper_id == papers.c.id)
            .where(paper_categories.c.category == cat, papers.c.hidden_at.is_(None))
            .order_by(papers.c.seq.desc())
            .limit(per_category)
        )
        out.extend((cat, r) for r in conn.execute(q))
    return out
