"""Approximate k-nearest-neighbour graph of many unit vectors (an HNSW graph, usearch): the map's layout at scale.

The exact graph is a blocked n x n product, O(n^2): ~120 CPU seconds at 75k 384-d vectors. An HNSW graph is
built and walked in O(n log n) for a recall of ~0.9 (benchmarks/RESULTS.md), which UMAP tolerates: its own
default is an approximate graph too.
"""

from __future__ import annotations

import numpy as np

from paperboy.index.vectors import _has_usearch, _load_onnxruntime_first

HNSW_KNN_MIN = 30_000  # below this many vectors the exact product costs no more (measured at 20k: equal)
CONNECTIVITY = 16
EXPANSION = 64  # build and search: recall@15 ~0.92 on arXiv vectors


def knn_graph(vectors: np.ndarray, k: int, *, deterministic: bool = False) -> tuple[np.ndarray, np.ndarray] | None:
    """(indices, cosine similarities) of each row's k nearest other rows, best first; None without usearch.

    deterministic: build on one thread (a multi-threaded build inserts in a varying order).
    """
    if not _has_usearch():
        return None
    _load_onnxruntime_first()
    from usearch.index import Index

    n = vectors.shape[0]
    v = np.ascontiguousarray(vectors, dtype=np.float16)
    threads = 1 if deterministic else 0
    ix = Index(ndim=v.shape[1], metric="ip", dtype="f16", connectivity=CONNECTIVITY, expansion_add=EXPANSION)
    ix.expansion_search = EXPANSION
    ix.add(np.arange(n, dtype=np.uint64), v, threads=threads)
    res = ix.search(v, k + 1, threads=threads)
    keys, dist = np.asarray(res.keys, np.int64), np.asarray(res.distances, np.float32)
    short = np.flatnonzero(np.asarray(res.counts) < k + 1)
    if short.size:  # the walk found too few (rare): those rows exactly
        again = ix.search(v[short], k + 1, threads=threads, exact=True)
        keys[short], dist[short] = np.asarray(again.keys, np.int64), np.asarray(again.distances, np.float32)
    other = keys != np.arange(n)[:, None]
    other[other.all(axis=1), -1] = False  # a row whose walk missed itself: drop its farthest instead
    idx = keys[other].reshape(n, k)
    sim = np.clip(1.0 - dist[other].reshape(n, k), -1.0, 1.0)
    return idx, sim
