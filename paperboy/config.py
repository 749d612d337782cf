"""Every setting, declared once with its default and help text (env vars `PAPERBOY_*`)."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    return Path(user_data_dir("paperboy", appauthor=False))


class Settings(BaseSettings):
    """paperboy's configuration; built by the CLI or app factory, never at import time."""

    model_config = SettingsConfigDict(env_prefix="PAPERBOY_", extra="ignore")

    home: Path = Field(
        default_factory=default_home,
        description="Data directory holding the database and index files.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the store; default: SQLite file paperboy.db under home.",
    )
    embedding_model: str = Field(
        default="default",
        description="sentence-transformers model name or path; 'default' is the packaged all-MiniLM-L6-v2.",
    )
    batch_size: int = Field(
        default=2000, ge=1, le=100_000, description="Papers per ingest transaction."
    )

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'paperboy.db'}"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"
