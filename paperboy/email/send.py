"""Delivering the outbox over SMTP: one run claims, composes, sends and records each email.

Exactly-once is impossible over SMTP (the server may accept a message just before we die), so
the window is kept as small as it can be and its one ambiguous case is resolved toward delivery:

1. Plan: one outbox row per (subscription, period), unique in the database, so a rerun never
   plans a digest twice and a digest planned before a crash is still there afterwards.
2. Claim: pending -> sending in its own committed transaction (a conditional UPDATE: two
   senders can never own one row), then choose the content and store it with the row.
3. Send over SMTP with a deterministic Message-ID, then mark it sent in the next transaction.

A run killed between 2 and 3 leaves the row in 'sending'. The next run sends it again once the
dead sender is provably gone (same host, process gone) or its 15-minute lease ran out:
at-least-once. Only a kill in the milliseconds between the server's "250 OK" and our commit can
make that a duplicate, and the duplicate carries the same Message-ID, which mail clients fold
into one. Everything else, including a kill at any other moment, ends with exactly one email.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import parseaddr

from paperboy.email.compose import (
    compose_comment_notice,
    compose_confirmation,
    compose_digest,
    message_bytes,
    paper_path,
)
from paperboy.service.comments import CommentError
from paperboy.service.digest_model import Options
from paperboy.service.digests import Digests, OutboxEntry, sender_identity

log = logging.getLogger("paperboy.email")


class SmtpFailure(Exception):
    """A delivery problem, with the SMTP code when there is one."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class TemporaryFailure(SmtpFailure):
    """4xx, or the connection broke mid-message: try again later."""


class PermanentFailure(SmtpFailure):
    """5xx for this recipient or message: counts as a bounce."""


class ServerUnavailable(SmtpFailure):
    """Cannot connect, start TLS or log in (or the server refuses our sender): stop the run, lose nothing."""


def _code_failure(what: str, code: int, text: bytes | str) -> SmtpFailure:
    detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    msg = f"{what}: {code} {detail}"[:500]
    return PermanentFailure(msg, code) if 500 <= code < 600 else TemporaryFailure(msg, code)


class SmtpSender:
    """One SMTP connection reused across messages (reconnecting when it breaks)."""

    def __init__(self, settings, *, timeout: float | None = None):
        self.settings = settings
        self.timeout = timeout if timeout is not None else settings.smtp_timeout
        self.envelope_from = parseaddr(settings.mail_from)[1]
        self._conn: smtplib.SMTP | None = None

    @property
    def server(self) -> str:
        return f"{self.settings.smtp_host}:{self.settings.smtp_port}"

    def connect(self) -> None:
        s = self.settings
        try:
            if s.smtp_security == "ssl":
                conn = smtplib.SMTP_SSL(
                    s.smtp_host, s.smtp_port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                conn = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=self.timeout)
            try:
                conn.ehlo()
                if s.smtp_security == "starttls":
                    conn.starttls(context=ssl.create_default_context())
                    conn.ehlo()
                if s.smtp_user:
                    conn.login(s.smtp_user, s.smtp_password.get_secret_value() if s.smtp_password else "")
            except BaseException:
                _quietly_close(conn)
                raise
        except smtplib.SMTPAuthenticationError as e:
            raise ServerUnavailable(
                f"SMTP login to {self.server} failed: {e.smtp_code} {e.smtp_error.decode('utf-8', 'replace')}"[:500],
                e.smtp_code,
            ) from None
        except smtplib.SMTPNotSupportedError as e:
            raise ServerUnavailable(
                f"SMTP server {self.server} does not support what smtp_security/smtp_user ask for: {e}"
            ) from None
        except (smtplib.SMTPException, OSError) as e:  # refused, timed out, TLS failure, bad greeting
            raise ServerUnavailable(f"cannot reach SMTP server {self.server}: {_describe(e)}") from None
        self._conn = conn

    def send(self, msg: EmailMessage, to: str) -> None:
        """Deliver one message to one recipient; raises a SmtpFailure subclass when it was not accepted."""
        if self._conn is None:
            self.connect()
        try:
            self._conn.sendmail(self.envelope_from, [to], message_bytes(msg))
        except smtplib.SMTPRecipientsRefused as e:
            code, text = next(iter(e.recipients.values()), (550, b"refused"))
            raise _code_failure("recipient refused", code, text) from None
        except smtplib.SMTPSenderRefused as e:
            if 500 <= e.smtp_code < 600:
                raise ServerUnavailable(
                    f"SMTP server {self.server} refuses the sender {self.envelope_from}: {e.smtp_code}", e.smtp_code
                ) from None
            raise _code_failure("sender refused", e.smtp_code, e.smtp_error) from None
        except smtplib.SMTPResponseException as e:  # data refused, etc.
            raise _code_failure("message refused", e.smtp_code, e.smtp_error) from None
        except (smtplib.SMTPException, OSError) as e:  # disconnected or timed out mid-message
            self.close()
            raise TemporaryFailure(f"connection to {self.server} lost while sending: {_describe(e)}") from None

    def close(self) -> None:
        if self._conn is not None:
            _quietly_close(self._conn)
            self._conn = None

    def __enter__(self) -> SmtpSender:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _quietly_close(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        try:
            conn.close()
        except OSError:
            pass


def _describe(e: BaseException) -> str:
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "timed out"
    return str(e) or type(e).__name__


@dataclass(slots=True)
class RunReport:
    """What one `digest run` did."""

    planned: int = 0
    recovered: int = 0  # interrupted sends picked up again
    expired: int = 0
    sent: int = 0
    skipped: int = 0  # nothing new, unsubscribed meanwhile, superseded confirmations
    retry: int = 0  # temporary failures, queued with backoff
    failed: int = 0
    bouncing: int = 0  # addresses that just crossed the bounce threshold
    aborted: str | None = None  # why the run stopped early (server down); the rest stays queued
    dry_run: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        line = (
            f"planned {self.planned}, sent {self.sent}, skipped {self.skipped}, retry later {self.retry}, "
            f"failed {self.failed}, newly bouncing {self.bouncing}, recovered {self.recovered}, "
            f"expired {self.expired} in {self.seconds:.1f} s"
        )
        return line + (f"; stopped early: {self.aborted}" if self.aborted else "")


def compose_entry(digests: Digests, entry: OutboxEntry, now: datetime) -> EmailMessage | str:
    """The message for a claimed row, or the reason to skip it."""
    s, sub = digests.settings, entry.subscription
    if entry.kind == "confirm":
        payload = entry.payload or {}
        if sub.state not in ("pending", "active"):
            return f"subscription is {sub.state}"
        opts = Options.from_json(payload["options"])
        return compose_confirmation(
            sub.email,
            opts,
            confirm_url=digests.confirm_url(sub, payload["nonce"], opts),
            mail_from=s.mail_from,
            base_url=s.base_url,
            message_id=entry.message_id,
            date=now,
            valid_hours=s.confirm_hours,
        )
    if entry.kind == "comment":
        return _comment_notice(digests, entry, now)
    if sub.state != "active":
        return f"subscription is {sub.state}"
    digest = digests.content_for(entry)
    if digest.is_empty():
        return "nothing new for this period"
    return compose_digest(
        digest,
        mail_from=s.mail_from,
        base_url=s.base_url,
        unsubscribe_url=digests.unsubscribe_url(sub),
        message_id=entry.message_id,
        date=now,
    )


def compose_preview(digests: Digests, digest) -> EmailMessage:
    """The email `digest` would be sent as, composed exactly as a run would (preview in the CLI and web)."""
    s = digests.settings
    return compose_digest(
        digest,
        mail_from=s.mail_from,
        base_url=s.base_url,
        unsubscribe_url=digests.unsubscribe_url(digest.subscription),
        message_id=digests.message_id("digest", digest.subscription.id, digest.period),
        date=digests.now(),
    )


def _comment_notice(digests: Digests, entry: OutboxEntry, now: datetime) -> EmailMessage | str:
    """A new comment for an earlier commenter, unless they opted out or the comment went away meanwhile."""
    sub, s = entry.subscription, digests.settings
    comments = digests.pb.comments
    if sub.state != "active" or not comments.emails_wanted(sub.id):
        return "comment emails are off for this subscription"
    try:
        c = comments.get(int((entry.payload or {})["comment_id"]))
    except (KeyError, TypeError, ValueError, CommentError):
        return "the comment is gone"
    if c.state != "live":
        return f"the comment is {c.state}"
    paper = digests.pb.paper(c.paper_id)
    base = s.base_url.rstrip("/")
    return compose_comment_notice(
        sub.email,
        paper_title=paper.title if paper else c.paper_id,
        author=c.author,
        body_text=c.body,
        body_html=c.html,
        comment_url=f"{base}{paper_path(paper)}#comment-{c.id}" if paper else base,
        unsubscribe_url=f"{base}/discussions/emails/off/{comments.emails_off_token(sub.id)}",
        mail_from=s.mail_from,
        message_id=entry.message_id,
        date=now,
    )


def run_digests(
    digests: Digests,
    sender: SmtpSender | None = None,
    *,
    dry_run: bool = False,
    plan: bool = True,
    only_id: int | None = None,
    kind: str | None = None,
    progress: Callable[[RunReport], None] | None = None,
) -> RunReport:
    """Plan due digests and send everything due in the outbox; see the module docstring for guarantees.

    only_id / kind restrict the run to one row or one kind (the web sends a confirmation at once).
    dry_run: compose what is due and report it; nothing is written or sent.
    """
    started = time.perf_counter()
    rep = RunReport()
    if dry_run:
        digests.begin_run()
        _dry_run(digests, rep)
        rep.seconds = time.perf_counter() - started
        return rep
    if plan and only_id is None:
        digests.begin_run()  # a new run sees papers and votes added since the last one
        rep.recovered = digests.recover()
        rep.expired = digests.expire()
        rep.planned = digests.plan()
    own = sender is None
    sender = sender or SmtpSender(digests.settings)
    owner = sender_identity()
    last = 0  # one pass in id order: a row put back for a retry waits for a later run
    try:
        while rep.aborted is None:
            batch = digests.due_ids(limit=200, kind=kind, only_id=only_id, after_id=last)
            if not batch:
                break
            for row_id in batch:
                last = row_id
                entry = digests.claim(row_id, owner)
                if entry is None:
                    continue  # another sender has it
                _deliver(digests, sender, entry, rep)
                if progress is not None:
                    progress(rep)
                if rep.aborted:
                    break
    finally:
        if own:
            sender.close()
    rep.seconds = time.perf_counter() - started
    return rep


def _deliver(digests: Digests, sender: SmtpSender, entry: OutboxEntry, rep: RunReport) -> None:
    now = datetime.now(timezone.utc)
    try:
        msg = compose_entry(digests, entry, now)
    except Exception as e:  # a bug or a broken row must not stop everybody else's digest
        log.exception("composing outbox row %s failed", entry.id)
        rep.retry += digests.mark_retry(entry, f"could not compose: {type(e).__name__}: {e}") == "retry"
        return
    if isinstance(msg, str):
        digests.mark_skipped(entry, msg)
        rep.skipped += 1
        return
    try:
        sender.send(msg, entry.subscription.email)
    except ServerUnavailable as e:
        # Not this message's fault: give the attempt back and stop; the next run carries on.
        digests.mark_retry(entry, str(e), count_attempt=False)
        rep.aborted = str(e)
        return
    except TemporaryFailure as e:
        outcome = digests.mark_retry(entry, str(e))
        rep.retry += outcome == "retry"
        rep.failed += outcome == "failed"
        return
    except PermanentFailure as e:
        outcome = digests.mark_bounced(entry, str(e))
        rep.failed += 1
        rep.bouncing += outcome == "bouncing"
        return
    digests.mark_sent(entry)
    rep.sent += 1


def _dry_run(digests: Digests, rep: RunReport) -> None:
    now = digests.now()
    for sub, period in digests.due(now):
        digest = digests.build(sub, period)
        rep.planned += 1
        rep.dry_run.append(
            f"would send {sub.options.frequency} digest {period} to {sub.display_email}: {len(digest.items)} papers"
            if not digest.is_empty()
            else f"would skip {sub.display_email} ({period}): nothing new"
        )
    waiting = digests.due_ids(now, limit=100_000)
    if waiting:
        rep.dry_run.append(f"{len(waiting)} queued emails are due (confirmations and retries)")


def open_digests(pb, *, community=None, secret: bytes | None = None) -> Digests:
    """The facade's Digests, or one with another community/secret (tests)."""
    if community is None and secret is None:
        return pb.digests
    return Digests(pb, community=community or pb.community, secret=secret or pb.secret_key)


def digest_sender(pb) -> Callable[[], RunReport]:
    """A callable that sends every due digest, confirmation and retry each time it is called (the worker's)."""
    return lambda: run_digests(pb.digests)


def start_scheduler(pb, *, community=None, secret: bytes | None = None, first_run_in: float = 30.0):
    """Start an APScheduler thread that runs `run_digests` (and retries queued web submissions) every
    digest_check_minutes; returns it.

    Safe with several processes (web workers) each running one: rows are claimed atomically.
    first_run_in: seconds before the first run (lets the server finish starting).
    Call `.shutdown(wait=False)` on the returned scheduler when the server stops.
    """
    from apscheduler.schedulers.background import BackgroundScheduler

    digests = open_digests(pb, community=community, secret=secret)

    def tick() -> None:
        try:
            rep = run_digests(digests)
            if rep.sent or rep.failed or rep.retry or rep.aborted:
                log.info("digests: %s", rep.summary())
        except Exception:  # the scheduler must outlive one bad run
            log.exception("digest run failed")
        try:  # web submissions that found arXiv unreachable wait in the queue for this retry
            pb.process_submissions()
        except Exception:
            log.exception("retrying queued submissions failed")

    sched = BackgroundScheduler(timezone="UTC", daemon=True)
    sched.add_job(
        tick,
        "interval",
        minutes=pb.settings.digest_check_minutes,
        id="paperboy-digests",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(timezone.utc) + timedelta(seconds=first_run_in),
    )
    sched.start()
    return sched
