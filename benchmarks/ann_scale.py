"""HNSW vs the exact top 10 at 200k-3.1M vectors: recall@10 (plain and filtered), query and build cost.

    .venv/bin/python benchmarks/ann_scale.py [--sizes 1000000] [--graphs 16:64,16:128] [--efs 256,512,1024]
    .venv/bin/python benchmarks/ann_scale.py --calibrate [--real 12000]

Vectors: --real sample papers are embedded with the packaged encoder (cached in --cache, resumable),
and every size is DERIVED from them, not embedded (`derive`: new points inside real neighbourhoods).
--calibrate checks that stand-in: real sets of several sizes against derived sets of the same sizes
(neighbour similarities, recall at low ef). Queries are real: 200 other sample papers' titles through
embed_query. Truth: exact f32 dot products over the f16 rows. Filtered: random row masks keeping
30% and 6%, searched inside the graph with VectorIndex's over-fetch (`over_fetch`). Threads: 2 for
builds (the box), 1 for queries (a request); CPU time is printed beside wall time (shared machine).
The graph is built and searched as VectorIndex does (HNSW_DTYPE: int8 candidates rescored from float16).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_corpus import SAMPLE, load_sample

from paperboy.index.vectors import (
    HNSW_CONNECTIVITY,
    HNSW_DTYPE,
    HNSW_EXPANSION_ADD,
    HNSW_EXPANSION_SEARCH,
    HNSW_RESCORE_MIN,
    over_fetch,
)

K = 10
REAL = 12_000  # sample papers embedded for real (ann-cache: 12k took 18 min at nice 10): the base of derive()
CACHE = Path("/tmp/paperboy-ann-cache")
NEIGHBOURS = 10  # derive(): a vector mixes real ones among each other's 10 nearest
NOISE = 0.5  # derive(): noise norm / nearest-neighbour distance (calibrated, see --calibrate)


def real_vectors(n: int, cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """(documents, queries): n sample papers and 200 other papers' titles, embedded with the packaged encoder.

    Papers are taken in one fixed shuffled order, so a smaller n is a prefix of a larger one. Embedding is
    cached in `cache` as sample-docs-<m>.npy and resumed in chunks (20k papers take minutes), so an
    interrupted run loses at most one chunk and any cached m >= n is reused.
    """
    cache.mkdir(parents=True, exist_ok=True)
    q_path = cache / "sample-queries-200.npy"
    have = sorted((int(f.stem.rsplit("-", 1)[1]), f) for f in cache.glob("sample-docs-*.npy"))
    done = next((f for m, f in have if m >= n), None)
    if done is not None and q_path.exists():
        return np.load(done, mmap_mode="r")[:n].astype(np.float32), np.load(q_path)
    from paperboy.index.embedder import document_text, load_embedder

    sample = load_sample(SAMPLE)
    if n > len(sample) - 200:
        sys.exit(f"--real {n}: the sample has only {len(sample) - 200:,} papers besides the 200 queries")
    order = np.random.default_rng(7).permutation(len(sample))
    emb = load_embedder("default")
    if not q_path.exists():
        np.save(q_path, np.stack([emb.embed_query(sample[i]["title"]) for i in order[:200]]).astype(np.float32))
    docs = np.load(have[-1][1]).astype(np.float32) if have else np.empty((0, emb.dim), np.float32)
    t, start = time.perf_counter(), len(docs)
    while len(docs) < n:
        chunk = order[200 + len(docs) : 200 + min(n, len(docs) + 2000)]
        texts = [
            document_text({"title": sample[i]["title"], "abstract": " ".join(sample[i]["sentences"])}) for i in chunk
        ]
        docs = np.concatenate([docs, emb.embed_documents(texts, progress=False).astype(np.float32)])
        np.save(cache / f"sample-docs-{len(docs)}.npy", docs)
        for _m, f in have:
            f.unlink(missing_ok=True)
        have = [(len(docs), cache / f"sample-docs-{len(docs)}.npy")]
        rate = (len(docs) - start) / (time.perf_counter() - t)
        print(f"(embedded {len(docs):,}/{n:,} real sample papers, {rate:.0f}/s)", file=sys.stderr, flush=True)
    return docs[:n], np.load(q_path)


def neighbours(base: np.ndarray, k: int) -> np.ndarray:
    """Each base vector's k nearest other base vectors (exact inner product), shape (len(base), k)."""
    from usearch.index import search as exact_search

    # In blocks of queries: usearch's exact search holds a block x base distance matrix (all 74k real
    # sample vectors at once would be 22 GB).
    keys = np.concatenate(
        [
            exact_search(base, base[i : i + 4096], k + 1, "ip", exact=True, threads=0).keys.astype(np.int64)
            for i in range(0, len(base), 4096)
        ]
    )
    own = keys == np.arange(len(base))[:, None]
    own[~own.any(axis=1), -1] = True  # ties can push a vector out of its own list: drop the farthest
    return keys[~own].reshape(len(base), k)


def derive(real: np.ndarray, n: int, seed: int = 0, *, parts: int = 3, noise: float = NOISE) -> np.ndarray:
    """n float16 unit vectors, each a new point INSIDE a real neighbourhood (see below).

    A vector is a Dirichlet(1, ..., 1)-weighted mix of a random real vector and parts-1 of its
    NEIGHBOURS nearest real vectors, plus isotropic Gaussian noise whose norm is `noise` times the
    distance from that real vector to its nearest neighbour, re-normalised. Mixing neighbours keeps
    the topical layout of real embeddings (a mix of unrelated papers lands in empty space between
    topics); random weights over several parts spread the points that share a real vector over its
    neighbourhood instead of piling them around it; noise scaled to the local neighbour distance
    gives each point its own offsets in all dimensions without swamping dense regions or leaving
    sparse ones empty. `benchmarks/ann_scale.py --calibrate` checks the result against real vectors
    of the same size (neighbour similarities and HNSW recall).
    """
    rng = np.random.default_rng(seed)
    real = np.ascontiguousarray(real, dtype=np.float32)
    dim = real.shape[1]
    nbr = neighbours(real, NEIGHBOURS)
    spacing = np.linalg.norm(real - real[nbr[:, 0]], axis=1)
    out = np.empty((n, dim), dtype=np.float16)
    for start in range(0, n, 200_000):
        m = min(200_000, n - start)
        a = rng.integers(0, len(real), m)
        pick = np.argsort(rng.random((m, NEIGHBOURS)), axis=1)[:, : parts - 1]
        members = np.concatenate([a[:, None], nbr[a[:, None], pick]], axis=1)
        w = rng.dirichlet(np.ones(parts), m).astype(np.float32)
        v = np.einsum("mp,mpd->md", w, real[members])
        g = rng.standard_normal((m, dim), dtype=np.float32)
        v += g * (noise * spacing[a] / np.sqrt(dim))[:, None]
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        out[start : start + m] = v
    return out


def derive_pairs(real: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """The first derivation (until 2026-11-30), kept for --calibrate: real[a] + U(0, 0.6) real[b] + N(0, 0.03^2)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, real.shape[1]), dtype=np.float16)
    for start in range(0, n, 200_000):
        m = min(200_000, n - start)
        a, b = rng.integers(0, len(real), m), rng.integers(0, len(real), m)
        w = rng.uniform(0, 0.6, (m, 1)).astype(np.float32)
        v = real[a] + w * real[b] + rng.standard_normal((m, real.shape[1]), dtype=np.float32) * 0.03
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        out[start : start + m] = v
    return out


def timed(fn, queries) -> tuple[dict, list]:
    """Run fn per query; wall and CPU (this thread) p50/p99 in ms, and the results."""
    wall, cpu, res = [], [], []
    for q in queries:
        t, c = time.perf_counter(), time.thread_time()
        res.append(fn(q))
        cpu.append((time.thread_time() - c) * 1000)
        wall.append((time.perf_counter() - t) * 1000)
    pct = {f"{name}{p}": float(np.percentile(v, p)) for name, v in (("wall", wall), ("cpu", cpu)) for p in (50, 99)}
    return pct, res


def recall(got: list, truth: list) -> float:
    return float(np.mean([len(set(map(int, a[:K])) & set(map(int, b[:K]))) / K for a, b in zip(got, truth)]))


def exact_top(data: np.ndarray, queries: np.ndarray, rows: np.ndarray | None = None) -> list:
    """The true top K per query (f32 dot products over f16 rows), optionally within `rows`."""
    sub = data if rows is None else data[rows]
    out = []
    for start in range(0, len(sub), 500_000):
        scores = sub[start : start + 500_000].astype(np.float32) @ queries.T  # (chunk, q)
        top = np.argpartition(-scores, K, axis=0)[:K].T + start
        out.append((top, np.take_along_axis(scores.T, top - start, axis=1)))
    tops = np.concatenate([t for t, _ in out], axis=1)
    sc = np.concatenate([s for _, s in out], axis=1)
    best = np.take_along_axis(tops, np.argsort(-sc, axis=1)[:, :K], axis=1)
    return [b if rows is None else rows[b] for b in best]


def build(data: np.ndarray, connectivity: int, expansion_add: int, threads: int):
    """An HNSW graph as VectorIndex builds it; (index, wall s, CPU s)."""
    from usearch.index import Index

    metric = "cos" if HNSW_DTYPE == "i8" else "ip"
    ann = Index(
        ndim=data.shape[1], metric=metric, dtype=HNSW_DTYPE, connectivity=connectivity, expansion_add=expansion_add
    )
    t, c = time.perf_counter(), time.process_time()
    ann.add(np.arange(len(data), dtype=np.uint64), data, threads=threads)
    return ann, time.perf_counter() - t, time.process_time() - c


def walk(ann, data: np.ndarray, q: np.ndarray, fetch: int, ef: int, mask: np.ndarray | None = None) -> np.ndarray:
    """The best `fetch` rows as VectorIndex's graph search finds them: an int8 graph's candidates (2 x fetch, at
    least HNSW_RESCORE_MIN) tested against the filter, then rescored from the float16 rows."""
    want = min(max(2 * fetch, HNSW_RESCORE_MIN), len(data)) if HNSW_DTYPE == "i8" else fetch
    ann.expansion_search = max(ef, want)
    keys = np.asarray(ann.search(q, want, threads=1).keys, dtype=np.int64)
    if mask is not None:
        keys = keys[mask[keys]]
    if HNSW_DTYPE != "i8":
        return keys[:fetch]
    scores = data[keys].astype(np.float32) @ q
    return keys[np.argsort(-scores, kind="stable")[:fetch]]


FILTERS = (0.3, 0.06)  # row masks keeping 30% and 6% (just above VectorIndex's 5% direct-scoring floor)


def measure(label: str, data: np.ndarray, queries: np.ndarray, graphs: list, efs: list, threads: int) -> None:
    """Print one row per (graph setting, ef): build cost, query latency, recall@10 plain and filtered."""
    truth = exact_top(data, queries)
    masks = [np.random.default_rng(3).random(len(data)) < f for f in FILTERS]
    ftruth = [exact_top(data, queries[:100], np.flatnonzero(m)) for m in masks]
    for m_, add in graphs:
        ann, wall, cpu = build(data, m_, add, threads)
        for ef in efs:
            pct, got = timed(lambda q, ann=ann, ef=ef: walk(ann, data, q, K, ef), queries)
            frec = []
            for mask, ft in zip(masks, ftruth):
                fetch, fef = over_fetch(K, len(data), int(mask.sum()), ef=ef)  # as VectorIndex does inside a filter

                def filtered(q, mask=mask, fetch=fetch, ann=ann, ef=fef):
                    return walk(ann, data, q, fetch, ef, mask)[:K]

                frec.append(recall(timed(filtered, queries[:100])[1], ft))
            print(
                f"| {label} | {len(data):,} | M{m_} add{add} ef{ef} | {wall:.0f} | {cpu:.0f} | "
                f"{pct['wall50']:.2f} / {pct['wall99']:.2f} | {pct['cpu50']:.2f} / {pct['cpu99']:.2f} | "
                f"**{recall(got, truth):.3f}** | {frec[0]:.3f} | {frec[1]:.3f} |",
                flush=True,
            )
        del ann


def neighbour_stats(label: str, data: np.ndarray, queries: np.ndarray) -> None:
    """How close neighbours are: a document's nearest other document, a query's 1st/10th/100th."""
    from usearch.index import search as exact_search

    probe = np.random.default_rng(5).choice(len(data), 1000, replace=False)
    nn = exact_search(data, data[probe], 2, "ip", exact=True, threads=0).distances[:, 1]
    qs = 1 - exact_search(data, queries.astype(data.dtype), 100, "ip", exact=True, threads=0).distances
    print(
        f"| {label} | {len(data):,} | {1 - np.median(nn):.3f} | {1 - np.percentile(nn, 10):.3f} | "
        f"{qs[:, 0].mean():.3f} | {qs[:, 9].mean():.3f} | {qs[:, 99].mean():.3f} | {(qs[:, 9] - qs[:, 99]).mean():.3f} |",
        flush=True,
    )


def calibrate(real: np.ndarray, queries: np.ndarray, efs: list, threads: int) -> None:
    """Real vectors against derived ones of the same size, and how both change with size / expansion.

    Rows: real sets of n/4, n/2 and n papers; derive() from the first n/16 real vectors to n/4, n/2
    and n (4x, 8x, 16x as many vectors as its base) and from n/4 to n (4x); derive_pairs() from n/4
    and n/16 to n.
    """
    n = len(real)
    sets = [(f"real {m:,}", real[:m].astype(np.float16)) for m in (n // 4, n // 2, n)]
    sets += [
        (f"derived from {n // 16:,} real ({m * 16 // n}x)", derive(real[: n // 16], m, seed=1))
        for m in (n // 4, n // 2, n)
    ]
    sets.append((f"derived from {n // 4:,} real (4x)", derive(real[: n // 4], n, seed=1)))
    sets += [(f"pairs (old) from {n // d:,} real ({d}x)", derive_pairs(real[: n // d], n, seed=1)) for d in (4, 16)]
    print("| vectors | size | doc→nearest doc sim p50 | p90 | query top-1 sim | top-10 | top-100 | top10−top100 |")
    print("|---|---|---|---|---|---|---|---|")
    for label, data in sets:
        neighbour_stats(label, data, queries)
    print(HEADER)
    for label, data in sets:
        measure(label, data, queries, [(HNSW_CONNECTIVITY, HNSW_EXPANSION_ADD)], efs, threads)


HEADER = (
    "| vectors | size | graph | build wall s | build CPU s | query wall p50 / p99 ms | query CPU p50 / p99 ms "
    f"| recall@10 | filtered {FILTERS[0]:.0%} | filtered {FILTERS[1]:.0%} |\n|---|---|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000000", help="derived set sizes")
    ap.add_argument("--real", type=int, default=REAL, help="sample papers embedded for real (the derivation's base)")
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument(
        "--graphs", default=f"{HNSW_CONNECTIVITY}:{HNSW_EXPANSION_ADD}", help="connectivity:expansion_add,..."
    )
    ap.add_argument("--efs", default=str(HNSW_EXPANSION_SEARCH))
    ap.add_argument("--build-threads", type=int, default=2)
    ap.add_argument("--calibrate", action="store_true", help="compare real vectors with derived ones of the same size")
    args = ap.parse_args()
    real, queries = real_vectors(args.real, args.cache)
    efs = [int(e) for e in args.efs.split(",")]
    print(
        f"(load {os.getloadavg()[0]:.1f}; usearch {HNSW_DTYPE}, rescored from f16 as VectorIndex does; "
        f"{args.build_threads} build threads, 1 query thread)"
    )
    if args.calibrate:
        calibrate(real, queries, efs, args.build_threads)
        return
    graphs = [tuple(int(x) for x in g.split(":")) for g in args.graphs.split(",")]
    print(HEADER)
    for n in (int(s) for s in args.sizes.split(",")):
        measure(f"derived from {len(real):,} real", derive(real, n), queries, graphs, efs, args.build_threads)


if __name__ == "__main__":
    main()
