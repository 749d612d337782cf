"""SQL for accounts, sessions, votes, libraries, saved searches, submissions and login throttling.

Every function takes a Connection and runs inside the caller's transaction; SQLAlchemy Core only,
so the same code serves SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from paperboy.store.comments import orphan_comments_of
from paperboy.store.papers import VISIBLE
from paperboy.store.rows import insert_row
from paperboy.store.schema import (
    client_events,
    login_failures,
    not_interested,
    papers,
    saved_papers,
    saved_searches,
    sessions,
    submissions,
    subscriptions,
    users,
    votes,
)

_CHUNK = 500  # ids per IN (...) list; keeps statements under SQLite's variable limit


def _chunks(ids: Sequence[str]):
    ids = list(dict.fromkeys(ids))
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]


# -- users and sessions ---------------------------------------------------------------------------


def insert_user(conn: sa.Connection, email: str, password_hash: str, now: datetime) -> int:
    """New user id; raises IntegrityError when the email is taken."""
    return insert_row(conn, users, email=email, password_hash=password_hash, created_at=now)


def user_by_email(conn: sa.Connection, email: str) -> Any:
    return conn.execute(sa.select(users).where(users.c.email == email)).first()


def user_by_id(conn: sa.Connection, user_id: int) -> Any:
    return conn.execute(sa.select(users).where(users.c.id == user_id)).first()


def set_password_hash(conn: sa.Connection, user_id: int, password_hash: str) -> None:
    conn.execute(users.update().where(users.c.id == user_id).values(password_hash=password_hash))


def set_verified(conn: sa.Connection, user_id: int, when: datetime | None, email: str | None = None) -> bool:
    """Mark the account verified at `when` (None: unverified); with `email`, only while it still has that email."""
    q = users.update().where(users.c.id == user_id)
    if email is not None:
        q = q.where(users.c.email == email)
    return conn.execute(q.values(verified_at=when)).rowcount > 0


def set_email(conn: sa.Connection, user_id: int, email: str) -> None:
    """New email, unverified until its owner follows a link; raises IntegrityError when taken."""
    conn.execute(users.update().where(users.c.id == user_id).values(email=email, verified_at=None))


def delete_user(conn: sa.Connection, user_id: int, email: str) -> dict[str, int]:
    """Delete the account and everything that is its owner's (sessions, votes, library, searches, marks,
    digest subscription); submissions stay as anonymous records of which papers were asked for."""
    counts = {}
    for name, table in (
        ("votes", votes),
        ("saved papers", saved_papers),
        ("saved searches", saved_searches),
        ("not interested", not_interested),
        ("sessions", sessions),
    ):
        counts[name] = conn.execute(table.delete().where(table.c.user_id == user_id)).rowcount
    # digest_outbox rows go with their subscription (ON DELETE CASCADE)
    counts["subscriptions"] = conn.execute(
        subscriptions.delete().where(sa.or_(subscriptions.c.user_id == user_id, subscriptions.c.email == email))
    ).rowcount
    conn.execute(submissions.update().where(submissions.c.user_id == user_id).values(user_id=None))
    counts["comments"] = orphan_comments_of(conn, user_id, datetime.now(timezone.utc))
    conn.execute(users.delete().where(users.c.id == user_id))
    return counts


def delete_sessions_of(conn: sa.Connection, user_id: int, keep: str | None = None) -> int:
    """End every session of the user (but `keep`, a token hash), e.g. after a password change."""
    q = sessions.delete().where(sessions.c.user_id == user_id)
    if keep is not None:
        q = q.where(sessions.c.token_hash != keep)
    return conn.execute(q).rowcount


def insert_session(conn: sa.Connection, token_hash: str, user_id: int, now: datetime, expires: datetime) -> None:
    conn.execute(sessions.insert().values(token_hash=token_hash, user_id=user_id, created_at=now, expires_at=expires))


def session_user(conn: sa.Connection, token_hash: str, now: datetime) -> Any:
    """The user row of a live session, None if unknown, expired or the account is banned."""
    q = (
        sa.select(users)
        .join(sessions, sessions.c.user_id == users.c.id)
        .where(sessions.c.token_hash == token_hash, sessions.c.expires_at > now, users.c.banned_at.is_(None))
    )  # a ban ends sessions at once, even ones it missed
    return conn.execute(q).first()


def delete_session(conn: sa.Connection, token_hash: str) -> None:
    conn.execute(sessions.delete().where(sessions.c.token_hash == token_hash))


def delete_expired_sessions(conn: sa.Connection, now: datetime) -> int:
    return conn.execute(sessions.delete().where(sessions.c.expires_at <= now)).rowcount


# -- login throttling -----------------------------------------------------------------------------


def insert_login_failure(conn: sa.Connection, email: str, client: str, now: datetime) -> None:
    conn.execute(login_failures.insert().values(email=email, client=client, at=now))


def _client_rows_since(
    conn: sa.Connection, key: sa.Column, value: str, client: str, since: datetime
) -> tuple[int, datetime | None]:
    """(rows of key's table (login failures, client events) with `key` == value from this client after
    `since`, the oldest of their times)."""
    table = key.table
    q = sa.select(sa.func.count(), sa.func.min(table.c.at)).where(
        key == value, table.c.client == client, table.c.at > since
    )
    n, oldest = conn.execute(q).one()
    return int(n), oldest


def login_failures_since(conn: sa.Connection, email: str, client: str, since: datetime) -> tuple[int, datetime | None]:
    """(failures for this email from this client after `since`, the oldest of them)."""
    return _client_rows_since(conn, login_failures.c.email, email, client, since)


def clear_login_failures(conn: sa.Connection, email: str, client: str, before: datetime | None = None) -> None:
    cond = sa.and_(login_failures.c.email == email, login_failures.c.client == client)
    conn.execute(login_failures.delete().where(cond))
    if before is not None:  # opportunistic clean-up of everybody's stale rows
        conn.execute(login_failures.delete().where(login_failures.c.at <= before))


# -- per-client-address rate limits (sign-ups, votes) --------------------------------------------


def insert_client_event(conn: sa.Connection, action: str, client: str, now: datetime) -> None:
    conn.execute(client_events.insert().values(action=action, client=client, at=now))


def client_events_since(conn: sa.Connection, action: str, client: str, since: datetime) -> tuple[int, datetime | None]:
    """(events of this kind from this client after `since`, the oldest of them)."""
    return _client_rows_since(conn, client_events.c.action, action, client, since)


def delete_client_events_before(conn: sa.Connection, before: datetime) -> int:
    return conn.execute(client_events.delete().where(client_events.c.at <= before)).rowcount


# -- votes and saved papers -----------------------------------------------------------------------


def insert_vote(conn: sa.Connection, user_id: int, paper_id: str, now: datetime) -> None:
    """Raises IntegrityError when the user already voted for the paper (the primary key forbids two)."""
    conn.execute(votes.insert().values(user_id=user_id, paper_id=paper_id, created_at=now))


def delete_vote(conn: sa.Connection, user_id: int, paper_id: str) -> bool:
    return conn.execute(votes.delete().where(votes.c.user_id == user_id, votes.c.paper_id == paper_id)).rowcount > 0


# Only votes of accounts with a verified email count (shown, ranked, exported): an account costs
# an inbox, so stuffing votes with scripted sign-ups gains nothing. The votes themselves are kept,
# and count from the moment their owner verifies.
_COUNTED = (
    sa.select(votes.c.paper_id, sa.func.count())
    .select_from(votes.join(users, users.c.id == votes.c.user_id))
    .where(users.c.verified_at.is_not(None))
)


def local_vote_counts(conn: sa.Connection, paper_ids: Sequence[str]) -> dict[str, int]:
    """Counted votes cast on this instance (verified accounts only), per paper id (papers without any are absent)."""
    out: dict[str, int] = {}
    for chunk in _chunks(paper_ids):
        q = _COUNTED.where(votes.c.paper_id.in_(chunk)).group_by(votes.c.paper_id)
        out.update({pid: int(n) for pid, n in conn.execute(q)})
    return out


def all_local_vote_counts(conn: sa.Connection) -> dict[str, int]:
    q = _COUNTED.group_by(votes.c.paper_id)
    return {pid: int(n) for pid, n in conn.execute(q)}


def _marked_among(conn: sa.Connection, marks: sa.Table, user_id: int, paper_ids: Sequence[str]) -> set[str]:
    """Which of `paper_ids` the user marked in `marks` (votes, saved papers, "not interested")."""
    out: set[str] = set()
    for chunk in _chunks(paper_ids):
        q = sa.select(marks.c.paper_id).where(marks.c.user_id == user_id, marks.c.paper_id.in_(chunk))
        out.update(conn.execute(q).scalars())
    return out


def voted_among(conn: sa.Connection, user_id: int, paper_ids: Sequence[str]) -> set[str]:
    return _marked_among(conn, votes, user_id, paper_ids)


def saved_among(conn: sa.Connection, user_id: int, paper_ids: Sequence[str]) -> set[str]:
    return _marked_among(conn, saved_papers, user_id, paper_ids)


def not_interested_among(conn: sa.Connection, user_id: int, paper_ids: Sequence[str]) -> set[str]:
    return _marked_among(conn, not_interested, user_id, paper_ids)


def not_interested_paper_ids(conn: sa.Connection, user_id: int, limit: int) -> list[str]:
    """Visible papers the user marked "Not interested", newest mark first."""
    q = (
        sa.select(not_interested.c.paper_id)
        .select_from(not_interested.join(papers, papers.c.id == not_interested.c.paper_id))
        .where(not_interested.c.user_id == user_id, VISIBLE)
        .order_by(not_interested.c.created_at.desc(), not_interested.c.paper_id)
        .limit(limit)
    )
    return list(conn.execute(q).scalars())


def insert_saved_paper(conn: sa.Connection, user_id: int, paper_id: str, now: datetime) -> None:
    """Raises IntegrityError when already saved."""
    conn.execute(saved_papers.insert().values(user_id=user_id, paper_id=paper_id, created_at=now))


def delete_saved_paper(conn: sa.Connection, user_id: int, paper_id: str) -> bool:
    q = saved_papers.delete().where(saved_papers.c.user_id == user_id, saved_papers.c.paper_id == paper_id)
    return conn.execute(q).rowcount > 0


def _user_papers(conn: sa.Connection, table: sa.Table, user_id: int, limit: int, offset: int) -> tuple[list[str], int]:
    # Papers a moderator hid leave the count and the pages alike, as on every public surface (the
    # rows stay: unhiding brings them back); counting them made pages short and totals too high.
    mine = (
        sa.select(table.c.paper_id)
        .select_from(table.join(papers, papers.c.id == table.c.paper_id))
        .where(table.c.user_id == user_id, VISIBLE)
    )
    total = conn.execute(sa.select(sa.func.count()).select_from(mine.subquery())).scalar_one()
    q = mine.order_by(table.c.created_at.desc(), table.c.paper_id).limit(limit).offset(offset)
    return list(conn.execute(q).scalars()), int(total)


def voted_paper_ids(conn: sa.Connection, user_id: int, limit: int, offset: int = 0) -> tuple[list[str], int]:
    """Ids the user upvoted, newest vote first, and how many there are."""
    return _user_papers(conn, votes, user_id, limit, offset)


def saved_paper_ids(conn: sa.Connection, user_id: int, limit: int, offset: int = 0) -> tuple[list[str], int]:
    """Ids the user saved, newest first, and how many there are."""
    return _user_papers(conn, saved_papers, user_id, limit, offset)


# -- saved searches -------------------------------------------------------------------------------


def insert_saved_search(
    conn: sa.Connection, user_id: int, query: str, filters: dict, now: datetime, profile_id: int | None = None
) -> int:
    return insert_row(
        conn, saved_searches, user_id=user_id, query=query, filters=filters, created_at=now, profile_id=profile_id
    )


def saved_searches_of(conn: sa.Connection, user_id: int) -> list[Any]:
    q = (
        sa.select(saved_searches)
        .where(saved_searches.c.user_id == user_id)
        .order_by(saved_searches.c.created_at.desc(), saved_searches.c.id.desc())
    )
    return list(conn.execute(q))


def delete_saved_search(conn: sa.Connection, user_id: int, search_id: int) -> bool:
    q = saved_searches.delete().where(saved_searches.c.user_id == user_id, saved_searches.c.id == search_id)
    return conn.execute(q).rowcount > 0


# -- submissions ----------------------------------------------------------------------------------


def insert_submission(
    conn: sa.Connection,
    arxiv_id: str,
    user_id: int | None,
    state: str,
    now: datetime,
    message: str | None = None,
    paper_id: str | None = None,
) -> int:
    what = {"arxiv_id": arxiv_id, "user_id": user_id, "state": state, "message": message, "paper_id": paper_id}
    return insert_row(conn, submissions, **what, created_at=now, updated_at=now)


def update_submission(
    conn: sa.Connection, sub_id: int, state: str, message: str | None, paper_id: str | None, now: datetime
) -> None:
    conn.execute(
        submissions.update()
        .where(submissions.c.id == sub_id)
        .values(state=state, message=message, paper_id=paper_id, updated_at=now)
    )


def submission_by_id(conn: sa.Connection, sub_id: int) -> Any:
    return conn.execute(sa.select(submissions).where(submissions.c.id == sub_id)).first()


def queued_submissions(conn: sa.Connection, limit: int) -> list[Any]:
    q = sa.select(submissions).where(submissions.c.state == "queued").order_by(submissions.c.id).limit(limit)
    return list(conn.execute(q))


def queued_submission_for(conn: sa.Connection, arxiv_id: str) -> Any:
    q = sa.select(submissions).where(submissions.c.state == "queued", submissions.c.arxiv_id == arxiv_id).limit(1)
    return conn.execute(q).first()


def submissions_of(conn: sa.Connection, user_id: int, limit: int = 50) -> list[Any]:
    q = sa.select(submissions).where(submissions.c.user_id == user_id).order_by(submissions.c.id.desc()).limit(limit)
    return list(conn.execute(q))


def submissions_since(conn: sa.Connection, user_id: int, since: datetime) -> int:
    q = (
        sa.select(sa.func.count())
        .select_from(submissions)
        .where(submissions.c.user_id == user_id, submissions.c.created_at > since)
    )
    return int(conn.execute(q).scalar_one())
