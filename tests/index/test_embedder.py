"""Embedder on the real packaged all-MiniLM-L6-v2 and small real data (SciFact, arXiv)."""

from __future__ import annotations

import gzip
import json
import os
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # never reach for the hub from tests
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

import numpy as np
import pytest

from paperboy.index.embedder import (
    DEFAULT_MODEL,
    TEXT_FORMAT_VERSION,
    Embedder,
    ModelUnavailable,
    document_text,
)
from paperboy.models import Paper

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
ARXIV = SHARED / "corpus" / "arxiv-cs-2025-2026" / "papers-2025-03.jsonl.gz"
SCIFACT = SHARED / "eval" / "scifact"

# Paraphrased topical queries for the first 40 papers of papers-2025-03 (no title copied).
TOPICAL = {
    "robot assisted pollination estimating the orientation of flowers": "2503.11692",
    "simulating what blind patients see with a retinal implant, improving faces": "2503.11677",
    "recognising vessels in synthetic aperture radar images, a review": "2503.11906",
    "removing rain streaks from a photograph": "2503.12014",
    "recognising dishes and meals from pictures with a sparse transformer": "2503.11995",
}


def _require_shared() -> None:
    if not SHARED.is_dir():
        pytest.fail(f"shared data folder missing: {SHARED}")


def arxiv_papers(n: int = 40) -> list[dict]:
    _require_shared()
    out = []
    with gzip.open(ARXIV, "rt", encoding="utf-8") as f:
        for line in f:
            out.append(json.loads(line))
            if len(out) >= n:
                break
    return out


def scifact_docs(n: int = 30) -> list[dict]:
    _require_shared()
    out = []
    with open(SCIFACT / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            out.append(json.loads(line))
            if len(out) >= n:
                break
    return out


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder("default")


def test_shared_data_present():
    _require_shared()
    assert ARXIV.exists() and (SCIFACT / "corpus.jsonl").exists()


@pytest.mark.parametrize("alias", ["default", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"])
def test_aliases_name_the_packaged_model(alias, embedder):
    e = embedder if alias == "default" else Embedder(alias)
    assert e.name == DEFAULT_MODEL
    assert e.dim == 384
    assert e.max_seq_length == 256


def test_embed_documents_shape_dtype_and_unit_norm(embedder):
    docs = scifact_docs(12)
    vecs = embedder.embed_documents([d["title"] + ". " + d["text"] for d in docs], progress=False)
    assert vecs.shape == (12, 384)
    assert vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert embedder.embed_documents([], progress=False).shape == (0, 384)


def test_batch_keeps_input_order(embedder):
    texts = [document_text({"title": p["title"], "abstract": p["summary"]}) for p in arxiv_papers(8)]
    batch = embedder.embed_documents(texts, progress=False)
    single = np.stack([embedder.embed_documents([t], progress=False)[0] for t in texts[:3]])
    # Same text, same row (bf16 batches vs one-by-one differ only in rounding).
    assert np.all(np.sum(batch[:3] * single, axis=1) > 0.995)


def test_title_finds_its_own_abstract(embedder):
    docs = scifact_docs(20)
    vecs = embedder.embed_documents([d["text"] for d in docs], progress=False)
    queries = np.stack([embedder.embed_query(d["title"]) for d in docs])
    top1 = np.argmax(queries @ vecs.T, axis=1)
    assert np.mean(top1 == np.arange(len(docs))) >= 0.9


def test_topical_query_ranks_its_paper_first(embedder):
    papers = arxiv_papers(40)
    ids = [p["id"] for p in papers]
    vecs = embedder.embed_documents(
        [document_text({"title": p["title"], "abstract": p["summary"]}) for p in papers], progress=False
    )
    for query, expected in TOPICAL.items():
        scores = vecs @ embedder.embed_query(query)
        assert ids[int(np.argmax(scores))] == expected, query


def test_embed_query_is_cached_and_readonly(embedder):
    q = "graph neural networks for molecular property prediction"
    first = embedder.embed_query(q)
    assert first.shape == (384,) and first.dtype == np.float32
    assert abs(float(np.linalg.norm(first)) - 1.0) < 1e-5
    assert embedder.embed_query(q) is first
    assert embedder.embed_query("  graph neural networks for   molecular property prediction ") is first
    assert not first.flags.writeable
    # Queries run in fp32 and agree with the bf16 document path.
    doc = embedder.embed_documents([q], progress=False)[0]
    assert float(doc @ first) > 0.995
    # How fast uncached queries are is measured by benchmarks/encoder.py, never asserted here.


def test_fp32_and_bf16_agree(embedder):
    docs = [d["title"] + ". " + d["text"] for d in scifact_docs(4)]
    a = Embedder("default", precision="fp32").embed_documents(docs, progress=False)
    b = Embedder("default", precision="bf16").embed_documents(docs, progress=False)
    assert embedder.precision in {"bf16", "fp32"}  # "auto" picks one of the two
    assert np.all(np.sum(a * b, axis=1) > 0.995)


def test_document_text_joins_title_and_abstract():
    p = Paper(title="Attention Is\n  All You Need", abstract="The dominant sequence\n transduction models.")
    assert document_text(p) == "Attention Is All You Need. The dominant sequence transduction models."
    assert document_text(Paper(title="Is attention needed?", abstract="No.")) == "Is attention needed? No."
    assert document_text(Paper(title="Only a title")) == "Only a title"
    assert document_text({"title": "", "abstract": "Only an abstract"}) == "Only an abstract"
    assert isinstance(TEXT_FORMAT_VERSION, int)


def test_unknown_model_gives_clear_error_without_hanging():
    start = time.perf_counter()
    with pytest.raises(ModelUnavailable) as err:
        Embedder("no-such-org/no-such-embedding-model-xyz")
    msg = str(err.value)
    assert "no-such-org/no-such-embedding-model-xyz" in msg
    assert "download" in msg and "path" in msg
    assert time.perf_counter() - start < 30


def test_missing_local_folder_gives_clear_error(tmp_path):
    empty = tmp_path / "empty-model"
    empty.mkdir()
    with pytest.raises(ModelUnavailable, match="empty-model"):
        Embedder(str(empty))


def test_bad_precision_rejected():
    with pytest.raises(ValueError, match="precision"):
        Embedder("default", precision="fp8")
