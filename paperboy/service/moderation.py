"""Moderation for administrators (settings.admin_emails): hide papers, ban spam accounts, keep a log.

A hidden paper is left out of every public surface by the store itself (`Store.get`/`get_many`
and the listing queries skip it), so no surface needs a check of its own. Banning an account
removes all its votes (trending and counts drop at once in this process, within
TRENDING_CACHE_SECONDS in others), ends its sessions and refuses its logins.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from paperboy.service.community import Community, CommunityError, NotFound, User, _aware
from paperboy.store import community as _accounts
from paperboy.store import moderation as _sql

MAX_REASON = 500
MAX_ACCOUNT_ID = 2**31 - 1  # users.id is a 32-bit INTEGER; PostgreSQL errors on a larger value
ACTIONS = ("hide_paper", "unhide_paper", "ban_user", "unban_user")


class NotAdmin(CommunityError):
    """The user is not an administrator."""


class AdminConflict(CommunityError):
    """Refused because of who the account is, not because of the request (an administrator cannot be banned)."""


@dataclass(slots=True, frozen=True)
class HiddenPaper:
    id: str
    title: str
    hidden_at: datetime
    reason: str


@dataclass(slots=True, frozen=True)
class Voter:
    """An account in the spam view: votes cast within the window."""

    id: int
    email: str
    created_at: datetime
    banned_at: datetime | None
    votes: int


@dataclass(slots=True, frozen=True)
class LogEntry:
    id: int
    at: datetime
    actor_email: str
    action: str
    paper_id: str | None
    user_id: int | None
    user_email: str | None
    reason: str
    detail: str | None


def _reason(text: str | None) -> str:
    text = " ".join((text or "").replace("\x00", "").split())
    if len(text) > MAX_REASON:
        raise CommunityError(f"Keep the reason under {MAX_REASON} characters.")
    return text


def _log(conn, admin: User, now: datetime, action: str, **what) -> None:
    """A moderation-log entry by `admin`, in the same transaction as the action it records."""
    _sql.add_log(conn, at=now, actor_id=admin.id, actor_email=admin.email, action=action, **what)


class Moderation:
    """Moderation actions over one Community (its store, settings, clock and trending cache)."""

    def __init__(self, community: Community):
        self.community = community
        self.store = community.store
        self.store = community.store

    def admins(self) -> set[str]:
        return {a.strip().lower() for a in self.community.settings.admin_emails if a and a.strip()}

    def is_admin(self, user: User | None) -> bool:
        return user is not None and user.email.lower() in self.admins()

    def _require(self, user: User | None) -> User:
        if not self.is_admin(user):
            raise NotAdmin("Only administrators can do this.")
        return user

    # -- papers -------------------------------------------------------------------------------------
    def paper_state(self, key: str) -> tuple[object, HiddenPaper | None] | None:
        """(paper, its hidden record or None) for any paper, hidden or not; None if there is none."""
        paper = self.store.get(key, include_hidden=True) if key and len(key) <= 200 else None
        if paper is None:
            return None
        with self.store.reading() as conn:
            st = _sql.hidden_state(conn, paper.id)
        hidden = (
            HiddenPaper(paper.id, paper.title, _aware(st.hidden_at), st.hidden_reason or "")
            if st is not None and st.hidden_at is not None
            else None
        )
        return paper, hidden

    def hide(self, admin: User, key: str, reason: str | None) -> bool:
        """Hide a paper from every public surface; False if it already was."""
        self._require(admin)
        reason = _reason(reason)
        if not reason:
            raise CommunityError("Give a reason for hiding the paper (it goes into the moderation log).")
        return self._set_hidden(admin, key, reason, hide=True)

    def unhide(self, admin: User, key: str, reason: str | None = None) -> bool:
        self._require(admin)
        return self._set_hidden(admin, key, _reason(reason), hide=False)

    def _set_hidden(self, admin: User, key: str, reason: str, hide: bool) -> bool:
        found = self.paper_state(key)
        if found is None:
            raise NotFound(f"No paper with id {key[:80]!r}.")
        paper = found[0]
        now = self.community.clock()
        with self.store.writing() as conn:
            changed = _sql.set_hidden(conn, paper.id, now if hide else None, reason if hide else None)
            if changed:
                _log(conn, admin, now, "hide_paper" if hide else "unhide_paper", paper_id=paper.id, reason=reason)
        if changed:
            self.community._invalidate()
        return changed

    def hidden(self, limit: int = 100) -> list[HiddenPaper]:
        with self.store.reading() as conn:
            rows = _sql.hidden_papers(conn, limit)
        return [HiddenPaper(r.id, r.title, _aware(r.hidden_at), r.hidden_reason or "") for r in rows]

    # -- accounts -----------------------------------------------------------------------------------
    def top_voters(self, hours: int = 24, limit: int = 20) -> list[Voter]:
        """The spam view: accounts with the most votes in the last `hours`."""
        since = self.community.clock() - timedelta(hours=hours)
        with self.store.reading() as conn:
            rows = _sql.top_voters_since(conn, since, limit)
        return [Voter(r.id, r.email, _aware(r.created_at), _aware(r.banned_at), int(r.votes)) for r in rows]

    def banned(self, limit: int = 100) -> list[Voter]:
        with self.store.reading() as conn:
            rows = _sql.banned_users(conn, limit)
        return [Voter(r.id, r.email, _aware(r.created_at), _aware(r.banned_at), 0) for r in rows]

    @contextmanager
    def _account_change(self, admin: User, user_id: int, reason: str | None) -> Iterator[tuple]:
        """(connection, account row, now, cleaned reason) in one transaction, once admin and account check out."""
        self._require(admin)
        reason = _reason(reason)
        now = self.community.clock()
        with self.store.writing() as conn:
            row = _accounts.user_by_id(conn, user_id) if 0 < user_id <= MAX_ACCOUNT_ID else None
            if row is None:
                raise NotFound(f"No account with id {user_id}.")
            yield conn, row, now, reason

    def ban(self, admin: User, user_id: int, reason: str | None = None) -> tuple[bool, int]:
        """Remove all votes of an account and ban it (no login, no votes, no submissions).

        Returns (changed, votes removed); banning a banned account without votes changes and logs nothing.
        """
        with self._account_change(admin, user_id, reason) as (conn, row, now, reason):
            if row.email.lower() in self.admins():
                raise AdminConflict("Administrators cannot be banned; remove them from admin_emails first.")
            newly, removed = _sql.ban(conn, row.id, now)
            changed = newly or removed > 0
            if changed:
                _log(
                    conn,
                    admin,
                    now,
                    "ban_user",
                    user_id=row.id,
                    user_email=row.email,
                    reason=reason,
                    detail=f"removed {removed} votes",
                )
        if changed:
            self.community._invalidate()
        return changed, removed

    def unban(self, admin: User, user_id: int, reason: str | None = None) -> bool:
        """Let a banned account log in again (its removed votes stay removed)."""
        with self._account_change(admin, user_id, reason) as (conn, row, now, reason):
            changed = _sql.unban(conn, row.id)
            if changed:
                _log(conn, admin, now, "unban_user", user_id=row.id, user_email=row.email, reason=reason)
        return changed

    # -- log ----------------------------------------------------------------------------------------
    def log(self, limit: int = 100) -> list[LogEntry]:
        with self.store.reading() as conn:
            rows = _sql.recent_log(conn, limit)
        return [
            LogEntry(
                r.id,
                _aware(r.at),
                r.actor_email,
                r.action,
                r.paper_id,
                r.user_id,
                r.user_email,
                r.reason or "",
                r.detail,
            )
            for r in rows
        ]
