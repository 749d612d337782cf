"""The paper map's files: positions, topics and labels of every paper, versioned, no pickles.

Layout of `<home>/index/map/` (derived from the store and the vectors; `paperboy map --rebuild` remakes it):

    manifest.json             format, generation, count, model, when built, how many papers were placed since
    xy-<gen>.npy              float32 (n, 2) positions in [-1, 1]
    fine-<gen>.npy            uint16 (n,) fine topic per paper (its broad topic: topics.json "parent")
    day-<gen>.npy             int32 (n,) listing/publication day, days since 1970-01-01 (-1: unknown)
    category-<gen>.npy        uint16 (n,) primary category, an index into topics.json "categories"
    ids-<gen>.json            paper ids in row order
    topics-<gen>.json         fine and broad topics (label, parent, centre, size) and the category names
    titles-<gen>.tsv.gz       "id<TAB>title" per row, gzip (a placement appends a gzip member for its rows)

A save writes a new generation's files, then atomically replaces manifest.json, which names them;
the previous generation stays one save longer for readers that have just read the old manifest.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "paperboy-map"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ARRAYS = {"xy": np.float32, "fine": np.uint16, "day": np.int32, "category": np.uint16}


class MapCorrupt(RuntimeError):
    """The map files disagree with their manifest (rebuild with `paperboy map --rebuild`)."""


@dataclass(slots=True)
class MapData:
    """One generation of the map, all rows aligned with `ids`."""

    ids: list[str]
    xy: np.ndarray
    fine: np.ndarray
    day: np.ndarray
    category: np.ndarray
    titles: list[str]
    topics: list[dict[str, Any]]  # fine: id, label, parent, x, y, size
    broad: list[dict[str, Any]]  # id, label, x, y, size
    categories: list[str]
    meta: dict[str, Any] = field(default_factory=dict)  # model, built_at, store_seq, base_count, placed
    generation: int = 0

    def __len__(self) -> int:
        return len(self.ids)


def _write_atomic(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class MapFiles:
    """Reads and publishes the map directory; `load()` is cached per generation and thread-safe."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._cached: MapData | None = None
        self._lock = threading.Lock()

    def manifest(self) -> dict[str, Any] | None:
        try:
            m = json.loads((self.directory / MANIFEST).read_text())
        except (OSError, ValueError):
            return None
        if m.get("format") != FORMAT:
            raise MapCorrupt(f"{self.directory / MANIFEST} is not a {FORMAT} manifest")
        if int(m.get("format_version", 0)) > FORMAT_VERSION:
            raise MapCorrupt(f"{self.directory / MANIFEST} is newer than this code (format {m['format_version']})")
        return m

    def exists(self) -> bool:
        return self.manifest() is not None

    def load(self) -> MapData | None:
        """The current generation (None before the first build); re-read only when the manifest changed."""
        m = self.manifest()
        if m is None:
            return None
        with self._lock:
            if self._cached is not None and self._cached.generation == m["generation"]:
                return self._cached
            try:
                data = self._read(m)
            except FileNotFoundError:  # pruned between our two reads: a newer manifest is there
                m = self.manifest()
                data = self._read(m)
            self._cached = data
            return data

    def _read(self, m: dict[str, Any]) -> MapData:
        files = m["files"]
        arrays = {name: np.load(self.directory / files[name], allow_pickle=False) for name in ARRAYS}
        ids = json.loads((self.directory / files["ids"]).read_text())
        topics = json.loads((self.directory / files["topics"]).read_text())
        with gzip.open(self.directory / files["titles"], "rt", encoding="utf-8") as f:
            titles = [line.rstrip("\n").split("\t", 1)[-1] for line in f]
        n = int(m["count"])
        if len(ids) != n or len(titles) != n or any(len(a) != n for a in arrays.values()):
            raise MapCorrupt(f"{self.directory}: files disagree with the manifest's count {n}")
        return MapData(
            ids=ids,
            titles=titles,
            topics=topics["fine"],
            broad=topics["broad"],
            categories=topics["categories"],
            meta=m.get("meta", {}),
            generation=int(m["generation"]),
            **{k: arrays[k].astype(t, copy=False) for k, t in ARRAYS.items()},
        )

    def set_meta(self, meta: dict[str, Any]) -> None:
        """Replace the manifest's "meta" (same generation, same files)."""
        m = self.manifest()
        if m is not None:
            m["meta"] = meta
            _write_atomic(self.directory / MANIFEST, lambda f: f.write(json.dumps(m, indent=1).encode()))

    def save(self, data: MapData, *, appended_to: int | None = None) -> int:
        """Publish `data` as the next generation; returns its number.

        appended_to: `data`'s first rows are the current generation's `appended_to` rows unchanged (a placement):
        the titles file is then the current one plus a gzip member of the new rows, not all of them recompressed.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        old = self.manifest()
        if old is None or appended_to is None or int(old["count"]) != appended_to:
            appended_to = 0
        gen = (old["generation"] if old else 0) + 1
        files = {name: f"{name}-{gen:06d}.npy" for name in ARRAYS}
        files.update(ids=f"ids-{gen:06d}.json", topics=f"topics-{gen:06d}.json", titles=f"titles-{gen:06d}.tsv.gz")
        for name, dtype in ARRAYS.items():
            arr = np.ascontiguousarray(getattr(data, name), dtype=dtype)
            _write_atomic(self.directory / files[name], lambda f, a=arr: np.save(f, a, allow_pickle=False))
        _write_atomic(self.directory / files["ids"], lambda f: f.write(json.dumps(data.ids).encode()))
        topics = {"fine": data.topics, "broad": data.broad, "categories": data.categories}
        _write_atomic(self.directory / files["topics"], lambda f: f.write(json.dumps(topics, indent=1).encode()))
        new = zip(data.ids[appended_to:], data.titles[appended_to:])
        lines = "".join(f"{i}\t{' '.join(t.split())}\n" for i, t in new).encode()

        def write_titles(f):
            if appended_to:  # concatenated gzip members read back as one stream
                with open(self.directory / old["files"]["titles"], "rb") as src:
                    shutil.copyfileobj(src, f)
            f.write(gzip.compress(lines, 6, mtime=0))

        _write_atomic(self.directory / files["titles"], write_titles)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "generation": gen,
            "count": len(data),
            "files": files,
            "meta": data.meta,
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        _write_atomic(self.directory / MANIFEST, lambda f: f.write(json.dumps(manifest, indent=1).encode()))
        keep = set(files.values()) | (set(old["files"].values()) if old else set())
        for p in self.directory.iterdir():
            if p.name != MANIFEST and not p.name.startswith(".") and p.name not in keep:
                p.unlink(missing_ok=True)
        data.generation = gen
        return gen
