"""VectorIndex persistence, search modes, filters, and resumable embedding (real model on small real data)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

import numpy as np
import pytest

from paperboy.index import vectors as vectors_mod
from paperboy.index.row_ids import RowIds
from paperboy.index.vectors import (
    HNSW_EXPANSION_SEARCH,
    ModelMismatch,
    VectorIndex,
    embed_missing,
    over_fetch,
    text_hash,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
ARXIV = SHARED / "corpus" / "arxiv-cs-2025-2026" / "papers-2025-03.jsonl.gz"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def arxiv_items(n: int, titles_only: bool = False) -> list[tuple[str, str]]:
    if not SHARED.is_dir():
        pytest.fail(f"shared data folder missing: {SHARED}")
    from paperboy.index.embedder import document_text

    out = []
    with gzip.open(ARXIV, "rt", encoding="utf-8") as f:
        for line in f:
            p = json.loads(line)
            abstract = "" if titles_only else p["summary"]
            out.append((p["id"], document_text({"title": p["title"], "abstract": abstract})))
            if len(out) >= n:
                break
    return out


def random_unit(n: int, dim: int = 384, seed: int = 42) -> np.ndarray:
    # Low intrinsic dimension, like real embeddings: pure 384-d noise is a worst case for HNSW recall.
    rng = np.random.default_rng(seed)
    v = (rng.standard_normal((n, 24)) @ rng.standard_normal((24, dim))).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def embedder():
    from paperboy.index.embedder import Embedder

    return Embedder("default")


class CountingEmbedder:
    """Wraps an embedder, counts texts embedded, optionally fails on the n-th call."""

    def __init__(self, inner, fail_on_call: int | None = None):
        self.inner, self.fail_on_call = inner, fail_on_call
        self.name, self.dim = inner.name, inner.dim
        self.calls = 0
        self.texts: list[str] = []

    def embed_documents(self, texts, progress=True):
        self.calls += 1
        if self.fail_on_call is not None and self.calls >= self.fail_on_call:
            raise KeyboardInterrupt("simulated kill")
        self.texts.extend(texts)
        return self.inner.embed_documents(texts, progress=False)


def make_index(path: Path, n: int = 50, **kw) -> tuple[VectorIndex, list[str], np.ndarray]:
    ix = VectorIndex(path, model_name=MODEL, dim=384, **kw)
    ids = [f"p{i:04d}" for i in range(n)]
    vecs = random_unit(n)
    ix.upsert(ids, [text_hash(i) for i in ids], vecs)
    return ix, ids, vecs


def test_round_trip_files_and_manifest(tmp_path):
    ix, ids, vecs = make_index(tmp_path / "vec")
    ix.save()
    d = tmp_path / "vec"
    manifest = json.loads((d / "manifest.json").read_text())
    assert manifest["model"] == MODEL and manifest["dim"] == 384 and manifest["count"] == 50
    assert manifest["dtype"] == "float16" and manifest["text_format"] >= 1
    assert manifest["created"] and manifest["updated"]
    # Plain formats an inspector can open, no pickles.
    mat = np.fromfile(d / manifest["files"]["vectors"], dtype=np.float16).reshape(-1, 384)
    assert mat.shape == (50, 384)
    rows = [line.split("\t") for line in (d / manifest["files"]["rows"]).read_text().splitlines()]
    assert [r[0] for r in rows] == ids and rows[3][1] == text_hash("p0003")
    assert manifest["rows_bytes"] == (d / manifest["files"]["rows"]).stat().st_size

    again = VectorIndex(d, model_name=MODEL, dim=384)
    assert len(again) == 50 and again.ids == ids
    np.testing.assert_allclose(again.vector("p0007"), vecs[7], atol=2e-3)
    assert again.vector("nope") is None
    hits = again.search(vecs[7], k=3)
    assert hits.ids[0] == "p0007" and hits.scores[0] == pytest.approx(1.0, abs=2e-3)
    assert list(hits.scores) == sorted(hits.scores, reverse=True)


def test_model_mismatch_is_detected(tmp_path):
    ix, _, _ = make_index(tmp_path)
    ix.save()
    with pytest.raises(ModelMismatch, match="all-MiniLM-L6-v2"):
        VectorIndex(tmp_path, model_name="BAAI/bge-small-en-v1.5", dim=384)
    with pytest.raises(ModelMismatch):
        VectorIndex(tmp_path, model_name=MODEL, dim=768)
    fresh = VectorIndex(tmp_path, model_name="BAAI/bge-small-en-v1.5", dim=384, reset=True)
    assert len(fresh) == 0
    fresh.save()
    assert json.loads((tmp_path / "manifest.json").read_text())["model"] == "BAAI/bge-small-en-v1.5"
    assert len(VectorIndex(tmp_path, model_name="BAAI/bge-small-en-v1.5", dim=384)) == 0


def test_stale_skips_unchanged_and_flags_changed(tmp_path):
    ix, ids, _ = make_index(tmp_path)
    items = [(ids[0], text_hash(ids[0])), (ids[1], text_hash("changed text")), ("new-id", text_hash("x"))]
    assert ix.stale(items) == [ids[1], "new-id"]


def test_upsert_replaces_and_delete_removes(tmp_path):
    ix, ids, vecs = make_index(tmp_path)
    ix.upsert([ids[0]], ["h2"], vecs[1:2])
    assert len(ix) == 50 and ix.hash_of(ids[0]) == "h2"
    np.testing.assert_allclose(ix.vector(ids[0]), vecs[1], atol=2e-3)
    ix.delete([ids[5], "unknown"])
    assert len(ix) == 49 and ids[5] not in ix
    assert ids[5] not in ix.search(vecs[5], k=49).ids
    ix.save()
    again = VectorIndex(tmp_path, model_name=MODEL, dim=384)
    assert len(again) == 49 and ids[5] not in again and again.hash_of(ids[0]) == "h2"
    with pytest.raises(ValueError):
        ix.upsert(["a"], ["h"], np.ones((1, 10), np.float32))


@pytest.mark.parametrize("mode", ["numpy", "exact", "int8", "hnsw"])
def test_allowed_and_exclude(tmp_path, mode, monkeypatch):
    if mode == "numpy":  # the fallback when usearch is not installed (and for small indexes)
        monkeypatch.setattr(vectors_mod, "_has_usearch", lambda: False)
    else:  # usearch's scan (a process's first search), the int8 scan (later ones) or the graph
        monkeypatch.setattr(vectors_mod, "SIMD_SCAN_MIN_VECTORS", 0)
    if mode == "exact":
        monkeypatch.setattr(vectors_mod.int8_scan, "available", lambda: False)
    n = 3000
    ix = VectorIndex(tmp_path, model_name=MODEL, dim=384, hnsw_min_vectors=0 if mode == "hnsw" else 10**9)
    ids = [f"p{i}" for i in range(n)]
    vecs = random_unit(n, seed=1)
    ix.upsert(ids, ids, vecs)
    assert not ix.ann_active()  # a search never builds the graph: index updates do
    if mode == "hnsw":
        ix.build_ann()
    assert ix.ann_active() == (mode == "hnsw")
    q = vecs[10] + 0.5 * vecs[11]
    if mode == "int8":
        ix.search(q, k=1)  # the first exact search scans with usearch; the int8 scan serves the ones after it
    full = ix.search(q, k=20)
    assert (ix._int8 is not None) == (mode == "int8")
    assert full.ids[0] == "p10"
    exact_scores = vecs @ (q / np.linalg.norm(q))

    # exclude drops ids and fills up from below
    ex = ix.search(q, k=20, exclude={"p10", "p11"})
    assert "p10" not in ex.ids and "p11" not in ex.ids and len(ex) == 20

    # a large filter (half the index) and a small one (goes exact over the subset)
    for allowed in ({f"p{i}" for i in range(0, n, 2)}, {f"p{i}" for i in range(0, n, 97)} | {"zzz-not-indexed"}):
        hits = ix.search(q, k=10, allowed=allowed, exclude={"p0"})
        assert set(hits.ids) <= allowed and "p0" not in hits.ids
        rows = sorted((int(i[1:]) for i in allowed if i.startswith("p") and i != "p0"), key=lambda r: -exact_scores[r])
        expected = [f"p{r}" for r in rows[:10]]
        assert len(set(hits.ids) & set(expected)) >= 9  # HNSW may miss one; exact gets all
        if mode != "hnsw":
            assert hits.ids == expected

    # A filter that keeps only the rows least like the query: the over-fetch finds none of them,
    # so search must fall back to scoring the allowed rows and still be exact.
    worst = {f"p{r}" for r in np.argsort(exact_scores)[: int(0.06 * n)]}
    hits = ix.search(q, k=10, allowed=worst)
    assert hits.ids == [f"p{r}" for r in sorted((int(i[1:]) for i in worst), key=lambda r: -exact_scores[r])[:10]]

    # A row mask (how filters reach the vector search) restricts like `allowed` and combines with it.
    mask = np.zeros(n, dtype=bool)
    mask[::3] = True
    hits = ix.search(q, k=10, mask=mask, exclude={"p0"})
    rows = sorted((r for r in range(3, n, 3)), key=lambda r: -exact_scores[r])
    assert len(set(hits.ids) & {f"p{r}" for r in rows[:10]}) >= 9 and all(int(i[1:]) % 3 == 0 for i in hits.ids)
    both = ix.search(q, k=5, mask=mask, allowed={"p3", "p4", "p6"})
    assert set(both.ids) == {"p3", "p6"}

    assert len(ix.search(q, k=10, allowed=set())) == 0
    assert len(ix.search(q, k=10, allowed={"p3"}, exclude={"p3"})) == 0
    assert ix.search(q, k=10, allowed={"p3", "p4"}).ids[0] in {"p3", "p4"}


def test_filters_over_fetch_in_proportion_to_what_they_discard():
    n, ef = 1_000_000, HNSW_EXPANSION_SEARCH
    assert over_fetch(10, n, None) == (10, ef)
    assert over_fetch(10, n, None, n_excluded=5) == (15, ef)
    assert over_fetch(10, n, 300_000) == (67, ef)  # a 30% filter: 2 x 10 / 0.3
    assert over_fetch(10, n, 60_000) == (334, max(ef, 334))
    assert over_fetch(10, n, 1_000) == (20_000, 20_000)  # the walk's ef is never below what it must return
    assert over_fetch(10, 500, 10) == (500, max(ef, 500))  # never more rows than exist


def test_hnsw_persists_and_tracks_updates(tmp_path):
    ix, ids, vecs = make_index(tmp_path, n=500, hnsw_min_vectors=100)
    assert ix.search(vecs[3], k=1).ids == ["p0003"] and not ix.ann_built()  # exact until an update builds it
    ix.build_ann()
    assert ix.search(vecs[3], k=1).ids == ["p0003"] and ix.ann_active()
    ix.save()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert (tmp_path / manifest["files"]["hnsw"]).exists()
    reader = VectorIndex(tmp_path, model_name=MODEL, dim=384, hnsw_min_vectors=100, mmap=True)
    assert isinstance(reader._vecs, np.memmap) and reader.ann_active()  # vectors and graph mapped, not read
    assert reader.search(vecs[7], k=1).ids == ["p0007"]
    again = VectorIndex(tmp_path, model_name=MODEL, dim=384, hnsw_min_vectors=100)
    assert again._ann is not None and len(again._ann) == 500
    extra = random_unit(5, seed=9)
    again.upsert(["n1", "n2", "n3", "n4", "p0003"], ["h"] * 5, extra)  # appends + one replacement
    assert again.search(extra[1], k=1).ids == ["n2"]
    assert again.search(extra[4], k=1).ids == ["p0003"]
    assert len(again._ann) == 504
    again.delete(["n2"])
    assert "n2" not in again.search(extra[1], k=5).ids


def test_the_graph_holds_int8_and_answers_with_float16_scores(tmp_path, monkeypatch):
    """The HNSW graph stores int8 vectors (half the memory); results are rescored from the float16 matrix, which
    a memory-mapped reader preads instead of mapping. An older float16 graph still serves until an update
    rebuilds it."""
    n = 2000
    old_dir, new_dir = tmp_path / "f16", tmp_path / "i8"
    vecs = random_unit(n, seed=11)
    ids = [f"p{i}" for i in range(n)]
    for directory, dtype in ((old_dir, "f16"), (new_dir, "i8")):
        monkeypatch.setattr(vectors_mod, "HNSW_DTYPE", dtype)
        ix = VectorIndex(directory, model_name=MODEL, dim=384, hnsw_min_vectors=100)
        ix.upsert(ids, ids, vecs)
        ix.build_ann()
        ix.save()
    monkeypatch.undo()

    def graph_bytes(directory):
        return (directory / json.loads((directory / "manifest.json").read_text())["files"]["hnsw"]).stat().st_size

    f16_bytes = graph_bytes(old_dir)
    assert graph_bytes(new_dir) < 0.75 * f16_bytes
    reader = VectorIndex(new_dir, model_name=MODEL, dim=384, hnsw_min_vectors=100, mmap=True)
    assert reader.ann_active() and reader.ann_current()
    queries = random_unit(20, seed=12)
    stored = vecs.astype(np.float16).astype(np.float32)
    hit = 0
    for q in queries:
        got = reader.search(q, k=10)
        rows = [int(i[1:]) for i in got.ids]
        np.testing.assert_allclose(got.scores, stored[rows] @ q, rtol=0, atol=1e-6)  # float16 scores, not int8
        hit += len(set(rows) & set(np.argsort(-(stored @ q))[:10].tolist()))
    assert hit >= 0.95 * 10 * len(queries)
    # The reader's stored vectors come from pread, not the map: with the map's rows zeroed they are unchanged.
    reader._vecs = np.zeros_like(reader._vecs)
    np.testing.assert_array_equal(reader.vector("p5"), stored[5])
    again = reader.search(queries[-1], k=10)
    assert again.ids == got.ids and np.array_equal(again.scores, got.scores)
    np.testing.assert_array_equal(reader.vectors_of(["p9", "p1999"])[1], stored[[9, 1999]])

    older = VectorIndex(old_dir, model_name=MODEL, dim=384, hnsw_min_vectors=100, mmap=True)
    assert older.ann_active() and not older.ann_current()  # serves, and the next update rebuilds it
    assert older.search(queries[0], k=1).ids == reader.search(queries[0], k=1).ids
    upgraded = VectorIndex(old_dir, model_name=MODEL, dim=384, hnsw_min_vectors=100)
    upgraded.build_ann()
    upgraded.save()
    assert upgraded.ann_current() and graph_bytes(old_dir) < 0.75 * f16_bytes


def test_embedded_query_finds_topical_paper(tmp_path, embedder):
    items = arxiv_items(40)
    ix = VectorIndex(tmp_path, model_name=embedder.name, dim=embedder.dim)
    assert embed_missing(ix, embedder, items, progress=False) == 40
    hits = ix.search(embedder.embed_query("removing rain streaks from a photograph"), k=5)
    assert hits.ids[0] == "2503.12014"
    hits = ix.search(embedder.embed_query("robot pollination of flowers"), k=5, exclude={"2503.11692"})
    assert "2503.11692" not in hits.ids


def test_embed_missing_resumes_after_interruption(tmp_path, embedder):
    items = arxiv_items(40, titles_only=True)  # short real texts keep the test quick
    d = tmp_path / "vec"
    ix = VectorIndex(d, model_name=embedder.name, dim=embedder.dim)
    killer = CountingEmbedder(embedder, fail_on_call=3)  # dies after 2 batches of 8 = first checkpoint
    with pytest.raises(KeyboardInterrupt):
        embed_missing(ix, killer, items, batch_size=8, checkpoint_every=16, progress=False)

    reopened = VectorIndex(d, model_name=embedder.name, dim=embedder.dim)
    assert len(reopened) == 16  # the checkpoint survived the "crash"
    saved = {i: reopened.vector(i) for i in reopened.ids}

    counter = CountingEmbedder(embedder)
    assert embed_missing(reopened, counter, items, batch_size=8, checkpoint_every=16, progress=False) == 24
    assert len(counter.texts) == 24  # nothing recomputed
    assert not set(counter.texts) & {dict(items)[i] for i in saved}
    assert len(reopened) == 40
    for i, v in saved.items():
        np.testing.assert_array_equal(reopened.vector(i), v)

    # A rerun over unchanged items embeds nothing; an edited abstract is re-embedded alone.
    counter = CountingEmbedder(embedder)
    assert (
        embed_missing(VectorIndex(d, model_name=embedder.name, dim=embedder.dim), counter, items, progress=False) == 0
    )
    assert counter.calls == 0
    edited = [(i, t + " Revised.") if n == 0 else (i, t) for n, (i, t) in enumerate(items)]
    assert embed_missing(reopened, counter, edited, progress=False) == 1
    assert counter.texts == [edited[0][1]]

    with pytest.raises(ModelMismatch):
        embed_missing(VectorIndex(tmp_path / "other", model_name="other-model", dim=384), embedder, items[:1])


def test_save_is_atomic_under_a_crash(tmp_path, monkeypatch):
    ix, ids, vecs = make_index(tmp_path, n=20)
    ix.save()
    before = json.loads((tmp_path / "manifest.json").read_text())
    ix.upsert(["extra"], ["h"], random_unit(1, seed=3))

    real_replace = os.replace

    def crash_on_manifest(src, dst):
        if str(dst).endswith("manifest.json"):
            raise OSError("simulated power cut")
        return real_replace(src, dst)

    monkeypatch.setattr(vectors_mod.os, "replace", crash_on_manifest)
    with pytest.raises(OSError, match="power cut"):
        ix.save()
    monkeypatch.setattr(vectors_mod.os, "replace", real_replace)

    # The old generation is still complete and current; no temp file is left behind.
    assert json.loads((tmp_path / "manifest.json").read_text()) == before
    again = VectorIndex(tmp_path, model_name=MODEL, dim=384)
    assert len(again) == 20 and "extra" not in again
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    # The next successful save commits and prunes old generations.
    ix.save()
    assert len(VectorIndex(tmp_path, model_name=MODEL, dim=384)) == 21
    ix.upsert(["extra2"], ["h"], random_unit(1, seed=4))
    ix.save()
    assert len(list(tmp_path.glob("vectors-*.f16"))) <= 2


def test_every_manifest_file_is_complete(tmp_path):
    ix, ids, _ = make_index(tmp_path, n=10)
    for round_ in range(3):
        ix.upsert([f"r{round_}"], ["h"], random_unit(1, seed=round_ + 10))
        ix.save()
        manifest = json.loads((tmp_path / "manifest.json").read_text())
        for name in manifest["files"].values():
            assert (tmp_path / name).stat().st_size > 0
        size = (tmp_path / manifest["files"]["vectors"]).stat().st_size
        assert size == manifest["count"] * 384 * 2 and manifest["count"] == 11 + round_


def test_saving_new_papers_appends_and_old_readers_keep_their_rows(tmp_path):
    ix, ids, vecs = make_index(tmp_path, n=30)
    ix.save()
    first = json.loads((tmp_path / "manifest.json").read_text())
    path = tmp_path / first["files"]["vectors"]
    head = path.read_bytes()
    inode = path.stat().st_ino
    reader = VectorIndex(tmp_path, model_name=MODEL, dim=384, mmap=True)  # maps the first 30 rows

    extra = random_unit(4, seed=21)
    ix.upsert(["a1", "a2", "a3", "a4"], ["h"] * 4, extra)
    ix.save()
    second = json.loads((tmp_path / "manifest.json").read_text())
    # Same files, grown by the new rows only: the published rows were not rewritten.
    assert second["files"]["vectors"] == first["files"]["vectors"] and path.stat().st_ino == inode
    assert path.read_bytes()[: len(head)] == head and path.stat().st_size == len(head) + 4 * 384 * 2
    assert second["count"] == 34 and second["generation"] == first["generation"] + 1
    assert len(reader) == 30 and reader.search(vecs[5], k=1).ids == ["p0005"] and "a1" not in reader
    fresh = VectorIndex(tmp_path, model_name=MODEL, dim=384, mmap=True)
    assert fresh.search(extra[2], k=1).ids == ["a3"] and fresh.ids == ids + ["a1", "a2", "a3", "a4"]

    # A crash after appending, before the manifest: the next save overwrites the unpublished tail.
    ix.upsert(["lost"], ["h"], random_unit(1, seed=22))
    ix._append(ix._published, len(ix))  # bytes past the published prefix, never published
    ix._ids[-1] = "kept"
    ix._pos = {i: p for p, i in enumerate(ix._ids)}
    ix.save()
    assert VectorIndex(tmp_path, model_name=MODEL, dim=384).ids[-1] == "kept"

    # Changing a row in place writes new files; the previous ones stay for readers one save longer.
    ix.upsert(["p0001"], ["h2"], random_unit(1, seed=23))
    ix.save()
    third = json.loads((tmp_path / "manifest.json").read_text())
    assert third["files"]["vectors"] != first["files"]["vectors"] and path.exists()
    assert VectorIndex(tmp_path, model_name=MODEL, dim=384).hash_of("p0001") == "h2"
    ix.upsert(["b1"], ["h"], random_unit(1, seed=24))
    ix.save()
    assert not path.exists()  # pruned once two newer manifests no longer name it


def test_a_stale_writer_rewrites_instead_of_appending(tmp_path):
    ix, ids, _ = make_index(tmp_path, n=10)
    ix.save()
    other = VectorIndex(tmp_path, model_name=MODEL, dim=384)
    other.upsert(["o1"], ["h"], random_unit(1, seed=31))
    other.save()
    ix.upsert(["s1"], ["h"], random_unit(1, seed=32))  # still thinks 10 rows are published
    ix.save()
    again = VectorIndex(tmp_path, model_name=MODEL, dim=384)
    assert again.ids == ids + ["s1"]  # the last writer wins, whole: no row of o1 under the id s1
    assert again.search(ix.vector("s1"), k=1).ids == ["s1"]


def test_memory_mapped_readers_answer_like_writers_from_compact_ids(tmp_path):
    """A reader keeps ids in numpy (RowIds), not as Python objects, and reads hashes only when asked."""
    ix, ids, vecs = make_index(tmp_path, n=400, hnsw_min_vectors=100)
    odd = ["2507.00001v2", "hep-th/9901001", "é-paper", "x"]  # other lengths, non-ASCII
    ix.upsert(odd, ["h-odd"] * 4, random_unit(4, seed=5))
    ix.build_ann()
    ix.save()
    writer = VectorIndex(tmp_path, model_name=MODEL, dim=384, hnsw_min_vectors=100)
    reader = VectorIndex(tmp_path, model_name=MODEL, dim=384, hnsw_min_vectors=100, mmap=True)
    assert isinstance(reader._ids, RowIds) and reader._hashes is None and reader.ann_active()
    assert reader.ids == writer.ids == ids + odd
    some = ["é-paper", "p0399", "nope", "p00011", "2507.00001v2x", "p0000", "x"]  # unknown, and longer than any id
    assert reader.rows_of(some).tolist() == writer.rows_of(some).tolist() == [402, 399, 0, 403]
    assert [i in reader for i in some] == [i in writer for i in some] == [True, True, False, False, False, True, True]
    assert np.array_equal(reader.mask_of(some), writer.mask_of(some))
    # Stored vectors come from the graph for an HNSW reader: the same float16 rows.
    for i in ("p0007", "é-paper"):
        np.testing.assert_array_equal(reader.vector(i), writer.vector(i))
    found, rows = reader.vectors_of(some)
    assert found == ["é-paper", "p0399", "p0000", "x"] and np.array_equal(rows, writer.vectors_of(some)[1])
    for q in (vecs[3], vecs[250], random_unit(1, seed=77)[0]):
        for kw in ({}, {"exclude": ["p0003", "x"]}, {"mask": writer.mask_of(ids[:300])}, {"allowed": set(ids[:10])}):
            a, b = reader.search(q, k=10, **kw), writer.search(q, k=10, **kw)
            assert a.ids == b.ids and np.array_equal(a.scores, b.scores), kw
    assert reader._hashes is None  # searching never loads the hashes
    assert reader.hash_of("é-paper") == "h-odd" and reader.stale([("p0001", text_hash("p0001")), ("x", "h")]) == ["x"]


def test_a_reader_turned_writer_appends_and_publishes_atomically(tmp_path):
    ix, ids, vecs = make_index(tmp_path, n=300, hnsw_min_vectors=100)
    ix.build_ann()
    ix.save()
    old = VectorIndex(tmp_path, model_name=MODEL, dim=384, hnsw_min_vectors=100, mmap=True)
    changer = VectorIndex(tmp_path, model_name=MODEL, dim=384, hnsw_min_vectors=100, mmap=True)
    extra = random_unit(3, seed=31)
    changer.upsert(["n1", "n2", "p0004"], ["h1", "h2", "h3"], extra)  # copies ids, hashes, graph into memory
    changer.save()
    fresh = VectorIndex(tmp_path, model_name=MODEL, dim=384, hnsw_min_vectors=100, mmap=True)
    assert (
        fresh.ids == ids + ["n1", "n2"]
        and fresh.hash_of("p0004") == "h3"
        and fresh.hash_of("p0005") == text_hash("p0005")
    )
    assert fresh.search(extra[1], k=1).ids == ["n2"] and fresh.search(extra[2], k=1).ids == ["p0004"]
    # The reader opened before keeps answering from the generation it mapped.
    assert len(old) == 300 and "n1" not in old and old.search(vecs[4], k=1).ids == ["p0004"]
    changer.delete(["n1", "p0000"])
    changer.save()
    again = VectorIndex(tmp_path, model_name=MODEL, dim=384, mmap=True)
    assert again.ids == ids[1:] + ["n2"] and again.rows_of(["n2", "n1"]).tolist() == [299]


def test_row_ids_parse_rows_rejects_malformed_lines():
    ids = RowIds.parse_rows(b"a\th1\nbb\th2\nccc\th3\npartial")
    assert ids.tolist() == ["a", "bb", "ccc"] and ids.rows_of(["ccc", "a", "b"]).tolist() == [2, 0]
    for bad in (b"a\th\nb\n", b"a\th\tx\nb\th\n", b"a\n"):
        with pytest.raises(ValueError):
            RowIds.parse_rows(bad)
    assert RowIds.parse_rows(b"").tolist() == [] and not RowIds.from_strings(["a", "b"]).duplicated()
    assert RowIds.from_strings(["a", "b", "a"]).duplicated()
