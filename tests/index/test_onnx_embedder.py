"""The ONNX Runtime encoder of the packaged MiniLM against sentence-transformers, on real arXiv and SciFact texts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

import numpy as np
import pytest

from paperboy.index.embedder import (
    DEFAULT_MODEL,
    Embedder,
    _resolve_model,
    load_embedder,
    shared_encoder_cache,
    uses_onnx,
)
from paperboy.index.onnx_embedder import (
    GRAPH_NAME,
    MAPPED_DATA_NAME,
    MAPPED_GRAPH_NAME,
    OnnxEmbedder,
    cache_key,
    cached_graph,
    ensure_mapped_graph,
)
from tests.index.test_embedder import TOPICAL, arxiv_papers, document_text, scifact_docs

MODEL_DIR = Path(_resolve_model("default")[0])


@pytest.fixture(scope="module")
def onnx(tmp_path_factory) -> OnnxEmbedder:
    # The graph comes from the machine-wide cache that scripts/setup.sh fills (exported here if missing).
    emb = load_embedder(
        "default", cache_dir=tmp_path_factory.mktemp("encoders"), int8_documents=False, int8_queries=False
    )
    assert isinstance(emb, OnnxEmbedder)
    return emb


def _texts(n: int = 24) -> list[str]:
    arxiv = [document_text({"title": p["title"], "abstract": p["summary"]}) for p in arxiv_papers(n // 2)]
    return arxiv + [d["title"] + ". " + d["text"] for d in scifact_docs(n - n // 2)]


def test_same_vectors_as_sentence_transformers(onnx):
    texts = _texts()
    queries = list(TOPICAL) + ["graph neural networks", "a", "大语言模型 推理", "x " * 400]
    ref = Embedder("default", precision="fp32")
    assert (onnx.name, onnx.dim, onnx.max_seq_length) == (DEFAULT_MODEL, ref.dim, ref.max_seq_length)
    docs = np.sum(onnx.embed_documents(texts, progress=False) * ref.embed_documents(texts, progress=False), axis=1)
    qs = [float(onnx.embed_query(q) @ ref.embed_query(q)) for q in queries]
    assert docs.min() >= 0.999 and min(qs) >= 0.999, (docs.min(), qs)


def test_int8_documents_and_queries_stay_close_to_fp32(onnx):
    default = load_embedder("default")  # what ships: int8 documents and queries (passed the SciFact bar)
    assert default.int8_documents and default.int8_queries and default.graph == onnx.graph
    texts = _texts(16)
    cos = np.sum(default.embed_documents(texts, progress=False) * onnx.embed_documents(texts, progress=False), axis=1)
    assert 0.97 <= cos.min() and cos.max() < 0.99999  # really the int8 graph, and close (measured min 0.991)
    queries = list(TOPICAL) + ["sparse attention", "a"]
    qcos = [float(default.embed_query(q) @ onnx.embed_query(q)) for q in queries]
    assert 0.97 <= min(qcos) and max(qcos) < 0.99999, qcos
    # The int8 graph runs from its memory-mapped copy too, with the same vectors as the whole file.
    whole = load_embedder("default", map_weights=False)
    assert np.array_equal(whole.embed_query(queries[0]), default.embed_query(queries[0]))
    assert default._session(1, True)._model_path.endswith("model-int8-mapped.onnx")


def test_concurrent_queries_give_identical_vectors(onnx):
    queries = [f"{q} {i}" for i in range(6) for q in TOPICAL]
    fresh = OnnxEmbedder(MODEL_DIR, onnx.graph, name=onnx.name, query_cache_size=0)  # no cache: every call runs
    expected = [fresh.embed_query(q) for q in queries]
    start = threading.Barrier(8)
    results: dict[int, list[np.ndarray]] = {}

    def work(k: int) -> None:
        start.wait()
        results[k] = [fresh.embed_query(q) for q in (queries[k:] + queries[:k])]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8
    for k, got in results.items():
        for q, v in zip(queries[k:] + queries[:k], got, strict=True):
            assert np.array_equal(v, expected[queries.index(q)]), (k, q)


def test_cached_query_is_shared_and_readonly(onnx):
    q = "retrieval augmented generation"
    first = onnx.embed_query(q)
    assert onnx.embed_query("  retrieval   augmented generation ") is first and not first.flags.writeable


def test_graph_is_published_complete_and_looked_up_by_model_key(onnx, tmp_path):
    assert onnx.graph.name == GRAPH_NAME and onnx.graph.parent.name == cache_key(MODEL_DIR)
    # A half-written export (the temporary name) is never taken for a graph.
    half = tmp_path / cache_key(MODEL_DIR)
    half.mkdir()
    (half / ".model.abc.onnx.tmp").write_bytes(b"\x08\x07")
    assert cached_graph(MODEL_DIR, [tmp_path]) is None
    assert cached_graph(MODEL_DIR, [tmp_path, onnx.graph.parent.parent]) == onnx.graph


def test_backend_choice():
    assert uses_onnx("default") and uses_onnx("all-MiniLM-L6-v2", "onnx") and not uses_onnx("default", "torch")
    with pytest.raises(ValueError, match="packaged default model only"):
        load_embedder(str(MODEL_DIR.parent), backend="onnx")
    with pytest.raises(ValueError, match="backend must be one of"):
        load_embedder("default", backend="tensorflow")
    assert shared_encoder_cache().name == "encoders"


def test_vector_search_before_the_first_query_embedding_does_not_crash(tmp_path):
    """usearch loaded before ONNX Runtime segfaulted the process (e.g. 'similar papers' before any search)."""
    code = """
import sys
import numpy as np
from paperboy.index import vectors
from paperboy.index.vectors import VectorIndex
vectors.SIMD_SCAN_MIN_VECTORS = 0  # usearch's scan even for two vectors, as a large index would
vec = VectorIndex(sys.argv[1], model_name="m", dim=384)
vec.upsert(["a", "b"], ["h1", "h2"], np.eye(2, 384, dtype=np.float32))
assert vec.search(np.eye(1, 384, dtype=np.float32)[0], 1).ids == ["a"] and "usearch.index" in sys.modules
from paperboy.index.embedder import load_embedder
print(load_embedder("default").embed_query("graph neural networks").shape)
"""
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "v")], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0 and "(384,)" in proc.stdout, proc.stderr[-2000:]


def test_a_preloaded_encoder_is_taken_by_the_next_load_with_the_same_arguments(tmp_path):
    """`paperboy search` loads the encoder in a thread while the store opens; the index then takes that one."""
    from paperboy.index.embedder import preload_embedder

    cache = tmp_path / "encoders"
    assert preload_embedder("default", cache_dir=cache, warm_query="sparse attention")
    assert not preload_embedder("default", cache_dir=cache, backend="torch")  # only the ONNX path preloads
    emb = load_embedder("default", cache_dir=cache)
    assert isinstance(emb, OnnxEmbedder) and emb._query.cache_info().currsize == 1  # the query ran meanwhile
    assert load_embedder("default", cache_dir=cache) is not emb  # taken once


def test_queries_run_a_memory_mapped_copy_of_the_graph_with_identical_vectors(onnx, tmp_path):
    graph = tmp_path / GRAPH_NAME
    shutil.copyfile(onnx.graph, graph)
    mapped = OnnxEmbedder(MODEL_DIR, graph, name=onnx.name, query_cache_size=0)
    whole = OnnxEmbedder(MODEL_DIR, graph, name=onnx.name, query_cache_size=0, map_weights=False)
    for q in [*TOPICAL, "a", "x " * 400]:
        assert np.array_equal(mapped.embed_query(q), whole.embed_query(q)), q
    # The weights live in a side file that the session maps rather than reads; the graph file names it.
    data = tmp_path / MAPPED_DATA_NAME
    assert (tmp_path / MAPPED_GRAPH_NAME).stat().st_size < 1_000_000 < 80_000_000 < data.stat().st_size
    assert str(data) in Path("/proc/self/maps").read_text()
    assert ensure_mapped_graph(graph) == tmp_path / MAPPED_GRAPH_NAME  # made once, then found
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary left
