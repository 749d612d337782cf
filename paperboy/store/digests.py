"""SQL for digest subscriptions, the digest outbox and "not interested" marks.

Every function takes a Connection and runs inside the caller's transaction (SQLAlchemy Core, so
the same code serves SQLite and PostgreSQL). The outbox's state changes are conditional UPDATEs:
a row moves only from the state the caller saw, so two senders can never both own one email.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from paperboy.store.rows import insert_row
from paperboy.store.schema import digest_outbox, not_interested, papers, saved_papers, subscriptions, users, votes

_CHUNK = 500  # values per IN (...) list; keeps statements under SQLite's variable limit


def _chunks(values: Iterable) -> Iterable[list]:
    values = list(dict.fromkeys(values))
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


# -- subscriptions --------------------------------------------------------------------------------


def insert_subscription(conn: sa.Connection, values: dict[str, Any]) -> int:
    """New subscription id; IntegrityError when the address already has one."""
    return insert_row(conn, subscriptions, **values)


def update_subscription(conn: sa.Connection, sub_id: int, values: dict[str, Any]) -> None:
    conn.execute(subscriptions.update().where(subscriptions.c.id == sub_id).values(**values))


def subscription_by_email(conn: sa.Connection, email: str) -> Any:
    return conn.execute(sa.select(subscriptions).where(subscriptions.c.email == email)).first()


def subscription_by_id(conn: sa.Connection, sub_id: int) -> Any:
    return conn.execute(sa.select(subscriptions).where(subscriptions.c.id == sub_id)).first()


def subscription_of_user(conn: sa.Connection, user_id: int) -> Any:
    q = sa.select(subscriptions).where(subscriptions.c.user_id == user_id).order_by(subscriptions.c.id.desc())
    return conn.execute(q.limit(1)).first()


def active_subscriptions(conn: sa.Connection) -> list[Any]:
    q = sa.select(subscriptions).where(subscriptions.c.state == "active").order_by(subscriptions.c.id)
    return list(conn.execute(q))


def user_id_by_email(conn: sa.Connection, email: str) -> int | None:
    return conn.execute(sa.select(users.c.id).where(users.c.email == email)).scalar()


def subscription_counts(conn: sa.Connection) -> dict[str, int]:
    q = sa.select(subscriptions.c.state, sa.func.count()).group_by(subscriptions.c.state)
    return {state: int(n) for state, n in conn.execute(q)}


# -- outbox ---------------------------------------------------------------------------------------


def insert_outbox(conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert rows, silently skipping any whose (subscription, period) exists; returns how many were new."""
    if not rows:
        return 0
    if conn.dialect.name in ("sqlite", "postgresql"):
        insert = sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert
        stmt = insert(digest_outbox).on_conflict_do_nothing(
            index_elements=[digest_outbox.c.subscription_id, digest_outbox.c.period]
        )
        return sum(max(conn.execute(stmt, list(rows[i : i + _CHUNK])).rowcount, 0) for i in range(0, len(rows), _CHUNK))
    n = 0
    for row in rows:  # other databases: one savepoint per row
        try:
            with conn.begin_nested():
                conn.execute(digest_outbox.insert().values(**row))
                n += 1
        except sa.exc.IntegrityError:
            pass
    return n


def periods_present(conn: sa.Connection, periods: Iterable[str]) -> set[tuple[int, str]]:
    """(subscription_id, period) pairs already in the outbox for these periods."""
    out: set[tuple[int, str]] = set()
    for chunk in _chunks(periods):
        q = sa.select(digest_outbox.c.subscription_id, digest_outbox.c.period).where(digest_outbox.c.period.in_(chunk))
        out.update((int(s), p) for s, p in conn.execute(q))
    return out


def subscriptions_with_digests(conn: sa.Connection) -> set[int]:
    q = sa.select(digest_outbox.c.subscription_id).where(digest_outbox.c.kind == "digest").distinct()
    return {int(s) for s in conn.execute(q).scalars()}


def due_outbox_ids(
    conn: sa.Connection,
    now: datetime,
    limit: int,
    *,
    kind: str | None = None,
    only_id: int | None = None,
    after_id: int = 0,
) -> list[int]:
    """Pending rows whose time has come, oldest first, with ids above `after_id`."""
    q = sa.select(digest_outbox.c.id).where(
        digest_outbox.c.state == "pending", digest_outbox.c.next_attempt_at <= now, digest_outbox.c.id > after_id
    )
    if kind is not None:
        q = q.where(digest_outbox.c.kind == kind)
    if only_id is not None:
        q = q.where(digest_outbox.c.id == only_id)
    return list(conn.execute(q.order_by(digest_outbox.c.id).limit(limit)).scalars())


def claim(conn: sa.Connection, row_id: int, owner: str, now: datetime) -> bool:
    """pending -> sending for `owner`; False when another sender got there first."""
    q = (
        digest_outbox.update()
        .where(digest_outbox.c.id == row_id, digest_outbox.c.state == "pending", digest_outbox.c.next_attempt_at <= now)
        .values(
            state="sending", attempts=digest_outbox.c.attempts + 1, claimed_by=owner, claimed_at=now, updated_at=now
        )
    )
    return conn.execute(q).rowcount == 1


def outbox_row(conn: sa.Connection, row_id: int) -> Any:
    return conn.execute(sa.select(digest_outbox).where(digest_outbox.c.id == row_id)).first()


def finish(conn: sa.Connection, row_id: int, owner: str | None, values: dict[str, Any]) -> bool:
    """Move a row this owner holds in 'sending' to its next state; False if it is no longer ours."""
    q = digest_outbox.update().where(digest_outbox.c.id == row_id, digest_outbox.c.state == "sending")
    if owner is not None:
        q = q.where(digest_outbox.c.claimed_by == owner)
    return conn.execute(q.values(**values)).rowcount == 1


def sending_rows(conn: sa.Connection) -> list[Any]:
    q = sa.select(digest_outbox.c.id, digest_outbox.c.claimed_by, digest_outbox.c.claimed_at).where(
        digest_outbox.c.state == "sending"
    )
    return list(conn.execute(q))


def expire_pending(conn: sa.Connection, created_before: datetime, now: datetime) -> int:
    q = (
        digest_outbox.update()
        .where(
            digest_outbox.c.state == "pending",
            digest_outbox.c.kind == "digest",
            digest_outbox.c.created_at < created_before,
        )
        .values(state="expired", error="not delivered in time; dropped as stale", updated_at=now)
    )
    return conn.execute(q).rowcount


def sent_payloads(conn: sa.Connection, sub_id: int, since: datetime) -> list[Any]:
    """Payloads of the digests sent (or being sent) to a subscription since a time."""
    q = sa.select(digest_outbox.c.payload).where(
        digest_outbox.c.subscription_id == sub_id,
        digest_outbox.c.kind == "digest",
        digest_outbox.c.state.in_(("sent", "sending")),
        digest_outbox.c.created_at >= since,
    )
    return [p for p in conn.execute(q).scalars() if p]


def confirmations_since(conn: sa.Connection, sub_id: int, since: datetime) -> int:
    q = (
        sa.select(sa.func.count())
        .select_from(digest_outbox)
        .where(
            digest_outbox.c.subscription_id == sub_id,
            digest_outbox.c.kind == "confirm",
            digest_outbox.c.created_at >= since,
        )
    )
    return int(conn.execute(q).scalar_one())


def drop_pending_confirmations(conn: sa.Connection, sub_id: int, now: datetime) -> None:
    """Older unsent confirmation emails carry links the new nonce invalidated: do not send them."""
    conn.execute(
        digest_outbox.update()
        .where(
            digest_outbox.c.subscription_id == sub_id,
            digest_outbox.c.kind == "confirm",
            digest_outbox.c.state == "pending",
        )
        .values(state="skipped", error="superseded", updated_at=now)
    )


def outbox_counts(conn: sa.Connection) -> dict[str, int]:
    q = sa.select(digest_outbox.c.state, sa.func.count()).group_by(digest_outbox.c.state)
    return {state: int(n) for state, n in conn.execute(q)}


def outbox_rows_of(conn: sa.Connection, sub_id: int) -> list[Any]:
    q = sa.select(digest_outbox).where(digest_outbox.c.subscription_id == sub_id).order_by(digest_outbox.c.id)
    return list(conn.execute(q))


# -- what a reader has: library and "not interested" marks ----------------------------------------


def library(conn: sa.Connection, user_id: int, limit: int) -> list[tuple[str, str]]:
    """(paper_id, 'upvoted' | 'saved') of a user's papers, newest first; saved wins when both."""
    out: dict[str, tuple[Any, str]] = {}
    for table, how in ((votes, "upvoted"), (saved_papers, "saved")):
        q = (
            sa.select(table.c.paper_id, table.c.created_at)
            .where(table.c.user_id == user_id)
            .order_by(table.c.created_at.desc())
            .limit(limit)
        )
        for pid, at in conn.execute(q):
            out[pid] = (at, how)
    ranked = sorted(out.items(), key=lambda kv: (kv[1][0] is not None, kv[1][0]), reverse=True)
    return [(pid, how) for pid, (_at, how) in ranked[:limit]]


def insert_not_interested(conn: sa.Connection, user_id: int, paper_id: str, now: datetime) -> None:
    """Mark a paper "not interested" for a user; marking it twice changes nothing."""
    try:
        with conn.begin_nested():  # a savepoint: the duplicate leaves the surrounding transaction usable
            conn.execute(not_interested.insert().values(user_id=user_id, paper_id=paper_id, created_at=now))
    except sa.exc.IntegrityError:
        pass  # already marked


def outbox_id(conn: sa.Connection, subscription_id: int, period: str) -> int | None:
    """The outbox row of one subscription and period, if any."""
    return conn.execute(
        sa.select(digest_outbox.c.id).where(
            digest_outbox.c.subscription_id == subscription_id, digest_outbox.c.period == period
        )
    ).scalar()


def delete_not_interested(conn: sa.Connection, user_id: int, paper_id: str) -> bool:
    q = not_interested.delete().where(not_interested.c.user_id == user_id, not_interested.c.paper_id == paper_id)
    return conn.execute(q).rowcount > 0


def not_interested_ids(conn: sa.Connection, user_id: int, limit: int = 1000) -> list[str]:
    q = (
        sa.select(not_interested.c.paper_id)
        .where(not_interested.c.user_id == user_id)
        .order_by(not_interested.c.created_at.desc())
        .limit(limit)
    )
    return list(conn.execute(q).scalars())


def random_paper_ids(conn: sa.Connection, n: int) -> list[str]:
    """Up to n paper ids drawn at random (background examples for the recommender)."""
    return list(conn.execute(sa.select(papers.c.id).order_by(sa.func.random()).limit(n)).scalars())


def titles(conn: sa.Connection, ids: Sequence[str]) -> dict[str, str]:
    """Paper titles by id (naming a reader's papers in reasons, without loading whole papers)."""
    out: dict[str, str] = {}
    for chunk in _chunks(ids):
        out.update(conn.execute(sa.select(papers.c.id, papers.c.title).where(papers.c.id.in_(chunk))).all())
    return out
