"""Map fixtures: a few hundred real papers from every month of the sample, embedded and mapped once per session."""

from __future__ import annotations

import dataclasses
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
    home.mkdir(parents=True, exist_ok=True)
    sample = write_sample(home.parent / "sample.jsonl.gz")
    with homes.service(home, database_url) as pb:
        assert pb.ingest([sample]).added >= 12 * PER_MONTH
        rep = pb.update_index(embed=True)
        assert rep.dense_error is None, rep.dense_error
        pb.map.build(seed=0)


@pytest.fixture
def map_home(base_homes, tmp_path: Path, new_database_url) -> Path:
    return base_homes.copy("map", build_map_home, tmp_path / "home", new_database_url)


def map_settings(home: Path, **kw) -> Settings:
    return homes.home_settings(home, **kw)


def map_rows(d, rows, **meta):
    """The map `d` (MapData) cut down to `rows`, as if the other papers were not placed yet; `meta` changes entries."""
    return dataclasses.replace(
        d,
        ids=[d.ids[i] for i in rows],
        titles=[d.titles[i] for i in rows],
        xy=d.xy[rows],
        fine=d.fine[rows],
        day=d.day[rows],
        category=d.category[rows],
        meta={**d.meta, **meta},
    )
