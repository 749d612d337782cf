"""The int8 exact scan: same rows, order and scores as a float32 scan of the float16 matrix, filters honoured."""

from __future__ import annotations

import numpy as np
import pytest

from paperboy.index import vectors as vectors_mod
from paperboy.index.int8_scan import Int8Scan
from paperboy.index.vectors import VectorIndex, text_hash

pytest.importorskip("onnxruntime")

MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def unit_rows(n: int, seed: int) -> np.ndarray:
    # Low intrinsic dimension, like real embeddings (many near neighbours, small gaps between scores).
    rng = np.random.default_rng(seed)
    v = (rng.standard_normal((n, 24)) @ rng.standard_normal((24, 384))).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def exact(matrix16: np.ndarray, q: np.ndarray, k: int, keep: np.ndarray | None = None) -> np.ndarray:
    scores = matrix16.astype(np.float32) @ q
    if keep is not None:
        scores[~keep] = -np.inf
    order = np.argsort(-scores, kind="stable")[:k]
    return order[np.isfinite(scores[order])]


def test_top_k_equals_the_float16_scan():
    matrix = unit_rows(20_000, seed=3).astype(np.float16)
    scan = Int8Scan(matrix)
    queries = unit_rows(40, seed=4)
    for k in (1, 10, 100):
        for q in queries:
            rows, scores = scan.search(q, k)
            want = exact(matrix, q, k)
            assert rows.tolist() == want.tolist()
            np.testing.assert_allclose(scores, matrix[want].astype(np.float32) @ q, rtol=0, atol=1e-6)


def test_filters_and_short_answers():
    matrix = unit_rows(5_000, seed=5).astype(np.float16)
    scan = Int8Scan(matrix)
    q = unit_rows(1, seed=6)[0]
    keep = np.zeros(5_000, dtype=bool)
    keep[::7] = True
    rows, _ = scan.search(q, 50, keep)
    assert rows.tolist() == exact(matrix, q, 50, keep).tolist() and all(r % 7 == 0 for r in rows)
    few = np.zeros(5_000, dtype=bool)
    few[[3, 4000, 17]] = True  # fewer kept rows than asked for: all of them, best first
    rows, scores = scan.search(q, 10, few)
    assert sorted(rows.tolist()) == [3, 17, 4000] and list(scores) == sorted(scores, reverse=True)
    rows, _ = scan.search(q, 10, np.zeros(5_000, dtype=bool))
    assert rows.size == 0
    rows, _ = scan.search(q, 10**6)  # more than exist: every row, in order
    assert rows.tolist() == exact(matrix, q, 5_000).tolist()


def test_the_index_scans_int8_from_its_second_search_and_rebuilds_after_a_change(tmp_path, monkeypatch):
    monkeypatch.setattr(vectors_mod, "SIMD_SCAN_MIN_VECTORS", 0)
    ix = VectorIndex(tmp_path, model_name=MODEL, dim=384, hnsw_min_vectors=10**9)
    vecs = unit_rows(3_000, seed=7)
    ids = [f"p{i}" for i in range(3_000)]
    ix.upsert(ids, [text_hash(i) for i in ids], vecs)
    q = vecs[42] + 0.01 * vecs[43]
    assert ix.search(q, k=5).ids[0] == "p42" and ix._int8 is None  # one search: usearch, no build
    assert ix.search(q, k=5).ids[0] == "p42" and ix._int8 is not None
    # A new paper closer to the query than any other must be found: the old scan's rows are stale.
    ix.upsert(["new"], [text_hash("new")], q[None, :])
    assert ix._int8 is None
    for _ in range(2):
        assert ix.search(q, k=5).ids[0] == "new"
    assert ix._int8 is not None and ix._int8.n == 3_001
