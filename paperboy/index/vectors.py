"""Persisted paper vectors: float16 matrix + ids + text hashes + manifest, no pickles.

Layout of an index directory (every file readable with numpy / a text viewer):

    manifest.json              model, dim, dtype, count, rows_bytes, text_format, created/updated, generation, files
    vectors-<gen>.f16          float16 rows (count x dim, no header; np.fromfile), L2-normalised, append-only
    rows-<gen>.tsv             "<paper id>\t<sha1 of the embedded text>\n" per row, append-only
    hnsw-<gen>.usearch         optional HNSW graph (derived, rebuilt when missing; saved whole with each generation)

A save that only adds papers (the common case: new papers every day) appends their rows to the two
files, fsyncs them, then atomically replaces manifest.json, whose count and rows_bytes say how much
of each file is published: a reader maps exactly that prefix, which no later append touches, and a
crash leaves unpublished bytes past it that the next append overwrites. A save after a replacement
or a delete (rows change in place) writes the whole matrix as new files named by the generation.
Files of the previous manifest are kept one save longer so a reader that has just read it can still
open them. Format 1 indexes (whole-matrix .npy + JSON per generation) are read, and rewritten by the
first save.

Nearest neighbours: up to HNSW_MIN_VECTORS the search is exact. A process's first search scans the stored
matrix with usearch (f16 SIMD, no build step); from its second search over the same rows it uses an int8 scan
in ONNX Runtime with float16 rescoring (int8_scan.py: ~3x faster, same results), built once per set of rows.
Beyond that, when
usearch is installed, an HNSW graph is built by index updates only (`paperboy index`, the worker,
under the index lock; build_ann), saved beside the vectors as part of the generation (so it is
published atomically with them) and updated incrementally on upsert. A search never builds it: an
index without its graph is scanned exactly. Readers memory-map the vectors and the graph (mmap=True), hold
the ids in numpy (RowIds: ~15 bytes a row instead of ~150 as Python objects) and leave the text hashes on
disk. The graph holds int8 vectors: its candidates, and the stored vectors readers hand out (fusion scores,
feedback), are float16 rows read with pread, which keeps the rows searches visit out of the process's memory.
(An older float16 graph serves its own copy of the rows until an update replaces it.)
Without usearch the fallback is numpy f32 over a cached f32 copy. The switch and the graph settings
come from `benchmarks/ann_scale.py` (75k-1M vectors, derived from real embeddings and calibrated
against them; figures and reasoning in benchmarks/RESULTS.md).

Filters: `allowed` (ids) and `mask` (a boolean per row, how category/author/date filters arrive,
cached per filter by Indexes.filter_mask) restrict the result. A filter keeping under
ANN_FILTER_MIN_FRACTION (5%) of the rows is scored directly (gather + matmul over just those
rows). Larger filters over-fetch from the scan/graph in proportion to how much they discard
(`over_fetch`) and test the mask per candidate; if that still leaves fewer than k hits, the allowed rows are scored
directly, so filtered results are never short.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from paperboy.index import int8_scan
from paperboy.index.int8_scan import Int8Scan
from paperboy.index.row_ids import RowIds
from paperboy.models import Hits

FORMAT = "paperboy-vectors"
FORMAT_VERSION = 2  # 1: vectors-<gen>.npy + ids/hashes JSON, rewritten whole by every save
MANIFEST = "manifest.json"
HNSW_MIN_VECTORS = 200_000
ANN_FILTER_MIN_FRACTION = 0.05
# Below this many vectors numpy scans in about a millisecond, less than importing usearch costs a
# fresh `paperboy search` process; above it usearch's f16 SIMD scan wins.
SIMD_SCAN_MIN_VECTORS = 20_000
# Graph settings, measured (benchmarks/ann_scale.py, RESULTS.md "ANN recall at 1M"): at 1M vectors derived
# from real embeddings (harder than real ones at equal size), M 16 / add 64 with ef 512 gave recall@10
# 0.959-0.968 but 0.942-0.948 inside filters (which must find the top `fetch`, not the top 10); ef 1024
# gives 0.982-0.985, and 0.964-0.984 filtered, for ~4 ms of query CPU instead of ~2. Doubling
# expansion_add doubles the build CPU for under +0.01 (200k); larger M was not needed.
HNSW_CONNECTIVITY = 16
HNSW_EXPANSION_ADD = 64
HNSW_EXPANSION_SEARCH = 1024
# The graph keeps its own copy of the vectors in int8 (usearch normalises, then scales by 127): half the
# memory of float16, the largest part of a serving process at 3.1M papers. Its distances only choose
# candidates: at least HNSW_RESCORE_MIN of them, and twice what the search returns, are scored again from
# the float16 matrix, which gives back the recall int8 distances alone lose (benchmarks/RESULTS.md).
HNSW_DTYPE = "i8"
HNSW_RESCORE_MIN = 100
# Up to this many rows a memory-mapped reader reads stored vectors with pread rather than through the map,
# so the pages a search looks at stay in the page cache but out of the process (one search's candidates and
# fusion rows are a few hundred random rows of a 2.4 GB matrix at 3.1M; the map would keep each it touches).
PREAD_MAX_ROWS = 4096


class ModelMismatch(ValueError):
    """The index on disk was built with another embedding model (or dimension)."""


class IndexCorrupt(RuntimeError):
    """The index files disagree with their manifest."""


class _EmbedderLike(Protocol):
    name: str
    dim: int

    def embed_documents(self, texts: Sequence[str], progress: bool = True) -> np.ndarray: ...


def _load_onnxruntime_first() -> None:
    """Import ONNX Runtime (the encoder) before usearch: usearch's extension exports the libstdc++ it links
    statically, and ONNX Runtime loaded after it binds to those symbols and crashes the process (segfault)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        pass


def text_hash(text: str) -> str:
    """sha1 hex digest of the exact text that was embedded."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _fsync_write(path: Path, write) -> None:
    with open(path, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _normalise(vectors: np.ndarray) -> np.ndarray:
    v = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(norms, 1e-12)


class VectorIndex:
    """Vectors for paper ids, persisted in `directory`, searchable by cosine similarity.

    Opening an existing directory loads it; a manifest for another model or dimension raises
    ModelMismatch unless reset=True (which starts empty and overwrites on the next save).
    hnsw_min_vectors: size from which search uses the HNSW graph (needs usearch; default HNSW_MIN_VECTORS).
    mmap: memory-map the saved vectors and graph read-only (readers: pages shared between
    processes and loaded on demand); the first change copies them into memory.
    """

    def __init__(
        self,
        directory: Path | str,
        *,
        model_name: str,
        dim: int,
        reset: bool = False,
        text_format: int | None = None,
        hnsw_min_vectors: int | None = None,
        mmap: bool = False,
    ) -> None:
        self.directory = Path(directory)
        self.model_name = model_name
        self.dim = int(dim)
        if text_format is None:
            from paperboy.index.embedder import TEXT_FORMAT_VERSION as text_format  # no torch import
        self.text_format = int(text_format)
        self.hnsw_min_vectors = HNSW_MIN_VECTORS if hnsw_min_vectors is None else int(hnsw_min_vectors)
        self._mmap = bool(mmap)
        # Writers keep ids as a list + dict; memory-mapped readers as RowIds (numpy) with the hashes, which
        # only embedding needs, left on disk until asked for (_row_hashes).
        self._ids: list[str] | RowIds = []
        self._hashes: list[str] | None = []
        self._pos: dict[str, int] | None = {}
        self._vecs = np.zeros((0, self.dim), dtype=np.float16)  # capacity >= len, rows [:n] valid
        self._n = 0
        self._f32: np.ndarray | None = None  # exact-search cache, rows [:n] valid when not None
        self._ann = None  # usearch Index keyed by row position, or None
        self._ann_synced_gen: int | None = None  # generation whose hnsw file matches self._ann
        self._int8: Int8Scan | None = None  # exact-scan accelerator of the current rows (_exact_scan)
        self._int8_lock = threading.Lock()
        self._exact_scans = 0
        self._generation = 0
        self._published: dict[str, Any] | None = None  # the append-only files on disk and how much of them is valid
        self._in_place = False  # rows changed in place since the last save: the next save rewrites the files
        self._created = _now()
        self._updated = self._created
        self._dirty = False
        manifest = self._read_manifest()
        if manifest is not None:
            stored_model, stored_dim = manifest.get("model"), int(manifest.get("dim", -1))
            if (stored_model != model_name or stored_dim != self.dim) and not reset:
                raise ModelMismatch(
                    f"vector index in {self.directory} was built with {stored_model!r} (dim {stored_dim}), "
                    f"not {model_name!r} (dim {self.dim}); rebuild it (reset=True / `paperboy index --rebuild`)"
                )
            self._generation = int(manifest.get("generation", 0))
            if reset:
                self._dirty = True
            else:
                self._load(manifest)

    # ----------------------------------------------------------------- persistence
    def _read_manifest(self) -> dict[str, Any] | None:
        path = self.directory / MANIFEST
        if not path.exists():
            return None
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
        if manifest.get("format") != FORMAT:
            raise IndexCorrupt(f"{path} is not a {FORMAT} manifest")
        if int(manifest.get("format_version", 0)) > FORMAT_VERSION:
            raise IndexCorrupt(f"{path} has format_version {manifest['format_version']}, newer than this code")
        return manifest

    def _load(self, manifest: dict[str, Any]) -> None:
        files = manifest["files"]
        count = int(manifest["count"])
        try:
            if "rows" in files:
                vecs, ids, hashes = self._read_rows(files, count, int(manifest["rows_bytes"]))
            else:  # format 1
                vecs = np.load(
                    self.directory / files["vectors"], allow_pickle=False, mmap_mode="r" if self._mmap else None
                )
                with open(self.directory / files["ids"], encoding="utf-8") as f:
                    ids = json.load(f)
                with open(self.directory / files["hashes"], encoding="utf-8") as f:
                    hashes = json.load(f)
        except FileNotFoundError:
            # A writer replaced the manifest and pruned our generation between two reads: reread once.
            fresh = self._read_manifest()
            if fresh is None or fresh.get("generation") == manifest.get("generation"):
                raise
            self._generation = int(fresh.get("generation", 0))
            return self._load(fresh)
        if self._mmap and not isinstance(ids, RowIds):  # format 1, read by a reader
            ids = RowIds.from_strings(ids)
        n_hashes = count if hashes is None else len(hashes)
        if not (vecs.shape == (count, self.dim) and len(ids) == count == n_hashes):
            raise IndexCorrupt(
                f"{self.directory}: manifest says {count} x {self.dim}, files hold "
                f"{vecs.shape}, {len(ids)} ids, {n_hashes} hashes"
            )
        self._vecs = vecs if self._mmap and vecs.dtype == np.float16 else np.ascontiguousarray(vecs, dtype=np.float16)
        self._n = count
        if isinstance(ids, RowIds):
            self._ids, self._hashes, self._pos = ids, hashes, None
            if ids.duplicated():
                raise IndexCorrupt(f"{self.directory}: duplicate ids in the index")
        else:
            self._ids = list(ids)
            self._hashes = list(hashes)
            self._pos = {i: p for p, i in enumerate(self._ids)}
            if len(self._pos) != count:
                raise IndexCorrupt(f"{self.directory}: duplicate ids in the index")
        if "rows" in files:
            self._published = {"vectors": files["vectors"], "rows": files["rows"], "count": count}
            self._published["rows_bytes"] = int(manifest["rows_bytes"])
        self._created = manifest.get("created", self._created)
        self._updated = manifest.get("updated", self._updated)
        hnsw = files.get("hnsw")
        if hnsw and (self.directory / hnsw).exists():
            try:
                _load_onnxruntime_first()
                from usearch.index import Index

                ann = Index.restore(str(self.directory / hnsw), view=self._mmap)
                if ann is not None and len(ann) == count:
                    self._ann = ann
                    self._ann_synced_gen = self._generation
            except ImportError:
                pass

    def _read_rows(self, files: dict[str, str], count: int, rows_bytes: int) -> tuple[np.ndarray, Any, Any]:
        """The published prefix of the append-only files: (vectors, ids, hashes).

        Memory-mapped (readers): ids as RowIds and hashes None (read on demand by _row_hashes)."""
        path = self.directory / files["vectors"]
        with open(self.directory / files["rows"], "rb") as f:
            data = f.read(rows_bytes)
        if self._mmap:
            try:
                ids, hashes = RowIds.parse_rows(data), None
            except ValueError as e:
                raise IndexCorrupt(f"{self.directory}: malformed line in {files['rows']}") from e
        else:
            ids, hashes = _parse_rows(data)
            if ids is None:
                raise IndexCorrupt(f"{self.directory}: malformed line in {files['rows']}")
        if count == 0:
            return np.zeros((0, self.dim), dtype=np.float16), ids, hashes
        if self._mmap:
            if path.stat().st_size < count * self.dim * 2:
                raise IndexCorrupt(f"{self.directory}: {files['vectors']} is shorter than {count} rows")
            return np.memmap(path, dtype=np.float16, mode="r", shape=(count, self.dim)), ids, hashes
        vecs = np.fromfile(path, dtype=np.float16, count=count * self.dim)
        if vecs.size != count * self.dim:
            raise IndexCorrupt(f"{self.directory}: {files['vectors']} is shorter than {count} rows")
        return vecs.reshape(count, self.dim), ids, hashes

    def _row_hashes(self) -> list[str]:
        """The text hashes of all rows (a reader loads them from its published rows file on first use)."""
        if self._hashes is None:
            pub = self._published
            if pub is None:  # format 1
                with open(self.directory / self._read_manifest()["files"]["hashes"], encoding="utf-8") as f:
                    self._hashes = list(json.load(f))[: self._n]
            else:
                with open(self.directory / pub["rows"], "rb") as f:
                    _ids, hashes = _parse_rows(f.read(pub["rows_bytes"]))
                if hashes is None or len(hashes) != self._n:
                    raise IndexCorrupt(f"{self.directory}: {pub['rows']} changed under a reader")
                self._hashes = hashes
        return self._hashes

    def _row(self, paper_id: str) -> int | None:
        if self._pos is not None:
            return self._pos.get(paper_id)
        return self._ids.row(paper_id)

    def _ids_at(self, rows: np.ndarray) -> list[str]:
        if isinstance(self._ids, RowIds):
            return self._ids.take(rows)
        return [self._ids[p] for p in rows]

    def save(self) -> None:
        """Publish the index as a new generation: append new rows (or rewrite after in-place changes),
        then atomically switch the manifest to it."""
        if not self._dirty and (self.directory / MANIFEST).exists():
            if self._ann is None or self._ann_synced_gen == self._generation:
                return
        self.directory.mkdir(parents=True, exist_ok=True)
        gen = self._generation + 1
        n = self._n
        old = self._read_manifest()
        published = self._published
        # Appending is only safe onto what this object published or loaded: after another writer's save
        # (a stale object), or in-place changes, every row is written anew.
        stale = old is None or int(old.get("generation", 0)) != self._generation
        if published is None or self._in_place or stale or published["count"] > n:
            published = self._write_whole(gen, n)
        else:
            published = self._append(published, n)
        files = {"vectors": published["vectors"], "rows": published["rows"]}
        tmp: Path | None = None
        try:
            if self._ann is not None and len(self._ann) == n:
                files["hnsw"] = f"hnsw-{gen:06d}.usearch"
                fd, tmpname = tempfile.mkstemp(prefix=".hnsw.", suffix=".tmp", dir=self.directory)
                os.close(fd)
                tmp = Path(tmpname)
                self._ann.save(str(tmp))
                _fsync_write_existing(tmp)
                os.replace(tmp, self.directory / files["hnsw"])
                tmp = None
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
        self._updated = _now()
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model": self.model_name,
            "dim": self.dim,
            "dtype": "float16",
            "metric": "cosine",
            "count": n,
            "rows_bytes": published["rows_bytes"],
            "text_format": self.text_format,
            "created": self._created,
            "updated": self._updated,
            "generation": gen,
            "files": files,
        }
        fd, tmpname = tempfile.mkstemp(prefix=".manifest.", suffix=".tmp", dir=self.directory)
        os.close(fd)
        try:
            _fsync_write(Path(tmpname), lambda f: f.write(json.dumps(manifest, indent=2).encode()))
            os.replace(tmpname, self.directory / MANIFEST)  # the commit point
        except BaseException:
            Path(tmpname).unlink(missing_ok=True)
            raise
        _fsync_dir(self.directory)
        self._generation = gen
        self._published = published
        self._in_place = False
        if "hnsw" in files:
            self._ann_synced_gen = gen
        self._dirty = False
        self._prune(keep=set(files.values()) | (set(old["files"].values()) if old else set()))

    def _rows_text(self, start: int, end: int) -> bytes:
        ids = self._ids.take(np.arange(start, end)) if isinstance(self._ids, RowIds) else self._ids[start:end]
        return "".join(f"{i}\t{h}\n" for i, h in zip(ids, self._row_hashes()[start:end])).encode()

    def _write_whole(self, gen: int, n: int) -> dict[str, Any]:
        """New files holding all n rows, under names no reader has seen (a half-written file never has one)."""
        names = {"vectors": f"vectors-{gen:06d}.f16", "rows": f"rows-{gen:06d}.tsv"}
        rows = self._rows_text(0, n)
        tmp: dict[str, Path] = {}
        try:
            for key, name in names.items():
                fd, tmpname = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.directory)
                os.close(fd)
                tmp[key] = Path(tmpname)
            _fsync_write(tmp["vectors"], lambda f: f.write(np.ascontiguousarray(self._vecs[:n]).tobytes()))
            _fsync_write(tmp["rows"], lambda f: f.write(rows))
            for key, name in names.items():
                os.replace(tmp.pop(key), self.directory / name)
        finally:
            for path in tmp.values():
                path.unlink(missing_ok=True)
        return {**names, "count": n, "rows_bytes": len(rows)}

    def _append(self, published: dict[str, Any], n: int) -> dict[str, Any]:
        """Rows added since the last save, written past the published prefix of the same files.

        Bytes a crashed save left past that prefix are overwritten; readers never look past it.
        """
        start = published["count"]
        rows = self._rows_text(start, n)
        for name, offset, data in (
            (published["vectors"], start * self.dim * 2, np.ascontiguousarray(self._vecs[start:n]).tobytes()),
            (published["rows"], published["rows_bytes"], rows),
        ):
            with open(self.directory / name, "r+b") as f:
                f.seek(offset)
                f.write(data)
                f.truncate()
                f.flush()
                os.fsync(f.fileno())
        return {**published, "count": n, "rows_bytes": published["rows_bytes"] + len(rows)}

    def _prune(self, keep: set[str]) -> None:
        for path in self.directory.iterdir():
            name = path.name
            if name.startswith(".") and name.endswith(".tmp"):
                # Leftovers of a crashed save; only remove old ones (another writer may be mid-save).
                try:
                    if time.time() - path.stat().st_mtime > 3600:
                        path.unlink()
                except OSError:
                    pass
                continue
            stem, _, ext = name.rpartition(".")
            prefix, _, gen = stem.rpartition("-")
            if prefix in {"vectors", "rows", "ids", "hashes", "hnsw"} and gen.isdigit() and name not in keep:
                path.unlink(missing_ok=True)

    # ----------------------------------------------------------------- contents
    def __len__(self) -> int:
        return self._n

    def __contains__(self, paper_id: object) -> bool:
        return isinstance(paper_id, str) and self._row(paper_id) is not None

    @property
    def ids(self) -> list[str]:
        return self._ids.tolist() if isinstance(self._ids, RowIds) else list(self._ids)

    @property
    def manifest_path(self) -> Path:
        return self.directory / MANIFEST

    def stale(self, items: Iterable[tuple[str, str]]) -> list[str]:
        """Ids among (id, text_hash) pairs whose vector is missing or was made from other text."""
        out = []
        hashes = self._row_hashes()
        for paper_id, h in items:
            p = self._row(paper_id)
            if p is None or hashes[p] != h:
                out.append(paper_id)
        return out

    def hash_of(self, paper_id: str) -> str | None:
        p = self._row(paper_id)
        return None if p is None else self._row_hashes()[p]

    def matrix(self) -> np.ndarray:
        """The stored float16 unit vectors, rows in `ids` order (a read-only view, no copy)."""
        view = self._vecs[: self._n]
        view.flags.writeable = False
        return view

    def vector(self, paper_id: str) -> np.ndarray | None:
        """The stored unit vector (float32) of a paper, or None."""
        p = self._row(paper_id)
        if p is None:
            return None
        return self._rows_f32(np.array([p], dtype=np.int64))[0]

    def vectors_of(self, ids: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """(the ids among `ids` that have a vector, in order; their float32 unit vectors)."""
        if self._pos is not None:
            pos = self._pos
            found = [i for i in ids if i in pos]
            rows = np.fromiter((pos[i] for i in found), dtype=np.int64, count=len(found))
        else:
            rows = self._ids.rows_of(ids)
            found = self._ids.take(rows)
        return found, self._rows_f32(rows)

    def _rows_f32(self, rows: np.ndarray) -> np.ndarray:
        """Stored vectors of `rows` as float32.

        A memory-mapped reader with a float16 graph (older indexes) reads them from the graph, whose pages
        searches touch anyway; with an int8 graph it preads them from the matrix file (see PREAD_MAX_ROWS)."""
        if self._mmap and self.ann_active() and rows.size:
            if not self._ann_int8():
                got = self._ann.get(rows.astype(np.uint64), dtype=np.float16)
                return np.stack(got).astype(np.float32).reshape(rows.size, self.dim)
            if rows.size <= PREAD_MAX_ROWS and self._published is not None:
                return self._pread(rows).astype(np.float32)
        return self._vecs[rows].astype(np.float32).reshape(rows.size, self.dim)

    def _pread(self, rows: np.ndarray) -> np.ndarray:
        """float16 rows read from the published vectors file, one pread each (rows < the published count).

        All reads are announced first (POSIX_FADV_WILLNEED), so rows not in the page cache, as after a restart,
        are fetched from the disk together rather than one after another (~4x faster cold, a few percent
        slower warm; benchmarks/RESULTS.md)."""
        out = np.empty((rows.size, self.dim), dtype=np.float16)
        size = self.dim * 2
        view = memoryview(out).cast("B")
        offsets = [r * size for r in rows.tolist()]
        fd = os.open(self.directory / self._published["vectors"], os.O_RDONLY)
        try:
            if hasattr(os, "posix_fadvise"):
                for off in offsets:
                    os.posix_fadvise(fd, off, size, os.POSIX_FADV_WILLNEED)
            for i, off in enumerate(offsets):
                if os.preadv(fd, [view[i * size : (i + 1) * size]], off) != size:
                    raise IndexCorrupt(f"{self.directory}: {self._published['vectors']} ends before row {off // size}")
        finally:
            os.close(fd)
        return out

    def _ann_int8(self) -> bool:
        return self._ann is not None and str(self._ann.dtype).lower().endswith("i8")

    def upsert(self, ids: list[str], hashes: list[str], vectors: np.ndarray) -> None:
        """Add or replace vectors (in memory; call save() to persist)."""
        vectors = np.asarray(vectors)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"vectors must be (n, {self.dim}), got {vectors.shape}")
        if not (len(ids) == len(hashes) == len(vectors)):
            raise ValueError("ids, hashes and vectors differ in length")
        if not ids:
            return
        if any("\t" in x or "\n" in x for x in (*ids, *hashes)):
            raise ValueError("ids and hashes must not contain tabs or newlines")
        self._writable()
        unit = _normalise(vectors)
        # Last occurrence wins for ids repeated inside one call.
        last = {paper_id: j for j, paper_id in enumerate(ids)}
        replace_rows, replace_src, new_ids, new_src = [], [], [], []
        for paper_id, j in last.items():
            p = self._pos.get(paper_id)
            if p is None:
                new_ids.append(paper_id)
                new_src.append(j)
            else:
                replace_rows.append(p)
                replace_src.append(j)
        if replace_rows:
            self._in_place = True
            rows, src = np.array(replace_rows), np.array(replace_src)
            self._vecs[rows] = unit[src].astype(np.float16)
            for p, j in zip(replace_rows, replace_src):
                self._hashes[p] = hashes[j]
            if self._f32 is not None:
                self._f32[rows] = self._vecs[rows].astype(np.float32)
            if self._ann is not None:
                for p in replace_rows:
                    self._ann.remove(p)
                self._ann.add(rows.astype(np.uint64), self._vecs[rows])
        if new_ids:
            k = len(new_ids)
            self._reserve(self._n + k)
            start = self._n
            src = np.array(new_src)
            self._vecs[start : start + k] = unit[src].astype(np.float16)
            if self._f32 is not None:
                self._f32[start : start + k] = self._vecs[start : start + k].astype(np.float32)
            for off, (paper_id, j) in enumerate(zip(new_ids, new_src)):
                self._pos[paper_id] = start + off
                self._ids.append(paper_id)
                self._hashes.append(hashes[j])
            self._n += k
            if self._ann is not None:
                self._ann.add(np.arange(start, start + k, dtype=np.uint64), self._vecs[start : start + k])
        self._dirty = True

    def _writable(self) -> None:
        """Copy memory-mapped vectors and graph into memory before the first change."""
        self._int8, self._exact_scans = None, 0  # the rows are about to change
        if not self._vecs.flags.writeable:
            self._vecs = np.array(self._vecs[: self._n], dtype=np.float16)
        if isinstance(self._ids, RowIds):
            self._hashes = list(self._row_hashes())
            self._ids = self._ids.tolist()
            self._pos = {i: p for p, i in enumerate(self._ids)}
        if self._ann is not None and self._mmap:
            self._ann = self._ann.copy() if hasattr(self._ann, "copy") else None
            self._mmap = False

    def _reserve(self, n: int) -> None:
        cap = len(self._vecs)
        if n <= cap:
            return
        new_cap = max(n, int(cap * 1.5) + 1024)  # amortised O(1) appends during resumable builds
        grown = np.zeros((new_cap, self.dim), dtype=np.float16)
        grown[: self._n] = self._vecs[: self._n]
        self._vecs = grown
        if self._f32 is not None:
            g32 = np.zeros((new_cap, self.dim), dtype=np.float32)
            g32[: self._n] = self._f32[: self._n]
            self._f32 = g32

    def delete(self, ids: Iterable[str]) -> None:
        """Remove vectors (in memory; call save() to persist). Unknown ids are ignored."""
        rows = set(self.rows_of(ids).tolist())
        if not rows:
            return
        self._writable()
        keep = np.ones(self._n, dtype=bool)
        keep[list(rows)] = False
        self._vecs = np.ascontiguousarray(self._vecs[: self._n][keep])
        if self._f32 is not None:
            self._f32 = np.ascontiguousarray(self._f32[: self._n][keep])
        self._ids = [i for i, k in zip(self._ids, keep) if k]
        self._hashes = [h for h, k in zip(self._hashes, keep) if k]
        self._pos = {i: p for p, i in enumerate(self._ids)}
        self._n = len(self._ids)
        self._ann = None  # row positions shifted; rebuilt on demand (deletes are rare)
        self._ann_synced_gen = None
        self._in_place = True
        self._dirty = True

    # ----------------------------------------------------------------- search
    def ann_wanted(self) -> bool:
        """Whether the index is large enough for the HNSW graph to pay (and usearch is there)."""
        return self._n >= self.hnsw_min_vectors and _has_usearch()

    def ann_built(self) -> bool:
        return self._ann is not None and len(self._ann) == self._n

    def ann_current(self) -> bool:
        """Whether the graph is built and of the current kind (index updates rebuild an older float16 graph)."""
        return self.ann_built() and self._ann_int8()

    def ann_active(self) -> bool:
        """Whether searches go through the HNSW graph now (it is only built by index updates)."""
        return self.ann_wanted() and self.ann_built()

    def build_ann(self, *, threads: int = 0) -> None:
        """(Re)build the HNSW graph over all vectors; save() then persists it."""
        _load_onnxruntime_first()
        from usearch.index import Index

        ann = Index(
            ndim=self.dim,
            metric="cos",  # on unit vectors the order of "ip"; usearch's int8 kernels are made for it
            dtype=HNSW_DTYPE,
            connectivity=HNSW_CONNECTIVITY,
            expansion_add=HNSW_EXPANSION_ADD,
            expansion_search=HNSW_EXPANSION_SEARCH,
        )
        if self._n:
            ann.add(np.arange(self._n, dtype=np.uint64), self._vecs[: self._n], threads=threads)
        self._ann = ann
        self._ann_synced_gen = None

    def rows_of(self, ids: Iterable[str]) -> np.ndarray:
        """Row positions of the ids that have a vector (unknown ids are skipped)."""
        if self._pos is None:
            return self._ids.rows_of(ids)
        pos = self._pos
        return np.fromiter((pos[i] for i in ids if i in pos), dtype=np.int64)

    def mask_of(self, ids: Iterable[str]) -> np.ndarray:
        """A boolean row mask selecting `ids` (for search(mask=...); callers cache it per filter)."""
        m = np.zeros(self._n, dtype=bool)
        m[self.rows_of(ids)] = True
        return m

    def search(
        self,
        query_vec: np.ndarray,
        k: int = 100,
        *,
        allowed: set[str] | None = None,
        exclude: Iterable[str] = frozenset(),
        mask: np.ndarray | None = None,
    ) -> Hits:
        """Top-k ids by cosine similarity; `allowed` (ids) and `mask` (bool per row) restrict, `exclude` drops ids."""
        n = self._n
        if n == 0 or k <= 0:
            return Hits.empty()
        q = _normalise(np.asarray(query_vec, dtype=np.float32).reshape(-1))
        if q.shape[0] != self.dim:
            raise ValueError(f"query has dimension {q.shape[0]}, index has {self.dim}")
        excl = self.rows_of(exclude)
        keep: np.ndarray | None = None  # rows that may be returned; None = all but excl
        if mask is not None:
            keep = np.zeros(n, dtype=bool)
            m = np.asarray(mask, dtype=bool)[:n]
            keep[: m.size] = m  # rows added after the mask was made are not in it
        if allowed is not None:
            rows = self.rows_of(allowed)
            if keep is None:
                keep = np.zeros(n, dtype=bool)
                keep[rows] = True
            else:
                sub = np.zeros(n, dtype=bool)
                sub[rows] = keep[rows]
                keep = sub
        if keep is not None:
            keep[excl] = False
            n_cand = int(np.count_nonzero(keep))
        else:
            n_cand = n - int(np.unique(excl).size)
        k = min(k, n_cand)
        if k <= 0:
            return Hits.empty()
        if keep is not None and n_cand < ANN_FILTER_MIN_FRACTION * n:
            return self._score_rows(q, k, np.flatnonzero(keep))  # small filter: scoring just those rows is cheapest
        # The int8 scan where exact search is the design; beyond, an index is scanned only until its graph is built.
        exact_sized = SIMD_SCAN_MIN_VECTORS <= self._n < self.hnsw_min_vectors
        if exact_sized and not self.ann_active() and (scan := self._exact_scan()) is not None:
            if keep is None and excl.size:
                keep = np.ones(n, dtype=bool)
                keep[excl] = False
            rows, scores = scan.search(q, k, keep)
            return Hits(self._ids_at(rows), scores)
        if (self._n < SIMD_SCAN_MIN_VECTORS and not self.ann_active()) or not _has_usearch():
            return self._search_numpy(q, k, keep, excl)
        hits = self._search_usearch(q, k, keep, n_cand, excl)
        if hits is not None:
            return hits
        # The filter ate the over-fetch: score the allowed rows directly.
        if keep is None:
            keep = np.ones(n, dtype=bool)
            keep[excl] = False
        return self._score_rows(q, k, np.flatnonzero(keep))

    def _exact_scan(self) -> Int8Scan | None:
        """The int8 scan of the current rows, or None to scan with usearch this time.

        Built on the second exact search over the same rows: a process that searches once (`paperboy search`)
        does not pay the build (a quarter of a second at 75k rows); a server pays it once per index generation.
        """
        if self._int8 is not None:
            return self._int8
        self._exact_scans += 1
        if self._exact_scans < 2 or not int8_scan.available():
            return None
        with self._int8_lock:
            if self._int8 is None:
                self._int8 = Int8Scan(self._vecs[: self._n])
        return self._int8

    def _top(self, scores: np.ndarray, k: int) -> np.ndarray:
        top = np.argpartition(-scores, k - 1)[:k] if k < scores.size else np.arange(scores.size)
        return top[np.argsort(-scores[top], kind="stable")]

    def _score_rows(self, q: np.ndarray, k: int, rows: np.ndarray) -> Hits:
        scores = self._vecs[rows].astype(np.float32) @ q
        top = self._top(scores, k)
        return Hits(self._ids_at(rows[top]), scores[top])

    def _search_numpy(self, q: np.ndarray, k: int, keep: np.ndarray | None, excl: np.ndarray) -> Hits:
        # Fallback without usearch. numpy has no BLAS for float16 (an f16 matmul is ~5x slower than
        # f32), so this keeps an f32 copy of the matrix.
        if self._f32 is None:
            self._f32 = np.zeros((len(self._vecs), self.dim), dtype=np.float32)
            self._f32[: self._n] = self._vecs[: self._n]
        scores = self._f32[: self._n] @ q
        if keep is not None:
            scores[~keep] = -np.inf
        elif excl.size:
            scores[excl] = -np.inf
        top = self._top(scores, k)
        return Hits(self._ids_at(top), scores[top])

    def _search_usearch(
        self, q: np.ndarray, k: int, keep: np.ndarray | None, n_cand: int, excl: np.ndarray
    ) -> Hits | None:
        """Exact f16 scan (small index) or HNSW walk (large), over-fetching to survive filters."""
        fetch, ef = over_fetch(k, self._n, n_cand if keep is not None else None, excl.size)
        rescore = False
        if self.ann_active():
            rescore = self._ann_int8()
            if rescore:
                fetch = min(max(2 * fetch, HNSW_RESCORE_MIN), self._n)
            self._ann.expansion_search = max(ef, fetch)
            matches = self._ann.search(q, fetch, threads=1)
        else:
            _load_onnxruntime_first()
            from usearch.index import search as exact_search

            # SIMD f16 dot products straight off the stored matrix: half the memory traffic of an
            # f32 matmul and no f32 copy (measured ~2x faster than numpy f32 at 75k).
            matches = exact_search(self._vecs[: self._n], q, fetch, "ip", exact=True, threads=_THREADS)
        keys = np.asarray(matches.keys, dtype=np.int64)
        if keep is not None:
            ok = keep[keys]
        else:
            ok = ~np.isin(keys, excl) if excl.size else np.ones(keys.size, dtype=bool)
        keys = keys[ok]
        if keys.size < k:
            return None
        if rescore:
            scores = self._rows_f32(keys) @ q
        else:
            scores = 1.0 - np.asarray(matches.distances, dtype=np.float32)[ok]  # IP distance = 1 - dot
        order = np.argsort(-scores, kind="stable")[:k]
        return Hits(self._ids_at(keys[order]), scores[order])


# The exact scan on one thread: it is bound by memory bandwidth, so a second thread saves almost no wall time
# and costs CPU a busy server's other requests need (benchmarks/RESULTS.md, issue 13 second pass).
_THREADS = 1


def over_fetch(
    k: int, n: int, n_cand: int | None, n_excluded: int = 0, ef: int = HNSW_EXPANSION_SEARCH
) -> tuple[int, int]:
    """(candidates to fetch, HNSW expansion_search) for a top-k search of n rows, n_cand of them allowed.

    A filter fetches in proportion to what it discards (twice that, for the filter's unevenness); the
    walk's ef is at least the fetch. (An ef of 2 x fetch for narrow filters was measured at 1M: 6%
    filter, recall 0.943 against 0.942 with ef 512, so no wider walk than ef itself.)
    """
    fetch = k + n_excluded if n_cand is None else math.ceil(k * n / max(n_cand, 1) * 2)
    fetch = min(max(fetch, k), n)
    return fetch, max(ef, fetch)


@functools.lru_cache(maxsize=1)
def _has_usearch() -> bool:
    try:
        _load_onnxruntime_first()
        import usearch.index  # noqa: F401
    except ImportError:
        return False
    return True


def _parse_rows(data: bytes) -> tuple[list[str] | None, list[str] | None]:
    """(ids, hashes) of "<id>\t<hash>\n" lines; (None, None) when a line is malformed."""
    pairs = [line.split("\t") for line in data.decode("utf-8").split("\n")[:-1]]
    if any(len(pair) != 2 for pair in pairs):
        return None, None
    return [pair[0] for pair in pairs], [pair[1] for pair in pairs]


def _fsync_write_existing(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def embed_missing(
    index: VectorIndex,
    embedder: _EmbedderLike,
    items: Iterable[tuple[str, str]],
    *,
    batch_size: int = 256,
    checkpoint_every: int = 2048,
    progress: bool = True,
    publish: Callable[[list[str], list[str], np.ndarray], None] | None = None,
) -> int:
    """Embed the (id, text) items whose text changed or has no vector; returns how many.

    Saves the index every `checkpoint_every` new vectors, so an interrupted run loses at most one
    checkpoint and a rerun resumes where it stopped. `batch_size` is how many texts go to the
    embedder per call (the progress bar's step). `publish(ids, hashes, unit_vectors)` receives each
    checkpoint's vectors before it is saved locally (Indexes writes them to the store there).
    """
    if getattr(embedder, "name", index.model_name) != index.model_name:
        raise ModelMismatch(f"embedder {embedder.name!r} does not match index model {index.model_name!r}")
    texts: dict[str, str] = {}
    hashes: dict[str, str] = {}
    for paper_id, text in items:
        h = text_hash(text)
        if index.hash_of(paper_id) == h:
            texts.pop(paper_id, None)
            continue
        texts[paper_id] = text
        hashes[paper_id] = h
    todo = list(texts)
    if not todo:
        return 0
    batch_size = max(1, min(batch_size, checkpoint_every))  # checkpoints fall between batches
    # Longest first, globally: batches of similar length pad less (the embedder sorts per call too).
    todo.sort(key=lambda i: -len(texts[i]))
    from tqdm.auto import tqdm

    done = 0
    pending_ids: list[str] = []
    pending_vecs: list[np.ndarray] = []
    with tqdm(total=len(todo), desc="embedding", unit="doc", disable=None if progress else True) as bar:
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            vecs = embedder.embed_documents([texts[i] for i in chunk], progress=False)
            pending_ids.extend(chunk)
            pending_vecs.append(np.asarray(vecs, dtype=np.float32))
            bar.update(len(chunk))
            if len(pending_ids) >= checkpoint_every:
                _checkpoint(index, pending_ids, [hashes[i] for i in pending_ids], pending_vecs, publish)
                index.save()
                done += len(pending_ids)
                pending_ids, pending_vecs = [], []
    if pending_ids:
        _checkpoint(index, pending_ids, [hashes[i] for i in pending_ids], pending_vecs, publish)
        done += len(pending_ids)
    index.save()
    return done


def _checkpoint(index: VectorIndex, ids: list[str], hashes: list[str], parts: list[np.ndarray], publish) -> None:
    vectors = _normalise(np.concatenate(parts))
    if publish is not None:
        publish(ids, hashes, vectors)  # the store first: a crash here re-embeds, never loses a stored vector
    index.upsert(ids, hashes, vectors)
