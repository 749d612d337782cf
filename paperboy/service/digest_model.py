"""Digest data types and pure rules: addresses, subscription options, send periods, digest content."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from paperboy.models import Paper

FREQUENCIES = ("daily", "weekly")
WINDOW_DAYS = {"daily": 1, "weekly": 7}
MAX_ADDRESS = 254  # RFC 5321 path limit less the angle brackets
MAX_FOLLOWS = 20
SECTIONS = {
    "searches": "New for your saved searches",
    "follows": "From categories and authors you follow",
    "recommended": "Recommended for you",
    "trending": "Trending",
}


class DigestError(ValueError):
    """A request that breaks a rule; the message is safe to show the user."""


class InvalidAddress(DigestError):
    pass


class InvalidToken(DigestError):
    pass


class NotSubscribed(DigestError):
    pass


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def aware(dt: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; they were stored as UTC.
    return dt.replace(tzinfo=timezone.utc) if dt is not None and dt.tzinfo is None else dt


# -- addresses --------------------------------------------------------------------------------------

_LOCAL_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalize_address(raw: str) -> str:
    """The address as stored and sent to: ASCII, lower-cased, IDNA domain. InvalidAddress otherwise."""
    text = (raw if isinstance(raw, str) else "").strip()
    if not text:
        raise InvalidAddress("Enter an email address, like name@example.org.")
    if len(text) > 2 * MAX_ADDRESS:  # before any parsing: never spend work on megabyte "addresses"
        raise InvalidAddress(f"That address is too long (at most {MAX_ADDRESS} characters).")
    if any(ord(c) < 32 or ord(c) == 127 or c.isspace() for c in text):
        raise InvalidAddress("An email address cannot contain spaces, line breaks or control characters.")
    if text.count("@") != 1:
        raise InvalidAddress("Enter one email address, like name@example.org.")
    local, domain = text.split("@")
    if not local.isascii():
        raise InvalidAddress("Addresses with non-ASCII characters before the @ are not supported.")
    if not _LOCAL_RE.match(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        raise InvalidAddress("The part before the @ is not valid in an email address.")
    import idna

    try:
        ascii_domain = idna.encode(domain.rstrip("."), uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError, ValueError):
        raise InvalidAddress("The part after the @ is not a valid domain name.") from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL_RE.match(x) for x in labels) or labels[-1].isdigit():
        raise InvalidAddress("The part after the @ is not a valid domain name.")
    address = f"{local.lower()}@{ascii_domain}"
    if len(address) > MAX_ADDRESS:
        raise InvalidAddress(f"That address is too long (at most {MAX_ADDRESS} characters).")
    return address


def display_address(address: str) -> str:
    """A stored address with its domain in Unicode again, for pages."""
    local, _, domain = address.partition("@")
    try:
        import idna

        return f"{local}@{idna.decode(domain)}"
    except Exception:  # a display nicety: the ASCII form is always correct
        return address


# -- subscription options --------------------------------------------------------------------------

_CATEGORY_RE = re.compile(r"^[A-Za-z][A-Za-z\-]{0,30}(\.[A-Za-z\-]{1,30})?$")


def _same(value: Any) -> Any:
    return value


def _names(value: Any) -> tuple[str, ...]:
    return tuple(value or ())


def _plain(value: Any) -> Any:
    """JSON and the database hold the followed lists as lists."""
    return list(value) if isinstance(value, (tuple, list)) else value


# Each option: its attribute, its key in the compact JSON form, its subscriptions column, how a stored
# value becomes the attribute.
_OPTION_FIELDS = (
    ("frequency", "f", "frequency", _same),
    ("send_hour", "h", "send_hour", int),
    ("weekday", "w", "weekday", int),
    ("timezone", "tz", "timezone", _same),
    ("trending", "t", "include_trending", bool),
    ("searches", "s", "include_searches", bool),
    ("recommended", "r", "include_recommended", bool),
    ("categories", "c", "categories", _names),
    ("authors", "a", "authors", _names),
)


@dataclass(slots=True, frozen=True)
class Options:
    """What a subscriber gets and when."""

    frequency: str = "daily"
    send_hour: int = 8
    weekday: int = 0  # weekly: 0 = Monday
    timezone: str = "UTC"
    trending: bool = True
    searches: bool = True
    recommended: bool = True
    categories: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()

    @classmethod
    def defaults(cls, settings) -> Options:
        return cls(send_hour=settings.digest_hour, weekday=settings.digest_weekday, timezone=settings.digest_timezone)

    def validated(self) -> Options:
        """These options cleaned up; DigestError naming the first bad field."""
        if self.frequency not in FREQUENCIES:
            raise DigestError("Frequency must be daily or weekly.")
        if not (isinstance(self.send_hour, int) and 0 <= self.send_hour <= 23):
            raise DigestError("The hour must be between 0 and 23.")
        if not (isinstance(self.weekday, int) and 0 <= self.weekday <= 6):
            raise DigestError("The weekday must be between 0 (Monday) and 6 (Sunday).")
        tz = (self.timezone or "").strip()
        try:
            if not tz or len(tz) > 64 or ".." in tz:
                raise ZoneInfoNotFoundError(tz)
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise DigestError(f"Unknown time zone {tz[:64]!r}; use a name like Europe/Berlin or UTC.") from None
        cats = tuple(dict.fromkeys(c.strip() for c in self.categories if c and c.strip()))
        bad = [c for c in cats if not _CATEGORY_RE.match(c)]
        if bad:
            raise DigestError(f"{bad[0][:40]!r} is not an arXiv category like cs.CL.")
        authors = tuple(dict.fromkeys(" ".join(a.split()) for a in self.authors if a and a.strip()))
        if any(len(a) > 200 or any(ord(ch) < 32 for ch in a) for a in authors):
            raise DigestError("Author names must be at most 200 characters of plain text.")
        if len(cats) > MAX_FOLLOWS or len(authors) > MAX_FOLLOWS:
            raise DigestError(f"Follow at most {MAX_FOLLOWS} categories and {MAX_FOLLOWS} authors.")
        return replace(self, timezone=tz, categories=cats, authors=authors)

    def to_json(self) -> dict[str, Any]:
        """The compact form carried in signed links and outbox payloads."""
        return {key: _plain(getattr(self, attr)) for attr, key, _, _ in _OPTION_FIELDS}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Options:
        # The followed lists may be missing; every other key must be there (KeyError otherwise).
        return cls(**{attr: kind(d.get(key) if kind is _names else d[key]) for attr, key, _, kind in _OPTION_FIELDS})

    @classmethod
    def from_columns(cls, row: Any) -> Options:
        """The options held in a subscriptions row."""
        return cls(**{attr: kind(getattr(row, column)) for attr, _, column, kind in _OPTION_FIELDS})

    def columns(self) -> dict[str, Any]:
        """The subscriptions columns that hold these options."""
        return {column: _plain(getattr(self, attr)) for attr, _, column, _ in _OPTION_FIELDS}

    def describe(self) -> str:
        """'daily at 08:00 Europe/Berlin' / 'weekly on Monday at 08:00 UTC'."""
        day = "" if self.frequency == "daily" else f" on {_WEEKDAYS[self.weekday]}"
        return f"{self.frequency}{day} at {self.send_hour:02d}:00 {self.timezone}"


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(slots=True, frozen=True)
class Subscription:
    id: int
    email: str  # ASCII form
    user_id: int | None
    state: str  # pending | active | unsubscribed | bouncing
    options: Options
    bounces: int = 0
    last_error: str | None = None
    created_at: datetime | None = None
    confirmed_at: datetime | None = None

    @property
    def display_email(self) -> str:
        return display_address(self.email)


def subscription_from_row(row: Any) -> Subscription:
    opts = Options.from_columns(row)
    return Subscription(
        row.id,
        row.email,
        row.user_id,
        row.state,
        opts,
        int(row.bounces or 0),
        row.last_error,
        aware(row.created_at),
        aware(row.confirmed_at),
    )


# -- digests as data --------------------------------------------------------------------------------


@dataclass(slots=True)
class DigestItem:
    paper: Paper
    reason: str
    section: str
    profile_id: int | None = None  # the interest profile a recommendation is for (feedback goes there)
    explore: bool = False  # a well-rated paper outside the profile, marked as such
    feedback: tuple[str, str] | None = None  # (thumbs-up URL, thumbs-down URL), signed; not stored


@dataclass(slots=True)
class DigestSection:
    key: str
    title: str
    items: list[DigestItem]


@dataclass(slots=True)
class Digest:
    """One digest's content: what a subscriber gets for one period, grouped in sections."""

    subscription: Subscription
    period: str
    as_of: date | None  # newest listing day covered
    since: date | None
    sections: list[DigestSection] = field(default_factory=list)
    topics: list[tuple[str, int]] = field(default_factory=list)  # the reader's map topics: (label, their papers)
    topics_chart: bytes | None = None  # PNG: papers per month of those topics (paperboy.service.map_charts)

    @property
    def items(self) -> list[DigestItem]:
        return [it for s in self.sections for it in s.items]

    def is_empty(self) -> bool:
        return not self.items

    def payload(self) -> dict[str, Any]:
        return {
            "v": 1,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "since": self.since.isoformat() if self.since else None,
            "sections": [{"key": s.key, "title": s.title} for s in self.sections],
            "items": [
                {
                    "id": it.paper.id,
                    "section": it.section,
                    "reason": it.reason,
                    **({"profile": it.profile_id} if it.profile_id is not None else {}),
                    **({"explore": True} if it.explore else {}),
                }
                for it in self.items
            ],
        }


@dataclass(slots=True)
class OutboxEntry:
    """One claimed outbox row with its subscription."""

    id: int
    kind: str  # digest | confirm
    period: str
    attempts: int
    message_id: str
    payload: dict[str, Any] | None
    owner: str
    subscription: Subscription


def period_slot(opts: Options, now: datetime) -> tuple[str, datetime]:
    """(period key, UTC send time) of the newest send slot at or before `now`.

    Daily periods are the subscriber's local date ("2026-11-26"); weekly ones the ISO week of the
    chosen weekday ("2026-W48").
    """
    tz = ZoneInfo(opts.timezone)
    local = now.astimezone(tz)
    if opts.frequency == "daily":
        day, step = local.date(), timedelta(days=1)
    else:
        day, step = local.date() - timedelta(days=(local.weekday() - opts.weekday) % 7), timedelta(days=7)
    slot = datetime.combine(day, dtime(opts.send_hour), tzinfo=tz)
    if slot > local:
        day -= step
        slot = datetime.combine(day, dtime(opts.send_hour), tzinfo=tz)
    if opts.frequency == "daily":
        key = day.isoformat()
    else:
        iso = day.isocalendar()
        key = f"{iso.year}-W{iso.week:02d}"
    return key, slot.astimezone(timezone.utc)


def short(text: str, n: int = 80) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1].rsplit(" ", 1)[0] + "…"


def parse_date(value: Any) -> date | None:
    """A date from a date or an ISO string; None when absent or malformed."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None
