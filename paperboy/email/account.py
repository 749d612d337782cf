"""Account emails (address verification, password reset): composed here, sent over SMTP right away.

They are not digests: no subscription, no outbox row. A failed send is logged and the person asks
again from the page (settings: "send the link again"; "forgot password"), which is what they would
do anyway with an email that never came.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

from paperboy.email.compose import _message
from paperboy.email.send import SmtpFailure, SmtpSender

log = logging.getLogger("paperboy.email")

VERIFY_TEXT = """Hello,

someone (we hope you) created a paperboy account, or changed its email, to {email}.
Follow this link to confirm the address; your upvotes count from then on:

{url}

The link works for {hours} hours. If this was not you, ignore this email.
"""

RESET_TEXT = """Hello,

someone asked to reset the password of the paperboy account {email}. Choose a new one here:

{url}

The link works for {hours} hours and only once. If this was not you, ignore this email:
your password stays as it is.
"""


def compose_account_mail(settings, to: str, subject: str, text: str) -> EmailMessage:
    """A plain account email (text, and the same text as simple HTML for clients that prefer it)."""
    from html import escape

    html = (
        '<!doctype html><html><body><pre style="font-family:sans-serif;white-space:pre-wrap">'
        + escape(text)
        + "</pre></body></html>"
    )
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "paperboy.invalid"
    return _message(
        to=to,
        subject=subject,
        mail_from=settings.mail_from,
        message_id=make_msgid("account", domain),
        date=datetime.now(timezone.utc),
        text=text,
        html=html,
    )


def verification_mail(settings, to: str, url: str) -> EmailMessage:
    text = VERIFY_TEXT.format(email=to, url=url, hours=settings.verify_hours)
    return compose_account_mail(settings, to, "Confirm your email address for paperboy", text)


def reset_mail(settings, to: str, url: str) -> EmailMessage:
    text = RESET_TEXT.format(email=to, url=url, hours=settings.reset_hours)
    return compose_account_mail(settings, to, "Reset your paperboy password", text)


def send_account_mail(settings, msg: EmailMessage) -> bool:
    """Send one account email now; False (and a log line) when the SMTP server did not take it."""
    to = parseaddr(str(msg["To"]))[1]
    try:
        with SmtpSender(settings) as sender:
            sender.send(msg, to)
        return True
    except SmtpFailure as exc:
        log.warning("account email to %s not sent: %s", to, exc)
        return False
