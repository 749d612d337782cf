"""Shared fixtures: the read-only ../shared data and cheap, real paperboy instances."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PAPERBOY_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the repo; tests fail (not skip) without it, as CI always has it."""
    assert SHARED.is_dir(), f"{SHARED} is missing: tests read the sample corpus from ../shared"
    return SHARED


@pytest.fixture(scope="session")
def hf_page(shared_dir: Path) -> Path:
    return shared_dir / "corpus" / "hf-papers-search-page.txt"


@pytest.fixture(scope="session")
def arxiv_shards(shared_dir: Path) -> list[Path]:
    return sorted((shared_dir / "corpus" / "arxiv-cs-2025-2026").glob("*.jsonl.gz"))


@pytest.fixture
def pb(tmp_path: Path):
    """A Paperboy on a fresh SQLite file in tmp_path."""
    from paperboy.config import Settings
    from paperboy.service import Paperboy

    app = Paperboy(Settings(home=tmp_path / "home"))
    yield app
    app.close()
