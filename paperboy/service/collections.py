"""Collections: named lists of papers a user keeps, public (shareable by link) or private, with a note per paper.

The SQL lives in `paperboy.store.collections`; papers a moderator hid drop out of every collection's pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from paperboy.models import Paper
from paperboy.service.comments import display_name
from paperboy.store import Conflict, Store
from paperboy.store import collections as _sql

MAX_NAME, MAX_DESCRIPTION, MAX_NOTE = 100, 2000, 1000
MAX_COLLECTIONS = 100  # per account
MAX_PAPERS = 1000  # per collection
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


class CollectionError(ValueError):
    """A request the rules refuse; the message is safe and meant for the user."""


class CollectionNotFound(CollectionError):
    """No such collection, or a private one of someone else (the same answer, so ids reveal nothing)."""


class CollectionForbidden(CollectionError):
    """Someone else's public collection: readable, not changeable."""


class CollectionConflict(CollectionError):
    """The request is fine but the reader's collections refuse it now (a taken name, a full collection)."""


@dataclass(slots=True)
class Collection:
    id: int
    name: str
    description: str
    public: bool
    owner: str  # display name
    created_at: datetime
    updated_at: datetime
    mine: bool = False
    papers: int | None = None  # count, where listed


@dataclass(slots=True)
class Entry:
    paper: Paper
    note: str | None
    added_at: datetime


def _aware(dt: datetime | None) -> datetime | None:
    return dt.replace(tzinfo=timezone.utc) if dt is not None and dt.tzinfo is None else dt


def _text(value: str | None, limit: int, what: str, *, single_line: bool = False) -> str:
    text = _CONTROL.sub("", (value or "").replace("\r\n", "\n")).strip()
    if single_line:
        text = " ".join(text.split())
    if len(text) > limit:
        raise CollectionError(f"The {what} is too long ({len(text):,} characters); the limit is {limit:,}.")
    return text


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Collections:
    """Users' collections of papers over one Store."""

    def __init__(self, store: Store, clock: Callable[[], datetime] = _utcnow):
        self.store = store
        self.clock = clock

    def _collection(self, row: Any, viewer: Any = None) -> Collection:
        return Collection(
            row.id,
            row.name,
            row.description or "",
            bool(row.public),
            display_name(row.user_id),
            _aware(row.created_at),
            _aware(row.updated_at),
            viewer is not None and viewer.id == row.user_id,
            getattr(row, "papers", None),
        )

    def _row(self, conn, collection_id: int, viewer: Any, *, owner: bool = False) -> Any:
        row = _sql.collection_by_id(conn, collection_id) if 0 < collection_id < 2**31 else None
        is_owner = row is not None and viewer is not None and row.user_id == viewer.id
        if row is None or (not row.public and not is_owner):
            raise CollectionNotFound(f"No collection {collection_id} here.")
        if owner and not is_owner:
            raise CollectionForbidden("Only the owner can change this collection.")
        return row

    def _paper_id(self, key: str) -> str:
        paper = self.store.get(key) if key and len(key) <= 200 else None
        if paper is None:
            raise CollectionNotFound(f"No paper with id {key[:80]!r}.")
        return paper.id

    def create(self, user: Any, name: str | None, description: str | None = "", public: bool = False) -> Collection:
        name = _text(name, MAX_NAME, "name", single_line=True)
        if not name:
            raise CollectionError("Give the collection a name.")
        description = _text(description, MAX_DESCRIPTION, "description")
        now = self.clock()
        try:
            with self.store.writing() as conn:
                if _sql.count_of(conn, user.id) >= MAX_COLLECTIONS:
                    raise CollectionConflict(f"You can keep at most {MAX_COLLECTIONS} collections.")
                cid = _sql.insert_collection(conn, user.id, name, description, bool(public), now)
                row = _sql.collection_by_id(conn, cid)
        except Conflict:
            raise CollectionConflict(f"You already have a collection named {name!r}.") from None
        return self._collection(row, user)

    def update(
        self,
        user: Any,
        collection_id: int,
        *,
        name: str | None = None,
        description: str | None = None,
        public: bool | None = None,
    ) -> Collection:
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = _text(name, MAX_NAME, "name", single_line=True)
            if not values["name"]:
                raise CollectionError("Give the collection a name.")
        if description is not None:
            values["description"] = _text(description, MAX_DESCRIPTION, "description")
        if public is not None:
            values["public"] = bool(public)
        try:
            with self.store.writing() as conn:
                self._row(conn, collection_id, user, owner=True)
                _sql.update_collection(conn, collection_id, self.clock(), **values)
                row = _sql.collection_by_id(conn, collection_id)
        except Conflict:
            raise CollectionConflict(f"You already have a collection named {values.get('name')!r}.") from None
        return self._collection(row, user)

    def delete(self, user: Any, collection_id: int) -> None:
        with self.store.writing() as conn:
            self._row(conn, collection_id, user, owner=True)
            _sql.delete_collection(conn, collection_id)

    def mine(self, user: Any) -> list[Collection]:
        if user is None:
            return []
        with self.store.reading() as conn:
            return [self._collection(r, user) for r in _sql.collections_of(conn, user.id)]

    def get(self, collection_id: int, viewer: Any = None) -> Collection:
        with self.store.reading() as conn:
            return self._collection(self._row(conn, collection_id, viewer), viewer)

    def entries(
        self, collection_id: int, viewer: Any = None, limit: int = 50, offset: int = 0
    ) -> tuple[Collection, list[Entry], int]:
        """The collection, its visible papers (newest added first) with notes, and how many there are."""
        with self.store.reading() as conn:
            row = self._row(conn, collection_id, viewer)
            items, total = _sql.items(conn, collection_id, limit, offset)
        found = self.store.get_many([i.paper_id for i in items])
        entries = [Entry(found[i.paper_id], i.note, _aware(i.added_at)) for i in items if i.paper_id in found]
        return self._collection(row, viewer), entries, total

    def add(self, user: Any, collection_id: int, paper_key: str, note: str | None = None) -> bool:
        """Put a paper into one of the user's collections (True if new; otherwise its note is updated)."""
        paper_id = self._paper_id(paper_key)
        note = _text(note, MAX_NOTE, "note") if note is not None else None
        now = self.clock()
        with self.store.writing() as conn:
            self._row(conn, collection_id, user, owner=True)
            _, total = _sql.items(conn, collection_id, 1)
            if total >= MAX_PAPERS:
                raise CollectionConflict(f"A collection holds at most {MAX_PAPERS} papers.")
            added = _sql.upsert_item(conn, collection_id, paper_id, note, now)
            _sql.touch(conn, collection_id, now)
        return added

    def remove(self, user: Any, collection_id: int, paper_key: str) -> bool:
        paper_id = self._paper_id(paper_key)
        with self.store.writing() as conn:
            self._row(conn, collection_id, user, owner=True)
            removed = _sql.delete_item(conn, collection_id, paper_id)
            _sql.touch(conn, collection_id, self.clock())
        return removed

    def containing(self, user: Any, paper_ids: list[str]) -> dict[str, set[int]]:
        if user is None or not paper_ids:
            return {}
        with self.store.reading() as conn:
            return _sql.containing(conn, user.id, paper_ids)
