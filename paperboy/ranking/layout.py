"""2-D layout of paper embeddings (UMAP over cosine neighbours) and placement of new papers into it.

Pure arrays in, arrays out. The layout is computed once (`paperboy map`); new papers are placed by
k-nearest-neighbour interpolation of the old papers' positions, so old points never move and no
fitted model (a pickle) has to be kept between runs.
"""

from __future__ import annotations

import warnings

import numpy as np

N_NEIGHBORS = 15  # UMAP's default: local structure without losing the big picture
MIN_DIST = 0.05  # tight clumps, so topics read as islands
PLACE_NEIGHBORS = 10
BLOCK = 128  # query rows per matrix product: 128 x 75k float32 scores = 38 MB at a time (nearer the caches)


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """float32 copy with L2-normalised rows (cosine similarity becomes a dot product)."""
    v = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(norms, 1e-12)


def nearest(queries: np.ndarray, base: np.ndarray, k: int, *, skip_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k cosine neighbours of unit `queries` among unit `base`: (indices, similarities), best first.

    skip_self: queries are `base` itself, so each row's own index is left out.
    """
    n = base.shape[0]
    k_eff = min(k + (1 if skip_self else 0), n)
    idx = np.empty((queries.shape[0], k_eff), dtype=np.int64)
    sim = np.empty((queries.shape[0], k_eff), dtype=np.float32)
    for start in range(0, queries.shape[0], BLOCK):
        s = queries[start : start + BLOCK] @ base.T
        if skip_self:
            rows = np.arange(s.shape[0])
            s[rows, rows + start] = np.inf  # self first, then dropped below
        idx[start : start + BLOCK], sim[start : start + BLOCK] = top_k(s, k_eff)
    if skip_self:
        idx, sim = idx[:, 1:], sim[:, 1:]
        sim = np.minimum(sim, 1.0)
    return idx, sim


def top_k(scores: np.ndarray, k: int, groups: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(columns, values) of the k largest scores of each row, best first.

    Cheaper than argpartition (which writes an int64 index per score): the k-th largest of per-group maxima is
    a threshold at least k scores of the row reach, so only the few scores above it are sorted.
    """
    b, n = scores.shape
    width = n // groups
    if k >= n or width < 2 * k:
        part = np.argpartition(scores, n - k, axis=1)[:, n - k :] if k < n else np.tile(np.arange(n), (b, 1))
        vals = np.take_along_axis(scores, part, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        return np.take_along_axis(part, order, axis=1), np.take_along_axis(vals, order, axis=1)
    maxima = scores[:, : groups * width].reshape(b, groups, width).max(axis=2)
    if n > groups * width:
        maxima = np.concatenate([maxima, scores[:, groups * width :].max(axis=1, keepdims=True)], axis=1)
    g = maxima.shape[1]
    floor = np.partition(maxima, g - k, axis=1)[:, g - k]
    rows, cols = np.nonzero(scores >= floor[:, None])
    vals = scores[rows, cols]
    order = np.lexsort((-vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    first = np.searchsorted(rows, np.arange(b))
    keep = np.arange(len(rows)) - first[rows] < k
    return cols[keep].reshape(b, k), vals[keep].reshape(b, k)


def layout(
    vectors: np.ndarray,
    *,
    seed: int | None = None,
    n_neighbors: int = N_NEIGHBORS,
    knn: tuple[np.ndarray, np.ndarray] | None = None,
    verbose: bool = False,
) -> np.ndarray:
    """(n, 2) float32 positions of the rows of `vectors`, scaled into [-1, 1]^2.

    knn: each row's n_neighbors - 1 nearest other rows (indices, cosine similarities), e.g. an HNSW graph;
    without it the graph is computed exactly (blocked BLAS products). Either is handed to UMAP
    precomputed: faster than its NN-descent on 2 cores. A seed makes UMAP itself deterministic too, at
    the price of running it single-threaded.
    """
    n = vectors.shape[0]
    if n < 4:  # nothing to lay out: a small fixed arrangement
        out = np.zeros((n, 2), dtype=np.float32)
        if n > 1:
            angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
            out[:] = np.stack([np.cos(angles), np.sin(angles)], axis=1)
        return out
    import umap  # umap-learn; imported here: numba compiles on first use

    v = unit_rows(vectors)
    k = min(n_neighbors, n - 1)
    idx, sim = knn if knn is not None else nearest(v, v, k - 1, skip_self=True)
    # UMAP expects each point as its own first neighbour at distance 0.
    knn_idx = np.concatenate([np.arange(n)[:, None], idx], axis=1)
    knn_dist = np.concatenate([np.zeros((n, 1), np.float32), np.maximum(0.0, 1.0 - sim)], axis=1)
    reducer = umap.UMAP(
        n_neighbors=k,
        min_dist=MIN_DIST,
        metric="cosine",
        precomputed_knn=(knn_idx, knn_dist, None),
        random_state=seed,
        n_jobs=1 if seed is not None else -1,
        init="spectral" if n > 50 else "random",
        low_memory=True,
        verbose=verbose,
    )
    with warnings.catch_warnings():  # "transform will be unavailable": placement never uses it (see place())
        warnings.filterwarnings("ignore", message=".*knn_search_index.*")
        xy = reducer.fit_transform(v).astype(np.float32)
    return normalise(xy)


def normalise(xy: np.ndarray) -> np.ndarray:
    """Centre positions and scale them into [-1, 1] (keeping the aspect ratio)."""
    if len(xy) == 0:
        return xy.astype(np.float32)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    centre = (lo + hi) / 2
    span = float(max(hi - lo)) / 2 or 1.0
    return ((xy - centre) / span).astype(np.float32)


def place(
    new_vectors: np.ndarray,
    base_vectors: np.ndarray,
    base_xy: np.ndarray,
    base_topic: np.ndarray,
    *,
    k: int = PLACE_NEIGHBORS,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions and topics of new papers from their k nearest placed papers; the old ones do not move.

    Position: the similarity-weighted mean of the neighbours' positions, pulled towards the nearest
    one (a plain mean of two distant islands would land in the sea between them). Topic: the
    similarity-weighted vote of the neighbours' topics.
    """
    m = new_vectors.shape[0]
    if m == 0 or base_vectors.shape[0] == 0:
        return np.zeros((m, 2), np.float32), np.zeros(m, base_topic.dtype)
    idx, sim = nearest(unit_rows(new_vectors), base_vectors, k)
    w = np.exp((sim - sim[:, :1]) * 20.0)  # sharp: the closest neighbours dominate
    w /= w.sum(axis=1, keepdims=True)
    xy = (w[:, :, None] * base_xy[idx]).sum(axis=1)
    topics = base_topic[idx]
    out_topic = np.empty(m, dtype=base_topic.dtype)
    for i in range(m):
        votes: dict[int, float] = {}
        for t, wt in zip(topics[i].tolist(), w[i].tolist()):
            votes[t] = votes.get(t, 0.0) + wt
        out_topic[i] = max(votes, key=votes.get)
    return xy.astype(np.float32), out_topic
