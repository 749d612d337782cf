"""A first embedding run goes newest first, and search meanwhile says how far back the semantic index reaches."""

from __future__ import annotations

from datetime import date

from paperboy.index import indexes as indexes_module
from paperboy.index.indexes import Indexes
from paperboy.models import Paper
from paperboy.ranking.hybrid import HybridSearcher

TOPICS = ["protein folding", "galaxy rotation curves", "sparse attention", "robot grasping", "speech enhancement"]


def papers() -> list[Paper]:
    out = []
    for i in range(40):  # one paper a month, Jan 2023 .. Apr 2026, stored in shuffled order
        k = (i * 7) % 40
        out.append(
            Paper(
                id=f"2{k:03d}.00001",
                title=f"A study of {TOPICS[k % 5]} number {k}",
                abstract=f"We examine {TOPICS[k % 5]} with new methods.",
                categories=["cs.LG"],
                published=date(2023 + k // 12, k % 12 + 1, 15),
            )
        )
    return out


class Watching:
    """The real encoder, plus a look at the index each time the update hands it a batch."""

    def __init__(self, inner, idx: Indexes):
        self._inner, self._idx = inner, idx
        self.seen: list[tuple[int, str | None, str, list[str]]] = []

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def embed_documents(self, texts, progress=True):
        page = HybridSearcher(self._idx).retrieve("protein folding", mode="hybrid")
        self.seen.append((len(texts), self._idx.dense_coverage(), page.mode, page.warnings))
        return self._inner.embed_documents(texts, progress=progress)


def test_first_run_embeds_newest_first_and_search_reports_coverage(tmp_path, monkeypatch):
    monkeypatch.setattr(indexes_module, "PUBLISH_EVERY_CHECKPOINTS", 2)  # windows of 2 x 5 = 10 papers
    stored = papers()
    idx = Indexes(tmp_path / "index")
    watch = Watching(idx.embedder, idx)
    idx._embedder = watch
    rep = idx.update(
        lambda since: ((n, p) for n, p in enumerate(stored, 1) if n > since), len(stored), checkpoint_every=5
    )
    assert rep.embedded == 40 and rep.dense_error is None
    # Before the first window: keyword results only. After window w: hybrid, covering the 10*w newest months.
    coverages = [c for _n, c, _m, _w in watch.seen]
    assert coverages[:2] == [None, None] and watch.seen[0][2] == "lexical"
    windows = [coverages[k] for k in (2, 4, 6)]
    assert windows == ["2025-07-15", "2024-09-15", "2023-11-15"]
    for _n, cov, mode, warns in watch.seen[2:]:
        assert mode == "hybrid" and any(f"semantic search covers papers since {cov[:7]}" in w for w in warns)
    # Done: the whole store is covered, nothing more to say.
    assert idx.dense_coverage() is None and len(idx.vectors) == 40
    page = HybridSearcher(idx).retrieve("protein folding", mode="hybrid")
    assert page.mode == "hybrid" and not any("covers" in w for w in page.warnings)
    # An incremental run over one new paper keeps the coverage whole and embeds only that paper.
    stored.append(
        Paper(id="2605.00001", title="Protein folding again", abstract="Folding.", published=date(2026, 5, 1))
    )
    assert idx.update(lambda since: ((n, p) for n, p in enumerate(stored, 1) if n > since), 41).embedded == 1
    assert idx.dense_coverage() is None and len(idx.vectors) == 41
