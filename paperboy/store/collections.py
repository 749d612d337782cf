"""SQL for collections: named lists of papers, public or private, each paper with an optional note.

Every function takes a Connection and runs inside the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from paperboy.store.papers import VISIBLE
from paperboy.store.rows import insert_row
from paperboy.store.schema import collection_items, collections, papers, users

_COLUMNS = (collections, users.c.email.label("owner_email"))


def insert_collection(
    conn: sa.Connection, user_id: int, name: str, description: str, public: bool, now: datetime
) -> int:
    """New collection id; IntegrityError when the user already has one of that name."""
    what = {"user_id": user_id, "name": name, "description": description, "public": public}
    return insert_row(conn, collections, **what, created_at=now, updated_at=now)


def collection_by_id(conn: sa.Connection, collection_id: int) -> Any:
    q = sa.select(*_COLUMNS).join(users, users.c.id == collections.c.user_id).where(collections.c.id == collection_id)
    return conn.execute(q).first()


def collections_of(conn: sa.Connection, user_id: int) -> list[Any]:
    """The user's collections with their paper counts, most recently changed first."""
    n = (
        sa.select(sa.func.count())
        .select_from(collection_items)
        .where(collection_items.c.collection_id == collections.c.id)
        .scalar_subquery()
        .label("papers")
    )
    q = (
        sa.select(*_COLUMNS, n)
        .join(users, users.c.id == collections.c.user_id)
        .where(collections.c.user_id == user_id)
        .order_by(collections.c.updated_at.desc(), collections.c.id.desc())
    )
    return list(conn.execute(q))


def count_of(conn: sa.Connection, user_id: int) -> int:
    q = sa.select(sa.func.count()).select_from(collections).where(collections.c.user_id == user_id)
    return int(conn.execute(q).scalar_one())


def update_collection(conn: sa.Connection, collection_id: int, now: datetime, **values: Any) -> bool:
    q = collections.update().where(collections.c.id == collection_id)
    return conn.execute(q.values(updated_at=now, **values)).rowcount > 0


def delete_collection(conn: sa.Connection, collection_id: int) -> bool:
    conn.execute(collection_items.delete().where(collection_items.c.collection_id == collection_id))
    return conn.execute(collections.delete().where(collections.c.id == collection_id)).rowcount > 0


def touch(conn: sa.Connection, collection_id: int, now: datetime) -> None:
    conn.execute(collections.update().where(collections.c.id == collection_id).values(updated_at=now))


def upsert_item(conn: sa.Connection, collection_id: int, paper_id: str, note: str | None, now: datetime) -> bool:
    """Add a paper (True) or, when it is there already, update its note if one is given (False)."""
    cond = sa.and_(collection_items.c.collection_id == collection_id, collection_items.c.paper_id == paper_id)
    if conn.execute(sa.select(collection_items.c.paper_id).where(cond)).first() is not None:
        if note is not None:
            conn.execute(collection_items.update().where(cond).values(note=note))
        return False
    conn.execute(
        collection_items.insert().values(collection_id=collection_id, paper_id=paper_id, note=note, added_at=now)
    )
    return True


def delete_item(conn: sa.Connection, collection_id: int, paper_id: str) -> bool:
    q = collection_items.delete().where(
        collection_items.c.collection_id == collection_id, collection_items.c.paper_id == paper_id
    )
    return conn.execute(q).rowcount > 0


def items(conn: sa.Connection, collection_id: int, limit: int, offset: int = 0) -> tuple[list[Any], int]:
    """(paper_id, note, added_at) of the visible papers in a collection, newest first, and how many there are."""
    base = (
        sa.select(collection_items.c.paper_id, collection_items.c.note, collection_items.c.added_at)
        .join(papers, papers.c.id == collection_items.c.paper_id)
        .where(collection_items.c.collection_id == collection_id, VISIBLE)
    )
    total = conn.execute(sa.select(sa.func.count()).select_from(base.subquery())).scalar_one()
    q = base.order_by(collection_items.c.added_at.desc(), collection_items.c.paper_id).limit(limit).offset(offset)
    return list(conn.execute(q)), int(total)


def containing(conn: sa.Connection, user_id: int, paper_ids: list[str]) -> dict[str, set[int]]:
    """For each paper id, the ids of the user's collections that hold it."""
    if not paper_ids:
        return {}
    q = (
        sa.select(collection_items.c.paper_id, collection_items.c.collection_id)
        .join(collections, collections.c.id == collection_items.c.collection_id)
        .where(collections.c.user_id == user_id, collection_items.c.paper_id.in_(paper_ids[:500]))
    )
    out: dict[str, set[int]] = {}
    for pid, cid in conn.execute(q):
        out.setdefault(pid, set()).add(int(cid))
    return out
