"""Digest -> MIME message, and the confirmation email. Pure: no SMTP, no database, no clock.

Messages are multipart/alternative (plain text first, then HTML with its CSS inlined, since many
mail clients drop <style> blocks), carry RFC 8058 one-click unsubscribe headers, and are turned
into bytes by `message_bytes`, which never folds a header inside a URL.
"""

from __future__ import annotations

import base64
import email.policy
import functools
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from html import escape as html_escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from paperboy.models import Paper
from paperboy.service.digest_model import Digest, Options, display_address

TEMPLATES = Path(__file__).parent / "templates"
ABSTRACT_CHARS = 320
# Headers may be 998 characters long (RFC 5322); folding at 78 would break the long signed
# unsubscribe URL into encoded words, which mail clients cannot click or POST to.
SERIALIZE_POLICY = email.policy.SMTP.clone(max_line_length=998)


@functools.cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["day"] = lambda d: d.strftime("%b %-d, %Y") if d else ""
    return env


@functools.cache
def _css() -> str:
    return (TEMPLATES / "email.css").read_text(encoding="utf-8")


def inline_css(html: str) -> str:
    """Move the stylesheet into style="" attributes (css-inline, a Rust inliner: ~1 ms a digest)."""
    import css_inline

    return css_inline.inline(html)


def paper_path(p: Paper) -> str:
    """Path of a paper's page on the web app (the same as paperboy.web.urls.paper_url; a test checks)."""
    return "/papers/" + quote(p.id or p.paper_id(), safe="/.")


def _abstract(text: str, n: int = ABSTRACT_CHARS) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1].rsplit(" ", 1)[0] + " …"


def _authors(p: Paper, n: int = 4) -> str:
    names = ", ".join(p.authors[:n])
    return names + (f" and {len(p.authors) - n} more" if len(p.authors) > n else "")


def digest_subject(digest: Digest) -> str:
    n = len(digest.items)
    kind = "daily" if digest.subscription.options.frequency == "daily" else "weekly"
    day = _env().filters["day"](digest.as_of)
    return f"Your {kind} papers: {n} pick{'s' if n != 1 else ''}" + (f" · {day}" if day else "")


def digest_context(digest: Digest, base_url: str, unsubscribe_url: str) -> dict[str, Any]:
    base = base_url.rstrip("/")
    sections = [
        {
            "title": s.title,
            "papers": [
                {
                    "title": " ".join(it.paper.title.split()),
                    "url": base + paper_path(it.paper),
                    "arxiv_url": it.paper.abs_url,
                    "pdf_url": it.paper.pdf_url,
                    "code_url": it.paper.code_url,
                    "authors": _authors(it.paper),
                    "categories": " · ".join(it.paper.categories[:3]),
                    "abstract": _abstract(it.paper.abstract),
                    "reason": it.reason,
                    "explore": it.explore,
                    # Signed links to a confirmation page: a link scanner fetching them records nothing.
                    "up_url": it.feedback[0] if it.feedback else None,
                    "down_url": it.feedback[1] if it.feedback else None,
                }
                for it in s.items
            ],
        }
        for s in digest.sections
    ]
    return {
        "subject": digest_subject(digest),
        "sections": sections,
        "as_of": digest.as_of,
        "since": digest.since,
        "schedule": digest.subscription.options.describe(),
        "email": display_address(digest.subscription.email),
        "base_url": base,
        "subscribe_url": base + "/subscribe",
        "unsubscribe_url": unsubscribe_url,
        "css": _css(),
        "topics": digest.topics,
        "chart_src": "",
    }


def render_digest(
    digest: Digest, *, base_url: str, unsubscribe_url: str, chart_src: str | None = None
) -> tuple[str, str]:
    """(plain text, HTML with inlined CSS) of a digest.

    chart_src: where the HTML finds the reader's topic chart: a "cid:" of a related part (the email),
    default a data: URI (previews in a browser).
    """
    ctx = digest_context(digest, base_url, unsubscribe_url)
    if digest.topics_chart:
        ctx["chart_src"] = chart_src or "data:image/png;base64," + base64.b64encode(digest.topics_chart).decode()
    env = _env()
    return env.get_template("digest.txt").render(ctx), inline_css(env.get_template("digest.html").render(ctx))


def _message(
    *, to: str, subject: str, mail_from: str, message_id: str, date: datetime, text: str, html: str
) -> EmailMessage:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = mail_from
    # Address() refuses CR/LF and other header injection; addresses arrive validated, this is the backstop.
    msg["To"] = Address(addr_spec=to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: vacation responders stay quiet
    msg.set_content(text, cte="quoted-printable")
    msg.add_alternative(html, subtype="html", cte="quoted-printable")
    return msg


def compose_digest(
    digest: Digest, *, mail_from: str, base_url: str, unsubscribe_url: str, message_id: str, date: datetime
) -> EmailMessage:
    """The digest email with List-Unsubscribe (+ RFC 8058 one-click) headers.

    The reader's topic chart, when there is one, is a PNG part related to the HTML (multipart/related,
    shown inline by its Content-ID): mail clients block data: URIs and remote images alike.
    """
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "paperboy.invalid"
    cid = make_msgid("topics", domain=domain) if digest.topics_chart else None
    text, html = render_digest(
        digest, base_url=base_url, unsubscribe_url=unsubscribe_url, chart_src=f"cid:{cid[1:-1]}" if cid else None
    )
    msg = _message(
        to=digest.subscription.email,
        subject=digest_subject(digest),
        mail_from=mail_from,
        message_id=message_id,
        date=date,
        text=text,
        html=html,
    )
    if cid:
        msg.get_body(preferencelist=("html",)).add_related(
            digest.topics_chart, "image", "png", cid=cid, filename="your-topics.png", disposition="inline"
        )
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["List-Id"] = f"paperboy digest <digest.{domain}>"
    return msg


def compose_confirmation(
    to: str,
    options: Options,
    *,
    confirm_url: str,
    mail_from: str,
    base_url: str,
    message_id: str,
    date: datetime,
    valid_hours: int,
) -> EmailMessage:
    """The double opt-in email: one signed link that confirms the subscription."""
    ctx = {
        "confirm_url": confirm_url,
        "schedule": options.describe(),
        "email": display_address(to),
        "options": options,
        "valid_hours": valid_hours,
        "base_url": base_url.rstrip("/"),
        "css": _css(),
    }
    env = _env()
    text = env.get_template("confirm.txt").render(ctx)
    html = inline_css(env.get_template("confirm.html").render(ctx))
    return _message(
        to=to,
        subject="Confirm your paperboy digest subscription",
        mail_from=mail_from,
        message_id=message_id,
        date=date,
        text=text,
        html=html,
    )


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as sent: CRLF line ends, headers unfolded up to 998 characters."""
    return msg.as_bytes(policy=SERIALIZE_POLICY)


def html_part(msg: EmailMessage) -> str:
    """The HTML alternative of a composed message (for previews)."""
    part = msg.get_body(preferencelist=("html",))
    return part.get_content() if part is not None else ""


def compose_comment_notice(
    to: str,
    *,
    paper_title: str,
    author: str,
    body_text: str,
    body_html: str,
    comment_url: str,
    unsubscribe_url: str,
    mail_from: str,
    message_id: str,
    date: datetime,
) -> EmailMessage:
    """One new comment on a paper the recipient discussed, with a one-click link that stops these emails."""
    title = " ".join((paper_title or "").split())[:150]  # one line: no header injection, no folding surprises
    text = (
        f"{author} commented on “{title}”:\n\n{body_text}\n\nRead and reply: {comment_url}\n\n"
        f"Stop emails about comments: {unsubscribe_url}\n"
    )
    esc = functools.partial(html_escape, quote=True)
    body = (
        f'<p><strong>{esc(author)}</strong> commented on <a href="{esc(comment_url)}">{esc(title)}</a>:</p>'
        f'<blockquote>{body_html}</blockquote><p><a href="{esc(comment_url)}">Read and reply</a></p>'
        f'<p style="font-size:12px;color:#666"><a href="{esc(unsubscribe_url)}">Stop emails about comments</a></p>'
    )
    msg = _message(
        to=to,
        subject=f"New comment on “{title}”",
        mail_from=mail_from,
        message_id=message_id,
        date=date,
        text=text,
        html=body,
    )
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return msg
