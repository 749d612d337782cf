"""Store-free parts of the map: momentum arithmetic, placement edge cases, versioned map files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from paperboy.index.map_files import MapCorrupt, MapData, MapFiles
from paperboy.ranking.layout import nearest, place, top_k, unit_rows
from paperboy.ranking.topics import momentum, per_month


def test_place_without_a_base_and_exact_neighbours():
    xy, topic = place(
        np.ones((3, 4), np.float32), np.zeros((0, 4), np.float32), np.zeros((0, 2), np.float32), np.zeros(0, np.uint16)
    )
    assert xy.shape == (3, 2) and topic.shape == (3,)
    base = unit_rows(np.eye(4, dtype=np.float32) + 0.01)
    idx, sim = nearest(base, base, 2, skip_self=True)
    assert (idx != np.arange(4)[:, None]).all() and (sim <= 1.0).all()


def test_top_k_by_group_maxima_equals_a_full_sort():
    scores = np.random.default_rng(0).standard_normal((6, 20_011)).astype(np.float32)
    scores[2, :] = 0.5  # ties everywhere
    scores[3, -3:] = 9.0  # the best in the short last group
    for n in (20_011, 300):  # the group-maxima threshold, then plain argpartition on a short row
        cols, vals = top_k(scores[:, :n], 10)
        assert np.array_equal(vals, -np.sort(-scores[:, :n], axis=1)[:, :10])
        assert np.array_equal(np.take_along_axis(scores[:, :n], cols, axis=1), vals)
        assert all(len(set(r)) == 10 for r in cols.tolist())


def test_the_hnsw_neighbour_graph_finds_the_exact_neighbours():
    from paperboy.index.knn import knn_graph

    rng = np.random.default_rng(0)
    v = unit_rows(rng.standard_normal((1000, 12)) @ rng.standard_normal((12, 48)))
    idx, sim = knn_graph(v, 5, deterministic=True)
    exact, exact_sim = nearest(v, v, 5, skip_self=True)
    assert idx.shape == (1000, 5) and not (idx == np.arange(1000)[:, None]).any()
    recall = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(idx.tolist(), exact.tolist())])
    assert recall > 0.9 and np.allclose(sim[:, 0], exact_sim[:, 0], atol=2e-3)


def test_momentum_compares_the_last_30_days_with_the_90_before():
    as_of = 20_000
    days = np.array([as_of, as_of - 29, as_of - 30, as_of - 31, as_of - 119, as_of - 120, as_of - 200, as_of - 1])
    topic = np.array([0, 0, 1, 1, 1, 1, 0, 2])
    recent, before, mom = momentum(topic, days, 3, as_of)
    assert recent.tolist() == [2, 0, 1]  # (as_of - 30, as_of]
    assert before.tolist() == [0, 3, 0]  # (as_of - 120, as_of - 30]; as_of - 120 itself is older
    assert mom.tolist() == pytest.approx([3.0, 1 / 2.0, 2.0])
    first, counts = per_month(np.array([0, 1, 1]), np.array([5, 5, 7]), 2)
    assert first == 5 and counts.tolist() == [[1, 0, 0], [1, 0, 1]]


def test_map_files_are_versioned_and_checked(tmp_path):
    files = MapFiles(tmp_path / "map")
    assert files.load() is None
    d = MapData(
        ids=["a", "b"],
        xy=np.zeros((2, 2), np.float32),
        fine=np.zeros(2, np.uint16),
        day=np.array([1, -1], np.int32),
        category=np.zeros(2, np.uint16),
        titles=["A\ttab", "B"],
        topics=[{"id": 0, "label": "x", "parent": 0, "x": 0, "y": 0, "row": 0, "size": 2}],
        broad=[{"id": 0, "label": "x", "x": 0, "y": 0, "row": 0, "size": 2}],
        categories=["cs.CL"],
    )
    assert files.save(d) == 1 and files.save(d) == 2
    again = MapFiles(tmp_path / "map").load()
    assert again.generation == 2 and again.ids == ["a", "b"] and again.titles == ["A tab", "B"]
    grown = MapData(
        **{**{f: getattr(d, f) for f in MapData.__slots__}, "ids": ["a", "b", "c"], "titles": ["A", "B", "C"]}
    )
    grown.xy, grown.fine, grown.day, grown.category = (
        np.resize(a, (3, *a.shape[1:])) for a in (d.xy, d.fine, d.day, d.category)
    )
    assert files.save(grown, appended_to=2) == 3  # the titles file gains a gzip member for row 3 only
    assert MapFiles(tmp_path / "map").load().titles == ["A tab", "B", "C"]
    names = sorted(p.name for p in (tmp_path / "map").iterdir())
    assert not any(n.endswith((".pkl", ".pickle")) for n in names)
    m = json.loads((tmp_path / "map" / "manifest.json").read_text())
    m["count"] = 4
    (tmp_path / "map" / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(MapCorrupt):
        MapFiles(tmp_path / "map").load()
