"""The derived index files under one directory: lexical (tantivy) and dense (vectors), kept in step with the store.

Layout (all rebuildable from the store with `paperboy index --rebuild`):
    manifest.json             store high-water marks the indexes are built to, per index
    lexical/                  tantivy files + their manifest
    dense/<model-slug>/       vectors.npy, ids, text hashes, manifest (one folder per embedding model)
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paperboy.index.lexical import LexicalIndex
from paperboy.models import Paper

MANIFEST = "manifest.json"
PAGE = 4096  # papers handed to the lexical writer at a time


def model_slug(name: str) -> str:
    """A folder name for an embedding model name or path."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name.strip("/")).strip("_")[-100:] or "model"


@dataclass(slots=True)
class UpdateReport:
    lexical: int = 0  # papers (re)indexed lexically
    embedded: int = 0  # papers (re)embedded
    seconds: float = 0.0
    dense_error: str | None = None  # why the dense index could not be brought up to date


class Indexes:
    """Lexical + dense indexes of one store; readers are thread-safe, one updater at a time."""

    def __init__(self, directory: Path, model: str = "default", *, lexical_heap_mb: int = 128):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.model = model
        self._heap = lexical_heap_mb
        self._lexical: LexicalIndex | None = None
        self._embedder = None
        self._vectors = None
        self._vectors_seq = -1
        self._updating = False  # this process is writing the vectors: don't reopen them under itself
        self._lock = threading.RLock()

    # -- parts ----------------------------------------------------------------------------
    @property
    def lexical(self) -> LexicalIndex:
        if self._lexical is None:
            with self._lock:
                if self._lexical is None:
                    self._lexical = LexicalIndex(self.directory / "lexical", writer_heap_mb=self._heap)
        return self._lexical

    @property
    def embedder(self):
        """The sentence-transformers embedder (loads the model on first use, a few seconds)."""
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    from paperboy.index.embedder import Embedder

                    self._embedder = Embedder(self.model)
        return self._embedder

    @property
    def dense_dir(self) -> Path:
        return self.directory / "dense" / model_slug(self.embedder.name)

    @property
    def vectors(self):
        """The vector index for the configured model (created empty if absent).

        Reopened when another process (a `paperboy index` run) has finished a newer update.
        """
        seq = self.manifest().get("dense", {}).get(self.model, {}).get("seq", 0)
        if self._vectors is None or (seq != self._vectors_seq and not self._updating):
            with self._lock:
                from paperboy.index.vectors import VectorIndex

                emb = self.embedder
                self._vectors = VectorIndex(self.dense_dir, model_name=emb.name, dim=emb.dim)
                self._vectors_seq = seq
        return self._vectors

    def dense_ready(self) -> bool:
        """True once an update has finished embedding the store for this model (no model load needed).

        Read from the manifest on each call, so a server picks up vectors that a separate
        `paperboy index` process finished meanwhile.
        """
        if self._vectors is not None and len(self._vectors) > 0:
            return True
        return self.manifest().get("dense", {}).get(self.model, {}).get("count", 0) > 0

    # -- bookkeeping ----------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        try:
            return json.loads((self.directory / MANIFEST).read_text())
        except (OSError, ValueError):
            return {}

    def _set_manifest(self, **fields: Any) -> None:
        data = self.manifest()
        data.update(fields, updated_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        tmp = self.directory / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        tmp.replace(self.directory / MANIFEST)

    def invalidate(self) -> None:
        """Forget the high-water marks (after a restore): the next update re-reads the whole store.

        Unchanged papers cost little: lexical upserts are cheap and vectors are matched by text hash.
        """
        self._set_manifest(lexical_seq=0, dense={})

    def status(self, store_seq: int, store_count: int) -> dict[str, Any]:
        """How far each index is behind the store (cheap: does not load the model)."""
        m = self.manifest()
        dense = m.get("dense", {}).get(self.model, {})
        return {
            "store_seq": store_seq,
            "store_papers": store_count,
            "lexical_seq": m.get("lexical_seq", 0),
            "lexical_papers": self.lexical.count(),
            "lexical_stale": m.get("lexical_seq", 0) < store_seq,
            "dense_model": self.model,
            "dense_seq": dense.get("seq", 0),
            "dense_papers": dense.get("count", 0),
            "dense_stale": dense.get("seq", 0) < store_seq,
        }

    # -- updates --------------------------------------------------------------------------
    def update(
        self,
        changes: Callable[[int], Iterator[tuple[int, Paper]]],
        store_seq: int,
        *,
        embed: bool = True,
        progress: bool = False,
        rebuild: bool = False,
    ) -> UpdateReport:
        """Bring the indexes up to `store_seq` by reading `changes(since_seq)` from the store.

        Lexical catch-up is seconds for the 75k sample; embedding is the slow part, so it is
        resumable: vectors are checkpointed and unchanged texts (same hash) are never re-embedded.
        """
        started = time.perf_counter()
        rep = UpdateReport()
        with self._lock:
            if rebuild:
                self.lexical.clear()
                self._set_manifest(lexical_seq=0)
            since = self.manifest().get("lexical_seq", 0)
            if since < store_seq:
                rep.lexical = self._update_lexical(changes(since), progress)
                self._set_manifest(lexical_seq=store_seq)
            if embed:
                self._updating = True
                try:
                    rep.embedded = self._update_dense(changes, store_seq, progress, rebuild)
                except Exception as e:  # a model that cannot load must not block lexical search
                    rep.dense_error = f"{type(e).__name__}: {e}"
                finally:
                    self._updating = False
                    self._vectors_seq = self.manifest().get("dense", {}).get(self.model, {}).get("seq", 0)
        rep.seconds = time.perf_counter() - started
        return rep

    def _update_lexical(self, changes: Iterator[tuple[int, Paper]], progress: bool) -> int:
        from tqdm import tqdm

        n = 0
        bar = tqdm(desc="lexical index", unit=" papers", disable=None if progress else True, leave=False)
        with bar:
            for page in _pages((p for _s, p in changes), PAGE):
                n += self.lexical.add(page)
                bar.update(len(page))
        return n

    def _update_dense(self, changes, store_seq: int, progress: bool, rebuild: bool) -> int:
        from paperboy.index.embedder import document_text
        from paperboy.index.vectors import embed_missing

        dense = self.manifest().get("dense", {})
        since = 0 if rebuild else dense.get(self.model, {}).get("seq", 0)
        if since >= store_seq:
            return 0
        vec = self.vectors
        items = ((p.id, document_text(p)) for _s, p in changes(since))
        n = embed_missing(vec, self.embedder, items, progress=progress)
        dense[self.model] = {"seq": store_seq, "count": len(vec), "model": self.embedder.name}
        self._set_manifest(dense=dense)
        return n


def _pages(items: Iterable[Paper], size: int) -> Iterator[list[Paper]]:
    page: list[Paper] = []
    for p in items:
        page.append(p)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page
