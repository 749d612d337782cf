"""Email digests: subscriptions with double opt-in, signed links, what each digest holds, the outbox.

`Digests` holds the rules. Data types live in `paperboy.service.digest_model`, SQL in
`paperboy.store.digests`, recommendations in `paperboy.service.recommender` (shared with the web page),
composing and sending in `paperboy.email`.

Life of one outbox row: pending -> sending (claimed by one sender) -> sent | pending again
(temporary SMTP error, with backoff) | failed (permanent error, or out of attempts) | skipped
(nothing new, the subscriber left, or a newer confirmation replaced it) | expired (too late).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import socket
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfoNotFoundError

from paperboy.service.digest_model import (
    SECTIONS,
    WINDOW_DAYS,
    Digest,
    DigestError,
    DigestItem,
    DigestSection,
    InvalidAddress,
    InvalidToken,
    NotSubscribed,
    Options,
    OutboxEntry,
    Subscription,
    aware,
    display_address,
    normalize_address,
    parse_date,
    period_slot,
    short,
    subscription_from_row,
    utcnow,
)
from paperboy.service.recommender import Recommender
from paperboy.store import Conflict
from paperboy.store import digests as _sql

__all__ = [
    "Digests",
    "Digest",
    "DigestError",
    "DigestItem",
    "DigestSection",
    "InvalidAddress",
    "InvalidToken",
    "NotSubscribed",
    "Options",
    "OutboxEntry",
    "Subscription",
    "normalize_address",
    "display_address",
    "period_slot",
    "sender_identity",
]

log = logging.getLogger("paperboy.digests")
CONFIRMATIONS_PER_HOUR = 3  # per address: the subscribe form must not become a way to mail-bomb someone
SENDING_LEASE = timedelta(minutes=15)  # a 'sending' row claimed this long ago elsewhere is presumed dead
SENT_MEMORY_DAYS = 60  # papers sent within this long are not sent again
SECTION_SHARE = {"searches": 0.4, "follows": 0.3, "recommended": 0.4, "trending": 0.25}


def sender_identity() -> str:
    """'host:pid:run' naming one sending run; lets a later run tell a dead sender from a live one."""
    return f"{socket.gethostname()[:100]}:{os.getpid()}:{secrets.token_hex(4)}"


def owner_is_dead(owner: str | None) -> bool:
    """True only when the owner ran on this host in a process that no longer exists."""
    try:
        host, pid, _run = (owner or "").rsplit(":", 2)
        pid_n = int(pid)
    except ValueError:
        return False
    if host != socket.gethostname()[:100] or pid_n == os.getpid():
        return False  # another machine, or a run in this very process: only the lease can tell
    try:
        os.kill(pid_n, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Digests:
    """Subscriptions, digest content and the outbox over one Paperboy service.

    pb: the facade (store, search, indexes). community: for trending (default: the facade's).
    secret: key signing confirmation and unsubscribe links. clock: returns the current UTC time.
    """

    def __init__(self, pb, *, community=None, secret: bytes | str, clock: Callable[[], datetime] = utcnow):
        from itsdangerous import URLSafeSerializer, URLSafeTimedSerializer

        self.pb = pb
        self.settings = pb.settings
        self.clock = clock
        self._community = community
        key = secret.encode() if isinstance(secret, str) else secret
        self._confirm = URLSafeTimedSerializer(key, salt="paperboy.digest.confirm")
        self._unsub = URLSafeSerializer(key, salt="paperboy.digest.unsubscribe")
        self._recommender: Recommender | None = None

    @property
    def store(self):
        return self.pb.store

    @property
    def recommender(self) -> Recommender:
        """The one recommender, also behind the web's "recommended for you" page."""
        if self._recommender is None:
            self._recommender = Recommender(self.pb, self.community)
        return self._recommender

    @property
    def community(self):
        """The facade's community (or the one given, e.g. with a test clock)."""
        return self._community if self._community is not None else self.pb.community

    def now(self) -> datetime:
        return aware(self.clock())

    # -- links ---------------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return self.settings.base_url.rstrip("/") + path

    def confirm_url(self, sub: Subscription, nonce: str, options: Options) -> str:
        return self._url("/digest/confirm/" + self._confirm.dumps({"s": sub.id, "n": nonce, "o": options.to_json()}))

    def unsubscribe_token(self, sub: Subscription) -> str:
        return self._unsub.dumps([sub.id, self._address_tag(sub.email)])

    def unsubscribe_url(self, sub: Subscription) -> str:
        return self._url("/digest/unsubscribe/" + self.unsubscribe_token(sub))

    @staticmethod
    def _address_tag(email: str) -> str:
        return hashlib.sha256(email.encode()).hexdigest()[:12]

    def message_id(self, kind: str, sub_id: int, key: str) -> str:
        """Deterministic Message-ID: a resend after a crash carries the same one, so clients can fold them."""
        from email.utils import parseaddr

        domain = parseaddr(self.settings.mail_from)[1].rpartition("@")[2] or "paperboy.invalid"
        safe = re.sub(r"[^A-Za-z0-9.-]", "-", key)
        return f"<{kind}.{sub_id}.{safe}@{domain}>"

    # -- subscriptions -------------------------------------------------------------------------
    def get(self, email: str) -> Subscription | None:
        with self.store.reading() as conn:
            row = _sql.subscription_by_email(conn, normalize_address(email))
        return subscription_from_row(row) if row else None

    def for_user(self, user_id: int) -> Subscription | None:
        with self.store.reading() as conn:
            row = _sql.subscription_of_user(conn, user_id)
        return subscription_from_row(row) if row else None

    def subscribe(
        self, email: str, options: Options | None = None, *, user_id: int | None = None, confirmed: bool = False
    ) -> tuple[Subscription, int | None]:
        """Ask for digests at `email`; returns the subscription and the queued confirmation's outbox id.

        Nothing is sent to the address until its owner follows the link in the confirmation email;
        new options of an already active subscription also wait for that link. `confirmed=True`
        (operators only, e.g. importing a list that already opted in) activates at once.
        """
        address = normalize_address(email)
        opts = (options or Options.defaults(self.settings)).validated()
        now = self.now()
        nonce = secrets.token_hex(8)
        for _ in range(2):  # a concurrent first subscribe of the same address wins the insert; retry once
            try:
                with self.store.writing() as conn:
                    return self._subscribe(conn, address, opts, user_id, confirmed, nonce, now)
            except Conflict:
                continue
        raise DigestError("Could not save the subscription; please try again.")

    def _subscribe(self, conn, address, opts, user_id, confirmed, nonce, now):
        row = _sql.subscription_by_email(conn, address)
        if row is None:
            values = {
                **opts.columns(),
                "email": address,
                "user_id": user_id,
                "state": "pending",
                "nonce": nonce,
                "bounces": 0,
                "created_at": now,
                "updated_at": now,
            }
            sub_id = _sql.insert_subscription(conn, values)
        else:
            sub_id = row.id
            if (
                _sql.confirmations_since(conn, sub_id, now - timedelta(hours=1)) >= CONFIRMATIONS_PER_HOUR
                and not confirmed
            ):
                raise DigestError(
                    "We already sent several confirmation emails to this address in the last hour; "
                    "please check your inbox (and spam folder) or try again later."
                )
            values = {"nonce": nonce, "updated_at": now}
            if row.state != "active":
                values.update(state="pending", **opts.columns())
            if user_id is not None and row.user_id is None:
                values["user_id"] = user_id
            _sql.update_subscription(conn, sub_id, values)
        if confirmed:
            values = {**opts.columns(), "state": "active", "confirmed_at": now, "bounces": 0, "last_error": None}
            if _sql.subscription_by_id(conn, sub_id).user_id is None:  # as confirm() does
                values["user_id"] = _sql.user_id_by_email(conn, address)
            _sql.update_subscription(conn, sub_id, values)
            return subscription_from_row(_sql.subscription_by_id(conn, sub_id)), None
        _sql.drop_pending_confirmations(conn, sub_id, now)
        period = f"confirm-{nonce}"
        _sql.insert_outbox(
            conn,
            [
                {
                    "subscription_id": sub_id,
                    "kind": "confirm",
                    "period": period,
                    "state": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "message_id": self.message_id("confirm", sub_id, nonce),
                    "payload": {"nonce": nonce, "options": opts.to_json()},
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        out_id = _sql.outbox_id(conn, sub_id, period)
        return subscription_from_row(_sql.subscription_by_id(conn, sub_id)), out_id

    def confirm(self, token: str) -> Subscription:
        """Activate the subscription a confirmation link names, with the options it carries."""
        from itsdangerous import BadData, SignatureExpired

        if not token or len(token) > 4000:
            raise InvalidToken("This confirmation link is not valid.")
        try:
            data = self._confirm.loads(token, max_age=self.settings.confirm_hours * 3600)
            sub_id, nonce, opts = int(data["s"]), str(data["n"]), Options.from_json(data["o"])
        except SignatureExpired:
            raise InvalidToken("This confirmation link has expired; subscribe again to get a new one.") from None
        except (BadData, KeyError, TypeError, ValueError):
            raise InvalidToken("This confirmation link is not valid (copy the whole link from the email).") from None
        now = self.now()
        with self.store.writing() as conn:
            row = _sql.subscription_by_id(conn, sub_id)
            if row is None:
                raise InvalidToken("This subscription no longer exists; subscribe again.")
            if row.nonce != nonce:
                raise InvalidToken("A newer confirmation email replaced this link; use the link in the newest one.")
            values = {**opts.columns(), "state": "active", "updated_at": now, "bounces": 0, "last_error": None}
            if row.state != "active":
                values["confirmed_at"] = now
            if row.user_id is None:  # the link proves the address: tie it to the account that has it
                values["user_id"] = _sql.user_id_by_email(conn, row.email)
            _sql.update_subscription(conn, sub_id, values)
            return subscription_from_row(_sql.subscription_by_id(conn, sub_id))

    def unsubscribe(self, token: str) -> Subscription:
        """Stop digests for the subscription an unsubscribe link names (idempotent)."""
        from itsdangerous import BadData

        if not token or len(token) > 1000:
            raise InvalidToken("This unsubscribe link is not valid.")
        try:
            sub_id, tag = self._unsub.loads(token)
            sub_id = int(sub_id)
        except (BadData, TypeError, ValueError):
            raise InvalidToken("This unsubscribe link is not valid (copy the whole link from the email).") from None
        with self.store.writing() as conn:
            row = _sql.subscription_by_id(conn, sub_id)
            if row is None or self._address_tag(row.email) != tag:
                raise InvalidToken("This unsubscribe link is not valid.")
            return self._unsubscribe(conn, row)

    def unsubscribe_address(self, email: str) -> Subscription:
        """Stop digests for an address (operators: the CLI). NotSubscribed when there is none."""
        address = normalize_address(email)
        with self.store.writing() as conn:
            row = _sql.subscription_by_email(conn, address)
            if row is None:
                raise NotSubscribed(f"No subscription for {display_address(address)}.")
            return self._unsubscribe(conn, row)

    def _unsubscribe(self, conn, row) -> Subscription:
        if row.state != "unsubscribed":
            _sql.update_subscription(conn, row.id, {"state": "unsubscribed", "updated_at": self.now()})
        return subscription_from_row(_sql.subscription_by_id(conn, row.id))

    def counts(self) -> dict[str, dict[str, int]]:
        with self.store.reading() as conn:
            return {"subscriptions": _sql.subscription_counts(conn), "outbox": _sql.outbox_counts(conn)}

    # -- the outbox ----------------------------------------------------------------------------
    def due(self, now: datetime | None = None) -> list[tuple[Subscription, str]]:
        """Active subscriptions whose newest send slot has passed without a digest planned for it."""
        now = now or self.now()
        horizon = now - timedelta(hours=self.settings.digest_expire_hours)
        with self.store.reading() as conn:
            subs = [subscription_from_row(r) for r in _sql.active_subscriptions(conn)]
            had = _sql.subscriptions_with_digests(conn)
            wanted: dict[tuple[int, str], Subscription] = {}
            for sub in subs:
                try:
                    period, slot = period_slot(sub.options, now)
                except (ZoneInfoNotFoundError, ValueError):
                    continue
                if slot < horizon:
                    continue
                # A returning subscriber waits for the next slot; a new one gets a first digest right away.
                if sub.confirmed_at and slot < sub.confirmed_at and sub.id in had:
                    continue
                wanted[(sub.id, period)] = sub
            present = _sql.periods_present(conn, {p for _s, p in wanted})
        return [(sub, key[1]) for key, sub in wanted.items() if key not in present]

    def plan(self, now: datetime | None = None) -> int:
        """Put every due digest in the outbox (content is chosen when it is sent); returns how many."""
        now = now or self.now()
        rows = [
            {
                "subscription_id": sub.id,
                "kind": "digest",
                "period": period,
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "message_id": self.message_id("digest", sub.id, period),
                "payload": None,
                "created_at": now,
                "updated_at": now,
            }
            for sub, period in self.due(now)
        ]
        with self.store.writing() as conn:
            _sql.insert_outbox(conn, rows)
        return len(rows)

    def recover(self, now: datetime | None = None) -> int:
        """Return rows a dead sender left in 'sending' to the queue; they are sent again (at least once)."""
        now = now or self.now()
        n = 0
        with self.store.writing() as conn:
            for r in _sql.sending_rows(conn):
                claimed = aware(r.claimed_at)
                if owner_is_dead(r.claimed_by) or claimed is None or claimed < now - SENDING_LEASE:
                    n += _sql.finish(
                        conn,
                        r.id,
                        r.claimed_by,
                        {
                            "state": "pending",
                            "next_attempt_at": now,
                            "updated_at": now,
                            "error": "interrupted while sending; sent again with the same Message-ID",
                        },
                    )
        return n

    def expire(self, now: datetime | None = None) -> int:
        """Drop digests that waited longer than digest_expire_hours: a stale digest is not worth sending."""
        now = now or self.now()
        with self.store.writing() as conn:
            return _sql.expire_pending(conn, now - timedelta(hours=self.settings.digest_expire_hours), now)

    def due_ids(
        self,
        now: datetime | None = None,
        limit: int = 200,
        *,
        kind: str | None = None,
        only_id: int | None = None,
        after_id: int = 0,
    ) -> list[int]:
        """Ids of pending rows whose time has come, in id order after `after_id`."""
        with self.store.reading() as conn:
            return _sql.due_outbox_ids(conn, now or self.now(), limit, kind=kind, only_id=only_id, after_id=after_id)

    def claim(self, row_id: int, owner: str, now: datetime | None = None) -> OutboxEntry | None:
        """Take one pending row for sending; None when another sender took it first."""
        now = now or self.now()
        with self.store.writing() as conn:
            if not _sql.claim(conn, row_id, owner, now):
                return None
            row = _sql.outbox_row(conn, row_id)
            sub = _sql.subscription_by_id(conn, row.subscription_id)
        return OutboxEntry(
            row.id,
            row.kind,
            row.period,
            int(row.attempts),
            row.message_id,
            row.payload,
            owner,
            subscription_from_row(sub),
        )

    def _finish(self, entry: OutboxEntry, values: dict[str, Any], sub_values: dict[str, Any] | None = None) -> bool:
        now = self.now()
        with self.store.writing() as conn:
            ok = _sql.finish(conn, entry.id, entry.owner, {**values, "updated_at": now})
            if ok and sub_values:
                _sql.update_subscription(conn, entry.subscription.id, {**sub_values, "updated_at": now})
        return ok

    def mark_sent(self, entry: OutboxEntry) -> bool:
        reset = {"bounces": 0, "last_error": None} if entry.subscription.bounces else None
        return self._finish(entry, {"state": "sent", "sent_at": self.now(), "error": None}, reset)

    def mark_skipped(self, entry: OutboxEntry, reason: str) -> bool:
        return self._finish(entry, {"state": "skipped", "error": reason[:1000]})

    def mark_retry(self, entry: OutboxEntry, error: str, *, count_attempt: bool = True) -> str:
        """Temporary failure: back to pending with exponential backoff, or 'failed' when out of attempts."""
        s = self.settings
        if count_attempt and entry.attempts >= s.digest_max_attempts:
            self._finish(
                entry, {"state": "failed", "error": f"gave up after {entry.attempts} attempts: {error}"[:1000]}
            )
            return "failed"
        wait = min(s.digest_retry_minutes * 60 * 2 ** max(entry.attempts - 1, 0), 6 * 3600)
        values = {"state": "pending", "error": error[:1000], "next_attempt_at": self.now() + timedelta(seconds=wait)}
        if not count_attempt:
            values["attempts"] = max(entry.attempts - 1, 0)
        self._finish(entry, values)
        return "retry"

    def mark_bounced(self, entry: OutboxEntry, error: str) -> str:
        """Permanent failure: the email is failed; after bounce_threshold in a row the address is bouncing."""
        bounces = entry.subscription.bounces + 1
        sub_values: dict[str, Any] = {"bounces": bounces, "last_error": error[:1000]}
        if bounces >= self.settings.bounce_threshold:
            sub_values["state"] = "bouncing"
        self._finish(entry, {"state": "failed", "error": error[:1000]}, sub_values)
        return "bouncing" if "state" in sub_values else "failed"

    def set_payload(self, entry: OutboxEntry, payload: dict[str, Any]) -> None:
        with self.store.writing() as conn:
            _sql.finish(conn, entry.id, entry.owner, {"payload": payload, "state": "sending"})
        entry.payload = payload

    def outbox_of(self, email: str) -> list[Any]:
        """Every outbox row of an address, oldest first (for operators and tests)."""
        with self.store.reading() as conn:
            row = _sql.subscription_by_email(conn, normalize_address(email))
            return _sql.outbox_rows_of(conn, row.id) if row else []

    # -- digest content ------------------------------------------------------------------------
    def begin_run(self) -> None:
        """Forget cached pools, features and searches: a new run sees newly ingested papers."""
        self.recommender.refresh()

    def content_for(self, entry: OutboxEntry) -> Digest:
        """The digest of a claimed row: chosen now and stored with the row, or the one stored before."""
        if entry.payload and "items" in entry.payload:
            return self.from_payload(entry.subscription, entry.period, entry.payload)
        digest = self.build(entry.subscription, entry.period)
        self.set_payload(entry, digest.payload())
        return digest

    def from_payload(self, sub: Subscription, period: str, payload: dict[str, Any]) -> Digest:
        items = payload.get("items") or []
        papers = self.store.get_many([it["id"] for it in items])
        d = Digest(sub, period, parse_date(payload.get("as_of")), parse_date(payload.get("since")))
        sections = [(s["key"], s["title"]) for s in payload.get("sections") or []] or list(SECTIONS.items())
        for key, title in sections:
            got = [
                self._item(sub, papers[it["id"]], it["reason"], key, it.get("profile"), bool(it.get("explore")))
                for it in items
                if it["section"] == key and it["id"] in papers
            ]
            if got:
                d.sections.append(DigestSection(key, title, got))
        return d

    def _item(
        self, sub: Subscription, paper, reason: str, section: str, profile_id: int | None, explore: bool = False
    ) -> DigestItem:
        """A digest item; recommendations for a reader's profile carry signed thumbs up / down links."""
        feedback = None
        if profile_id is not None and sub.user_id:
            from paperboy.service.profiles import Feedback

            up, down = (
                self.pb.profiles.feedback_token(Feedback(sub.user_id, profile_id, paper.id, r)) for r in (1, -1)
            )
            feedback = (self._url("/feedback/" + up), self._url("/feedback/" + down))
        return DigestItem(paper, reason, section, profile_id, explore, feedback)

    def preview(self, email: str) -> Digest:
        """What the next digest for `email` would hold, without recording anything.

        An address with an account but no subscription previews the default digest of that account.
        """
        address = normalize_address(email)
        now = self.now()
        with self.store.reading() as conn:
            row = _sql.subscription_by_email(conn, address)
            uid = None if row else _sql.user_id_by_email(conn, address)
        if row is not None:
            sub = subscription_from_row(row)
        elif uid is not None:
            sub = Subscription(0, address, uid, "preview", Options.defaults(self.settings))
        else:
            raise NotSubscribed(f"No subscription or account for {display_address(address)}.")
        return self.build(sub, period_slot(sub.options, now)[0])

    def build(self, sub: Subscription, period: str) -> Digest:
        """Choose a digest's papers: saved-search matches, follows, recommendations, trending."""
        opts = sub.options
        as_of = self.community.reference_day()
        since = as_of - timedelta(days=WINDOW_DAYS[opts.frequency] - 1)
        digest = Digest(sub, period, as_of, since)
        rec = self.recommender
        reader = rec.reader(sub.user_id)
        exclude = self._sent_ids(sub.id) | reader.excluded()
        cap = self.settings.digest_max_papers
        per = {k: max(1, round(cap * share)) for k, share in SECTION_SHARE.items()}
        chosen: list[tuple] = []  # (id, section, reason[, profile id, section title, explore])

        def take(section: str, candidates: Sequence[tuple[str, str]], limit: int) -> None:
            """Add up to `limit` new papers to a section, within its share and the digest's cap."""
            n = 0
            for pid, reason in candidates:
                if n >= limit or len(chosen) >= cap or per[section] <= 0:
                    return
                if pid not in exclude:
                    chosen.append((pid, section, reason))
                    exclude.add(pid)
                    n += 1
                    per[section] -= 1

        if opts.searches:  # the default profile's; another profile's searches lead its own section
            for query, flt in reader.searches:
                reason = f"matches your search “{short(query or '(filters only)', 60)}”"
                take(
                    "searches",
                    [
                        (pid, f"{reason} ({why})" if why else reason)
                        for pid, why in rec.matches(query, flt, since, as_of)
                    ],
                    max(2, per["searches"] // 2),
                )
        follows = len(opts.categories) + len(opts.authors)
        for cat in opts.categories:
            take(
                "follows",
                [(pid, f"new in {cat}") for pid in rec.search("", {"categories": [cat]}, since, as_of)],
                max(1, per["follows"] // max(follows, 1)),
            )
        for name in opts.authors:
            take(
                "follows",
                [(pid, f"new paper by {name}") for pid in rec.search("", {"authors": [name]}, since, as_of)],
                3,
            )
        if opts.recommended and sub.user_id:
            self._recommend(sub, since, as_of, exclude, per["recommended"], chosen, cap)
        if opts.trending:
            take("trending", rec.trending("today" if opts.frequency == "daily" else "week"), per["trending"])
        papers = self.store.get_many([c[0] for c in chosen])
        titles = dict(SECTIONS)
        titles.update({c[1]: c[4] for c in chosen if len(c) > 4})
        order = [k for k in SECTIONS if k != "recommended"]
        order.insert(order.index("trending"), "recommended")
        keys = []
        for key in order:
            keys += (
                [key]
                if key != "recommended"
                else list(dict.fromkeys(c[1] for c in chosen if c[1].startswith("recommended")))
            )
        for key in keys:
            items = [
                self._item(
                    sub, papers[c[0]], c[2], key, c[3] if len(c) > 3 else None, bool(c[5]) if len(c) > 5 else False
                )
                for c in chosen
                if c[1] == key and c[0] in papers
            ]
            if items:
                digest.sections.append(DigestSection(key, titles.get(key, key), items))
        if reader.library:
            self._add_topics(digest, [pid for pid, _kind in reader.library])
        return digest

    def _add_topics(self, digest: Digest, library: list[str], n: int = 3, months: int = 12) -> None:
        """The reader's biggest map topics and a small chart of their papers per month (when there is a map)."""
        pm = self.pb.map
        if not pm.exists():
            return
        try:
            mine = pm.topic_counts(library)[:n]
            if not mine:
                return
            labels, per = pm.monthly()
            from paperboy.service.map_charts import topics_chart

            digest.topics = [(t.label, count) for t, count in mine]
            digest.topics_chart = topics_chart(labels[-months:], [(t.label, per[t.id, -months:]) for t, _c in mine])
        except Exception:  # the chart is a garnish: a digest goes out without it rather than not at all
            log.exception("drawing the reader's topics for a digest failed")

    def _recommend(
        self, sub: Subscription, since, as_of, exclude: set[str], slots: int, chosen: list, cap: int
    ) -> None:
        """Each digest profile's section: matches of its saved searches (other than the default profile's, which
        have the searches section), its recommendations and a share of exploration picks."""
        from paperboy.ranking.recommend import explore

        rec = self.recommender
        searches = sub.options.searches
        profiles = [p for p in self.pb.profiles.of(sub.user_id) if p.in_digest]
        readers = [(p, rec.reader(sub.user_id, p.id)) for p in profiles]
        readers = [(p, r) for p, r in readers if r.library or (searches and r.searches and not p.is_default)]
        if not readers:
            return
        pool = rec.pool(since, as_of)
        per_profile = max(1, slots // len(readers))
        share = self.settings.digest_explore_share
        for prof, reader in readers:
            n_explore = max(1, round(per_profile * share)) if share > 0 and per_profile > 1 else 0
            mine = exclude | reader.excluded()
            key = f"recommended:{prof.id}"
            title = SECTIONS["recommended"] if prof.is_default else f"For your {prof.name} profile"
            room = max(0, cap - len(chosen))
            matches = rec.search_matches(reader, since, as_of) if searches and not prof.is_default else {}
            recs = rec.rank(reader, pool, mine, min(per_profile - n_explore, room), matches)
            for r in recs:
                chosen.append((r.id, key, r.reason, prof.id, title, False))
                exclude.add(r.id)
            room = max(0, cap - len(chosen))
            if n_explore and room:
                scores = rec.profile_scores(reader, pool)
                if scores is not None:
                    well_rated = rec.trending("month", 100)
                    for r in explore(pool.ids, scores, well_rated, min(n_explore, room), exclude | mine):
                        chosen.append((r.id, key, r.reason, prof.id, title, True))
                        exclude.add(r.id)

    def _sent_ids(self, sub_id: int) -> set[str]:
        if not sub_id:
            return set()
        with self.store.reading() as conn:
            payloads = _sql.sent_payloads(conn, sub_id, self.now() - timedelta(days=SENT_MEMORY_DAYS))
        return {it["id"] for p in payloads for it in (p.get("items") or [])}
