"""Search through the service and CLI on real indexes over real papers (packaged MiniLM for dense)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from paperboy.config import Settings
from paperboy.models import Paper, SearchFilters
from paperboy.service import Paperboy
from tests import homes
from tests.email.conftest import build_email_home

HOSTILE = [
    "",
    "   ",
    "x" * 10_000,
    '"unbalanced quote',
    "foo:bar baz:",
    "the of and a",
    "🔥🚀 transformers",
    "大语言模型 推理",
    "трансформер",
    "'; DROP TABLE papers; --",
    ".*(a|b)+[",
    "\\",
    "((((",
    "author:",
    "cat:",
    "year:abcd",
    "since:2099-99-99",
    "-",
    '""',
    "NOT",
    "AND OR",
]


@pytest.fixture(scope="module")
def indexed(base_homes, tmp_path_factory) -> Paperboy:
    """411 real papers (the one-day July 2026 shard + the HF page), lexical and dense indexes built: a copy
    of the email tests' base home, so a session builds and embeds it once."""
    home = base_homes.copy("email", build_email_home, tmp_path_factory.mktemp("search") / "home")
    pb = Paperboy(homes.home_settings(home))
    assert pb.indexes.dense_ready() and len(pb.indexes.vectors) == 411
    yield pb
    pb.close()


def _shard_rows(path: Path) -> list[dict]:
    with gzip.open(path, "rt") as f:
        return [json.loads(line) for line in f]


def test_every_mode_finds_a_paper_by_its_title(indexed, arxiv_shards):
    row = _shard_rows(arxiv_shards[-1])[7]
    title = " ".join(row["title"].split())
    for mode in ("lexical", "dense", "hybrid"):
        page = indexed.search(title, mode=mode, limit=5)
        assert page.mode == mode
        assert page.hits[0].paper.id == row["id"], mode


def test_semantic_search_bridges_different_words(indexed):
    # The HF page has LLaVA-KD-style distillation papers; the query shares few words with their titles.
    page = indexed.search(
        "compressing large vision language models into small student networks", mode="dense", limit=10
    )
    assert any("distill" in (h.paper.title + h.paper.abstract).lower() for h in page.hits[:5])


def test_hybrid_marks_which_retrievers_found_each_hit(indexed):
    page = indexed.search("multi-stage training", mode="hybrid", limit=20)
    assert page.hits and all(h.matched_by for h in page.hits)
    assert any(set(h.matched_by) == {"lexical", "dense"} for h in page.hits)


def test_arxiv_id_lookup_returns_that_paper_first(indexed, arxiv_shards):
    pid = _shard_rows(arxiv_shards[-1])[3]["id"]
    for q in (pid, f"{pid}v2", f"https://arxiv.org/abs/{pid}", f"arXiv:{pid}"):
        page = indexed.search(q)
        assert page.mode == "id" and page.hits[0].paper.id == pid
    missing = indexed.search("2901.99999")
    assert missing.hits == [] and any("submitted" in w for w in missing.warnings)


def test_filters_apply_in_every_mode(indexed):
    flt = SearchFilters(categories=("cs.CL",))
    for mode in ("lexical", "dense", "hybrid"):
        page = indexed.search("language models reasoning", mode=mode, filters=flt, limit=30)
        assert page.hits, mode
        assert all("cs.CL" in h.paper.categories for h in page.hits), mode
    # the HF page papers have no date: a date filter excludes them everywhere
    dated = indexed.search("training", mode="hybrid", filters=SearchFilters(since=date(2026, 1, 1)), limit=50)
    assert dated.hits and all((h.paper.published or h.paper.listed) for h in dated.hits)


def test_in_query_filters_and_phrases(indexed, arxiv_shards):
    rows = _shard_rows(arxiv_shards[-1])
    author = rows[0]["authors"][0]
    page = indexed.search(f'author:"{author}"', limit=50)
    assert page.mode == "filter" and any(h.paper.id == rows[0]["id"] for h in page.hits)
    page = indexed.search('"knowledge distillation"', mode="hybrid", limit=50)
    assert page.hits
    assert all("knowledge distillation" in (h.paper.title + " " + h.paper.abstract).lower() for h in page.hits)
    page = indexed.search("training -distillation", mode="hybrid", limit=50)
    assert page.hits and all("distillation" not in (h.paper.title + h.paper.abstract).lower() for h in page.hits)


def test_sort_and_pagination(indexed):
    full = indexed.search("learning", mode="lexical", limit=40)
    first = indexed.search("learning", mode="lexical", limit=20)
    second = indexed.search("learning", mode="lexical", limit=20, offset=20)
    assert [h.paper.id for h in first.hits + second.hits] == [h.paper.id for h in full.hits]
    by_date = indexed.search("learning", mode="hybrid", sort="date", limit=50)
    dates = [str(h.paper.published or h.paper.listed or "") for h in by_date.hits]
    assert dates == sorted(dates, reverse=True)
    with pytest.raises(ValueError):
        indexed.search("x", sort="sideways")


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_never_crash(indexed, query):
    for mode in ("lexical", "hybrid"):
        page = indexed.search(query, mode=mode, limit=5)
        assert isinstance(page.hits, list)


def test_similar_papers_exclude_the_paper_itself(indexed, arxiv_shards):
    pid = _shard_rows(arxiv_shards[-1])[11]["id"]
    hits = indexed.similar(pid, limit=5)
    assert len(hits) == 5 and pid not in [h.paper.id for h in hits]
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    lib = [h.paper.id for h in indexed.search("distillation", mode="lexical", limit=3).hits]
    liked = indexed.similar_to_set(lib, limit=10)
    assert liked and not set(lib) & {h.paper.id for h in liked}
    assert indexed.similar("2901.99999") == []


def _add(pb: Paperboy, title: str, abstract: str, arxiv_id: str) -> None:
    """Store one new arXiv paper (not indexed yet)."""
    pb.store.upsert([(Paper(title=title, abstract=abstract, arxiv_id=arxiv_id, source="arxiv-jsonl"), False)])


def test_keywords_come_from_the_paper_vector_then_hf_then_text(indexed, arxiv_shards):
    from paperboy.ranking.keywords import candidate_phrases, keywords_by_vector
    from paperboy.service.keywords import CANDIDATES

    rows = _shard_rows(arxiv_shards[-1])
    a, b = (indexed.paper(rows[i]["id"]) for i in (3, 11))
    kws, source = indexed.keywords.with_source(a)
    assert source == "embedding" and 1 <= len(kws) <= 5
    # A paper about X gets X: among its own candidates and another paper's, its stored vector picks its own.
    mine, theirs = (candidate_phrases(p.title, p.abstract, CANDIDATES) for p in (a, b))
    pool = mine + [p for p in theirs if p not in mine]
    vecs = indexed.indexes.embedder.embed_documents(pool, progress=False)
    for paper, own in ((a, mine), (b, theirs)):
        picked = keywords_by_vector(pool, vecs, indexed.indexes.vectors.vector(paper.id), k=3)
        assert picked and set(picked) <= set(own), (paper.title, picked)
    own = indexed.indexes.embedder.embed_documents(mine, progress=False)  # the service's batch: same vectors
    nearest = mine[int((own @ indexed.indexes.vectors.vector(a.id)).argmax())]
    assert set(kws) <= set(mine) and kws[0] == nearest  # the first pick is the phrase closest to the paper
    # Hugging Face's AI keywords win when harvested; a paper with no vector falls back to its text.
    c = indexed.paper(rows[5]["id"])
    indexed.store.harvest.save_hf_extras({c.arxiv_id: {"ai_keywords": ["hf one", "hf two"]}})
    assert indexed.keywords.with_source(c) == (["hf one", "hf two"], "hf")
    loose = Paper(title="Sparse attention for protein folding", abstract="Protein folding with sparse attention.")
    kws, source = indexed.keywords.with_source(loose.with_defaults())
    assert source == "text" and "protein folding" in kws


def test_new_papers_become_searchable_without_a_rebuild(tmp_path, home_database):
    pb = Paperboy(Settings(home=tmp_path, database_url=home_database(tmp_path)))
    _add(pb, "Zebrafish fin regeneration atlas", "Cells.", "2601.00001")
    pb.update_index(embed=False)
    assert pb.search("zebrafish", mode="lexical").hits[0].paper.id == "2601.00001"
    before = pb.indexes.lexical.count()
    _add(pb, "Axolotl limb regeneration", "More cells.", "2601.00002")
    rep = pb.update_index(embed=False)
    assert rep.lexical == 1 and pb.indexes.lexical.count() == before + 1
    assert pb.search("axolotl", mode="lexical").hits[0].paper.id == "2601.00002"
    # without vectors, hybrid degrades to keyword search and says so
    page = pb.search("axolotl", mode="hybrid")
    assert page.mode == "lexical" and page.warnings
    pb.close()


def test_cli_search_similar_index_json(tmp_path, arxiv_shards, cli):
    assert cli(tmp_path, "ingest", "-q", str(arxiv_shards[-1]))[0] == 0
    code, out, _ = cli(tmp_path, "index", "--check")
    assert code == 3 and "dense" in out  # ingest made it lexical-current only
    code, out, _ = cli(tmp_path, "search", "diffusion", "--mode", "lexical", "--json", "--limit", "3")
    hits = json.loads(out)
    assert code == 0 and len(hits) == 3 and {"id", "title", "score"} <= set(hits[0])
    code, out, _ = cli(tmp_path, "similar", hits[0]["id"], "--json")
    assert code == 0 and hits[0]["id"] not in [h["id"] for h in json.loads(out)]
    assert cli(tmp_path, "similar", "2901.99999")[0] == 4
    assert cli(tmp_path, "search", "x" * 10_000, "--json")[0] == 0
    code, out, err = cli(tmp_path, "search", "zzqxjv difusion", "--mode", "lexical")
    assert code == 0 and "No papers match" in out and "author:" in out  # says so, and what to try
    assert "did you mean: zzqxjv diffusion" in err


def test_a_new_process_on_the_same_home_uses_the_built_dense_index(indexed):
    other = Paperboy(Settings(home=indexed.settings.home, database_url=indexed.settings.database_url))
    assert other.indexes.dense_ready()
    page = other.search("distillation of multimodal models", mode="hybrid", limit=5)
    assert page.mode == "hybrid" and page.hits and not page.warnings
    other.close()


def test_similar_without_vectors_reads_the_abstract_as_plain_words(tmp_path, home_database):
    """Quotes and " -word" inside an abstract are words to match, not a phrase or an exclusion."""
    pb = Paperboy(Settings(home=tmp_path, database_url=home_database(tmp_path)))
    abstract = 'We compare "flash attention for very long documents" kernels -transformers included.'
    _add(pb, "Sparse attention kernels", abstract, "2601.00011")
    _add(
        pb,
        "Transformers on long documents",
        "Transformers with sparse attention kernels read long inputs.",
        "2601.00012",
    )
    _add(pb, "Protein folding", "Proteins fold.", "2601.00013")
    pb.update_index(embed=False)
    ids = [h.paper.id for h in pb.similar("2601.00011")]
    # As a search-box query the abstract would have required the quoted phrase and excluded
    # "transformers", leaving nothing; as plain words the closest paper comes first.
    assert ids[:1] == ["2601.00012"]
    pb.close()


def test_an_index_of_an_older_schema_is_rebuilt_by_the_next_update(tmp_path, home_database):
    """After an upgrade that adds a keyword field, `paperboy index` (or the worker) rebuilds it by itself."""
    url = home_database(tmp_path)
    pb = Paperboy(Settings(home=tmp_path, database_url=url))
    _add(pb, "Zebrafish fin regeneration atlas", "Cells.", "2601.00001")
    pb.update_index(embed=False)
    pb.close()
    manifest = tmp_path / "index" / "lexical" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["schema_version"] = 1  # as an older paperboy wrote it
    manifest.write_text(json.dumps(data))
    pb = Paperboy(Settings(home=tmp_path, database_url=url))
    rep = pb.update_index(embed=False)
    assert rep.lexical == 1
    assert pb.search("zebrafish", mode="lexical").hits[0].paper.id == "2601.00001"
    pb.close()


def test_hybrid_cli_search_in_a_fresh_process_loads_no_torch(indexed):
    """`paperboy search` in hybrid mode embeds the query with ONNX Runtime: no torch/transformers import."""
    from tests.test_cli_imports import HEAVY, PROBE

    env = {k: v for k, v in os.environ.items() if k != "PAPERBOY_DATABASE_URL"}
    if indexed.settings.database_url:
        env["PAPERBOY_DATABASE_URL"] = indexed.settings.database_url
    args = [
        "--home",
        str(indexed.settings.home),
        "search",
        "distillation of multimodal models",
        "--mode",
        "hybrid",
        "--json",
        "--limit",
        "3",
    ]
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *args], capture_output=True, text=True, env=env, timeout=300
    )
    out = proc.stdout.splitlines()
    loaded = json.loads(next(x for x in out if x.startswith("LOADED=")).removeprefix("LOADED="))
    hits = json.loads("\n".join(x for x in out if not x.startswith("LOADED=")))
    assert len(hits) == 3 and "dense" in {m for h in hits for m in h["matched_by"]}, proc.stderr[-2000:]
    assert loaded == [], loaded


# -- issue 11 point 1: honest retrieval ---------------------------------------------------------------


def test_nonsense_finds_nothing_in_any_mode(indexed):
    # Before: hybrid padded every answer with the nearest vectors however far ("100 results", all dense).
    for mode in ("lexical", "dense", "hybrid"):
        page = indexed.search("zzqxjv plorkt", mode=mode)
        assert page.hits == [] and page.total == 0, mode


def test_dense_only_hits_clear_the_relevance_floor(indexed):
    from paperboy.ranking.hybrid import DENSE_FLOOR

    page = indexed.search("compressing large vision language models into small student networks", limit=50)
    dense_only = [h for h in page.hits if h.matched_by == ("dense",)]
    vec, emb = indexed.indexes.vectors, indexed.indexes.embedder
    q = emb.embed_query(page.query)
    assert all(float(vec.vector(h.paper.id) @ q) >= DENSE_FLOOR for h in dense_only)
    assert page.hits  # keyword matches are still there


def test_author_names_are_searchable_without_syntax(indexed):
    # "Batya Berzack" wrote 2606.30776 (Optimal Auctions for Constrained Buyers); no other paper has either name.
    for q in ("Batya Berzack", "berzack", "author:Batya Berzack", "author:Berzack auctions"):
        page = indexed.search(q, limit=5)
        assert page.hits and page.hits[0].paper.id == "2606.30776", q
    assert indexed.search("author:Batya Berzack").total == 1


def test_did_you_mean_corrects_misspelled_words_from_the_index_vocabulary(indexed):
    page = indexed.search("difusion transfromer", mode="lexical")
    assert page.suggestion == "diffusion transformer"
    assert indexed.search("diffusion transformer").suggestion is None
    assert indexed.search("zzqxjv").suggestion is None  # nothing close: no guess


def test_counts_are_exact_for_keywords_and_marked_estimated_for_hybrid(indexed):
    from paperboy.index.lexical import _text_analyzer

    an = _text_analyzer()
    truth = sum("languag" in an.analyze(f"{p.title}\n{p.abstract}") for p in indexed.iter_papers())
    assert truth > 100  # the old count stopped at 100
    page = indexed.search("language", mode="lexical")
    assert page.total == truth and not page.total_estimated
    hybrid = indexed.search("language", mode="hybrid", limit=200)
    by_meaning = sum(h.matched_by == ("dense",) for h in hybrid.hits)  # all hits fit on this page
    assert hybrid.total == truth + by_meaning and hybrid.total_estimated == (by_meaning > 0)


def test_hidden_papers_are_left_out_inside_retrieval_so_pages_stay_full(indexed):
    from datetime import datetime, timezone

    from paperboy.store.moderation import set_hidden

    q = "language models"
    for mode in ("lexical", "dense", "hybrid"):
        full = indexed.searcher.retrieve(q, mode=mode, depth=30)
        gone = set(full.hits.ids[:6])
        got = indexed.searcher.retrieve(q, mode=mode, depth=30, exclude_ids=gone)
        assert len(got.hits) >= 30 and not gone & set(got.hits.ids), mode  # hybrid: the union of both lists
        if mode != "hybrid":  # one retriever: the same list, minus the excluded, filled from deeper down
            assert got.hits.ids[:24] == full.hits.ids[6:], mode
        if mode == "lexical":
            assert got.total == full.total - 6
    # Through the service: hidden papers never reach a page, and the page is full straight from retrieval.
    first = indexed.search(q, mode="lexical", limit=10, offset=90)
    hide = [h.paper.id for h in indexed.search(q, mode="lexical", limit=100).hits[:40]]
    with indexed.store.engine.begin() as conn:
        for i in hide:
            set_hidden(conn, i, datetime.now(timezone.utc), "spam")
    try:
        assert indexed.store.hidden_ids() == set(hide)
        page = indexed.search(q, mode="lexical", limit=10, offset=90)
        assert len(page.hits) == 10 and not set(hide) & {h.paper.id for h in page.hits}
        assert page.total == first.total - 40
        similar = indexed.similar(page.hits[0].paper.id, limit=10)
        assert len(similar) == 10 and not set(hide) & {h.paper.id for h in similar}
    finally:
        with indexed.store.engine.begin() as conn:
            for i in hide:
                set_hidden(conn, i, None, None)


def test_the_keyword_half_runs_in_a_forked_child():
    # Hybrid searches run their keyword half on a thread pool; a child forked after the pool had threads
    # must get a pool of its own, or its first hybrid search waits for a thread that does not exist.
    from paperboy.ranking import hybrid

    assert hybrid._HALVES.submit(int, "1").result() == 1
    pid = os.fork()
    if pid == 0:
        try:
            ok = hybrid._HALVES.submit(int, "2").result(timeout=120) == 2  # a hang guard, not a time bound
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
