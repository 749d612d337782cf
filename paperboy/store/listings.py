"""Browsing queries over papers: by listing day, author, category, and trending candidates.

A paper's day is the day it was listed (arXiv daily listing / Hugging Face daily papers), else the
day it was published. Each query returns light rows or Papers; ranking happens outside SQL.
Papers hidden by a moderator are left out here, in SQL, so counts and pages stay right.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from paperboy.models import Paper, author_key
from paperboy.store.merge import paper_from_row
from paperboy.store.papers import VISIBLE
from paperboy.store.schema import paper_authors, paper_categories, papers, votes

PAPER_DAY = sa.func.coalesce(papers.c.listed, papers.c.published)


@dataclass(slots=True, frozen=True)
class DatedRow:
    """Just enough of a paper to rank it: id, its day (None if unknown), imported upvotes, first stored."""

    id: str
    day: date | None
    upvotes: int
    created_at: datetime | None


def _light(rows) -> list[DatedRow]:
    return [DatedRow(r.id, r.listed or r.published, int(r.upvotes or 0), r.created_at) for r in rows]


_LIGHT_COLS = (papers.c.id, papers.c.listed, papers.c.published, papers.c.upvotes, papers.c.created_at)


def day_between(start: date, end: date) -> sa.ColumnElement[bool]:
    """Paper day within [start, end]; written so the index on `listed` serves the common case."""
    return sa.or_(
        papers.c.listed.between(start, end),
        sa.and_(papers.c.listed.is_(None), papers.c.published.between(start, end)),
    )


def rows_between(conn: sa.Connection, start: date, end: date, submitter: str | None = None) -> list[DatedRow]:
    """Light rows of every paper whose day lies in [start, end]."""
    q = sa.select(*_LIGHT_COLS).where(day_between(start, end), VISIBLE)
    if submitter is not None:
        q = q.where(papers.c.submitted_by == submitter)
    return _light(conn.execute(q))


def all_time_candidates(conn: sa.Connection, newest: int) -> list[DatedRow]:
    """Papers that can rank in all-time trending: any with votes, plus the `newest` most recent ones."""
    voted = sa.select(votes.c.paper_id).distinct()
    found: dict[str, DatedRow] = {}
    queries = (
        sa.select(*_LIGHT_COLS).where(sa.or_(papers.c.upvotes > 0, papers.c.id.in_(voted)), VISIBLE),
        sa.select(*_LIGHT_COLS)
        .where(papers.c.listed.is_not(None), VISIBLE)
        .order_by(papers.c.listed.desc())
        .limit(newest),
        sa.select(*_LIGHT_COLS)
        .where(papers.c.listed.is_(None), VISIBLE)
        .order_by(papers.c.published.desc(), papers.c.created_at.desc())
        .limit(newest),
    )
    for q in queries:
        for r in _light(conn.execute(q)):
            found[r.id] = r
    return list(found.values())


def latest_day(conn: sa.Connection, not_after: date) -> date | None:
    """The newest paper day on or before `not_after`."""
    a = conn.execute(sa.select(sa.func.max(papers.c.listed)).where(papers.c.listed <= not_after)).scalar()
    b = conn.execute(
        sa.select(sa.func.max(papers.c.published)).where(papers.c.listed.is_(None), papers.c.published <= not_after)
    ).scalar()
    return max((d for d in (a, b) if d is not None), default=None)


def adjacent_days(conn: sa.Connection, day: date) -> tuple[date | None, date | None]:
    """(previous, next) day that has papers, around `day`."""

    def one(fn, op_listed, op_pub):
        a = conn.execute(sa.select(fn(papers.c.listed)).where(op_listed)).scalar()
        b = conn.execute(sa.select(fn(papers.c.published)).where(papers.c.listed.is_(None), op_pub)).scalar()
        ds = [d for d in (a, b) if d is not None]
        return (max(ds) if fn is sa.func.max else min(ds)) if ds else None

    prev = one(sa.func.max, papers.c.listed < day, papers.c.published < day)
    nxt = one(sa.func.min, papers.c.listed > day, papers.c.published > day)
    return prev, nxt


# Hidden papers are few: NOT IN over them keeps the counts of author and category pages right.
_HIDDEN_IDS = sa.select(papers.c.id).where(papers.c.hidden_at.is_not(None)).scalar_subquery()


def _page(
    conn: sa.Connection, ids_query: sa.Select, limit: int, offset: int, total: int | None = None
) -> tuple[list[Paper], int]:
    """Papers whose id is in `ids_query` (hidden ones excluded by the caller's query), newest first, and the total."""
    if total is None:
        total = conn.execute(sa.select(sa.func.count()).select_from(ids_query.subquery())).scalar_one()
    q = (
        sa.select(papers)
        .where(papers.c.id.in_(ids_query), VISIBLE)
        .order_by(PAPER_DAY.desc().nulls_last(), papers.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [paper_from_row(r) for r in conn.execute(q)], int(total)


def papers_by_author(conn: sa.Connection, name: str, limit: int, offset: int = 0) -> tuple[list[Paper], int]:
    """Papers listing exactly this author name, newest first, and how many there are."""
    ids = (
        sa.select(paper_authors.c.paper_id)
        .distinct()
        .where(
            paper_authors.c.name_key == author_key(name),
            paper_authors.c.name == name,
            paper_authors.c.paper_id.not_in(_HIDDEN_IDS),
        )
    )
    return _page(conn, ids, limit, offset)


def _category_cond(col: sa.ColumnElement, category: str) -> sa.ColumnElement[bool]:
    cond = col == category
    if "." not in category:  # an archive ("cs") also means all of its subcategories ("cs.CL", ...)
        cond = sa.or_(cond, col.like(category.replace("%", "").replace("_", "") + ".%"))
    return cond


SMALL_LISTING = 1000  # below this many matches, sorting them all is cheaper than walking the date index


def papers_in_category(conn: sa.Connection, category: str, limit: int, offset: int = 0) -> tuple[list[Paper], int]:
    """Papers in a category ('cs.CL'), or in any subcategory of an archive ('cs'), newest first."""
    ids = (
        sa.select(paper_categories.c.paper_id)
        .distinct()
        .where(_category_cond(paper_categories.c.category, category), paper_categories.c.paper_id.not_in(_HIDDEN_IDS))
    )
    total = int(conn.execute(sa.select(sa.func.count()).select_from(ids.subquery())).scalar_one())
    if total <= SMALL_LISTING:
        return _page(conn, ids, limit, offset, total)
    # A big category: walk papers newest-listed first and keep those in the category, which stops
    # after about offset + limit rows. `|| ''` stops the planner from preferring the category
    # index (35k lookups for cs.CV) over the per-paper primary key probe.
    pc = paper_categories.alias("pc")
    in_cat = sa.exists().where(pc.c.paper_id == papers.c.id, _category_cond(pc.c.category.concat(""), category))
    n = offset + limit
    listed = conn.execute(
        sa.select(papers)
        .where(papers.c.listed.is_not(None), in_cat, VISIBLE)
        .order_by(papers.c.listed.desc(), papers.c.id.desc())
        .limit(n)
    ).all()
    unlisted = conn.execute(
        sa.select(papers)
        .where(papers.c.listed.is_(None), in_cat, VISIBLE)
        .order_by(papers.c.published.desc().nulls_last(), papers.c.id.desc())
        .limit(n)
    ).all()
    rows = sorted(listed + unlisted, key=lambda r: (r.listed or r.published or date.min, r.id), reverse=True)
    return [paper_from_row(r) for r in rows[offset : offset + limit]], total


def category_counts(conn: sa.Connection) -> list[tuple[str, int]]:
    """Every category any visible paper lists (primary or not) with its paper count, most papers first.

    Counted like `papers_in_category` counts a category page, so the two always agree.
    """
    q = (
        sa.select(paper_categories.c.category, sa.func.count(sa.distinct(paper_categories.c.paper_id)).label("n"))
        .where(paper_categories.c.paper_id.not_in(_HIDDEN_IDS))
        .group_by(paper_categories.c.category)
        .order_by(sa.desc("n"), paper_categories.c.category)
    )
    return [(c, int(n)) for c, n in conn.execute(q)]
