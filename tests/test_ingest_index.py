"""`paperboy ingest` of a big input keyword-indexes while it stores (IndexFollower), and loses nothing when that fails.

Runs on SQLite, and on PostgreSQL with --db=postgres. "Big" is lowered to any size through the settings.
"""

from __future__ import annotations

import json
import multiprocessing as mp

import pytest

from paperboy.config import Settings
from paperboy.service import Paperboy
from paperboy.service.index_follower import NAME
from tests.test_worker import assert_indexes_match_store, wait_for


@pytest.fixture
def concurrent(monkeypatch):
    """Settings that take the concurrent path on the 300-paper shard: 6 batches of 50, a round every 100."""
    monkeypatch.setenv("PAPERBOY_INGEST_INDEX_MIN_BYTES", "0")
    monkeypatch.setenv("PAPERBOY_INGEST_INDEX_EVERY", "100")
    monkeypatch.setenv("PAPERBOY_BATCH_SIZE", "50")


@pytest.fixture
def pb(tmp_path, home_database, concurrent):
    """The facade on this test's store under tmp_path, with those settings."""
    pb = Paperboy(Settings(home=tmp_path, database_url=home_database(tmp_path)))
    yield pb
    pb.close()


def test_ingest_indexes_every_stored_paper_while_storing(tmp_path, cli, arxiv_shards, pb):
    code, out, err = cli(tmp_path, "ingest", "--json", "-q", str(arxiv_shards[-1]))
    report = json.loads(out)
    assert code == 0, err
    assert report["added"] == 300 and report["index_error"] is None
    ids = assert_indexes_match_store(pb, dense=False)
    paper = pb.paper(sorted(ids)[0])
    assert paper.id in [h.paper.id for h in pb.search(paper.title, mode="lexical").hits]


def test_the_follower_indexes_while_storing_and_its_death_loses_nothing(arxiv_shards, pb):
    batches: list[int] = []

    def on_batch(n: int) -> None:
        batches.append(n)
        if len(batches) == 3:  # storing pauses here until the follower has indexed its first round
            wait_for(lambda: pb.indexes.manifest().get("lexical_seq", 0) > 0, 120, "a round while storing")
        if len(batches) == 4:  # then it dies; storing goes on
            [follower] = [c for c in mp.active_children() if c.name == NAME]
            follower.kill()
            follower.join()

    report = pb.ingest([arxiv_shards[-1]], index=True, on_batch=on_batch)
    assert report.added == 300 and report.aborted is None and len(batches) == 6
    assert "died" in report.index_error
    assert pb.store.count() == 300
    pb.update_index(embed=False, wait=False)  # what `paperboy ingest` runs after storing, as before
    assert_indexes_match_store(pb, dense=False)
