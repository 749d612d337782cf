"""An index update gives an index whose HNSW graph is of an older kind (float16) the current int8 one."""

from __future__ import annotations

import numpy as np

from paperboy.index import vectors as vectors_mod
from paperboy.index.indexes import Indexes
from paperboy.models import Paper


def test_an_update_with_nothing_new_rebuilds_an_older_graph(tmp_path, monkeypatch):
    monkeypatch.setattr(vectors_mod, "HNSW_MIN_VECTORS", 20)
    stored = [Paper(id=f"2501.{i:05d}", title=f"Paper {i} on topic {i % 7}", abstract="Text.") for i in range(40)]

    def changes(since):
        return ((n, p) for n, p in enumerate(stored, 1) if n > since)

    idx = Indexes(tmp_path / "index")
    monkeypatch.setattr(vectors_mod, "HNSW_DTYPE", "f16")  # as an index built before the int8 graph
    assert idx.update(changes, len(stored)).embedded == 40
    older = Indexes(tmp_path / "index").vectors
    assert older.ann_active() and not older.ann_current()
    q = older.vector("2501.00003")
    before = older.search(q, k=5)

    monkeypatch.setattr(vectors_mod, "HNSW_DTYPE", "i8")
    again = Indexes(tmp_path / "index")
    rep = again.update(changes, len(stored))
    assert rep.embedded == 0 and rep.dense_error is None
    current = Indexes(tmp_path / "index").vectors
    assert current.ann_active() and current.ann_current() and len(current) == 40
    after = current.search(q, k=5)
    assert after.ids[0] == before.ids[0] == "2501.00003"
    np.testing.assert_allclose(after.scores[0], 1.0, atol=1e-3)
    # Current now: the next update with nothing new does nothing at all.
    graph = sorted((tmp_path / "index" / "dense").rglob("hnsw-*.usearch"))
    assert again.update(changes, len(stored)).embedded == 0
    assert sorted((tmp_path / "index" / "dense").rglob("hnsw-*.usearch")) == graph
