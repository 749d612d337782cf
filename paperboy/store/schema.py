"""The store's tables, one definition for SQLite and PostgreSQL (migrations must match it; a test checks)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
TIMESTAMP = sa.DateTime(timezone=True)
PAPER_ID = sa.String(64)  # papers.id: an arXiv id, or "pb-<hash>" for papers without one


def _keyed_by_id(name: str, *columns: sa.SchemaItem) -> sa.Table:
    """A table whose rows are keyed by an autoincrementing integer `id`, then `columns`."""
    return sa.Table(name, metadata, sa.Column("id", sa.Integer, primary_key=True, autoincrement=True), *columns)


def _of_paper(name: str, *columns: sa.Column) -> sa.Table:
    """Rows that belong to a paper, keyed by it (and by any of `columns` marked primary_key), deleted with it."""
    return sa.Table(
        name,
        metadata,
        sa.Column("paper_id", PAPER_ID, sa.ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
        *columns,
    )


def _papers_of(name: str, owner: str, owner_table: str, *columns: sa.Column, paper_index: bool = True) -> sa.Table:
    """Papers linked to an owner row (a reader's votes and marks, a collection's items, a profile's
    ratings): keyed by the pair, which is what makes a link exist once, and deleted with either side."""
    return sa.Table(
        name,
        metadata,
        sa.Column(owner, sa.Integer, sa.ForeignKey(f"{owner_table}.id", ondelete="CASCADE"), primary_key=True),
        # index=None, not False: the column then reads exactly as one declared without an index
        sa.Column(
            "paper_id",
            PAPER_ID,
            sa.ForeignKey("papers.id", ondelete="CASCADE"),
            primary_key=True,
            index=paper_index or None,
        ),
        *columns,
    )


def _owned_by_reader(name: str, name_length: int, *columns: sa.Column) -> sa.Table:
    """Things a reader names (profiles, collections): an id, the owner, a name unique per owner, then
    `columns`; deleted with the owner."""
    return _keyed_by_id(
        name,
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("name", sa.String(name_length), nullable=False),
        *columns,
        sa.UniqueConstraint("user_id", "name"),
    )


papers = sa.Table(
    "papers",
    metadata,
    sa.Column("id", PAPER_ID, primary_key=True),
    sa.Column("arxiv_id", PAPER_ID, unique=True),
    sa.Column("version", sa.Integer),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("title_key", sa.Text, nullable=False, index=True),
    sa.Column("first_author_key", sa.String(200), nullable=False, server_default=""),
    sa.Column("abstract", sa.Text, nullable=False, server_default=""),
    sa.Column("authors", sa.JSON, nullable=False),
    sa.Column("categories", sa.JSON, nullable=False),
    sa.Column("primary_category", sa.String(64), index=True),
    sa.Column("published", sa.Date),
    sa.Column("updated", sa.Date),
    sa.Column("listed", sa.Date, index=True),
    sa.Column("comment", sa.Text),
    sa.Column("doi", sa.Text),
    sa.Column("journal_ref", sa.Text),
    sa.Column("abs_url", sa.Text),
    sa.Column("pdf_url", sa.Text),
    sa.Column("code_url", sa.Text),
    sa.Column("project_url", sa.Text),
    sa.Column("upvotes", sa.Integer),
    sa.Column("submitted_by", sa.Text),
    sa.Column("github_stars", sa.Integer),
    # Rank of the source that last wrote the bibliographic fields: arXiv's own feeds outrank page dumps.
    sa.Column("meta_priority", sa.Integer, nullable=False, server_default="0"),
    sa.Column("content_hash", sa.String(40), nullable=False),
    # Store-wide change counter: indexes catch up by reading rows with seq above their high-water mark.
    sa.Column("seq", sa.BigInteger, nullable=False, index=True),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("modified_at", TIMESTAMP, nullable=False),
    # Moderation (migration 0004): a hidden paper is left out of every public surface. Ingest never
    # writes these, so re-importing a hidden paper keeps it hidden.
    sa.Column("hidden_at", TIMESTAMP, index=True),  # the index finds the few hidden ones
    sa.Column("hidden_reason", sa.Text),
)

paper_authors = _of_paper(
    "paper_authors",
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("name_key", sa.String(200), nullable=False, index=True),
)

paper_categories = _of_paper(
    "paper_categories",
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("category", sa.String(64), nullable=False, index=True),
)

paper_sources = _of_paper(
    "paper_sources",
    sa.Column("source", sa.String(32), primary_key=True),
    sa.Column("source_ref", sa.Text),
    sa.Column("first_seen", TIMESTAMP, nullable=False),
)

ingest_runs = _keyed_by_id(
    "ingest_runs",
    sa.Column("source", sa.Text, nullable=False),  # format name, or "arxiv-api"
    sa.Column("inputs", sa.Text, nullable=False),  # paths or query
    sa.Column("started_at", TIMESTAMP, nullable=False),
    sa.Column("finished_at", TIMESTAMP),
    sa.Column("status", sa.String(16), nullable=False),  # running | ok | partial | failed | interrupted
    sa.Column("added", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated", sa.Integer, nullable=False, server_default="0"),
    sa.Column("unchanged", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rejected", sa.Integer, nullable=False, server_default="0"),
    sa.Column("duplicates", sa.Integer, nullable=False, server_default="0"),
    sa.Column("message", sa.Text),
    # Who runs it and when it last wrote (migration 0005): lets the next run tell a live run from
    # one whose process was killed (paperboy.store.runs).
    sa.Column("host", sa.String(255)),
    sa.Column("pid", sa.Integer),
    sa.Column("heartbeat_at", TIMESTAMP),
)

# -- community: accounts, votes, libraries, submissions (appended for the web app) ---------------

users = _keyed_by_id(
    "users",
    sa.Column("email", sa.String(254), nullable=False, unique=True),  # stored lower-cased
    sa.Column("password_hash", sa.Text, nullable=False),  # argon2id, PHC string
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("banned_at", TIMESTAMP),  # set: cannot log in; sessions stop working (0004)
    sa.Column("verified_at", TIMESTAMP),  # email proven by a link; only then do votes count (0006)
)

sessions = sa.Table(
    "sessions",
    metadata,
    # sha256 of the cookie's token: a leaked database does not hand out live sessions.
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("expires_at", TIMESTAMP, nullable=False),
)

# The primary key is what makes "one upvote per user per paper" a database guarantee.
votes = _papers_of("votes", "user_id", "users", sa.Column("created_at", TIMESTAMP, nullable=False))

saved_papers = _papers_of(
    "saved_papers", "user_id", "users", sa.Column("created_at", TIMESTAMP, nullable=False), paper_index=False
)

saved_searches = _keyed_by_id(
    "saved_searches",
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column(
        "filters", sa.JSON, nullable=False
    ),  # {"categories": [...], "since": "...", "until": "...", "sort": "..."}
    sa.Column("created_at", TIMESTAMP, nullable=False),
    # The interest profile the search belongs to (0009); NULL = the reader's default profile.
    sa.Column("profile_id", sa.Integer, sa.ForeignKey("profiles.id", ondelete="CASCADE"), index=True),
)

submissions = _keyed_by_id(
    "submissions",
    sa.Column("arxiv_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), index=True),
    sa.Column("state", sa.String(16), nullable=False, index=True),  # queued | done | failed | duplicate
    sa.Column("message", sa.Text),
    sa.Column("paper_id", sa.String(64)),  # the stored paper once known (no FK: it may not exist yet)
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
)

login_failures = _keyed_by_id(
    "login_failures",
    sa.Column("email", sa.String(254), nullable=False, index=True),
    sa.Column("client", sa.String(64), nullable=False),  # client IP address
    sa.Column("at", TIMESTAMP, nullable=False),
)

# -- email digests: subscriptions, outbox, "not interested" marks (appended for issue 5) -----------

subscriptions = _keyed_by_id(
    "subscriptions",
    sa.Column("email", sa.String(254), nullable=False, unique=True),  # ASCII: lower-cased, IDNA domain
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), index=True),
    sa.Column("state", sa.String(16), nullable=False, index=True),  # pending | active | unsubscribed | bouncing
    sa.Column("frequency", sa.String(8), nullable=False),  # daily | weekly
    sa.Column("send_hour", sa.Integer, nullable=False),  # local hour, 0-23
    sa.Column("weekday", sa.Integer, nullable=False),  # weekly digests: 0 = Monday
    sa.Column("timezone", sa.String(64), nullable=False),  # IANA name
    sa.Column("include_trending", sa.Boolean, nullable=False),
    sa.Column("include_searches", sa.Boolean, nullable=False),
    sa.Column("include_recommended", sa.Boolean, nullable=False),
    sa.Column("categories", sa.JSON, nullable=False),  # followed categories
    sa.Column("authors", sa.JSON, nullable=False),  # followed author names
    # Rotated by every subscribe request, so only the newest confirmation link works.
    sa.Column("nonce", sa.String(32), nullable=False),
    sa.Column("bounces", sa.Integer, nullable=False, server_default="0"),  # permanent failures in a row
    # Opt-in (migration 0010): email this confirmed address about new comments on papers its user discussed.
    sa.Column("comment_emails", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("confirmed_at", TIMESTAMP),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
)

# One row per email to send. The unique (subscription, period) pair is what makes a rerun after a
# crash finish the job instead of planning the same digest twice.
digest_outbox = _keyed_by_id(
    "digest_outbox",
    sa.Column("subscription_id", sa.Integer, sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # digest | confirm
    sa.Column("period", sa.String(40), nullable=False),  # "2026-11-26", "2026-W48", "confirm-<nonce>"
    # pending | sending | sent | failed | skipped | expired
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", TIMESTAMP, nullable=False),
    sa.Column("claimed_by", sa.String(200)),  # "host:pid" of the run sending it
    sa.Column("claimed_at", TIMESTAMP),
    sa.Column("message_id", sa.String(255), nullable=False),  # deterministic: a resend carries the same id
    sa.Column("payload", sa.JSON),  # digest: chosen papers and reasons (fixed once chosen); confirm: options
    sa.Column("error", sa.Text),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    sa.Column("sent_at", TIMESTAMP),
    sa.UniqueConstraint("subscription_id", "period"),
)

not_interested = _papers_of(
    "not_interested", "user_id", "users", sa.Column("created_at", TIMESTAMP, nullable=False), paper_index=False
)

# -- moderation: who hid, unhid, banned or unbanned what, and why (appended for migration 0004) --------

moderation_log = _keyed_by_id(
    "moderation_log",
    sa.Column("at", TIMESTAMP, nullable=False, index=True),
    # The admin; kept as an email too, so the log still names them if the account is deleted.
    sa.Column("actor_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("actor_email", sa.String(254), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),  # hide_paper | unhide_paper | ban_user | unban_user
    sa.Column("paper_id", sa.String(64)),  # no FK: the log outlives the paper
    sa.Column("user_id", sa.Integer),  # the account acted on; no FK for the same reason
    sa.Column("user_email", sa.String(254)),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("detail", sa.Text),  # e.g. "removed 37 votes"
)

# -- discussions and collections (appended for issue 15, migration 0010) ---------------------------

comments = _keyed_by_id(
    "comments",
    sa.Column("paper_id", PAPER_ID, sa.ForeignKey("papers.id", ondelete="CASCADE"), nullable=False, index=True),
    # NULL once its account is deleted: the comment stays as "[deleted]" so its replies keep their place (0012).
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True),
    # No FK: a deleted comment keeps its row (body cleared) so replies keep their place in the thread.
    sa.Column("parent_id", sa.Integer),
    sa.Column("depth", sa.Integer, nullable=False, server_default="0"),
    sa.Column("body", sa.Text, nullable=False),  # markdown source; rendered and sanitised on the way out
    sa.Column("created_at", TIMESTAMP, nullable=False, index=True),
    sa.Column("edited_at", TIMESTAMP),
    sa.Column("deleted_at", TIMESTAMP),  # by its author
    sa.Column("hidden_at", TIMESTAMP),  # by a moderator
    sa.Column("hidden_reason", sa.Text),
)

collections = _owned_by_reader(
    "collections",
    200,
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("public", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
)

collection_items = _papers_of(
    "collection_items",
    "collection_id",
    "collections",
    sa.Column("note", sa.Text),
    sa.Column("added_at", TIMESTAMP, nullable=False),
)

# -- per-client-address rate limits for sign-ups and votes (migration 0006) ----------------------------

client_events = _keyed_by_id(
    "client_events",
    sa.Column("action", sa.String(16), nullable=False),  # signup | vote
    sa.Column("client", sa.String(64), nullable=False),  # client IP address
    sa.Column("at", TIMESTAMP, nullable=False),
    sa.Index("ix_client_events_action_client_at", "action", "client", "at"),
)

# -- following arXiv and Hugging Face (appended for migration 0007) ---------------------------------

# One row per (source, scope): scope is the OAI set for arXiv ("cs", "math", ...), "" for Hugging Face.
harvest_state = sa.Table(
    "harvest_state",
    metadata,
    sa.Column("source", sa.String(32), primary_key=True),  # arxiv | hf
    sa.Column("scope", sa.String(64), primary_key=True),
    sa.Column("watermark", sa.Date),  # every record up to this datestamp (day) is in
    # A harvest in progress: the token of the next page and the window it belongs to, saved after
    # each stored page, so a crash resumes at that page instead of starting again.
    sa.Column("resume_token", sa.Text),
    sa.Column("resume_from", sa.Date),
    sa.Column("resume_until", sa.Date),
    sa.Column("last_attempt_at", TIMESTAMP),
    sa.Column("last_success_at", TIMESTAMP),
    sa.Column("last_error", sa.Text),
    sa.Column("last_error_at", TIMESTAMP),
)

# Settings an admin changes at run time (e.g. the followed categories); they override the environment.
instance_settings = sa.Table(
    "instance_settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    sa.Column("updated_by", sa.String(254)),
)

# What Hugging Face's daily papers say about a paper beyond the shared columns: shown as theirs.
hf_extras = _of_paper(
    "hf_extras",
    sa.Column("ai_summary", sa.Text),
    sa.Column("ai_keywords", sa.JSON),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
)

# -- interest profiles: several named interests per reader, each with its own ratings (0009) ---------------

profiles = _owned_by_reader(
    "profiles",
    80,
    # The default profile also learns from the reader's upvotes, saved papers and "not interested" marks.
    sa.Column("is_default", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("in_digest", sa.Boolean, nullable=False, server_default=sa.true()),  # has a digest section
    sa.Column("created_at", TIMESTAMP, nullable=False),
)

# One rating per paper per profile: +1 (thumbs up, imported, picked) or -1 (thumbs down). The primary
# key is what makes a replayed feedback link change nothing.
profile_ratings = _papers_of(
    "profile_ratings",
    "profile_id",
    "profiles",
    sa.Column("rating", sa.SmallInteger, nullable=False),
    sa.Column("origin", sa.String(16), nullable=False),  # library | import | pick | web | email | api
    sa.Column("created_at", TIMESTAMP, nullable=False),
)

# -- embeddings: computed once, shared by every node (migration 0008) -------------------------------

# One row per (model, paper): the unit vector as little-endian float16 bytes (dim * 2). This table,
# not any node's index files, is the source of truth for vectors: a node builds its local vector
# index from it without running the encoder. `seq` grows with every write (per store, under the
# write lock), so a node catches up by reading rows above its high-water mark.
paper_vectors = sa.Table(
    "paper_vectors",
    metadata,
    sa.Column("paper_id", PAPER_ID, sa.ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("dim", sa.Integer, nullable=False),
    sa.Column("text_hash", sa.String(40), nullable=False),  # sha1 of the embedded text
    sa.Column("vector", sa.LargeBinary, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("model", "paper_id"),
    sa.Index("ix_paper_vectors_model_seq", "model", "seq"),
)
