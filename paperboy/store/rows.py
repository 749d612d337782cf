"""Row-level building blocks the store's query modules share."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def insert_row(conn: sa.Connection, table: sa.Table, **values: Any) -> int:
    """Insert one row into a table keyed by an autoincrementing id; the new row's id."""
    return int(conn.execute(table.insert().values(**values)).inserted_primary_key[0])


def most_recently_set(conn: sa.Connection, stamp: sa.Column, columns: tuple, limit: int) -> list[Any]:
    """`columns` of the rows whose time `stamp` is set (hidden papers, banned accounts), most recent first;
    ties go by the first column (the id)."""
    q = sa.select(*columns).where(stamp.is_not(None)).order_by(stamp.desc(), columns[0]).limit(limit)
    return list(conn.execute(q))


def after_key(seq: sa.Column, key: sa.Column, last_seq: Any, last_key: Any) -> sa.ColumnElement[bool]:
    """Rows after (last_seq, last_key) in (seq, key) order: the next keyset page.

    `seq >= last_seq` on its own lets an index on seq seek to the page's start; with only the OR of the
    tie-break, every page read and sorted all the remaining rows (quadratic: a pass over 3.1M papers, or
    a pull of their vectors, did not finish).
    """
    return sa.and_(seq >= last_seq, sa.or_(seq > last_seq, key > last_key))
