"""The packaged all-MiniLM-L6-v2 run by ONNX Runtime: no torch, transformers or sentence-transformers at run time.

The graph (BERT + attention-masked mean pooling + L2 normalisation, i.e. the model's sentence-transformers
modules 0-2) is exported once with torch.onnx (the only step that needs torch), fused by ONNX Runtime's
transformer optimizer, quantised to int8 (what documents and queries run by default), and published atomically into a cache folder keyed by the model files, so a second
process never sees a half-written file and never exports twice (a file lock). Tokenization is the model's own
tokenizer.json through the `tokenizers` package. An InferenceSession is safe to run() from many threads, so
queries need no lock: the only shared state is an lru_cache (itself thread-safe).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from paperboy.index.encoding import embed_longest_first, unit_rows

log = logging.getLogger("paperboy.index")

# Bump when the exported graph changes (pooling, opset, fusion), so cached files are re-exported.
EXPORT_VERSION = 2
OPSET = 17
GRAPH_NAME = "model.onnx"
INT8_GRAPH_NAME = "model-int8.onnx"  # dynamic int8, per-channel weights (measured, see benchmarks/encoder.py)
MAPPED_GRAPH_NAME = "model-mapped.onnx"  # the fp32 graph with its weights in a side file ONNX Runtime memory-maps
MAPPED_DATA_NAME = "model-mapped.onnx.data"  # (the int8 graph's copy: model-int8-mapped.onnx + .data)


def mapped_name(graph: Path) -> str:
    """File name of the memory-mapped copy of `graph` (model.onnx -> model-mapped.onnx)."""
    return f"{graph.stem}-mapped.onnx"


def cache_key(model_dir: Path) -> str:
    """A short id of the model files the graph is exported from (cheap: no hashing of the weights)."""
    h = hashlib.sha1(f"v{EXPORT_VERSION}".encode())
    for name in ("config.json", "tokenizer.json", "sentence_bert_config.json", "modules.json"):
        p = model_dir / name
        h.update(name.encode() + (p.read_bytes() if p.exists() else b"-"))
    weights = sorted(model_dir.glob("*.safetensors")) or sorted(model_dir.glob("pytorch_model*.bin"))
    for p in weights:
        h.update(f"{p.name}:{p.stat().st_size}".encode())
    return h.hexdigest()[:16]


def cached_graph(model_dir: Path, cache_dirs: Sequence[Path]) -> Path | None:
    """The first published graph for this model in `cache_dirs`, or None."""
    key = cache_key(model_dir)
    for d in cache_dirs:
        p = Path(d) / key / GRAPH_NAME
        if p.is_file():
            return p
    return None


def ensure_graph(model_dir: Path, cache_dir: Path, *, also_look_in: Sequence[Path] = ()) -> Path:
    """Path of the ONNX graph for `model_dir`, exporting it into `cache_dir` first if no cache has it.

    Concurrent callers (threads or processes) wait for one export on a file lock; the graph is written to
    a temporary file and renamed into place, so readers only ever see a complete file.
    """
    found = cached_graph(model_dir, [cache_dir, *also_look_in])
    if found is not None:
        return found
    from filelock import FileLock

    folder = Path(cache_dir) / cache_key(model_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(folder / "export.lock"):
        target = folder / GRAPH_NAME
        if target.is_file():  # another process exported it while we waited
            return target
        log.info("exporting %s to ONNX (once, into %s)", model_dir, folder)
        fd, tmp = tempfile.mkstemp(prefix=".model.", suffix=".onnx.tmp", dir=folder)
        os.close(fd)
        try:
            _export(model_dir, Path(tmp))
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, target)  # atomic publish
        finally:
            Path(tmp).unlink(missing_ok=True)
        (folder / "source.json").write_text(json.dumps({"model_dir": str(model_dir), "export_version": EXPORT_VERSION}))
    return target


def ensure_int8_graph(fp32_graph: Path) -> Path:
    """The dynamic-int8 (per-channel) version of an exported graph, made once beside it, published atomically."""
    target = fp32_graph.with_name(INT8_GRAPH_NAME)
    if target.is_file():
        return target
    from filelock import FileLock

    with FileLock(fp32_graph.parent / "export.lock"):
        if target.is_file():
            return target
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        fd, tmp = tempfile.mkstemp(prefix=".model-int8.", suffix=".onnx.tmp", dir=fp32_graph.parent)
        os.close(fd)
        try:
            # Per-channel scales keep cosine to fp32 at ~0.995 (per-tensor: ~0.93); VNNI needs no reduced range.
            quantize_dynamic(
                str(fp32_graph),
                tmp,
                weight_type=QuantType.QInt8,
                per_channel=True,
                reduce_range=False,
                op_types_to_quantize=["MatMul", "Attention"],
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)
    return target


def ensure_mapped_graph(graph: Path) -> Path:
    """`graph` (fp32 or int8) with its weights moved to a side file, made once beside it; `graph` if that fails.

    ONNX Runtime memory-maps weights kept in a side file instead of reading the whole protobuf into the heap
    and copying every weight out of it: a query session peaks ~80 MB lower, and of the 47 MB vocabulary
    table only the pages of words the queries use become resident. Same weights, same graph: same vectors.
    The data file is published before the graph that names it, both by rename, under the export lock.
    """
    target = graph.with_name(mapped_name(graph))
    if target.is_file():
        return target
    try:
        from filelock import FileLock

        with FileLock(graph.parent / "export.lock"):
            if not target.is_file():
                _write_mapped(graph, target)
    except OSError as e:  # e.g. a read-only machine-wide cache: the embedded graph works the same
        log.warning("cannot write %s (%s); queries load the whole graph", target, e)
        return graph
    return target


def _write_mapped(graph: Path, target: Path) -> None:
    import onnx

    data = target.name + ".data"
    tmp = Path(tempfile.mkdtemp(prefix=".mapped.", dir=target.parent))
    try:
        onnx.save_model(
            onnx.load(str(graph)),
            str(tmp / target.name),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=data,
            size_threshold=1024,
        )
        for name in (data, target.name):  # the data first: a published graph finds its data
            with open(tmp / name, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp / name, target.parent / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _export(model_dir: Path, out: Path) -> None:
    """torch.onnx export of transformer + mean pooling + normalise, then ORT's BERT fusions (fp32)."""
    import warnings

    import torch
    from transformers import AutoModel

    class _SentenceEncoder(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)[0]
            mask = attention_mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    # Eager attention: the plain MatMul/Softmax pattern that ORT's optimizer fuses into one Attention op.
    bert = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    enc = _SentenceEncoder(bert)
    ids = torch.ones(2, 16, dtype=torch.long)
    dyn = {0: "batch", 1: "seq"}
    raw = out.with_name(out.name + ".raw")
    try:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")  # tracer notices about Python booleans in HF code
            torch.onnx.export(
                enc,
                (ids, ids, torch.zeros_like(ids)),
                str(raw),
                dynamo=False,
                opset_version=OPSET,
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["embedding"],
                dynamic_axes={
                    "input_ids": dyn,
                    "attention_mask": dyn,
                    "token_type_ids": dyn,
                    "embedding": {0: "batch"},
                },
            )
        from onnxruntime.transformers.fusion_options import FusionOptions
        from onnxruntime.transformers.optimizer import optimize_model

        cfg = bert.config
        # Attention and skip + LayerNorm left unfused: the int8 graph made from this one then quantises Q, K and
        # V as three plain MatMuls and runs ~10 % less CPU per paper than with QAttention (benchmarks/RESULTS.md).
        fusions = FusionOptions("bert")
        fusions.enable_attention = fusions.enable_skip_layer_norm = fusions.enable_bias_skip_layer_norm = False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opt = optimize_model(
                str(raw),
                model_type="bert",
                num_heads=cfg.num_attention_heads,
                hidden_size=cfg.hidden_size,
                opt_level=1,
                optimization_options=fusions,
            )
        opt.save_model_to_file(str(out))
    finally:
        raw.unlink(missing_ok=True)


class OnnxEmbedder:
    """Same interface as embedder.Embedder (name, dim, precision, batch_size, embed_documents, embed_query)."""

    def __init__(
        self,
        model_dir: Path | str,
        graph: Path | str,
        *,
        name: str,
        batch_size: int = 1,
        max_seq_length: int | None = None,
        query_cache_size: int = 1024,
        threads: int | None = None,
        int8_documents: bool = False,
        int8_queries: bool = False,
        map_weights: bool = True,
    ):
        """int8_documents: embed documents with the per-channel int8 graph (made once beside `graph`): about half
        the CPU per paper of fp32, SciFact nDCG@10 within 0.001 of it.
        int8_queries: queries through the int8 graph too: a short query reads every weight once, so a quarter
        of the bytes is about a third of the time (~1 ms instead of ~3 ms CPU).
        batch_size: texts per run; 1 costs the least CPU per paper (no padding; measured against 8, 16, 32, 64).
        threads: documents are embedded by this many workers, one core each (default: all cores).
        map_weights: run the graphs from their memory-mapped copies (ensure_mapped_graph; identical vectors)."""
        from tokenizers import Tokenizer

        self.model_dir = Path(model_dir)
        self.graph = Path(graph)
        self.name = name
        self.int8_documents = bool(int8_documents)
        self.map_weights = bool(map_weights)
        self.int8_queries = bool(int8_queries)
        self.precision = {(True, True): "onnx-int8", (True, False): "onnx-int8-documents"}.get(
            (self.int8_documents, self.int8_queries), "onnx-int8-queries" if int8_queries else "onnx-fp32"
        )
        self.device = "cpu"
        self.batch_size = int(batch_size)
        st_cfg = self.model_dir / "sentence_bert_config.json"
        seq = json.loads(st_cfg.read_text()).get("max_seq_length") if st_cfg.exists() else None
        self.max_seq_length = int(max_seq_length or seq or 512)
        self.dim = int(json.loads((self.model_dir / "config.json").read_text())["hidden_size"])
        tok = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        tok.no_padding()
        tok.enable_truncation(max_length=self.max_seq_length)
        self._tok = tok
        self._pad_id = int(tok.token_to_id("[PAD]") or 0)
        self._threads = threads or os.cpu_count() or 1
        self._sessions: dict[tuple[int, bool], object] = {}
        self._session_lock = threading.Lock()  # creating a session only; run() needs no lock
        self._query = functools.lru_cache(maxsize=query_cache_size)(self._embed_one)

    def _session(self, threads: int, int8: bool = False):
        key = (threads, int8)
        s = self._sessions.get(key)
        if s is None:
            with self._session_lock:
                s = self._sessions.get(key)
                if s is None:
                    graph = self.graph
                    if int8:
                        graph = ensure_int8_graph(graph)
                    if self.map_weights:  # int8 too: a session then peaks at ~75 MB instead of ~155 MB
                        graph = ensure_mapped_graph(graph)
                    import onnxruntime as ort

                    opts = ort.SessionOptions()
                    opts.intra_op_num_threads = threads
                    opts.inter_op_num_threads = 1
                    # Threads that spin at barriers steal the CPU from every other process on a busy box.
                    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
                    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                    s = ort.InferenceSession(str(graph), opts, providers=["CPUExecutionProvider"])
                    self._sessions[key] = s
        return s

    def _run(self, texts: Sequence[str], threads: int, int8: bool = False) -> np.ndarray:
        encs = self._tok.encode_batch(list(texts), add_special_tokens=True)
        width = max(len(e.ids) for e in encs)
        ids = np.full((len(encs), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(encs), width), dtype=np.int64)
        types = np.zeros((len(encs), width), dtype=np.int64)
        for i, e in enumerate(encs):
            n = len(e.ids)
            ids[i, :n] = e.ids
            mask[i, :n] = 1
            types[i, :n] = e.type_ids
        out = self._session(threads, int8).run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        )[0]
        return unit_rows(np.asarray(out, dtype=np.float32))

    def embed_documents(self, texts: Iterable[str], progress: bool = True) -> np.ndarray:
        """Embed many texts; returns float32 (n, dim), L2-normalised, in input order.

        Each of `threads` workers runs its own batches on one core (a session run() releases the GIL), rather
        than one run spread over all cores: small matrix products scale poorly across threads. With the
        default batch of one text there is no padding at all, and since int8 activations are scaled per run,
        a paper's vector then never depends on which papers were embedded with it (Ray or local, same vector).
        """

        def encode(batch: Sequence[str]) -> np.ndarray:
            return self._run(batch, 1, self.int8_documents)

        return embed_longest_first(texts, self.dim, self.batch_size, encode, progress, workers=self._threads)

    def _embed_one(self, key: str) -> np.ndarray:
        # One short text gains nothing from a second thread (and a second session thread would spin).
        vec = self._run([key], 1, self.int8_queries)[0]
        vec.setflags(write=False)
        return vec

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query (cached); returns a read-only float32 (dim,) unit vector. Thread-safe, lock-free."""
        return self._query(" ".join(text.split()))

    def __repr__(self) -> str:
        return f"OnnxEmbedder({self.name!r}, dim={self.dim}, graph={str(self.graph)!r})"
