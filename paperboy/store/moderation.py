"""SQL for moderation: hiding papers, banning accounts (and removing their votes), the moderation log.

Every function takes a Connection and runs inside the caller's transaction, so an action and its
log entry commit together or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from paperboy.store.rows import insert_row, most_recently_set
from paperboy.store.schema import moderation_log, papers, sessions, users, votes


def set_hidden(conn: sa.Connection, paper_id: str, hidden_at: datetime | None, reason: str | None) -> bool:
    """Hide (hidden_at set) or unhide (None) one paper; False when it was already in that state."""
    was = papers.c.hidden_at.is_(None) if hidden_at is not None else papers.c.hidden_at.is_not(None)
    res = conn.execute(
        papers.update().where(papers.c.id == paper_id, was).values(hidden_at=hidden_at, hidden_reason=reason)
    )
    return res.rowcount > 0


def hidden_state(conn: sa.Connection, paper_id: str) -> Any:
    """(hidden_at, hidden_reason) of a paper, or None when there is no such paper."""
    return conn.execute(sa.select(papers.c.hidden_at, papers.c.hidden_reason).where(papers.c.id == paper_id)).first()


def hidden_papers(conn: sa.Connection, limit: int = 100) -> list[Any]:
    columns = (papers.c.id, papers.c.title, papers.c.hidden_at, papers.c.hidden_reason)
    return most_recently_set(conn, papers.c.hidden_at, columns, limit)


def top_voters_since(conn: sa.Connection, since: datetime, limit: int = 20) -> list[Any]:
    """Accounts with the most votes cast after `since`: (id, email, created_at, banned_at, votes), most first."""
    n = sa.func.count().label("votes")
    q = (
        sa.select(users.c.id, users.c.email, users.c.created_at, users.c.banned_at, n)
        .join(votes, votes.c.user_id == users.c.id)
        .where(votes.c.created_at > since)
        .group_by(users.c.id, users.c.email, users.c.created_at, users.c.banned_at)
        .order_by(n.desc(), users.c.id)
        .limit(limit)
    )
    return list(conn.execute(q))


def ban(conn: sa.Connection, user_id: int, now: datetime) -> tuple[bool, int]:
    """Ban an account: delete all its votes and sessions and mark it; (newly banned, votes removed)."""
    removed = conn.execute(votes.delete().where(votes.c.user_id == user_id)).rowcount
    conn.execute(sessions.delete().where(sessions.c.user_id == user_id))
    res = conn.execute(users.update().where(users.c.id == user_id, users.c.banned_at.is_(None)).values(banned_at=now))
    return res.rowcount > 0, int(removed or 0)


def unban(conn: sa.Connection, user_id: int) -> bool:
    res = conn.execute(
        users.update().where(users.c.id == user_id, users.c.banned_at.is_not(None)).values(banned_at=None)
    )
    return res.rowcount > 0


def banned_users(conn: sa.Connection, limit: int = 100) -> list[Any]:
    columns = (users.c.id, users.c.email, users.c.created_at, users.c.banned_at)
    return most_recently_set(conn, users.c.banned_at, columns, limit)


def add_log(conn: sa.Connection, *, at: datetime, actor_id: int | None, actor_email: str, action: str, **what) -> int:
    """One moderation-log entry. `what`: the paper and/or account acted on (paper_id, user_id,
    user_email), the reason (default "") and a detail, as the moderation_log columns name them."""
    return insert_row(conn, moderation_log, at=at, actor_id=actor_id, actor_email=actor_email, action=action, **what)


def recent_log(conn: sa.Connection, limit: int = 100) -> list[Any]:
    q = sa.select(moderation_log).order_by(moderation_log.c.at.desc(), moderation_log.c.id.desc()).limit(limit)
    return list(conn.execute(q))
