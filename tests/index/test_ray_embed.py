"""`--ray local`: embedding as a Ray Data job on a local Ray instance gives the local vectors, written back resumably."""

from __future__ import annotations

import numpy as np
import pytest

from paperboy.index.embedder import document_text
from paperboy.index.indexes import Indexes
from paperboy.models import Paper
from tests.index.test_embedder import arxiv_papers

pytest.importorskip("ray", reason="the optional extra paperboy[cluster] is not installed")
pytestmark = pytest.mark.slow


def test_ray_job_matches_local_embedding_and_resumes(tmp_path):
    rows = arxiv_papers(96)
    papers = [Paper(id=r["id"], title=r["title"], abstract=r["summary"]) for r in rows]
    changes = lambda since: ((n, p) for n, p in enumerate(papers, 1) if n > since)  # noqa: E731
    # The default encoder on both sides (ONNX, int8 documents): it embeds one text per run, so its int8
    # activation scales never depend on which papers Ray or a local run happened to batch together.
    idx = Indexes(tmp_path / "index")
    local = idx.embedder.embed_documents([document_text(p) for p in papers], progress=False)
    # A driver killed after its first checkpoint: 32 vectors saved, the store position not yet advanced.
    first = papers[:32]
    assert idx.update(lambda since: ((n, p) for n, p in enumerate(first, 1) if n > since), 32).embedded == 32
    entry = idx.manifest()["dense"]["default"]
    idx._set_manifest(dense={"default": {**entry, "seq": 0}})
    import ray

    try:
        rep = idx.update(changes, len(papers), ray="local", checkpoint_every=32)
        assert rep.dense_error is None, rep.dense_error
        assert rep.embedded == 64  # the rerun embeds only what was missing, in two checkpoints
        assert idx.update(changes, len(papers), ray="local").embedded == 0
    finally:
        ray.shutdown()
    vec = idx.vectors
    got = np.stack([vec.vector(p.id) for p in papers]).astype(np.float32)
    cos = np.sum(got * local, axis=1) / np.linalg.norm(got, axis=1)
    assert len(vec) == 96 and cos.min() >= 0.999, cos.min()
