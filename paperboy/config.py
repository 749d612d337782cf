"""Every setting, declared once with its default and help text (env vars `PAPERBOY_*`)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Literal

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    return Path(user_data_dir("paperboy", appauthor=False))


MIN_SECRET_KEY = 32
GENERATE_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
# Keys copied from docs and tutorials: anyone who read them could sign sessions and CSRF tokens.
PLACEHOLDER_KEYS = frozenset(
    {
        "changeme",
        "change-me",
        "change_me",
        "changethis",
        "secret",
        "secretkey",
        "secret-key",
        "secret_key",
        "dev",
        "development",
        "test",
        "testing",
        "password",
        "paperboy",
        "default",
        "example",
        "insecure",
        "replace-me-with-a-long-random-string-of-64-characters-or-more",  # the README's example
    }
)


def production_problems(settings: Settings) -> list[str]:
    """Why these settings are unsafe to serve other people with (empty when they are fine)."""
    out = []
    key = settings.secret_key
    fix = f"generate one with: {GENERATE_KEY}"
    if not key:
        out.append(f"PAPERBOY_SECRET_KEY is not set; {fix}")
    elif key.strip().lower() in PLACEHOLDER_KEYS:
        out.append(f"PAPERBOY_SECRET_KEY is a well-known placeholder; {fix}")
    elif len(key) < MIN_SECRET_KEY:
        out.append(f"PAPERBOY_SECRET_KEY is shorter than {MIN_SECRET_KEY} characters; {fix}")
    elif len(set(key)) < 8:  # "xxxxxxxx...", "abababab...": long but guessable
        out.append(f"PAPERBOY_SECRET_KEY is too repetitive to be random; {fix}")
    if settings.cookie_secure == "never":
        out.append(
            "PAPERBOY_COOKIE_SECURE=never would send session cookies over plain HTTP; use 'auto' "
            "(behind a proxy: paperboy serve --proxy-headers) or 'always'"
        )
    return out


def load_secret_key(settings: Settings) -> bytes:
    """The configured secret key, else one created once in <home>/secret_key (mode 0600).

    One key per instance, shared by the web app (sessions, CSRF) and email (signed digest links).
    """
    if settings.secret_key:
        return settings.secret_key.encode()
    path = Path(settings.home) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
        try:  # two processes starting at once: the first rename wins, both then read the same key
            os.link(path.with_suffix(".tmp"), path)
        except FileExistsError:
            pass
        finally:
            path.with_suffix(".tmp").unlink(missing_ok=True)
    return path.read_text().strip().encode()


class Settings(BaseSettings):
    """paperboy's configuration; built by the CLI or app factory, never at import time.

    Each setting is an attribute with its type, bounds and default; the docstring under it is its help
    text (pydantic's use_attribute_docstrings makes it the field's description).
    """

    model_config = SettingsConfigDict(env_prefix="PAPERBOY_", extra="ignore", use_attribute_docstrings=True)

    environment: Literal["development", "production"] = "development"
    """'production' refuses to start without a strong PAPERBOY_SECRET_KEY (32+ characters, not a placeholder)
    or with cookie_secure='never'; 'development' creates a key in <home>/secret_key."""

    home: Path = Field(default_factory=default_home)
    """Data directory holding the database and index files."""
    database_url: str | None = None
    """SQLAlchemy URL of the store; default: SQLite file paperboy.db under home."""
    embedding_model: str = "default"
    """sentence-transformers model name or path; 'default' is the packaged all-MiniLM-L6-v2."""
    embedding_backend: Literal["auto", "onnx", "torch"] = "auto"
    """How the embedding model runs: 'auto' uses ONNX Runtime for the packaged default model (no PyTorch at
    run time; exported once into <home>/index/encoders) and sentence-transformers for any other model;
    'torch' forces sentence-transformers."""
    batch_size: Annotated[int, Field(ge=1, le=100_000)] = 2000
    """Papers per ingest transaction."""
    ingest_index_min_bytes: Annotated[int, Field(ge=0)] = 32 << 20
    """`paperboy ingest` of inputs at least this large builds the keyword index while it stores (in a second
    process following the store), instead of after storing; smaller inputs are indexed afterwards."""
    ingest_index_every: Annotated[int, Field(ge=1)] = 20_000
    """Stored papers between two rounds of that keyword indexing beside an ingest."""

    @model_validator(mode="after")
    def _safe_for_production(self) -> Settings:
        if self.environment == "production":
            problems = production_problems(self)
            if problems:
                raise ValueError("unsafe settings for environment=production: " + "; ".join(problems))
        return self

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'paperboy.db'}"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    # -- web, accounts and community (appended for the web app) ------------------------------
    secret_key: str | None = None
    """Key signing session and CSRF tokens; default: a random key created once in <home>/secret_key (give
    every process behind a load balancer the same one)."""
    cookie_secure: Literal["auto", "always", "never"] = "auto"
    """Mark cookies Secure: 'auto' when the request came over HTTPS (behind a proxy, run uvicorn with
    --proxy-headers), 'always' or 'never'."""
    session_days: Annotated[int, Field(ge=1, le=3650)] = 30
    """Days a login session lasts."""
    login_max_failures: Annotated[int, Field(ge=1, le=1000)] = 5
    """Failed logins allowed per email and client address within login_window_minutes; more are refused
    with HTTP 429."""
    login_window_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 15
    """Window in minutes for counting failed logins."""
    signup_max_per_hour: Annotated[int, Field(ge=1, le=100000)] = 5
    """Accounts one client address may create per hour; more are refused with HTTP 429."""
    vote_max_per_hour: Annotated[int, Field(ge=1, le=1000000)] = 300
    """Upvotes and un-votes one client address may cast per hour; more are refused with HTTP 429."""
    verify_hours: Annotated[int, Field(ge=1, le=24 * 30)] = 48
    """Hours an email-verification link stays valid (votes count only from verified accounts)."""
    reset_hours: Annotated[int, Field(ge=1, le=24 * 7)] = 2
    """Hours a password-reset link stays valid (it also dies once used)."""
    trending_gravity: Annotated[float, Field(ge=0.0, le=10.0)] = 1.8
    """Gravity G of the trending score votes / (age_hours + 2) ** G; higher favours newer papers (Hacker
    News uses 1.8)."""
    arxiv_api_url: str = "https://export.arxiv.org/api/query"
    """arXiv export API endpoint used to fetch submitted papers."""
    arxiv_min_interval: Annotated[float, Field(ge=0.0, le=600.0)] = 3.0
    """Seconds between requests to the arXiv API (arXiv asks for at least 3)."""
    max_submissions_per_day: Annotated[int, Field(ge=0, le=100_000)] = 50
    """Papers one account may submit per 24 hours."""

    # -- email digests (appended for issue 5) -------------------------------------------------------
    base_url: str = "http://localhost:8000"
    """Public URL of the web app, used for links in emails (paper pages, confirm, unsubscribe)."""
    mail_from: str = "paperboy <paperboy@localhost>"
    """From address of digest and confirmation emails; its domain also ends each Message-ID."""
    smtp_host: str = "localhost"
    """SMTP server that delivers digests."""
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 25
    """SMTP port (587 for STARTTLS, 465 for SSL)."""
    smtp_security: Literal["none", "starttls", "ssl"] = "none"
    """Connection security: 'starttls' upgrades a plain connection, 'ssl' is TLS from the first byte
    (SMTPS); 'none' only for a relay on localhost."""
    smtp_user: str | None = None
    """SMTP login; no AUTH when unset."""
    smtp_password: SecretStr | None = None
    """SMTP password for smtp_user."""
    smtp_timeout: Annotated[float, Field(gt=0.0, le=600.0)] = 30.0
    """Seconds to wait for the SMTP server on connect and on each reply before giving up (the digest stays
    queued and is retried)."""
    digest_hour: Annotated[int, Field(ge=0, le=23)] = 8
    """Default local hour at which digests go out (subscribers may choose)."""
    digest_timezone: str = "UTC"
    """Default IANA time zone of new subscriptions, e.g. Europe/Berlin."""
    digest_weekday: Annotated[int, Field(ge=0, le=6)] = 0
    """Default day of weekly digests: 0 = Monday ... 6 = Sunday."""
    digest_max_papers: Annotated[int, Field(ge=1, le=200)] = 20
    """Most papers in one digest, all sections together."""
    digest_explore_share: Annotated[float, Field(ge=0.0, le=0.5)] = 0.1
    """Share of each profile's recommended digest slots given to well-rated papers outside the profile
    (marked as such), so a profile does not close in on itself; 0 turns exploration off."""
    digest_max_attempts: Annotated[int, Field(ge=1, le=100)] = 6
    """Delivery attempts of one email on temporary (4xx) SMTP errors before it is marked failed."""
    digest_retry_minutes: Annotated[float, Field(ge=0.0, le=24 * 60)] = 5.0
    """Wait before the first retry after a temporary SMTP error; doubles with each attempt (at most 6 h)."""
    digest_expire_hours: Annotated[int, Field(ge=1, le=24 * 30)] = 48
    """A digest still undelivered this many hours after it was planned is dropped as stale, not sent late."""
    bounce_threshold: Annotated[int, Field(ge=1, le=100)] = 3
    """Permanent (5xx) failures in a row after which an address is marked bouncing and gets no more
    digests."""
    confirm_hours: Annotated[int, Field(ge=1, le=24 * 30)] = 48
    """Hours a subscription confirmation link stays valid."""
    digest_check_minutes: Annotated[float, Field(ge=0.1, le=24 * 60)] = 10.0
    """How often due digests are sent and failed ones retried, by `paperboy worker` and by the scheduler
    inside `paperboy serve` (single process, without --no-digests); the worker also fetches queued web
    submissions at this pace."""
    admin_emails: list[str] = Field(default_factory=list)
    """Accounts allowed to preview anyone's digest on the web (JSON list in the env var, e.g.
    PAPERBOY_ADMIN_EMAILS='["me@example.org"]')."""

    # -- following arXiv and Hugging Face (appended for issue 12) ------------------------------------
    follow: list[str] | None = None
    """arXiv categories or archives to harvest every day, e.g. PAPERBOY_FOLLOW='["cs.CL", "stat.ML"]';
    default: the primary categories of the papers held. The admin page can change it (kept in the
    database)."""
    arxiv_oai_url: str = "https://oaipmh.arxiv.org/oai"
    """arXiv OAI-PMH endpoint harvested for new papers."""
    hf_api_url: str = "https://huggingface.co"
    """Hugging Face base URL whose /api/daily_papers?date= is harvested for upvotes and code links."""
    harvest_contact: str | None = None
    """Contact address sent in the User-Agent of harvest requests (arXiv asks harvesters for one); default:
    the address of mail_from."""
    harvest_min_interval: Annotated[float, Field(ge=0.0, le=600.0)] = 3.0
    """Seconds between two harvest requests to the same service (arXiv asks for at least 3)."""
    harvest_interval_hours: Annotated[float, Field(ge=0.0, le=24 * 7)] = 6.0
    """`paperboy worker` harvests at start and then every this many hours; 0 turns harvesting off."""
    harvest_initial_days: Annotated[int, Field(ge=1, le=3650)] = 7
    """Days back the first harvest of a set (no watermark yet) starts from; Hugging Face days this recent
    are also fetched again on every harvest, as their upvotes change."""
    harvest_max_retries: Annotated[int, Field(ge=0, le=100)] = 5
    """Retries of one harvest request after 503/429/5xx answers or network errors, waiting Retry-After or
    an exponential backoff; then the harvest stops with one line and is retried next time."""
    harvest_backoff: Annotated[float, Field(ge=0.0, le=3600.0)] = 5.0
    """Seconds waited after the first failed harvest request; doubles with each retry (at most 5 min)."""
    harvest_timeout: Annotated[float, Field(gt=0.0, le=3600.0)] = 60.0
    """Seconds to wait for a harvest answer before retrying."""
