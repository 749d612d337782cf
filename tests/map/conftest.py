"""Map fixtures: a few hundred real papers from every month of the sample, embedded and mapped once per session."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from paperboy.config import Settings
from tests import homes

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "arxiv-cs-2025-2026"
PER_MONTH = 24  # 17 monthly shards: 408 papers, enough for several topics and a momentum


def write_sample(path: Path) -> Path:
    """The first PER_MONTH papers of every monthly shard, as one arxiv-jsonl file."""
    shards = sorted(CORPUS.glob("papers-*.jsonl.gz"))
    assert len(shards) >= 12, f"the sample corpus is missing under {CORPUS}"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        for shard in shards:
            with gzip.open(shard, "rt", encoding="utf-8") as f:
                for n, line in enumerate(f):
                    if n >= PER_MONTH:
                        break
                    out.write(line if line.endswith("\n") else line + "\n")
    return path


def build_map_home(home: Path, database_url: str | None = None) -> None:
    """Ingest the sample, embed it with the packaged model and build its map (seeded: the same map every run)."""
    from paperboy.service import Paperboy

    home.mkdir(parents=True, exist_ok=True)
    sample = write_sample(home.parent / "sample.jsonl.gz")
    pb = Paperboy(Settings(home=home, database_url=database_url, secret_key="test-secret"))
    try:
        assert pb.ingest([sample]).added >= 12 * PER_MONTH
        rep = pb.update_index(embed=True)
        assert rep.dense_error is None, rep.dense_error
        pb.map.build(seed=0)
    finally:
        pb.close()


@pytest.fixture(scope="session")
def map_base_home(tmp_path_factory, _pg_admin):
    with homes.base_home(tmp_path_factory, _pg_admin, "map", build_map_home) as built:
        yield built


@pytest.fixture
def map_home(map_base_home, tmp_path: Path, new_database_url) -> Path:
    return homes.copy_home(map_base_home, tmp_path / "home", new_database_url)


def map_settings(home: Path, **kw) -> Settings:
    return Settings(home=home, database_url=homes.home_database_url(home), secret_key="test-secret", **kw)
