"""The derived index files under one directory: lexical (tantivy) and dense (vectors), kept in step with the store.

Layout (all rebuildable from the store with `paperboy index --rebuild`):
    manifest.json             store high-water marks the indexes are built to, per index
    update.lock               held by the one process updating the indexes (worker, `paperboy index`, web)
    lexical/                  tantivy files + their manifest
    dense/<model-slug>/       append-only vectors + ids/text hashes, manifest (one folder per embedding model)
    encoders/<key>/model.onnx the packaged model exported for ONNX Runtime (published atomically, once)
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from paperboy.index.embedder import ENCODER_CACHE
from paperboy.models import Paper, SearchFilters

if TYPE_CHECKING:  # opened on first use: reading vectors alone (`paperboy rank`) never loads tantivy or the parsers
    from paperboy.index.lexical import LexicalIndex

log = logging.getLogger("paperboy.index")

MANIFEST = "manifest.json"
UPDATE_LOCK = "update.lock"
PAGE = 4096  # papers handed to the lexical writer at a time
CHECKPOINT_EVERY = 2048  # new vectors between saves of an embedding run (what a crash can lose)
PUBLISH_EVERY_CHECKPOINTS = 8  # a first run publishes its newest-first progress to searchers this often
MASK_CACHE = 32  # filter masks kept (one byte per vector each: ~100 MB at 3.1M papers)


class IndexBusy(RuntimeError):
    """Another process (or thread) is updating the indexes and the caller chose not to wait."""


def model_slug(name: str) -> str:
    """A folder name for an embedding model name or path."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name.strip("/")).strip("_")[-100:] or "model"


@dataclass(slots=True)
class UpdateReport:
    lexical: int = 0  # papers (re)indexed lexically
    embedded: int = 0  # papers (re)embedded
    seconds: float = 0.0
    dense_error: str | None = None  # why the dense index could not be brought up to date
    pulled: int = 0  # vectors read from the store (computed by another node or an earlier run)


class VectorStore(Protocol):
    """Where computed vectors are kept for every node (paperboy.store.Store)."""

    def put_vectors(self, model: str, ids: list[str], hashes: list[str], vectors: Any) -> int: ...

    def iter_vectors(self, model: str, since_seq: int = 0) -> Iterator[Any]: ...

    def vector_stats(self, model: str) -> tuple[int, int]: ...


class Indexes:
    """Lexical + dense indexes of one store; readers are thread-safe, one updater at a time.

    "One updater" holds across processes (a file lock on update.lock). Readers in other processes
    never wait: tantivy readers reload on commit, and the vectors are reopened when the manifest
    records a finished dense update (the vector files themselves are switched atomically).
    """

    def __init__(self, directory: Path, model: str = "default", *, lexical_heap_mb: int = 128, backend: str = "auto"):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.model = model
        self.backend = backend
        self._heap = lexical_heap_mb
        self._lexical: LexicalIndex | None = None
        self._embedder = None
        self._vectors = None
        self._vectors_seq: tuple[int, int] = (-1, -1)
        self._lock = threading.RLock()  # lazy opening of the parts
        self._masks: OrderedDict[tuple, np.ndarray] = OrderedDict()  # filter part -> row mask (filter_mask)
        self._mask_state: tuple | None = None
        self.last_ann_seconds: float | None = None  # time of the last HNSW build here (benchmarks print it)
        self._update_lock = threading.Lock()  # one updating thread per process (the file lock is per process)

    # -- parts ----------------------------------------------------------------------------
    @property
    def lexical(self) -> LexicalIndex:
        if self._lexical is None:
            with self._lock:
                if self._lexical is None:
                    from paperboy.index.lexical import LexicalIndex

                    self._lexical = LexicalIndex(self.directory / "lexical", writer_heap_mb=self._heap)
        return self._lexical

    @property
    def embedder(self):
        """The encoder, loaded on first use: ONNX Runtime for the packaged model (~0.1 s), else sentence-transformers."""
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    from paperboy.index.embedder import load_embedder

                    # The exported graph lives in the data directory (ENCODER_CACHE), exported once.
                    self._embedder = load_embedder(
                        self.model, cache_dir=self.directory / ENCODER_CACHE, backend=self.backend
                    )
        return self._embedder

    @property
    def dense_dir(self) -> Path:
        return self.directory / "dense" / model_slug(self.embedder.name)

    @property
    def vectors(self):
        """The vector index for the configured model (created empty if absent).

        Reopened when another process (worker, `paperboy index`) has finished a newer update. An
        update writes a private copy, so the object returned here is never modified under a reader.
        """
        seq = self._reopen_key(self._dense_entry())
        vec = self._vectors
        if vec is None or seq != self._vectors_seq:
            with self._lock:
                if self._vectors is None or seq != self._vectors_seq:
                    try:
                        self._vectors = self._open_vectors()
                        self._vectors_seq = seq
                    except Exception:
                        if self._vectors is None:
                            raise
                        # Keep answering from the vectors we have; the next call tries again.
                        log.warning("reopening the vector index failed; still using the previous one", exc_info=True)
                vec = self._vectors
        return vec

    def filter_mask(self, filters: SearchFilters, vec) -> np.ndarray | None:
        """Rows of `vec` passing `filters`, as a boolean mask (None: no filter).

        Built from the lexical index once per category / author / date range and cached until
        either index changes, so a filtered dense search costs a few array ANDs, not a set of
        up to millions of ids per query.
        """
        if filters.is_empty():
            return None
        state = (id(vec), len(vec), self.manifest().get("lexical_seq", 0))
        with self._lock:
            if self._mask_state != state:
                self._masks.clear()
                self._mask_state = state

        def part(key: tuple, flt: SearchFilters) -> np.ndarray:
            with self._lock:
                m = self._masks.get(key)
                if m is not None:
                    self._masks.move_to_end(key)
                    return m
            m = vec.mask_of(self.lexical.filter_ids(flt, limit=self.lexical.count() + 1))
            with self._lock:
                self._masks[key] = m
                while len(self._masks) > MASK_CACHE:
                    self._masks.popitem(last=False)
            return m

        out = None
        if filters.categories:  # any of them: a union of per-category masks
            for c in sorted({c.strip().lower() for c in filters.categories if c.strip()}):
                m = part(("cat", c), SearchFilters(categories=(c,)))
                out = m.copy() if out is None else out | m
        for name in filters.authors:  # all of them
            m = part(("author", name), SearchFilters(authors=(name,)))
            out = m.copy() if out is None else out & m
        if filters.since or filters.until:
            m = part(("date", filters.since, filters.until), SearchFilters(since=filters.since, until=filters.until))
            out = m.copy() if out is None else out & m
        return out

    def _dense_entry(self) -> dict[str, Any]:
        return self.manifest().get("dense", {}).get(self.model, {})

    def _open_vectors(self, *, for_writing: bool = False):
        """A VectorIndex read from disk; readers open it without loading the model when the manifest says how."""
        from paperboy.index.vectors import VectorIndex

        if not for_writing and self._embedder is None:
            # The model (~400 MB in every web process) is only needed to embed, not to read vectors.
            entry = self._dense_entry()
            name, dim = entry.get("model"), entry.get("dim")
            if name and not dim:  # manifests written before "dim" was recorded
                try:
                    vman = json.loads((self.directory / "dense" / model_slug(name) / MANIFEST).read_text())
                    dim = vman.get("dim") if vman.get("model") == name else None
                except (OSError, ValueError):
                    dim = None
            if name and dim:
                return VectorIndex(
                    self.directory / "dense" / model_slug(name), model_name=name, dim=int(dim), mmap=True
                )
        emb = self.embedder
        return VectorIndex(self.dense_dir, model_name=emb.name, dim=emb.dim, mmap=not for_writing)

    def dense_ready(self) -> bool:
        """True once an update has finished embedding the store for this model (no model load needed).

        Read from the manifest on each call, so a server picks up vectors that a separate
        `paperboy index` process finished meanwhile.
        """
        if self._vectors is not None and len(self._vectors) > 0:
            return True
        return self.manifest().get("dense", {}).get(self.model, {}).get("count", 0) > 0

    def update_running(self) -> bool:
        """True while some thread or process holds the one-updater lock (an index update is under way)."""
        from filelock import FileLock, Timeout

        if self._update_lock.locked():
            return True
        probe = FileLock(self.directory / UPDATE_LOCK)
        try:
            probe.acquire(timeout=0)
        except Timeout:
            return True
        probe.release()
        return False

    def dense_progress(self) -> float | None:
        """Share of the indexed papers embedded so far while an update is under way, else None.

        Read from the vector files' own manifest, which an embedding run rewrites at each checkpoint.
        """
        if not self.update_running():
            return None
        counts = []
        for path in (self.directory / "dense").glob(f"*/{MANIFEST}"):
            try:
                counts.append((path.stat().st_mtime, int(json.loads(path.read_text()).get("count", 0))))
            except (OSError, ValueError, TypeError):
                continue
        done = max(counts)[1] if counts else 0
        total = self.lexical.count()
        return min(1.0, done / total) if total else 0.0

    # -- bookkeeping ----------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        try:
            return json.loads((self.directory / MANIFEST).read_text())
        except (OSError, ValueError):
            return {}

    def _set_manifest(self, **fields: Any) -> None:
        data = self.manifest()
        data.update(fields, updated_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        # A unique temporary name: two processes must never write into each other's file.
        fd, tmp = tempfile.mkstemp(prefix=f".{MANIFEST}.", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(data, indent=1, sort_keys=True))
            os.replace(tmp, self.directory / MANIFEST)  # atomic: readers see the old or the new file
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def invalidate(self) -> None:
        """Forget the high-water marks (after a restore): the next update re-reads the whole store.

        Unchanged papers cost little: lexical upserts are cheap and vectors are matched by text hash.
        Waits for a running update (a worker's) so it cannot write its old high-water marks back.
        """
        with self.updating():
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
    @contextlib.contextmanager
    def updating(self, wait: bool | float = True, on_wait: Callable[[], None] | None = None):
        """Hold the one-updater lock (this process's threads and other processes) for a block.

        wait: True blocks until free, False/0 raises IndexBusy at once (web requests), a number
        waits that many seconds. on_wait: called once if the lock is taken by someone else.
        """
        from filelock import FileLock, Timeout

        limit = -1.0 if wait is True else max(0.0, float(wait or 0))
        if not self._update_lock.acquire(timeout=limit):
            raise IndexBusy("another thread of this process is updating the index")
        try:
            flock = FileLock(self.directory / UPDATE_LOCK)
            try:
                flock.acquire(timeout=0)
            except Timeout:
                if limit == 0:
                    raise IndexBusy(f"another process is updating the index ({self.directory / UPDATE_LOCK})") from None
                if on_wait is not None:
                    on_wait()
                try:
                    flock.acquire(timeout=limit)
                except Timeout:
                    raise IndexBusy(f"another process kept the index locked for {limit:g} s") from None
            try:
                yield
            finally:
                flock.release()
        finally:
            self._update_lock.release()

    def update(
        self,
        changes: Callable[[int], Iterator[tuple[int, Paper]]],
        store_seq: int,
        *,
        embed: bool = True,
        progress: bool = False,
        rebuild: bool = False,
        wait: bool | float = True,
        on_wait: Callable[[], None] | None = None,
        checkpoint_every: int = CHECKPOINT_EVERY,
        ray: str | None = None,
        vector_store: VectorStore | None = None,
    ) -> UpdateReport:
        """Bring the indexes up to `store_seq` by reading `changes(since_seq)` from the store.

        Lexical catch-up is seconds for the 75k sample; embedding is the slow part, so it is
        resumable: vectors are checkpointed every `checkpoint_every` new vectors and unchanged
        texts (same hash) are never re-embedded. One updater at a time across processes: `wait`
        and `on_wait` as in `updating()` (IndexBusy when not waiting and someone else updates).
        ray: a Ray address ("local" starts one here): embed as Ray Data jobs on that cluster (paperboy[cluster]).
        vector_store: where computed vectors live (the store). Vectors other nodes wrote there are
        read first, without the encoder, even when embed=False; new ones are written back there.
        """
        started = time.perf_counter()
        rep = UpdateReport()
        with self.updating(wait, on_wait):
            if rebuild:
                self.lexical.clear()
                self._set_manifest(lexical_seq=0)
            else:
                self._reset_lexical_if_outdated()
            since = self.manifest().get("lexical_seq", 0)
            if since < store_seq:
                rep.lexical = self._update_lexical(changes(since), progress)
                self._set_manifest(lexical_seq=store_seq)
            if embed or vector_store is not None:
                try:
                    rep.embedded, rep.pulled = self._update_dense(
                        changes, store_seq, progress, rebuild, checkpoint_every, ray, vector_store, embed
                    )
                except Exception as e:  # a model that cannot load must not block lexical search
                    rep.dense_error = f"{type(e).__name__}: {e}"
        rep.seconds = time.perf_counter() - started
        return rep

    def _reset_lexical_if_outdated(self) -> None:
        """A keyword index written for another schema (an upgrade added a field) is rebuilt from the store."""
        from paperboy.index.lexical import LexicalIndexError

        try:
            self.lexical  # noqa: B018  opening it is the check
        except LexicalIndexError as e:
            log.warning("%s; rebuilding the keyword index from the store", e)
            with self._lock:
                self._lexical = None
                shutil.rmtree(self.directory / "lexical", ignore_errors=True)
            self._set_manifest(lexical_seq=0)

    def _update_lexical(self, changes: Iterator[tuple[int, Paper]], progress: bool) -> int:
        from tqdm import tqdm

        n = 0
        bar = tqdm(desc="lexical index", unit=" papers", disable=None if progress else True, leave=False)
        with bar:
            for page in _pages((p for _s, p in changes), PAGE):
                n += self.lexical.add(page)
                bar.update(len(page))
        return n

    def _update_dense(
        self,
        changes,
        store_seq: int,
        progress: bool,
        rebuild: bool,
        checkpoint_every: int = CHECKPOINT_EVERY,
        ray: str | None = None,
        vector_store: VectorStore | None = None,
        embed: bool = True,
    ) -> tuple[int, int]:
        """Read the vectors other nodes stored, then embed what changed, newest papers first; (embedded, pulled).

        Search uses the vectors of each finished window at once, and the manifest records how far back they
        reach (`covers_since`), so a first run over all of arXiv serves recent papers semantically within
        minutes while older ones are still being embedded. Every checkpoint's vectors go to `vector_store`.
        """
        from paperboy.index.embedder import document_text
        from paperboy.index.vectors import embed_missing

        dense = self.manifest().get("dense", {})
        entry = {} if rebuild else dict(dense.get(self.model, {}))
        since, vseq = entry.get("seq", 0), entry.get("vector_seq", 0)
        fresh = False
        if vector_store is not None:
            name = entry.get("model") or self.embedder.name
            fresh = vector_store.vector_stats(name)[1] > vseq  # cheap: no copy of the index when nothing is new
        # An index whose graph is of an older kind (float16) gets the current one even when nothing is new.
        outdated = False
        if entry.get("count"):
            current = self.vectors  # one manifest read, the reader this process already holds
            outdated = current.ann_wanted() and not current.ann_current()
        if not fresh and not outdated and (since >= store_seq or not embed):
            return 0, 0
        # Only a store never embedded before has a frontier; an incremental run only adds new papers.
        partial = rebuild or not entry.get("count") or bool(entry.get("covers_since"))
        # A private copy: readers of this process keep searching self._vectors, untouched, while it grows.
        vec = self._open_vectors(for_writing=True)
        name = vec.model_name
        pulled = 0
        if vector_store is not None:
            for page in vector_store.iter_vectors(name, vseq):
                vec.upsert(page.ids, page.hashes, page.vectors)
                pulled += len(page.ids)
                vseq = page.last_seq
        state = {"vseq": vseq}

        def publish(ids: list[str], hashes: list[str], vectors) -> None:
            if vector_store is None:
                return
            got = vector_store.put_vectors(name, ids, hashes, vectors)
            if got == state["vseq"] + 1:  # nobody else wrote in between: no need to read these back
                state["vseq"] = got

        n = 0
        if embed and since < store_seq:
            items = sorted(((_paper_day(p), p.id, document_text(p)) for _s, p in changes(since)), reverse=True)
            # Vectors are saved every checkpoint; a window (several checkpoints) is what readers reopen and what
            # moves the coverage date: reopening costs a read of the whole matrix, so not after every checkpoint.
            checkpoint_every = max(1, int(checkpoint_every))
            window = checkpoint_every * PUBLISH_EVERY_CHECKPOINTS
            encoder, batch = self.embedder, 256
            if ray and items:
                from paperboy.index.ray_embed import RayEmbedder

                # One Ray Data job per checkpoint; its vectors come back here and go to the store like local ones.
                encoder = RayEmbedder(
                    ray, self.embedder, model=self.model, cache_dir=self.directory / ENCODER_CACHE, backend=self.backend
                )
                batch = checkpoint_every
            bar = _progress(len(items), progress)
            with bar:
                for start in range(0, len(items), window):
                    part = items[start : start + window]
                    n += embed_missing(
                        vec,
                        encoder,
                        ((i, t) for _d, i, t in part),
                        progress=False,
                        checkpoint_every=checkpoint_every,
                        batch_size=batch,
                        publish=publish,
                    )
                    bar.update(len(part))
                    done = start + window >= len(items)
                    if done:
                        break  # the last window is published below, with the graph
                    entry.update(
                        count=len(vec),
                        model=name,
                        dim=vec.dim,
                        rev=entry.get("rev", 0) + 1,
                        vector_seq=state["vseq"],
                        covers_since=None if not partial else (part[-1][0] or None),
                    )
                    dense[self.model] = dict(entry)
                    self._set_manifest(dense=dense)
            since = store_seq
        if vec.ann_wanted() and not vec.ann_current():
            t0 = time.perf_counter()
            vec.build_ann()  # here, under the update lock: never inside a search
            self.last_ann_seconds = time.perf_counter() - t0
            log.info("built the HNSW graph over %d vectors in %.0f s", len(vec), self.last_ann_seconds)
        vec.save()
        entry.update(
            seq=since,
            vector_seq=state["vseq"],
            count=len(vec),
            model=name,
            dim=vec.dim,
            rev=entry.get("rev", 0) + 1,
            covers_since=None if since >= store_seq else entry.get("covers_since"),
        )
        dense[self.model] = dict(entry)
        self._set_manifest(dense=dense)
        with self._lock:
            self._vectors, self._vectors_seq = vec, self._reopen_key(entry)
        return n, pulled

    def dense_coverage(self) -> str | None:
        """The oldest paper date (YYYY-MM-DD) the semantic index reaches while a first embedding is under way,
        or None when it covers the whole store (or holds nothing yet)."""
        return self._dense_entry().get("covers_since") or None

    @staticmethod
    def _reopen_key(entry: dict[str, Any]) -> tuple[int, int]:
        return int(entry.get("seq", 0)), int(entry.get("rev", 0))


def _paper_day(p: Paper) -> str:
    day = p.published or p.listed or p.updated
    return day.isoformat() if day else ""


def _progress(total: int, progress: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="embedding (newest first)", unit="doc", disable=None if progress else True)


def _pages(items: Iterable[Paper], size: int) -> Iterator[list[Paper]]:
    page: list[Paper] = []
    for p in items:
        page.append(p)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page
