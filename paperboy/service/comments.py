"""Discussions: threaded comments under papers, markdown rendered safely, with rate limits, a spam check and moderation.

The SQL lives in `paperboy.store.comments`. Bodies are stored as the author wrote them (minus control
characters) and rendered on the way out: markdown-it (raw HTML off) then nh3, so a change of the allowed
tags applies to old comments too. TeX math ($...$) passes through untouched for KaTeX in the browser.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import nh3
from markdown_it import MarkdownIt

from paperboy.store import Store
from paperboy.store import comments as _sql
from paperboy.store import community as _users
from paperboy.store import digests as _outbox
from paperboy.store import moderation as _mod

MAX_BODY = 10_000  # characters of markdown
MAX_DEPTH = 6  # replies deeper than this join their parent's level, so threads never march off the page
MAX_LINKS = 5  # more links than this in one comment reads as spam
PER_HOUR, PER_DAY = 20, 100  # comments per account
THREAD_LIMIT = 2000

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ue000\ue001\ud800-\udfff\ufffe\uffff]")
_MATH = re.compile(r"\$\$[^$]{1,2000}\$\$|\$[^$\n]{1,500}\$|\\\([^\n]{1,500}?\\\)|\\\[[\s\S]{1,2000}?\\\]")
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")
_URL = re.compile(r"https?://|www\.", re.IGNORECASE)
_WORD = re.compile(r"\w+")
_TAGS = {
    "p",
    "br",
    "em",
    "strong",
    "del",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "hr",
    "h3",
    "h4",
    "h5",
    "h6",
    "span",
}


def _shown(row: Any, viewer: Any) -> bool:
    """Whether `viewer` sees this row: as for votes, a comment counts for others once its author confirmed
    their email; until then only its author sees it. A deleted account's "[deleted]" rows have no author."""
    if row.user_id is None or row.author_verified_at is not None:
        return True
    return viewer is not None and viewer.id == row.user_id


class CommentError(ValueError):
    """A comment the rules refuse; the message is safe and meant for the user."""


class CommentNotFound(CommentError):
    """No such comment (or paper), or not one the viewer may see."""


class CommentForbidden(CommentError):
    """The comment belongs to someone else."""


class CommentRateLimited(CommentError):
    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(slots=True)
class Comment:
    """A comment as readers see it: `html` is sanitised; `body` is the markdown source (empty when not readable)."""

    id: int
    paper_id: str
    parent_id: int | None
    depth: int
    author: str
    body: str
    html: str
    state: str  # live | deleted | hidden
    created_at: datetime
    edited_at: datetime | None
    mine: bool = False
    paper_title: str | None = None
    hidden_reason: str | None = None


def _aware(dt: datetime | None) -> datetime | None:
    return dt.replace(tzinfo=timezone.utc) if dt is not None and dt.tzinfo is None else dt


def display_name(user_id: int) -> str:
    """What other readers see of an account: a stable pseudonym, nothing of its email address."""
    return "reader-" + hashlib.sha256(f"paperboy-reader:{user_id}".encode()).hexdigest()[:6]


_md = MarkdownIt("commonmark", {"html": False, "maxNesting": 20}).disable(["image"])


def render_markdown(body: str) -> str:
    """Markdown to HTML that is safe to put in a page: no raw HTML, no scripts, links marked nofollow."""
    maths: list[str] = []

    def stash(m: re.Match) -> str:
        maths.append(m.group(0))
        return f"\ue000{len(maths) - 1}\ue001"

    rendered = _md.render(_MATH.sub(stash, body or ""))
    rendered = _PLACEHOLDER.sub(
        lambda m: f'<span class="math">{html.escape(maths[int(m.group(1))], quote=False)}</span>', rendered
    )
    return nh3.clean(
        rendered,
        tags=_TAGS,
        attributes={"a": {"href", "title"}},
        allowed_classes={"span": {"math"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow ugc noopener noreferrer",
        strip_comments=True,
    )


def clean_body(body: str | None) -> str:
    """The body as stored: line breaks normalised, control characters removed, trailing space trimmed."""
    text = (body or "").replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).strip()


def spam_reason(body: str, recent_bodies: Sequence[str]) -> str | None:
    """Why a comment looks like spam (too many links, repeated text), or None."""
    if len(_URL.findall(body)) > MAX_LINKS:
        return f"Too many links in one comment (at most {MAX_LINKS})."
    if any(body == b for b in recent_bodies):
        return "You posted exactly this a moment ago."
    words = [w.lower() for w in _WORD.findall(body)]
    if len(words) >= 20 and max(words.count(w) for w in set(words)) > len(words) // 2:
        return "This comment repeats the same word over and over."
    if len(body) >= 200 and len(set(body)) <= 3:
        return "This comment repeats the same characters over and over."
    return None


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Comments:
    """Threaded discussions over one Store; `is_admin` says who may hide comments."""

    def __init__(
        self,
        store: Store,
        is_admin: Callable[[Any], bool] = lambda user: False,
        clock: Callable[[], datetime] = _utcnow,
        *,
        secret: bytes = b"",
        mail_domain: str = "paperboy.invalid",
    ):
        self.store = store
        self.is_admin = is_admin
        self.clock = clock
        self.mail_domain = mail_domain
        from itsdangerous import URLSafeSerializer

        self._off = URLSafeSerializer(secret or b"unset", salt="comment-emails-off")

    def _comment(self, row: Any, viewer: Any = None, admin: bool = False) -> Comment:
        state = "deleted" if row.deleted_at is not None else "hidden" if row.hidden_at is not None else "live"
        readable = state == "live" or (state == "hidden" and admin)
        body = row.body if readable else ""
        return Comment(
            id=row.id,
            paper_id=row.paper_id,
            parent_id=row.parent_id,
            depth=row.depth,
            author=display_name(row.user_id) if state != "deleted" else "[deleted]",
            body=body,
            html=render_markdown(body) if readable else "",
            state=state,
            created_at=_aware(row.created_at),
            edited_at=_aware(row.edited_at),
            mine=viewer is not None and viewer.id == row.user_id and state == "live",
            paper_title=getattr(row, "paper_title", None),
            hidden_reason=row.hidden_reason if admin else None,
        )

    def _paper_id(self, key: str, include_hidden: bool = False) -> str:
        paper = self.store.get(key, include_hidden=include_hidden) if key and len(key) <= 200 else None
        if paper is None:
            raise CommentNotFound(f"No paper with id {key[:80]!r}.")
        return paper.id

    # -- reading --------------------------------------------------------------------------------------
    def thread(self, paper_key: str, viewer: Any = None, *, include_hidden_paper: bool = False) -> list[Comment]:
        """A paper's comments in reading order (each reply after its parent), with their depth."""
        paper_id = self._paper_id(paper_key, include_hidden_paper)
        with self.store.reading() as conn:
            rows = _sql.thread(conn, paper_id, THREAD_LIMIT)
        admin = self.is_admin(viewer)
        rows = [r for r in rows if _shown(r, viewer)]
        children: dict[int | None, list[Any]] = {}
        ids = {r.id for r in rows}
        for r in rows:
            children.setdefault(r.parent_id if r.parent_id in ids else None, []).append(r)
        out: list[Comment] = []
        stack = list(reversed(children.get(None, [])))
        while stack:  # iterative depth-first walk: deep threads cannot exhaust the recursion limit
            r = stack.pop()
            kids = children.get(r.id, [])
            if r.deleted_at is not None and not kids:
                continue  # a deleted leaf says nothing
            out.append(self._comment(r, viewer, admin))
            stack.extend(reversed(kids))
        return out

    def get(self, comment_id: int, viewer: Any = None) -> Comment:
        with self.store.reading() as conn:
            row = _sql.comment_by_id(conn, comment_id)
        if row is None or self.store.get(row.paper_id) is None or not _shown(row, viewer):
            raise CommentNotFound(f"No comment {comment_id}.")
        return self._comment(row, viewer, self.is_admin(viewer))

    def counts(self, paper_ids: Sequence[str]) -> dict[str, int]:
        if not paper_ids:
            return {}
        with self.store.reading() as conn:
            return _sql.counts(conn, paper_ids)

    def recent(self, limit: int = 50, offset: int = 0) -> tuple[list[Comment], int]:
        """The newest readable comments anywhere, newest first, and how many there are."""
        with self.store.reading() as conn:
            rows, total = _sql.recent(conn, limit, offset)
        return [self._comment(r) for r in rows], total

    def commenters(self, paper_id: str, exclude_user: int | None = None) -> list[tuple[int, str]]:
        """(user id, email) of everyone with a live comment on the paper, for notifications."""
        with self.store.reading() as conn:
            rows = _sql.thread(conn, paper_id, THREAD_LIMIT)
        seen: dict[int, str] = {}
        for r in rows:
            if r.deleted_at is None and r.hidden_at is None and r.user_id != exclude_user:
                seen.setdefault(r.user_id, r.author_email)
        return list(seen.items())

    # -- writing --------------------------------------------------------------------------------------
    def _check_body(self, body: str | None) -> str:
        body = clean_body(body)
        if not body:
            raise CommentError("Write something first: the comment is empty.")
        if len(body) > MAX_BODY:
            raise CommentError(f"The comment is too long ({len(body):,} characters); the limit is {MAX_BODY:,}.")
        return body

    def _check_author(self, conn, user: Any, body: str, now: datetime, editing: int | None = None) -> None:
        row = _users.user_by_id(conn, user.id)
        if row is None or row.banned_at is not None:
            raise CommentForbidden("This account cannot comment.")
        recent = _sql.user_comments_since(conn, user.id, now - timedelta(days=1))
        if editing is None:
            hour = [r for r in recent if _aware(r.created_at) > now - timedelta(hours=1)]
            if len(hour) >= PER_HOUR or len(recent) >= PER_DAY:
                window = hour if len(hour) >= PER_HOUR else recent
                oldest = min(_aware(r.created_at) for r in window)
                span = timedelta(hours=1) if window is hour else timedelta(days=1)
                retry = max(1, int((oldest + span - now).total_seconds()) + 1)
                raise CommentRateLimited(
                    f"You are commenting very fast; try again in {retry // 60 + 1} minutes.", retry
                )
        reason = spam_reason(body, [r.body for r in recent if r.id != editing])
        if reason:
            raise CommentError(reason)

    def add(self, user: Any, paper_key: str, body: str | None, parent_id: int | None = None) -> Comment:
        """Post a comment (or a reply to `parent_id`) as `user`."""
        paper_id = self._paper_id(paper_key)
        body = self._check_body(body)
        now = self.clock()
        with self.store.writing() as conn:
            self._check_author(conn, user, body, now)
            depth = 0
            if parent_id is not None:
                parent = _sql.comment_by_id(conn, parent_id)
                if parent is None or parent.paper_id != paper_id:
                    raise CommentNotFound(f"No comment {parent_id} under this paper to reply to.")
                if parent.hidden_at is not None or parent.deleted_at is not None:
                    raise CommentError("That comment was removed; reply to the paper instead.")
                depth = parent.depth + 1
                if depth > MAX_DEPTH:  # reply beside the parent instead of ever deeper
                    parent_id, depth = parent.parent_id, parent.depth
            cid = _sql.insert_comment(
                conn, paper_id=paper_id, user_id=user.id, parent_id=parent_id, depth=depth, body=body, now=now
            )
            # Opted-in earlier commenters get one email each, through the digest outbox (retries, bounces).
            _outbox.insert_outbox(  # nobody is told of a comment others cannot see yet (unverified author)
                conn,
                [
                    {
                        "subscription_id": t.id,
                        "kind": "comment",
                        "period": f"comment-{cid}",
                        "state": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "message_id": f"<comment.{t.id}.{cid}@{self.mail_domain}>",
                        "payload": {"comment_id": cid},
                        "created_at": now,
                        "updated_at": now,
                    }
                    for t in (_sql.notify_targets(conn, paper_id, user.id) if user.verified else [])
                ],
            )
            row = _sql.comment_by_id(conn, cid)
        return self._comment(row, user)

    def _own(self, conn, user: Any, comment_id: int) -> Any:
        row = _sql.comment_by_id(conn, comment_id)
        if row is None or row.deleted_at is not None or self.store.get(row.paper_id) is None:
            raise CommentNotFound(f"No comment {comment_id}.")
        if user is None or row.user_id != user.id:
            raise CommentForbidden("You can only change your own comments.")
        if row.hidden_at is not None:
            raise CommentForbidden("A moderator hid this comment; it cannot be changed.")
        return row

    def edit(self, user: Any, comment_id: int, body: str | None) -> Comment:
        body = self._check_body(body)
        now = self.clock()
        with self.store.writing() as conn:
            self._own(conn, user, comment_id)
            self._check_author(conn, user, body, now, editing=comment_id)
            _sql.update_body(conn, comment_id, body, now)
            row = _sql.comment_by_id(conn, comment_id)
        return self._comment(row, user)

    def delete(self, user: Any, comment_id: int) -> None:
        with self.store.writing() as conn:
            self._own(conn, user, comment_id)
            _sql.mark_deleted(conn, comment_id, self.clock())

    # -- comment emails -------------------------------------------------------------------------------
    def comment_emails(self, user: Any) -> bool | None:
        """Whether the user gets emails about new comments (None: no confirmed digest subscription to send to)."""
        with self.store.reading() as conn:
            return _sql.comment_emails_of(conn, user.id)

    def set_comment_emails(self, user: Any, on: bool) -> None:
        with self.store.writing() as conn:
            if not _sql.set_comment_emails(conn, on=on, user_id=user.id):
                raise CommentError("Comment emails go to a confirmed address: subscribe to email digests first.")

    def emails_wanted(self, subscription_id: int) -> bool:
        with self.store.reading() as conn:
            return _sql.wants_comment_emails(conn, subscription_id)

    def emails_off_token(self, subscription_id: int) -> str:
        return self._off.dumps(subscription_id)

    def emails_off(self, token: str) -> None:
        """The unsubscribe link of a comment email: stop them for that subscription (idempotent)."""
        from itsdangerous import BadData

        try:
            sub_id = int(self._off.loads(token)) if token and len(token) <= 200 else None
        except (BadData, TypeError, ValueError):
            sub_id = None
        if sub_id is None:
            raise CommentNotFound("This unsubscribe link is not valid.")
        with self.store.writing() as conn:
            _sql.set_comment_emails(conn, on=False, sub_id=sub_id)

    # -- moderation -----------------------------------------------------------------------------------
    def set_hidden(self, admin: Any, comment_id: int, hidden: bool, reason: str = "") -> bool:
        """Hide or unhide a comment as an administrator, logged; False when nothing changed."""
        if not self.is_admin(admin):
            raise CommentForbidden("Only administrators can do this.")
        reason = clean_body(reason)[:500]
        if hidden and not reason:
            raise CommentError("Give a reason for hiding the comment.")
        now = self.clock()
        with self.store.writing() as conn:
            row = _sql.comment_by_id(conn, comment_id)
            if row is None:
                raise CommentNotFound(f"No comment {comment_id}.")
            changed = _sql.set_hidden(conn, comment_id, now if hidden else None, reason if hidden else None)
            if changed:
                _mod.add_log(
                    conn,
                    at=now,
                    actor_id=admin.id,
                    actor_email=admin.email,
                    action="hide_comment" if hidden else "unhide_comment",
                    paper_id=row.paper_id,
                    user_id=row.user_id,
                    user_email=row.author_email,
                    reason=reason,
                    detail=f"comment {comment_id}",
                )
        return changed
