"""SQL for discussions: threaded comments under papers, their counts, recent ones, edits, deletions, hiding.

Every function takes a Connection and runs inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from paperboy.store.papers import VISIBLE
from paperboy.store.rows import insert_row
from paperboy.store.schema import comments, papers, subscriptions, users

_CHUNK = 500

# A comment others can read: not deleted by its author, not hidden by a moderator, on a visible paper.
LIVE = sa.and_(comments.c.deleted_at.is_(None), comments.c.hidden_at.is_(None))
_COLUMNS = (comments, users.c.email.label("author_email"), users.c.verified_at.label("author_verified_at"))
# Comments of accounts with a confirmed email, as for votes: others see (and count) only these.
BY_VERIFIED = comments.c.user_id.in_(sa.select(users.c.id).where(users.c.verified_at.is_not(None)))


def insert_comment(
    conn: sa.Connection, *, paper_id: str, user_id: int, parent_id: int | None, depth: int, body: str, now: datetime
) -> int:
    what = {"paper_id": paper_id, "user_id": user_id, "parent_id": parent_id, "depth": depth, "body": body}
    return insert_row(conn, comments, **what, created_at=now)


def comment_by_id(conn: sa.Connection, comment_id: int) -> Any:
    """One comment with its author's email, whatever its state, or None."""
    q = sa.select(*_COLUMNS).outerjoin(users, users.c.id == comments.c.user_id).where(comments.c.id == comment_id)
    return conn.execute(q).first()


def thread(conn: sa.Connection, paper_id: str, limit: int = 2000) -> list[Any]:
    """Every comment of a paper (deleted and hidden ones too: they hold their replies' places), oldest first."""
    q = (
        sa.select(*_COLUMNS)
        .outerjoin(users, users.c.id == comments.c.user_id)  # a deleted account's comments have no user
        .where(comments.c.paper_id == paper_id)
        .order_by(comments.c.id)
        .limit(limit)
    )
    return list(conn.execute(q))


def update_body(conn: sa.Connection, comment_id: int, body: str, now: datetime) -> bool:
    q = comments.update().where(comments.c.id == comment_id, comments.c.deleted_at.is_(None))
    return conn.execute(q.values(body=body, edited_at=now)).rowcount > 0


def orphan_comments_of(conn: sa.Connection, user_id: int, now: datetime) -> int:
    """Before an account goes: its comments become "[deleted]" (body cleared, no author), as when an author
    deletes one, so replies by others keep their thread; the thread view drops those without replies."""
    q = comments.update().where(comments.c.user_id == user_id)
    return conn.execute(
        q.values(user_id=None, body="", deleted_at=sa.func.coalesce(comments.c.deleted_at, now))
    ).rowcount


def mark_deleted(conn: sa.Connection, comment_id: int, now: datetime) -> bool:
    """Clear the body and mark it deleted; the row stays so replies keep their place."""
    q = comments.update().where(comments.c.id == comment_id, comments.c.deleted_at.is_(None))
    return conn.execute(q.values(body="", deleted_at=now)).rowcount > 0


def set_hidden(conn: sa.Connection, comment_id: int, hidden_at: datetime | None, reason: str | None) -> bool:
    """Hide (hidden_at set) or unhide (None); False when it was already in that state or does not exist."""
    was = comments.c.hidden_at.is_(None) if hidden_at is not None else comments.c.hidden_at.is_not(None)
    q = comments.update().where(comments.c.id == comment_id, was)
    return conn.execute(q.values(hidden_at=hidden_at, hidden_reason=reason)).rowcount > 0


def counts(conn: sa.Connection, paper_ids: Sequence[str]) -> dict[str, int]:
    """Readable comments per paper id (papers without any are absent)."""
    out: dict[str, int] = {}
    ids = list(dict.fromkeys(paper_ids))
    for i in range(0, len(ids), _CHUNK):
        q = (
            sa.select(comments.c.paper_id, sa.func.count())
            .where(comments.c.paper_id.in_(ids[i : i + _CHUNK]), LIVE, BY_VERIFIED)
            .group_by(comments.c.paper_id)
        )
        out.update({pid: int(n) for pid, n in conn.execute(q)})
    return out


def recent(conn: sa.Connection, limit: int, offset: int = 0) -> tuple[list[Any], int]:
    """The newest readable comments on visible papers, with the paper's title, and how many there are."""
    base = (
        sa.select(*_COLUMNS, papers.c.title.label("paper_title"))
        .join(users, users.c.id == comments.c.user_id)
        .join(papers, papers.c.id == comments.c.paper_id)
        .where(LIVE, VISIBLE, users.c.verified_at.is_not(None))
    )
    total = conn.execute(sa.select(sa.func.count()).select_from(base.subquery())).scalar_one()
    rows = conn.execute(base.order_by(comments.c.created_at.desc(), comments.c.id.desc()).limit(limit).offset(offset))
    return list(rows), int(total)


def user_comments_since(conn: sa.Connection, user_id: int, since: datetime) -> list[Any]:
    """(id, body, created_at) of the user's comments after `since`, for rate limits and repeat checks."""
    q = (
        sa.select(comments.c.id, comments.c.body, comments.c.created_at)
        .where(comments.c.user_id == user_id, comments.c.created_at > since)
        .order_by(comments.c.id.desc())
    )
    return list(conn.execute(q))


def hidden_comments(conn: sa.Connection, limit: int = 100) -> list[Any]:
    q = (
        sa.select(*_COLUMNS)
        .join(users, users.c.id == comments.c.user_id)
        .where(comments.c.hidden_at.is_not(None))
        .order_by(comments.c.hidden_at.desc())
        .limit(limit)
    )
    return list(conn.execute(q))


# -- comment emails (opt-in per confirmed digest subscription) ---------------------------------------


def notify_targets(conn: sa.Connection, paper_id: str, exclude_user: int) -> list[Any]:
    """(id, email) of active, opted-in subscriptions of the paper's earlier commenters, the new author left out."""
    talkers = (
        sa.select(comments.c.user_id)
        .where(comments.c.paper_id == paper_id, LIVE, comments.c.user_id != exclude_user)
        .distinct()
    )
    q = (
        sa.select(subscriptions.c.id, subscriptions.c.email)
        .where(
            subscriptions.c.user_id.in_(talkers),
            subscriptions.c.state == "active",
            subscriptions.c.comment_emails.is_(True),
        )
        .order_by(subscriptions.c.id)
    )
    return list(conn.execute(q))


def comment_emails_of(conn: sa.Connection, user_id: int) -> bool | None:
    """Whether the user's active subscription wants comment emails; None without an active subscription."""
    q = sa.select(subscriptions.c.comment_emails).where(
        subscriptions.c.user_id == user_id, subscriptions.c.state == "active"
    )
    row = conn.execute(q).first()
    return None if row is None else bool(row[0])


def set_comment_emails(conn: sa.Connection, *, on: bool, user_id: int | None = None, sub_id: int | None = None) -> bool:
    """Switch comment emails for a user's active subscription (or one subscription by id); False if none."""
    cond = (
        subscriptions.c.id == sub_id
        if sub_id is not None
        else sa.and_(subscriptions.c.user_id == user_id, subscriptions.c.state == "active")
    )
    return conn.execute(subscriptions.update().where(cond).values(comment_emails=on)).rowcount > 0


def wants_comment_emails(conn: sa.Connection, sub_id: int) -> bool:
    q = sa.select(subscriptions.c.comment_emails).where(subscriptions.c.id == sub_id)
    return bool(conn.execute(q).scalar())
