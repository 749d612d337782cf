"""Two data directories on one store: vectors computed once (by either) serve both, without re-encoding."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from paperboy.config import Settings
from paperboy.service import Paperboy


@pytest.fixture(scope="module")
def encoder():
    """The real packaged encoder, loaded once for this module's nodes."""
    from paperboy.index.embedder import Embedder

    return Embedder("default")


def write_papers(path: Path, shard: Path, start: int, stop: int) -> Path:
    with gzip.open(shard, "rt", encoding="utf-8") as f:
        lines = [line for n, line in enumerate(f) if start <= n < stop]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def node(home: Path, url: str, encoder) -> Paperboy:
    pb = Paperboy(Settings(home=home, database_url=url))
    pb.indexes._embedder = encoder  # one model load for the module; calls are counted on this object
    return pb


def count_calls(encoder) -> list[int]:
    """Count embed_documents calls on the real encoder object (it still runs)."""
    calls = [0]
    real = encoder.embed_documents

    def counted(texts, progress=True):
        calls[0] += 1
        return real(texts, progress=progress)

    encoder.embed_documents = counted
    return calls


def test_second_node_searches_from_stored_vectors_without_encoding(tmp_path, database_url, arxiv_shards, encoder):
    a = node(tmp_path / "a", database_url, encoder)
    b = node(tmp_path / "b", database_url, encoder)
    a.ingest([write_papers(tmp_path / "first.jsonl", arxiv_shards[0], 0, 30)])
    rep = a.update_index()
    assert rep.dense_error is None and rep.embedded == 30
    assert a.store.vector_stats(encoder.name)[0] == 30

    calls = count_calls(encoder)
    rep = b.update_index()
    assert rep.dense_error is None and (rep.embedded, rep.pulled, calls[0]) == (0, 30, 0)
    query = "prosthetic vision face representation"
    on_a, on_b = a.search(query, mode="hybrid"), b.search(query, mode="hybrid")
    assert on_b.mode == "hybrid" and not on_b.warnings
    assert [h.paper.id for h in on_b.hits] == [h.paper.id for h in on_a.hits]
    np.testing.assert_allclose([h.score for h in on_b.hits], [h.score for h in on_a.hits], atol=1e-6)
    assert b.search(query, mode="dense").hits[0].paper.id == "2503.11677"

    # New papers: node A embeds them into the store; node B picks up just those, still without encoding.
    a.ingest([write_papers(tmp_path / "more.jsonl", arxiv_shards[1], 0, 5)])
    calls[0] = 0
    assert a.update_index().embedded == 5 and calls[0] > 0
    calls[0] = 0
    rep = b.update_index()
    assert (rep.embedded, rep.pulled, calls[0]) == (0, 5, 0)
    assert len(b.indexes.vectors) == 35
    new = json.loads((tmp_path / "more.jsonl").read_text().splitlines()[0])
    hit = b.search(new["title"], mode="dense").hits[0]
    assert hit.paper.id == new["id"]
    # Nothing new: the next pass reads nothing and keeps the vectors it has.
    rep = b.update_index()
    assert (rep.embedded, rep.pulled, calls[0]) == (0, 0, 0)
    for pb in (a, b):
        pb.close()
