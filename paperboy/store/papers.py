"""Reading and writing papers: batched idempotent upsert, lookups and streaming reads."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple

import sqlalchemy as sa

from paperboy.models import Paper, author_key, parse_arxiv_id
from paperboy.store.db import begin_write
from paperboy.store.merge import ROW_FIELDS, derived, merge, paper_from_row, row_from_paper
from paperboy.store.rows import after_key
from paperboy.store.schema import paper_authors, paper_categories, paper_sources, papers


@dataclass(slots=True)
class _State:
    id: str
    row: Mapping[str, Any]  # a stored row's mapping until a record merges into it, then a dict
    orig_hash: str | None  # None for a paper this batch creates
    counted: bool = False  # touched by a record that is not an in-input duplicate
    touched: bool = False  # some record of the batch merged into it (else it was only a match candidate)
    sources: dict[str, str | None] = field(default_factory=dict)
    title_key: str | None = None  # of row["title"], while known
    fresh: Fresh | None = None  # computed ahead for a new row, until a record merges into it


class Fresh(NamedTuple):
    """A parsed paper's new row, computed ahead by `prepare` (in the parser process): less for the storing one."""

    derived: dict[str, Any]  # derived(row_from_paper(paper))
    name_keys: list[str]  # paper_authors.name_key of each author


def prepare(p: Paper) -> Fresh | None:
    """The Fresh of `p` (None for a row with NULs: those are cleaned, and derived, at the write)."""
    row = row_from_paper(p)
    if _without_nul(row) is not row:
        return None
    return Fresh(derived(row), [_name_key(n) for n in row["authors"]])


@dataclass(slots=True)
class BatchOutcome:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    changed_ids: list[str] = field(default_factory=list)


def _rows_matching(conn: sa.Connection, batch: Sequence[Paper], title_keys_of: Sequence[str]) -> list[Any]:
    """Stored rows a record of `batch` may merge into: same arXiv id, or same title key and a first
    author that does not rule it out (`_compatible`); `title_keys_of`: each record's title key.

    Candidates are first read by their keys alone, and whole rows only for those that can match: a
    title shared by many stored papers (the synthetic 3.1M corpus reuses each sample title ~20 times)
    otherwise read every namesake's abstract for each record, which made a bulk load quadratic. A
    stored row no record is compatible with can never be merged into, so leaving it out changes nothing.
    """
    arxiv_set = {p.arxiv_id for p in batch if p.arxiv_id}
    arxiv_ids = sorted(arxiv_set)
    by_title: dict[str, list[Paper]] = {}
    for p, key in zip(batch, title_keys_of):
        by_title.setdefault(key, []).append(p)
    title_keys = sorted(by_title)
    keys = [papers.c.id, papers.c.arxiv_id, papers.c.title_key, papers.c.first_author_key]
    wanted: list[str] = []
    for chunk_start in range(0, max(len(arxiv_ids), len(title_keys)), 500):
        a = arxiv_ids[chunk_start : chunk_start + 500]
        t = title_keys[chunk_start : chunk_start + 500]
        cond = sa.or_(papers.c.arxiv_id.in_(a), papers.c.title_key.in_(t))
        for r in conn.execute(sa.select(*keys).where(cond)):
            if r.arxiv_id in arxiv_set or any(_may_match(r, p) for p in by_title.get(r.title_key, ())):
                wanted.append(r.id)
    cols = [papers.c.id, papers.c.content_hash, papers.c.title_key, papers.c.first_author_key]
    cols += [papers.c[f] for f in ROW_FIELDS]
    found: dict[str, Any] = {}
    for chunk_start in range(0, len(wanted), 500):
        ids = wanted[chunk_start : chunk_start + 500]
        for r in conn.execute(sa.select(*cols).where(papers.c.id.in_(ids)).order_by(papers.c.id)):
            found[r.id] = r
    return list(found.values())


def _may_match(stored: Any, p: Paper) -> bool:
    """`_compatible` from a stored row's keys alone, never False where `_compatible` could be True."""
    if stored.arxiv_id and p.arxiv_id and stored.arxiv_id != p.arxiv_id:
        return False
    a, b = stored.first_author_key or "", _fit(papers.c.first_author_key, p.first_author_key or "")
    return not a or not b or a == b


def _compatible(state: _State, p: Paper) -> bool:
    """Same paper by title + first author, and not two different arXiv papers sharing a title."""
    row = state.row
    if row.get("arxiv_id") and p.arxiv_id and row["arxiv_id"] != p.arxiv_id:
        return False
    a = author_key(row["authors"][0]) if row.get("authors") else ""
    b = p.first_author_key
    return not a or not b or a == b


def upsert_batch(
    conn: sa.Connection, batch: Sequence[tuple[Paper, bool]], prepared: Sequence[Fresh | None] | None = None
) -> BatchOutcome:
    """Merge `(paper, is_duplicate)` records into the store inside the caller's transaction.

    Matching is on arXiv id, else normalized title + first author. Papers whose merged content
    is unchanged are not written, so re-ingesting an input changes nothing. `prepared[i]`, when
    given, is `prepare(batch[i][0])`, computed ahead (by the parser process).
    """
    begin_write(conn)  # concurrent writers would both insert a new paper, or commit seqs out of order
    papers_only = [p for p, _ in batch]
    prepared = prepared or [None] * len(batch)
    # normalized once per record: it is most of the matching cost
    keys = [pre.derived["title_key"] if pre else p.title_key for p, pre in zip(papers_only, prepared)]
    by_arxiv: dict[str, _State] = {}
    by_title: dict[str, list[_State]] = {}
    states: dict[str, _State] = {}

    def register(st: _State, title_key: str) -> None:
        states[st.id] = st
        if st.row.get("arxiv_id"):
            by_arxiv[st.row["arxiv_id"]] = st
        by_title.setdefault(title_key, []).append(st)

    # A bulk load matches many stored rows by title alone (candidates it then rejects): they stay
    # row mappings, and only rows a record merges into are converted, re-hashed and written.
    for r in _rows_matching(conn, papers_only, keys):
        register(_State(r.id, r._mapping, r.content_hash), r.title_key)

    for (p, is_dup), title_key, pre in zip(batch, keys, prepared):
        st = by_arxiv.get(p.arxiv_id) if p.arxiv_id else None
        if st is None:
            st = next((c for c in by_title.get(title_key, ()) if _compatible(c, p)), None)
        if st is None:
            st = _State(p.paper_id(), row_from_paper(p), None, title_key=title_key, fresh=pre)
            register(st, title_key)
        else:
            had_arxiv = st.row.get("arxiv_id")
            row = st.row if st.touched else {f: st.row[f] for f in ROW_FIELDS}  # a stored row: its fields only
            st.row = merge(row, p)
            st.title_key = st.fresh = None  # the merged row may have another title, another hash
            if not had_arxiv and st.row.get("arxiv_id"):
                by_arxiv[st.row["arxiv_id"]] = st
        st.counted = st.counted or not is_dup
        st.touched = True
        st.sources.setdefault(p.source, p.source_ref)

    return _write(conn, {k: st for k, st in states.items() if st.touched})


def _write(conn: sa.Connection, states: dict[str, _State]) -> BatchOutcome:
    now = datetime.now(timezone.utc)
    out = BatchOutcome()
    inserts, updates = [], []
    for st in states.values():
        if st.fresh is not None:  # a new row nobody merged into, without NULs
            full = {**st.row, **st.fresh.derived}
        else:
            row = _without_nul(st.row)
            exact = row is st.row  # (no NUL removed)
            full = {**row, **derived(row, st.title_key if exact else None)}
        full["primary_category"] = _fit(papers.c.primary_category, full["primary_category"])
        full["first_author_key"] = _fit(papers.c.first_author_key, full["first_author_key"])
        if st.orig_hash is None:
            inserts.append({"id": st.id, **full})
            out.added += st.counted
        elif full["content_hash"] != st.orig_hash:
            updates.append({"b_id": st.id, **full})
            out.updated += st.counted
        else:
            out.unchanged += st.counted
    changed = [r["id"] for r in inserts] + [r["b_id"] for r in updates]
    if changed:
        seq = (conn.execute(sa.select(sa.func.max(papers.c.seq))).scalar() or 0) + 1
        for r in inserts:
            r.update(seq=seq, created_at=now, modified_at=now)
        for r in updates:
            r.update(seq=seq, modified_at=now)
        _bulk_insert(conn, papers, inserts)
        if updates:
            conn.execute(
                papers.update().where(papers.c.id == sa.bindparam("b_id")),
                updates,
            )
            upd_ids = [r["b_id"] for r in updates]
            conn.execute(paper_authors.delete().where(paper_authors.c.paper_id.in_(upd_ids)))
            conn.execute(paper_categories.delete().where(paper_categories.c.paper_id.in_(upd_ids)))
        author_rows: list[tuple] = []
        cat_rows: list[tuple] = []
        known = {st.id: st.fresh.name_keys for st in states.values() if st.fresh is not None}
        for r in inserts + updates:
            pid = r.get("id") or r["b_id"]
            keys = known.get(pid) or [_name_key(n) for n in r["authors"]]
            author_rows += [(pid, i, n, k) for i, (n, k) in enumerate(zip(r["authors"], keys))]
            cat_rows += [(pid, i, _fit(paper_categories.c.category, c)) for i, c in enumerate(r["categories"])]
        _insert_values(conn, paper_authors, ("paper_id", "position", "name", "name_key"), author_rows)
        _insert_values(conn, paper_categories, ("paper_id", "position", "category"), cat_rows)
    out.changed_ids = changed
    _record_sources(conn, states, now)
    return out


def _without_nul(row: dict[str, Any]) -> dict[str, Any]:
    """`row` without NUL characters, which PostgreSQL text cannot hold (a NUL would fail the whole
    batch); removed on SQLite too so both store, and hash, the same. Parsers strip them already;
    this covers every other way in (hand-made Papers, categories, future sources)."""
    dirty = [
        k
        for k, v in row.items()
        if (isinstance(v, str) and "\x00" in v)
        or (isinstance(v, list) and any(isinstance(x, str) and "\x00" in x for x in v))
    ]
    if not dirty:
        return row
    out = dict(row)
    for k in dirty:
        v = out[k]
        out[k] = (
            v.replace("\x00", "")
            if isinstance(v, str)
            else [x.replace("\x00", "") if isinstance(x, str) else x for x in v]
        )
    return out


@functools.lru_cache(maxsize=1 << 16)
def _name_key(name: str) -> str:
    """paper_authors.name_key of an author name; memoised, as the same names recur across a bulk load."""
    return _fit(paper_authors.c.name_key, author_key(name))


def _fit(col: sa.Column, value: Any) -> Any:
    """`value` cut to the column's declared length: PostgreSQL rejects a longer string (failing the
    whole batch) where SQLite would keep it; the real sample has 142-character "categories" (ACM
    class lists) and a 512-character author name. The JSON columns keep the full text."""
    n = getattr(col.type, "length", None)
    return value[:n] if n and isinstance(value, str) and len(value) > n else value


def _bulk_insert(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows (dicts with the same keys) through `_insert_values`."""
    if rows:
        cols = list(rows[0])
        _insert_values(conn, table, cols, [tuple([r[k] for k in cols]) for r in rows])


def _insert_values(conn: sa.Connection, table: sa.Table, cols: Sequence[str], values: list[tuple]) -> None:
    """executemany (COPY on PostgreSQL) straight to the driver, each value through its column type's own
    bind processor (JSON text, SQLite dates), so stored exactly as SQLAlchemy would store it: SQLAlchemy's
    per-row parameter processing cost more than the insert itself (profiled on the sample and on 100k
    snapshot papers)."""
    if not values:
        return
    dialect = conn.dialect
    procs = [table.c[k].type.dialect_impl(dialect).bind_processor(dialect) for k in cols]
    if any(procs):
        values = [tuple([v if f is None else f(v) for v, f in zip(row, procs)]) for row in values]
    if dialect.name == "postgresql":
        # COPY, in this transaction: psycopg's executemany sends one INSERT per row (3x slower here).
        from psycopg import sql

        stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, cols))
        )
        with conn.connection.dbapi_connection.cursor() as cur, cur.copy(stmt) as copy:
            for row in values:
                copy.write_row(row)
        return
    compiled = table.insert().compile(dialect=dialect, column_keys=list(cols))
    if dialect.positional:
        order = [list(cols).index(k) for k in compiled.positiontup]
        if order != list(range(len(cols))):
            values = [tuple([row[i] for i in order]) for row in values]
        params: list[Any] = values
    else:
        params = [dict(zip(cols, row)) for row in values]
    conn.exec_driver_sql(str(compiled), params)


def _record_sources(conn: sa.Connection, states: dict[str, _State], now: datetime) -> None:
    ids = list(states)
    have: set[tuple[str, str]] = set()
    for i in range(0, len(ids), 500):
        q = sa.select(paper_sources.c.paper_id, paper_sources.c.source).where(
            paper_sources.c.paper_id.in_(ids[i : i + 500])
        )
        have.update((r.paper_id, r.source) for r in conn.execute(q))
    rows = [
        {"paper_id": st.id, "source": src, "source_ref": ref.replace("\x00", "") if ref else ref, "first_seen": now}
        for st in states.values()
        for src, ref in st.sources.items()
        if (st.id, src) not in have
    ]
    _bulk_insert(conn, paper_sources, rows)


VISIBLE = papers.c.hidden_at.is_(None)  # not hidden by a moderator


def get_paper(conn: sa.Connection, key: str, include_hidden: bool = False) -> Paper | None:
    """A paper by its id, its arXiv id (any version suffix) or an arxiv.org URL; hidden ones only if asked."""
    key = (key or "").strip()
    parsed = parse_arxiv_id(key)
    cond = papers.c.id == key
    if parsed:
        cond = sa.or_(cond, papers.c.arxiv_id == parsed[0])
    if not include_hidden:
        cond = sa.and_(cond, VISIBLE)
    row = conn.execute(sa.select(papers).where(cond).limit(1)).first()
    if row is None:
        return None
    paper = paper_from_row(row)
    paper.source = ",".join(sources_of(conn, paper.id))
    return paper


def sources_of(conn: sa.Connection, paper_id: str) -> list[str]:
    q = (
        sa.select(paper_sources.c.source)
        .where(paper_sources.c.paper_id == paper_id)
        .order_by(paper_sources.c.first_seen, paper_sources.c.source)
    )
    return [r.source for r in conn.execute(q)]


def get_papers(conn: sa.Connection, ids: Sequence[str], include_hidden: bool = False) -> dict[str, Paper]:
    """Papers by id, for hydrating search hits; hidden papers are left out unless asked for."""
    out: dict[str, Paper] = {}
    for i in range(0, len(ids), 500):
        cond = papers.c.id.in_(list(ids[i : i + 500]))
        for row in conn.execute(sa.select(papers).where(cond if include_hidden else sa.and_(cond, VISIBLE))):
            out[row.id] = paper_from_row(row)
    return out


HIDDEN_SCAN = 5000  # up to this many hidden papers, reading them all beats probing 1000 hit ids


def hidden_ids(conn: sa.Connection) -> set[str] | None:
    """Every paper a moderator hid, or None when there are more than HIDDEN_SCAN of them.

    Hidden papers are few, so one scan of the hidden_at index (no parameters) reads them all:
    a 1000-id IN list cost ~8 ms per search on PostgreSQL, most of it building the query.
    The ORDER BY matches the index: without column statistics (a freshly migrated store) the
    planner chose a 30 ms table scan for the bare filter, never for an ordered, limited read.
    """
    hidden = (
        conn.execute(
            sa.select(papers.c.id)
            .where(papers.c.hidden_at.is_not(None))
            .order_by(papers.c.hidden_at)
            .limit(HIDDEN_SCAN + 1)
        )
        .scalars()
        .all()
    )
    return set(hidden) if len(hidden) <= HIDDEN_SCAN else None


def hidden_among(conn: sa.Connection, ids: Sequence[str]) -> set[str]:
    """Which of these paper ids a moderator hid (primary-key probes beyond HIDDEN_SCAN hidden papers)."""
    hidden = hidden_ids(conn)
    if hidden is not None:
        return hidden.intersection(ids)
    out: set[str] = set()
    for i in range(0, len(ids), 500):
        q = sa.select(papers.c.id).where(papers.c.id.in_(list(ids[i : i + 500])), papers.c.hidden_at.is_not(None))
        out.update(conn.execute(q).scalars())
    return out


def count_papers(conn: sa.Connection) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(papers)).scalar_one()


def max_seq(conn: sa.Connection) -> int:
    return conn.execute(sa.select(sa.func.max(papers.c.seq))).scalar() or 0


def iter_papers(
    engine: sa.Engine, since_seq: int = 0, page: int = 2000, until_seq: int | None = None
) -> Iterator[tuple[int, Paper]]:
    """(seq, paper) for every paper changed after `since_seq` (up to `until_seq`), oldest change first, in short
    read transactions."""
    cond = papers.c.seq > since_seq
    upto = sa.true() if until_seq is None else papers.c.seq <= until_seq
    while True:
        q = sa.select(papers).where(cond, upto).order_by(papers.c.seq, papers.c.id).limit(page)
        with engine.connect() as conn:
            rows = conn.execute(q).fetchall()
        if not rows:
            return
        for r in rows:
            yield r.seq, paper_from_row(r)
        cond = after_key(papers.c.seq, papers.c.id, rows[-1].seq, rows[-1].id)


def stats(conn: sa.Connection) -> dict[str, Any]:
    """Counts a person or a script wants at a glance."""
    by_source = dict(
        conn.execute(sa.select(paper_sources.c.source, sa.func.count()).group_by(paper_sources.c.source)).all()
    )
    top_cats = conn.execute(
        sa.select(papers.c.primary_category, sa.func.count().label("n"))
        .where(papers.c.primary_category.is_not(None))
        .group_by(papers.c.primary_category)
        .order_by(sa.desc("n"))
        .limit(10)
    ).all()
    lo, hi = conn.execute(
        sa.select(
            sa.func.min(sa.func.coalesce(papers.c.published, papers.c.listed)),
            sa.func.max(sa.func.coalesce(papers.c.published, papers.c.listed)),
        )
    ).one()
    return {
        "papers": count_papers(conn),
        "with_arxiv_id": conn.execute(
            sa.select(sa.func.count()).select_from(papers).where(papers.c.arxiv_id.is_not(None))
        ).scalar_one(),
        "authors": conn.execute(sa.select(sa.func.count(sa.distinct(paper_authors.c.name_key)))).scalar_one(),
        "by_source": by_source,
        "top_categories": {c: n for c, n in top_cats},
        "earliest": str(lo) if lo else None,
        "latest": str(hi) if hi else None,
        "seq": max_seq(conn),
    }
