"""Community features: accounts, sessions, votes, libraries, saved searches, submissions, trending.

`Community` holds the rules; the SQL lives in `paperboy.store.community` and
`paperboy.store.listings`, the trending formula in `paperboy.ranking.trending`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from paperboy.config import Settings, load_secret_key
from paperboy.models import IngestReport, Paper, parse_arxiv_id
from paperboy.ranking import trending as _trending
from paperboy.ranking.keywords import keywords
from paperboy.sources.arxiv_taxonomy import category_name
from paperboy.sources.links import Link, paper_links
from paperboy.store import Conflict, Store
from paperboy.store import comments as _comments_sql
from paperboy.store import community as _sql
from paperboy.store import listings as _listings

log = logging.getLogger("paperboy.community")
EMAIL_RE = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]{1,189}\.[^@\s\x00-\x1f.]{1,63}$")
MIN_PASSWORD, MAX_PASSWORD = 8, 1024
MAX_SAVED_SEARCHES = 200
TRENDING_CACHE_SECONDS = 60.0  # other processes' votes show up within this long
ALL_TIME_NEWEST = 2000  # unvoted papers considered for all-time trending (only the newest can rank)
SUBMISSION_STATES = ("queued", "done", "failed", "duplicate")
SUBMISSION_RETRY_HOURS = 24  # a submission waits this long for arXiv to be reachable, then fails
VERIFY_SALT, RESET_SALT = "paperboy.account.verify", "paperboy.account.reset"


class CommunityError(ValueError):
    """A request that breaks a rule; the message is safe and meant for the user."""


class AuthError(CommunityError):
    """Wrong email or password, or no such user."""


class Banned(AuthError):
    """The credentials are right but a moderator banned the account."""


class RateLimited(CommunityError):
    """Too many failed attempts; `retry_after` seconds until the next one is allowed."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class NotFound(CommunityError):
    """The paper (or other object) does not exist."""


@dataclass(slots=True, frozen=True)
class User:
    id: int
    email: str
    created_at: datetime
    verified_at: datetime | None = None  # set once the owner followed an emailed link; only then votes count

    @property
    def verified(self) -> bool:
        return self.verified_at is not None


class InvalidLink(CommunityError):
    """A verification or password-reset link that is forged, expired, used or superseded."""


@dataclass(slots=True)
class PaperView:
    """A paper as a page shows it: total upvotes (imported + local) and what the viewer did with it."""

    paper: Paper
    upvotes: int
    voted: bool = False
    saved: bool = False
    score: float | None = None
    comments: int = 0  # readable comments in its discussion
    dismissed: bool = False  # the viewer marked it "Not interested"
    chosen_keywords: list[str] | None = None  # set by pb.keywords where one paper is shown (its embedding)

    @property
    def links(self) -> list[Link]:
        """Code, model, dataset and project links: stored ones (with GitHub stars) first, then those in the text."""
        p = self.paper
        return paper_links(p.code_url, p.project_url, p.github_stars, p.abstract, p.comment)

    @property
    def keywords(self) -> list[str]:
        if self.chosen_keywords is not None:
            return self.chosen_keywords
        return keywords(self.paper.title, self.paper.abstract)


@dataclass(slots=True)
class Listing:
    items: list[PaperView]
    total: int
    as_of: date | None = None  # trending: the reference day windows count back from


@dataclass(slots=True)
class DailyListing:
    day: date | None  # the last day shown
    prev: date | None  # the last day of the previous span with papers (day view) or of the span before
    next: date | None
    items: list[PaperView]
    total: int
    view: str = "day"  # day | week | month
    start: date | None = None  # the first day shown


DAILY_VIEWS = {"day": 1, "week": 7, "month": 30}  # days a /daily view spans, ending on its day


@dataclass(slots=True, frozen=True)
class SavedSearch:
    id: int
    query: str
    filters: dict[str, Any]
    created_at: datetime
    profile_id: int | None = None  # the interest profile it belongs to; None = the default profile


@dataclass(slots=True, frozen=True)
class Submission:
    id: int
    arxiv_id: str
    state: str
    message: str | None
    paper_id: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class _Cached:
    expires: float
    as_of: date
    ranked: Any  # Hits
    votes: dict[str, float] = field(default_factory=dict)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _aware(dt: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes even for timezone=True columns; they were stored as UTC.
    if dt is not None and dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def _valid_email(email: str) -> str:
    email = normalize_email(email)
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise CommunityError("Enter a valid email address, like name@example.org.")
    return email


def _valid_password(password: str) -> None:
    if not (MIN_PASSWORD <= len(password or "") <= MAX_PASSWORD):
        raise CommunityError(f"Choose a password of {MIN_PASSWORD} to {MAX_PASSWORD} characters.")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _user(row: Any) -> User:
    return User(row.id, row.email, _aware(row.created_at), _aware(getattr(row, "verified_at", None)))


def _submission(row: Any) -> Submission:
    return Submission(
        row.id, row.arxiv_id, row.state, row.message, row.paper_id, _aware(row.created_at), _aware(row.updated_at)
    )


class Community:
    """Accounts, votes, libraries, submissions and community listings over one Store."""

    def __init__(self, store: Store, settings: Settings, clock: Callable[[], datetime] = _utcnow):
        self.store = store
        self.settings = settings
        self.clock = clock
        self._hasher = PasswordHasher()
        self._dummy: str | None = None
        self._cache: dict[str, _Cached] = {}
        self._cache_lock = threading.Lock()
        self._top_categories: tuple[float, list[tuple[str, str | None, int]]] | None = None

    def _dummy_hash(self) -> str:
        # Verified against when the email is unknown, so a miss costs as much time as a wrong password.
        if self._dummy is None:
            self._dummy = self._hasher.hash(secrets.token_urlsafe(16))
        return self._dummy

    # -- accounts ---------------------------------------------------------------------------------
    def sign_up(self, email: str, password: str, client: str | None = None) -> User:
        """Create an account; CommunityError with a user-facing reason when refused.

        With `client` (the address the request came from), at most `signup_max_per_hour` accounts per
        address and hour (RateLimited beyond). The account starts unverified: its votes count once
        its owner follows the link `verification_link_token` makes.
        """
        email = _valid_email(email)
        _valid_password(password)
        if client is not None:
            self.throttle(
                "signup",
                client,
                self.settings.signup_max_per_hour,
                "Too many new accounts from your network; try again in {minutes} minutes.",
            )
        pw_hash = self._hasher.hash(password)
        now = self.clock()
        try:
            with self.store.writing() as conn:
                uid = _sql.insert_user(conn, email, pw_hash, now)
                if client is not None:
                    _sql.insert_client_event(conn, "signup", client[:64], now)
        except Conflict:
            raise CommunityError("An account with this email already exists; log in instead.") from None
        return User(uid, email, now)

    def throttle(self, action: str, client: str, limit: int, message: str) -> None:
        """RateLimited when `client` did `action` `limit` times within the last hour."""
        now = self.clock()
        hour = timedelta(hours=1)
        with self.store.reading() as conn:
            n, oldest = _sql.client_events_since(conn, action, client[:64], now - hour)
        if n >= limit:
            retry = max(1, math.ceil(((_aware(oldest) or now) + hour - now).total_seconds()))
            raise RateLimited(message.format(minutes=retry // 60 + 1), retry)
        if secrets.randbelow(100) == 0:  # now and then, forget events past every window
            with self.store.writing() as conn:
                _sql.delete_client_events_before(conn, now - hour)

    def record_client_event(self, action: str, client: str) -> None:
        """Count one `action` (e.g. "reset") from `client` toward its `throttle` limit."""
        with self.store.writing() as conn:
            _sql.insert_client_event(conn, action, client[:64], self.clock())

    def user(self, user_id: int) -> User | None:
        with self.store.reading() as conn:
            row = _sql.user_by_id(conn, user_id)
        return _user(row) if row else None

    def user_by_email(self, email: str) -> User | None:
        with self.store.reading() as conn:
            row = _sql.user_by_email(conn, normalize_email(email)[:254])
        return _user(row) if row else None

    # -- signed links: email verification and password reset ----------------------------------------
    def _serializer(self, salt: str):
        from itsdangerous import URLSafeSerializer

        return URLSafeSerializer(load_secret_key(self.settings), salt=salt)

    def _sign(self, salt: str, data: dict[str, Any]) -> str:
        # The issue time travels inside the signed data and is checked against self.clock, so
        # expiry follows the same clock as everything else here (and tests can move it).
        return self._serializer(salt).dumps({**data, "t": int(self.clock().timestamp())})

    def _unsign(self, salt: str, token: str, hours: int, what: str) -> dict[str, Any]:
        from itsdangerous import BadData

        try:
            data = self._serializer(salt).loads(token) if token and len(token) <= 1000 else None
        except BadData:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("t"), int) or not isinstance(data.get("u"), int):
            raise InvalidLink(f"This {what} link is not valid (copy the whole link from the email).")
        if self.clock().timestamp() - data["t"] > hours * 3600:
            raise InvalidLink(f"This {what} link has expired; ask for a new one.")
        return data

    def verification_token(self, user: User) -> str:
        """The token of a link proving `user` owns their email (valid `verify_hours`, for that email only)."""
        return self._sign(VERIFY_SALT, {"u": user.id, "e": user.email})

    def verify_email(self, token: str) -> User:
        """Mark the account a verification link names as verified; InvalidLink when it is not valid."""
        data = self._unsign(VERIFY_SALT, token, self.settings.verify_hours, "verification")
        now = self.clock()
        with self.store.writing() as conn:
            row = _sql.user_by_id(conn, data["u"])
            if row is None or row.email != data.get("e"):
                raise InvalidLink("This verification link is for an email address the account no longer has.")
            if row.verified_at is None:
                _sql.set_verified(conn, row.id, now, row.email)
        self._invalidate()  # the account's votes count from now on
        return self.user(data["u"])

    def mark_verified(self, user_id: int) -> User:
        """Verify an account without a link (operators, e.g. an admin who knows the person)."""
        with self.store.writing() as conn:
            if not _sql.set_verified(conn, user_id, self.clock()):
                raise NotFound(f"No account {user_id}.")
        self._invalidate()
        return self.user(user_id)

    def reset_token(self, email: str) -> tuple[User, str] | None:
        """(account, token of a password-reset link) for an email, None when no account has it.

        The token carries a fingerprint of the current password hash, so it dies once the password
        changes: a used link cannot be used again, and an old one is worthless after a reset.
        """
        with self.store.reading() as conn:
            row = _sql.user_by_email(conn, normalize_email(email)[:254])
        if row is None or getattr(row, "banned_at", None) is not None:
            return None
        return _user(row), self._sign(RESET_SALT, {"u": row.id, "p": _token_hash(row.password_hash)[:16]})

    def check_reset_token(self, token: str) -> User:
        data = self._unsign(RESET_SALT, token, self.settings.reset_hours, "password-reset")
        with self.store.reading() as conn:
            row = _sql.user_by_id(conn, data["u"])
        if row is None or _token_hash(row.password_hash)[:16] != data.get("p"):
            raise InvalidLink("This password-reset link was already used or replaced; ask for a new one.")
        return _user(row)

    def reset_password(self, token: str, new_password: str) -> User:
        """Set a new password from a reset link; every session of the account ends."""
        _valid_password(new_password)
        user = self.check_reset_token(token)
        with self.store.writing() as conn:
            _sql.set_password_hash(conn, user.id, self._hasher.hash(new_password))
            _sql.delete_sessions_of(conn, user.id)
            if user.verified_at is None:  # the link reached the inbox: that proves the address too
                _sql.set_verified(conn, user.id, self.clock(), user.email)
        self._invalidate()
        return self.user(user.id)

    def _check_password(self, user: User, password: str) -> Any:
        with self.store.reading() as conn:
            row = _sql.user_by_id(conn, user.id)
        try:
            ok = row is not None and self._hasher.verify(row.password_hash, password or "")
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            raise AuthError("Your current password is not right.")
        return row

    def change_password(self, user: User, current: str, new: str, keep_session: str | None = None) -> None:
        """New password after checking the current one; other sessions end (`keep_session` token stays)."""
        _valid_password(new)
        self._check_password(user, current)
        with self.store.writing() as conn:
            _sql.set_password_hash(conn, user.id, self._hasher.hash(new))
            _sql.delete_sessions_of(conn, user.id, keep=_token_hash(keep_session) if keep_session else None)

    def change_email(self, user: User, password: str, new_email: str) -> User:
        """Move the account to another email; it is unverified (its votes stop counting) until re-verified."""
        email = _valid_email(new_email)
        self._check_password(user, password)
        if email == user.email:
            return self.user(user.id)
        try:
            with self.store.writing() as conn:
                _sql.set_email(conn, user.id, email)
        except Conflict:
            raise CommunityError("Another account already uses this email.") from None
        self._invalidate()
        return self.user(user.id)

    def delete_account(self, user: User, password: str) -> dict[str, int]:
        """Delete the account with its votes, library, saved searches and subscription; counts per kind."""
        self._check_password(user, password)
        with self.store.writing() as conn:
            counts = _sql.delete_user(conn, user.id, user.email)
        self._invalidate()
        return counts

    def log_in(self, email: str, password: str, client: str) -> User:
        """The user for these credentials; AuthError if wrong, RateLimited after too many failures."""
        email = normalize_email(email)[:254]
        client = (client or "unknown")[:64]
        if any(ord(c) < 32 for c in email):  # no account has such an email; PostgreSQL refuses NUL in text
            raise AuthError("Wrong email or password.")
        now = self.clock()
        window = timedelta(minutes=self.settings.login_window_minutes)
        with self.store.reading() as conn:
            failures, oldest = _sql.login_failures_since(conn, email, client, now - window)
        if failures >= self.settings.login_max_failures:
            retry = int(((_aware(oldest) or now) + window - now).total_seconds()) + 1
            raise RateLimited(f"Too many failed logins; try again in {max(retry, 1) // 60 + 1} minutes.", max(retry, 1))
        with self.store.reading() as conn:
            row = _sql.user_by_email(conn, email)
        ok = False
        try:
            ok = self._hasher.verify(row.password_hash if row else self._dummy_hash(), password or "")
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or row is None:
            with self.store.writing() as conn:
                _sql.insert_login_failure(conn, email, client, now)
            raise AuthError("Wrong email or password.")
        if getattr(row, "banned_at", None) is not None:  # told only to whoever knows the password
            raise Banned("This account has been suspended by the moderators.")
        with self.store.writing() as conn:
            _sql.clear_login_failures(conn, email, client, before=now - window)
            if self._hasher.check_needs_rehash(row.password_hash):
                _sql.set_password_hash(conn, row.id, self._hasher.hash(password))
        return _user(row)

    def start_session(self, user: User) -> str:
        """A new session token for the cookie; only its hash is stored."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self.store.writing() as conn:
            _sql.insert_session(
                conn, _token_hash(token), user.id, now, now + timedelta(days=self.settings.session_days)
            )
            if secrets.randbelow(50) == 0:  # now and then, sweep expired sessions
                _sql.delete_expired_sessions(conn, now)
        return token

    def session_user(self, token: str | None) -> User | None:
        if not token or len(token) > 200:
            return None
        with self.store.reading() as conn:
            row = _sql.session_user(conn, _token_hash(token), self.clock())
        return _user(row) if row else None

    def end_session(self, token: str | None) -> None:
        if token and len(token) <= 200:
            with self.store.writing() as conn:
                _sql.delete_session(conn, _token_hash(token))

    # -- papers as the viewer sees them -------------------------------------------------------------
    def _resolve(self, key: str) -> Paper:
        paper = self.store.get(key) if key and len(key) <= 200 else None
        if paper is None:
            raise NotFound(f"No paper with id {key[:80]!r}.")
        return paper

    def views(self, papers: Sequence[Paper], user: User | None = None) -> list[PaperView]:
        """Wrap papers with total upvotes and the viewer's vote/saved state (one query each)."""
        ids = [p.id or p.paper_id() for p in papers]
        if not ids:
            return []
        with self.store.reading() as conn:
            local = _sql.local_vote_counts(conn, ids)
            voted = _sql.voted_among(conn, user.id, ids) if user else set()
            saved = _sql.saved_among(conn, user.id, ids) if user else set()
            talk = _comments_sql.counts(conn, ids)
            dismissed = _sql.not_interested_among(conn, user.id, ids) if user else set()
        return [
            PaperView(
                p,
                (p.upvotes or 0) + local.get(i, 0),
                i in voted,
                i in saved,
                comments=talk.get(i, 0),
                dismissed=i in dismissed,
            )
            for p, i in zip(papers, ids)
        ]

    def not_interested(self, user: User, limit: int = 200) -> list[PaperView]:
        """The papers the user marked "Not interested", newest mark first."""
        with self.store.reading() as conn:
            ids = _sql.not_interested_paper_ids(conn, user.id, limit)
        return self._hydrate(ids, user)

    def view(self, key: str, user: User | None = None) -> PaperView:
        return self.views([self._resolve(key)], user)[0]

    # -- votes --------------------------------------------------------------------------------------
    def upvote(self, user: User, key: str, client: str | None = None) -> PaperView:
        """Upvote once; a second upvote by the same user changes nothing (the database refuses it).

        With `client`, at most `vote_max_per_hour` votes and un-votes per address and hour.
        """
        paper = self._resolve(key)
        self._count_vote(client)
        try:
            with self.store.writing() as conn:
                _sql.insert_vote(conn, user.id, paper.id, self.clock())
        except Conflict:
            pass  # already voted: the primary key (user_id, paper_id) said no
        self._invalidate()
        return self.views([paper], user)[0]

    def unvote(self, user: User, key: str, client: str | None = None) -> PaperView:
        paper = self._resolve(key)
        self._count_vote(client)
        with self.store.writing() as conn:
            _sql.delete_vote(conn, user.id, paper.id)
        self._invalidate()
        return self.views([paper], user)[0]

    def _count_vote(self, client: str | None) -> None:
        if client is None:
            return
        self.throttle(
            "vote",
            client,
            self.settings.vote_max_per_hour,
            "Too many votes from your network; try again in {minutes} minutes.",
        )
        with self.store.writing() as conn:
            _sql.insert_client_event(conn, "vote", client[:64], self.clock())

    # -- library ------------------------------------------------------------------------------------
    def save_paper(self, user: User, key: str) -> PaperView:
        paper = self._resolve(key)
        try:
            with self.store.writing() as conn:
                _sql.insert_saved_paper(conn, user.id, paper.id, self.clock())
        except Conflict:
            pass
        return self.views([paper], user)[0]

    def unsave_paper(self, user: User, key: str) -> PaperView:
        paper = self._resolve(key)
        with self.store.writing() as conn:
            _sql.delete_saved_paper(conn, user.id, paper.id)
        return self.views([paper], user)[0]

    def library(self, user: User, kind: str, limit: int = 50, offset: int = 0) -> Listing:
        """The user's upvoted (`kind='upvoted'`) or saved (`kind='saved'`) papers, newest first."""
        fn = {"upvoted": _sql.voted_paper_ids, "saved": _sql.saved_paper_ids}.get(kind)
        if fn is None:
            raise CommunityError("kind must be 'upvoted' or 'saved'")
        with self.store.reading() as conn:
            ids, total = fn(conn, user.id, limit, offset)
        return Listing(self._hydrate(ids, user), total)

    def _hydrate(self, ids: Sequence[str], user: User | None, scores: Sequence[float] | None = None) -> list[PaperView]:
        found = self.store.get_many(list(ids))
        papers = [found[i] for i in ids if i in found]
        views = self.views(papers, user)
        if scores is not None:
            by_id = dict(zip(ids, scores))
            for v in views:
                v.score = float(by_id[v.paper.id])
        return views

    # -- saved searches -----------------------------------------------------------------------------
    def save_search(
        self, user: User, query: str, filters: dict[str, Any], profile_id: int | None = None
    ) -> SavedSearch:
        """Keep a search (query + filters) for a profile (None: the default one); saving the same one twice
        returns the first (paperboy.service.profiles moves it between profiles)."""
        query = (query or "").strip()
        filters = {k: v for k, v in sorted(filters.items()) if v not in (None, "", [], ())}
        if not query and not filters:
            raise CommunityError("Nothing to save: enter a query or choose a filter first.")
        for s in self.saved_searches(user):
            if s.query == query and s.filters == filters:
                return s
        now = self.clock()
        with self.store.writing() as conn:
            if len(_sql.saved_searches_of(conn, user.id)) >= MAX_SAVED_SEARCHES:
                raise CommunityError(f"You can keep at most {MAX_SAVED_SEARCHES} saved searches.")
            sid = _sql.insert_saved_search(conn, user.id, query, filters, now, profile_id)
        return SavedSearch(sid, query, filters, now, profile_id)

    def saved_searches(self, user: User) -> list[SavedSearch]:
        with self.store.reading() as conn:
            rows = _sql.saved_searches_of(conn, user.id)
        return [SavedSearch(r.id, r.query, dict(r.filters or {}), _aware(r.created_at), r.profile_id) for r in rows]

    def delete_saved_search(self, user: User, search_id: int) -> None:
        with self.store.writing() as conn:
            if not _sql.delete_saved_search(conn, user.id, search_id):
                raise NotFound("No such saved search.")

    # -- submissions --------------------------------------------------------------------------------
    def submit(self, user: User, text: str) -> Submission:
        """Queue an arXiv id or URL for ingest; an already stored paper is recorded as a duplicate."""
        parsed = parse_arxiv_id((text or "")[:300])
        if parsed is None:
            raise CommunityError(
                "That is not an arXiv id or URL (expected e.g. 2401.01234 or https://arxiv.org/abs/2401.01234)."
            )
        arxiv_id = parsed[0]
        now = self.clock()
        with self.store.reading() as conn:
            recent = _sql.submissions_since(conn, user.id, now - timedelta(days=1))
        if recent >= self.settings.max_submissions_per_day:
            raise RateLimited("You reached today's submission limit; try again tomorrow.", 3600)
        existing = self.store.get(arxiv_id, include_hidden=True)  # hidden papers are not fetched again
        with self.store.writing() as conn:
            if existing is not None:
                sid = _sql.insert_submission(
                    conn, arxiv_id, user.id, "duplicate", now, "Already in paperboy.", existing.id
                )
            else:
                queued = _sql.queued_submission_for(conn, arxiv_id)
                if queued is not None:
                    return _submission(queued)
                sid = _sql.insert_submission(
                    conn, arxiv_id, user.id, "queued", now, "Waiting to be fetched from arXiv."
                )
            return _submission(_sql.submission_by_id(conn, sid))

    def submissions(self, user: User, limit: int = 50) -> list[Submission]:
        with self.store.reading() as conn:
            return [_submission(r) for r in _sql.submissions_of(conn, user.id, limit)]

    def process_submissions(self, fetch: Callable[[list[str]], IngestReport], limit: int = 100) -> list[Submission]:
        """Fetch queued arXiv ids with `fetch(ids)` (which ingests them) and mark each done/failed/duplicate.

        When arXiv cannot be reached (network down, arXiv failing), the rows stay queued with a plain
        message and are tried again on the next run, for up to SUBMISSION_RETRY_HOURS; the technical
        error goes to the log, not to the reader.
        """
        with self.store.reading() as conn:
            queued = _sql.queued_submissions(conn, limit)
        if not queued:
            return []
        pending = [r for r in queued if self.store.get(r.arxiv_id, include_hidden=True) is None]
        pending_ids = {r.id for r in pending}
        problem, retry = None, False
        if pending:
            try:
                report = fetch(sorted({r.arxiv_id for r in pending}))
                problem = report.aborted or (report.errors[0] if report.errors else None)
                retry = bool(report.aborted and report.retryable)
            except Exception as exc:  # a fetch failure of any kind must not leave rows queued forever
                problem = f"{type(exc).__name__}: {exc}"
        if problem:
            log.warning("fetching submitted papers failed%s: %s", " (will retry)" if retry else "", problem[:500])
        now = self.clock()
        out = []
        with self.store.writing() as conn:
            for r in queued:
                paper = self.store.get(r.arxiv_id, include_hidden=True)
                if paper is not None and r.id not in pending_ids:
                    state, msg = "duplicate", "Already in paperboy."
                elif paper is not None:
                    state, msg = "done", "Fetched from arXiv."
                elif retry and now - _aware(r.created_at) < timedelta(hours=SUBMISSION_RETRY_HOURS):
                    state = "queued"
                    msg = (
                        "arXiv cannot be reached right now (no network, or arXiv is down); paperboy "
                        "tries again automatically."
                    )
                elif retry:
                    state = "failed"
                    msg = (
                        f"arXiv could not be reached for {SUBMISSION_RETRY_HOURS} hours; please submit it again later."
                    )
                else:
                    state = "failed"
                    msg = f"arXiv has no paper {r.arxiv_id}." if not problem else f"Fetching failed: {problem}"[:500]
                _sql.update_submission(conn, r.id, state, msg, paper.id if paper else None, now)
                out.append(_submission(_sql.submission_by_id(conn, r.id)))
        self._invalidate()
        return out

    # -- listings -----------------------------------------------------------------------------------
    def reference_day(self) -> date:
        """The day trending windows count back from: the newest listing day, never after today."""
        today = self.clock().date()
        with self.store.reading() as conn:
            return _listings.latest_day(conn, today) or today

    def trending(self, window: str = "week", limit: int = 20, offset: int = 0, user: User | None = None) -> Listing:
        """Papers of a window: gravity for today, most upvoted for week/month/all (`paperboy.ranking.trending`)."""
        cached = self._ranked(window)
        ids = cached.ranked.ids[offset : offset + limit]
        scores = cached.ranked.scores[offset : offset + limit]
        return Listing(self._hydrate(ids, user, scores), len(cached.ranked), cached.as_of)

    def _ranked(self, window: str) -> _Cached:
        if window not in _trending.WINDOW_DAYS:
            raise CommunityError(f"window must be one of {', '.join(_trending.WINDOW_DAYS)}")
        now = time.monotonic()
        with self._cache_lock:
            hit = self._cache.get(window)
            if hit is not None and hit.expires > now:
                return hit
        as_of = self.reference_day()
        start = _trending.window_start(window, as_of)
        with self.store.reading() as conn:
            rows = (
                _listings.rows_between(conn, start, as_of)
                if start
                else _listings.all_time_candidates(conn, ALL_TIME_NEWEST)
            )
            local = (
                _sql.local_vote_counts(conn, [r.id for r in rows])
                if len(rows) < 5000
                else _sql.all_local_vote_counts(conn)
            )
        ids = [r.id for r in rows]
        votes = np.array([r.upvotes + local.get(r.id, 0) for r in rows], dtype=np.float64)
        ranked = _trending.rank_window(window, ids, votes, [r.day for r in rows], as_of, self.settings.trending_gravity)
        entry = _Cached(now + TRENDING_CACHE_SECONDS, as_of, ranked)
        with self._cache_lock:
            self._cache[window] = entry
        return entry

    def _invalidate(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    def papers_between(
        self,
        start: date,
        end: date,
        *,
        sort: str = "trending",
        limit: int = 50,
        offset: int = 0,
        submitter: str | None = None,
        user: User | None = None,
    ) -> Listing:
        """Papers whose day lies in [start, end]; sort 'trending' (most upvotes first) or 'date' (newest first)."""
        with self.store.reading() as conn:
            rows = _listings.rows_between(conn, start, end, submitter)
            local = _sql.local_vote_counts(conn, [r.id for r in rows])
        if sort == "date":
            rows.sort(key=lambda r: r.id)
            rows.sort(key=lambda r: r.day or date.min, reverse=True)
        else:
            rows.sort(key=lambda r: r.id)
            rows.sort(key=lambda r: r.upvotes + local.get(r.id, 0), reverse=True)
        ids = [r.id for r in rows[offset : offset + limit]]
        return Listing(self._hydrate(ids, user), len(rows))

    def daily(
        self,
        day: date | None = None,
        *,
        sort: str = "trending",
        limit: int = 50,
        offset: int = 0,
        user: User | None = None,
        view: str = "day",
    ) -> DailyListing:
        """Papers listed on `day` (default: the newest listing day), or in the week / month (7 / 30 days)
        ending on it, most upvoted first, with links to the spans before and after."""
        if view not in DAILY_VIEWS:
            raise CommunityError(f"view must be one of {', '.join(DAILY_VIEWS)}")
        if day is None:
            day = self.reference_day()
        span = timedelta(days=DAILY_VIEWS[view])
        start = day - span + timedelta(days=1)
        listing = self.papers_between(start, day, sort=sort, limit=limit, offset=offset, user=user)
        if view == "day":
            with self.store.reading() as conn:
                prev, nxt = _listings.adjacent_days(conn, day)
        else:
            prev = day - span
            nxt = day + span if day < self.reference_day() else None
        return DailyListing(day, prev, nxt, listing.items, listing.total, view, start)

    def by_author(self, name: str, limit: int = 50, offset: int = 0, user: User | None = None) -> Listing:
        with self.store.reading() as conn:
            papers, total = _listings.papers_by_author(conn, name, limit, offset)
        return Listing(self.views(papers, user), total)

    def in_category(self, category: str, limit: int = 50, offset: int = 0, user: User | None = None) -> Listing:
        with self.store.reading() as conn:
            papers, total = _listings.papers_in_category(conn, category, limit, offset)
        return Listing(self.views(papers, user), total)

    def categories(self) -> list[tuple[str, str | None, int]]:
        """(code, arXiv name or None, papers) for every category with papers, most papers first.

        Cached for a few minutes: it scans the category table.
        """
        now = time.monotonic()
        hit = self._top_categories
        if hit is None or hit[0] < now:
            with self.store.reading() as conn:
                counts = _listings.category_counts(conn)
            hit = self._top_categories = (now + 300.0, [(c, category_name(c), n) for c, n in counts])
        return hit[1]

    def top_categories(self, limit: int = 30) -> list[tuple[str, int]]:
        """The categories with the most papers (any of a paper's categories, not only its primary one)."""
        return [(c, n) for c, _name, n in self.categories()[:limit]]

    @staticmethod
    def category_name(code: str) -> str | None:
        """arXiv's name for a category code ("cs.CL" -> "Computation and Language"), None when unknown."""
        return category_name(code)
