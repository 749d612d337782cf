"""The map of the field: builds the 2-D layout and topics of every paper, places new ones, answers what is rising."""

from __future__ import annotations

import contextlib
import gzip
import logging
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from paperboy.index.map_files import MapData, MapFiles
from paperboy.models import Paper

log = logging.getLogger("paperboy.map")

POINTS_MAGIC = b"PBM1"
NO_MONTH = 0xFFFF
EPOCH = date(1970, 1, 1)
TITLE_CHUNK = 1024  # map rows per titles chunk: ~40 KB gzip, fetched when the mouse first reaches one of its points
TITLE_CACHE = 128  # gzip title bodies kept per process (one generation's chunks of a ~100k-paper map)
RISING_MIN_RECENT = 5  # a topic needs this many papers in the last 30 days to count as rising


class MapMissing(LookupError):
    """There is no map yet (`paperboy map` builds it) or no embeddings to build one from."""


class MapBusy(RuntimeError):
    """Another process is building or updating the map."""


@dataclass(slots=True)
class BuildReport:
    papers: int
    fine_topics: int
    broad_topics: int
    seconds: dict[str, float]  # wall per stage
    cpu: dict[str, float]  # CPU (all threads) per stage: the measure on a shared machine


@dataclass(slots=True)
class TopicStats:
    """One fine topic with its momentum."""

    id: int
    label: str
    broad: int
    broad_label: str
    size: int
    recent: int  # papers in the last 30 days
    before: int  # papers in the 90 days before those
    momentum: float
    x: float
    y: float
    row: int  # the map row its label sits on (a member near the topic's middle)

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "size": self.size, "momentum": round(self.momentum, 3)}


def paper_day(p: Paper) -> int:
    """Days since 1970-01-01 of the paper's listing (else publication) date; -1 when unknown."""
    d = p.listed or p.published or p.updated
    return (d - EPOCH).days if d else -1


def paper_text(p: Paper) -> str:
    return f"{p.title}. {p.title}. {p.abstract or ''}"  # the title counts twice: it names the topic


class PaperMap:
    """The map over one store and its vector index; built explicitly, then kept up to date by `update()`."""

    def __init__(self, store, indexes, directory):
        self.store = store
        self.indexes = indexes
        self.files = MapFiles(directory)
        self._points: tuple[int, bytes, bytes] | None = None  # generation, raw, gzip
        self._titles: dict[str, bytes] = {}  # etag key -> gzip titles (all rows, or one chunk)
        self._lock = threading.Lock()

    # -- reading ------------------------------------------------------------------------
    def data(self) -> MapData:
        data = self.files.load()
        if data is None:
            raise MapMissing("there is no map yet: run `paperboy map` to build it")
        return data

    def exists(self) -> bool:
        return self.files.exists()

    def _dense_seq(self) -> int:
        return int(self.indexes.manifest().get("dense", {}).get(self.indexes.model, {}).get("seq", 0))

    def stale(self) -> bool:
        """A map exists and the embeddings changed since it was built or updated (two small JSON reads)."""
        m = self.files.manifest()
        return m is not None and m.get("meta", {}).get("dense_seq") != self._dense_seq()

    def topics(self, as_of: int | None = None) -> list[TopicStats]:
        """Every fine topic with size and momentum (last 30 days against the 90 before), biggest first."""
        from paperboy.ranking.topics import momentum

        d = self.data()
        known = d.day >= 0
        recent, before, mom = momentum(d.fine[known], d.day[known], len(d.topics), as_of)
        sizes = np.bincount(d.fine.astype(np.int64), minlength=len(d.topics))
        out = []
        for t in d.topics:
            i = t["id"]
            out.append(
                TopicStats(
                    i,
                    t["label"],
                    t["parent"],
                    d.broad[t["parent"]]["label"],
                    int(sizes[i]),
                    int(recent[i]),
                    int(before[i]),
                    float(mom[i]),
                    t["x"],
                    t["y"],
                    int(t.get("row", -1)),
                )
            )
        return out

    def rising(self, limit: int = 8) -> list[TopicStats]:
        """Topics gaining fastest: highest momentum among those with enough recent papers."""
        ts = [t for t in self.topics() if t.recent >= RISING_MIN_RECENT and t.momentum > 1.0]
        ts.sort(key=lambda t: (-t.momentum, -t.recent))
        return ts[:limit]

    def monthly(self) -> tuple[list[str], np.ndarray]:
        """(month labels 'YYYY-MM', papers per fine topic and month)."""
        from paperboy.ranking.topics import month_index, per_month

        d = self.data()
        known = d.day >= 0
        first, counts = per_month(d.fine[known], month_index(d.day[known]), len(d.topics))
        return [_month_label(first + i) for i in range(counts.shape[1])], counts

    def rows_of(self, ids: Iterable[str]) -> list[int]:
        """Row numbers (positions in the points data) of the given paper ids that are on the map."""
        d = self.data()
        pos = _positions(d)
        return [pos[i] for i in ids if i in pos]

    def topic_counts(self, ids: Iterable[str]) -> list[tuple[TopicStats, int]]:
        """The reader's topics: how many of `ids` fall in each fine topic, most first."""
        d = self.data()
        rows = self.rows_of(ids)
        if not rows:
            return []
        counts = np.bincount(d.fine[rows].astype(np.int64), minlength=len(d.topics))
        stats = self.topics()
        return [(stats[i], int(counts[i])) for i in np.argsort(-counts, kind="stable") if counts[i] > 0]

    def titles(self, chunk: int | None = None) -> tuple[str, bytes]:
        """(ETag key, gzip "id<TAB>title" lines in row order) for the browser: every row, or the TITLE_CHUNK rows
        of one chunk (rows chunk * TITLE_CHUNK onwards: the page fetches the chunk of the point under the mouse).
        Papers hidden by a moderator since the map was written go out as empty lines (their row keeps its place).
        Raises IndexError for a chunk past the last row."""
        d = self.data()
        lo, hi = (0, len(d)) if chunk is None else (chunk * TITLE_CHUNK, min(len(d), (chunk + 1) * TITLE_CHUNK))
        if lo >= hi and chunk is not None:
            raise IndexError(f"no titles chunk {chunk}: the map has {len(d)} rows in chunks of {TITLE_CHUNK}")
        ids = d.ids[lo:hi]
        hidden = self.store.hidden_among(ids)
        key = f"{d.generation}-{'all' if chunk is None else chunk}-{len(hidden)}"
        key += f"-{zlib.crc32(''.join(sorted(hidden)).encode()):08x}"
        with self._lock:
            body = self._titles.get(key)
        if body is not None:
            return key, body
        lines = "".join("\n" if i in hidden else f"{i}\t{' '.join(t.split())}\n" for i, t in zip(ids, d.titles[lo:hi]))
        body = gzip.compress(lines.encode(), 6, mtime=0)
        with self._lock:
            if len(self._titles) >= TITLE_CACHE or any(not k.startswith(f"{d.generation}-") for k in self._titles):
                self._titles.clear()
            self._titles[key] = body
        return key, body

    def points(self) -> tuple[int, bytes, bytes]:
        """(generation, binary points, the same gzipped) for the browser; see `encode_points`."""
        d = self.data()
        cached = self._points
        if cached is not None and cached[0] == d.generation:
            return cached
        with self._lock:
            if self._points is None or self._points[0] != d.generation:
                raw = encode_points(d)
                self._points = (d.generation, raw, gzip.compress(raw, 6, mtime=0))
            return self._points

    # -- building -----------------------------------------------------------------------
    @contextlib.contextmanager
    def _writing(self, wait: bool):
        """One writer of the map files at a time across processes (`paperboy map`, the worker)."""
        from filelock import FileLock, Timeout

        self.files.directory.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.files.directory / "update.lock")
        try:
            lock.acquire(timeout=-1 if wait else 0)
        except Timeout:
            raise MapBusy(f"another process is updating the map ({lock.lock_file})") from None
        try:
            yield
        finally:
            lock.release()

    def _vectors(self):
        if not self.indexes.dense_ready():  # checked first: opening an absent index would load the model
            raise MapMissing("no embeddings yet: run `paperboy index` first")
        vec = self.indexes.vectors
        if len(vec) == 0:
            raise MapMissing("no embeddings yet: run `paperboy index` first")
        return vec

    def _paper_fields(self, wanted: set[str] | None, on_progress: Callable[[int], None] | None = None):
        """id -> (title, text, primary category, day) from the store (every paper, or those wanted)."""
        out: dict[str, tuple[str, str, str, int]] = {}
        if wanted is not None and len(wanted) < 20_000:
            papers: Iterable[Paper] = self.store.get_many(sorted(wanted), include_hidden=True).values()
        else:
            papers = (p for _s, p in self.store.iter_papers(0))
        for p in papers:
            pid = p.id or p.paper_id()
            if wanted is None or pid in wanted:
                cat = p.categories[0] if p.categories else ""
                out[pid] = (p.title, paper_text(p), cat, paper_day(p))
                if on_progress and len(out) % 5000 == 0:
                    on_progress(len(out))
        return out

    def build(self, *, seed: int | None = None, progress: bool = False, wait: bool = True) -> BuildReport:
        """Lay out every embedded paper, cluster the layout into topics and label them; publish the new map."""
        with self._writing(wait):
            return self._build(seed, progress)

    def _build(self, seed: int | None, progress: bool) -> BuildReport:
        from paperboy.index.knn import HNSW_KNN_MIN, knn_graph
        from paperboy.ranking.layout import N_NEIGHBORS, layout
        from paperboy.ranking.topics import cluster, label_topics

        secs: dict[str, float] = {}
        cpu: dict[str, float] = {}
        t0, c0 = time.perf_counter(), time.process_time()
        t, c = t0, c0

        def lap(stage: str) -> None:  # wall and CPU seconds of the stage that just ended
            nonlocal t, c
            secs[stage], cpu[stage] = time.perf_counter() - t, time.process_time() - c
            t, c = time.perf_counter(), time.process_time()

        dense_seq = self._dense_seq()
        vec = self._vectors()
        fields = self._paper_fields(None)
        vids = vec.ids
        rows = [r for r, i in enumerate(vids) if i in fields]  # a paper deleted since it was embedded: left out
        ids = [vids[r] for r in rows]
        matrix = vec.matrix() if len(rows) == len(vids) else vec.matrix()[np.asarray(rows, np.int64)]
        lap("read")
        knn = None
        if len(ids) >= HNSW_KNN_MIN:  # an approximate graph: O(n log n) instead of the exact O(n^2) product
            knn = knn_graph(matrix, N_NEIGHBORS - 1, deterministic=seed is not None)
        lap("neighbours")
        xy = layout(matrix, seed=seed, knn=knn, verbose=progress)
        lap("layout")
        topics = cluster(xy)
        lap("cluster")
        texts = [fields[i][1] for i in ids]
        n_fine, n_broad = len(topics.parent), int(topics.parent.max()) + 1
        fine_labels = label_topics(texts, topics.fine, n_fine)
        broad_labels = label_topics(texts, topics.broad, n_broad, terms=2)
        lap("labels")
        cats = sorted({fields[i][2] for i in ids})
        cat_pos = {c: k for k, c in enumerate(cats)}
        data = MapData(
            ids=ids,
            xy=xy,
            fine=topics.fine,
            day=np.fromiter((fields[i][3] for i in ids), np.int32, len(ids)),
            category=np.fromiter((cat_pos[fields[i][2]] for i in ids), np.uint16, len(ids)),
            titles=[fields[i][0] for i in ids],
            categories=cats,
            topics=_topic_entries(xy, topics.fine, fine_labels, parent=topics.parent),
            broad=_topic_entries(xy, topics.broad, broad_labels),
            meta={
                "model": vec.model_name,
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "base_count": len(ids),
                "placed": 0,
                "seed": seed,
                "dense_seq": dense_seq,
            },
        )
        self.files.save(data)
        secs["total"], cpu["total"] = time.perf_counter() - t0, time.process_time() - c0
        return BuildReport(len(ids), n_fine, n_broad, secs, cpu)

    def update(self, *, wait: bool = True) -> int:
        """Place papers embedded since the last build or update into the map (old points stay); how many."""
        if not self.files.exists():
            return 0
        with self._writing(wait):
            return self._update()

    def _update(self) -> int:
        from paperboy.ranking.layout import place

        old = self.files.load()
        if old is None:
            return 0
        dense_seq = self._dense_seq()
        vec = self._vectors()
        vids = vec.ids
        on_map = set(old.ids)
        new_rows = [r for r, i in enumerate(vids) if i not in on_map]
        if not new_rows:
            self.files.set_meta({**old.meta, "dense_seq": dense_seq})  # checked: not stale until the next change
            return 0
        new_ids = [vids[r] for r in new_rows]
        fields = self._paper_fields(set(new_ids))
        keep = [k for k, i in enumerate(new_ids) if i in fields]
        new_ids = [new_ids[k] for k in keep]
        if not new_ids:
            self.files.set_meta({**old.meta, "dense_seq": dense_seq})
            return 0
        matrix = vec.matrix()  # float16, unit rows
        pos = {i: r for r, i in enumerate(vids)}
        base_rows = np.fromiter((pos.get(i, -1) for i in old.ids), np.int64, len(old.ids))
        alive = base_rows >= 0  # papers gone from the vector index stay on the map but guide no one
        base = matrix[base_rows[alive]].astype(np.float32)  # stored unit-length: no normalising pass
        xy, fine = place(matrix[np.asarray(new_rows)[keep]], base, old.xy[alive], old.fine[alive])
        cats = list(old.categories)
        cat_pos = {c: k for k, c in enumerate(cats)}
        for i in new_ids:
            if fields[i][2] not in cat_pos:
                cat_pos[fields[i][2]] = len(cats)
                cats.append(fields[i][2])
        data = MapData(
            ids=old.ids + new_ids,
            xy=np.concatenate([old.xy, xy]),
            fine=np.concatenate([old.fine, fine]),
            day=np.concatenate([old.day, np.fromiter((fields[i][3] for i in new_ids), np.int32, len(new_ids))]),
            category=np.concatenate(
                [old.category, np.fromiter((cat_pos[fields[i][2]] for i in new_ids), np.uint16, len(new_ids))]
            ),
            titles=old.titles + [fields[i][0] for i in new_ids],
            categories=cats,
            topics=old.topics,
            broad=old.broad,
            meta={
                **old.meta,
                "placed": int(old.meta.get("placed", 0)) + len(new_ids),
                "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "dense_seq": dense_seq,
            },
        )
        sizes = np.bincount(data.fine.astype(np.int64), minlength=len(data.topics))
        data.topics = [{**t, "size": int(sizes[t["id"]])} for t in data.topics]
        bsizes = np.bincount(np.asarray([t["parent"] for t in data.topics])[data.fine], minlength=len(data.broad))
        data.broad = [{**b, "size": int(bsizes[b["id"]])} for b in data.broad]
        self.files.save(data, appended_to=len(old))
        return len(new_ids)


def _topic_entries(
    xy: np.ndarray, groups: np.ndarray, labels: Sequence[str], parent: np.ndarray | None = None
) -> list[dict[str, Any]]:
    out = []
    for g, label in enumerate(labels):
        member = groups == g
        # The label sits at the member nearest the mean: the mean of a crescent lies outside it.
        rows = np.flatnonzero(member)
        pts = xy[rows]
        centre = pts.mean(axis=0) if len(pts) else np.zeros(2)
        k = int(np.argmin(((pts - centre) ** 2).sum(axis=1))) if len(pts) else -1
        anchor = pts[k] if len(pts) else centre
        entry = {
            "id": g,
            "label": label,
            "x": round(float(anchor[0]), 5),
            "y": round(float(anchor[1]), 5),
            "row": int(rows[k]) if len(pts) else -1,
            "size": int(member.sum()),
        }
        if parent is not None:
            entry["parent"] = int(parent[g])
        out.append(entry)
    return out


_POSITIONS: dict[int, tuple[int, dict[str, int]]] = {}


def _positions(d: MapData) -> dict[str, int]:
    key = id(d)
    hit = _POSITIONS.get(key)
    if hit is None or hit[0] != d.generation:
        _POSITIONS.clear()
        hit = (d.generation, {i: r for r, i in enumerate(d.ids)})
        _POSITIONS[key] = hit
    return hit[1]


def _month_label(m: int) -> str:
    return f"{1970 + m // 12:04d}-{m % 12 + 1:02d}"


def encode_points(d: MapData) -> bytes:
    """The browser's binary: header then column arrays, little-endian, every array aligned to its size.

    header (16 bytes): b"PBM1", uint32 count, uint32 first month (months since 1970-01), uint32 topics
    then float32 x[count], float32 y[count], uint16 topic[count], uint16 month[count] (months after
    the first; 65535 unknown), uint16 category[count].
    """
    from paperboy.ranking.topics import month_index

    n = len(d)
    known = d.day >= 0
    months = np.full(n, NO_MONTH, np.uint16)
    first = 0
    if known.any():
        m = month_index(d.day[known])
        first = int(m.min())
        months[known] = (m - first).astype(np.uint16)
    head = POINTS_MAGIC + struct.pack("<III", n, first, len(d.topics))
    parts = [
        head,
        d.xy[:, 0].astype("<f4").tobytes(),
        d.xy[:, 1].astype("<f4").tobytes(),
        d.fine.astype("<u2").tobytes(),
        months.astype("<u2").tobytes(),
        d.category.astype("<u2").tobytes(),
    ]
    return b"".join(parts)
