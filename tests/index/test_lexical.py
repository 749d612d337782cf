"""LexicalIndex on real tantivy indexes built from real arXiv records (two shards of the shared sample)."""

from __future__ import annotations

import gzip
import json
import re
import threading
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import tantivy

from paperboy.index.lexical import PHRASE_BOOST, LexicalIndex, _text_analyzer, author_keys, category_terms
from paperboy.index.query import parse_query
from paperboy.models import Hits, Paper, SearchFilters, author_key
from tests.index.test_query import HOSTILE

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CORPUS = SHARED / "corpus" / "arxiv-cs-2025-2026"
# name -> (every n-th record, how many): ten listing days of 2025-03 and one of 2026-07,
# so date filters have something to separate.
SHARDS = {"papers-2025-03.jsonl.gz": (9, 250), "papers-2026-07.jsonl.gz": (1, 100)}


def _read(name: str, step: int, n: int) -> list[Paper]:
    out = []
    with gzip.open(CORPUS / name, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i % step:
                continue
            r = json.loads(line)
            out.append(
                Paper(
                    title=" ".join(r["title"].split()),
                    abstract=" ".join(r["summary"].split()),
                    authors=r["authors"],
                    categories=r["categories"],
                    arxiv_id=r["id"],
                    listed=date.fromisoformat(r["crawl_date"]),
                )
            )
            if len(out) >= n:
                break
    return out


@pytest.fixture(scope="module")
def papers() -> list[Paper]:
    assert CORPUS.is_dir(), f"shared corpus missing at {CORPUS} (tests need /work/shared next to the repo)"
    out = [p for name, (step, n) in SHARDS.items() for p in _read(name, step, n)]
    assert len(out) == sum(n for _, n in SHARDS.values())
    return out


@pytest.fixture(scope="module")
def by_id(papers) -> dict[str, Paper]:
    return {p.paper_id(): p for p in papers}


@pytest.fixture(scope="module")
def index(papers, tmp_path_factory) -> LexicalIndex:
    """Shared read-only index; tests that write build their own."""
    idx = LexicalIndex(tmp_path_factory.mktemp("lex"))
    assert idx.add(papers) == len(papers)
    return idx


@pytest.fixture()
def small(papers, tmp_path) -> LexicalIndex:
    idx = LexicalIndex(tmp_path / "lex")
    idx.add(papers[:40])
    return idx


def _tokens(text: str) -> list[str]:
    return _text_analyzer().analyze(text)


def _contains_phrase(p: Paper, phrase: str) -> bool:
    toks, ph = _tokens(f"{p.title}\n{p.abstract}"), _tokens(phrase)
    return any(toks[i : i + len(ph)] == ph for i in range(len(toks) - len(ph) + 1))


# ------------------------------------------------------------------------------------------ ranking


def test_title_query_ranks_that_paper_first(index, papers):
    # Every 10th paper: its exact title as the query must return it at rank 1.
    sample = papers[::10]
    misses = [p.title for p in sample if index.search(p.title, limit=5).ids[:1] != [p.paper_id()]]
    assert not misses, misses


def test_hits_shape(index):
    h = index.search("language models", limit=7)
    assert isinstance(h, Hits) and len(h) == 7
    assert h.scores.dtype == np.float32
    assert all(h.scores[i] >= h.scores[i + 1] for i in range(len(h) - 1))
    assert len(set(h.ids)) == len(h.ids)


def test_natural_language_question_is_or_semantics(index, by_id):
    # AND semantics would return nothing for a long question; OR ranks the topical papers.
    h = index.search("what are good methods for 3d gaussian splatting of dynamic scenes?", limit=10)
    assert len(h) == 10
    assert "gaussian" in by_id[h.ids[0]].title.lower() + by_id[h.ids[0]].abstract.lower()


def test_phrase_must_match(index, papers):
    phrase = "language models"
    h = index.search(f'"{phrase}"', limit=1000)
    expected = {p.paper_id() for p in papers if _contains_phrase(p, phrase)}
    assert expected and set(h.ids) == expected
    # Both words somewhere but not adjacent does not count.
    loose = {p.paper_id() for p in papers if {"languag", "model"} <= set(_tokens(p.title + " " + p.abstract))}
    assert loose - expected, "fixture should contain a paper with the words apart"


def test_phrase_plus_words_ranks_within_phrase_matches(index, papers):
    h = index.search('"language models" reasoning', limit=1000)
    assert h.ids and all(
        _contains_phrase(next(p for p in papers if p.paper_id() == i), "language models") for i in h.ids
    )


def test_excluded_word_must_not_match(index, by_id):
    base = index.search("image segmentation", limit=1000)
    h = index.search("image segmentation -medical", limit=1000)
    assert 0 < len(h) < len(base)
    for i in h.ids:
        p = by_id[i]
        assert "medic" not in _tokens(f"{p.title} {p.abstract}")


def test_author_name_in_free_text(index, papers):
    p = papers[3]
    family = author_key(p.authors[0])
    h = index.search(f"{family} {p.title.split()[0]}", limit=5)
    assert p.paper_id() in h.ids


# ------------------------------------------------------------------------------------------ filters


def _distinctive_author(papers) -> tuple[str, set[str]]:
    counts: dict[str, set[str]] = {}
    for p in papers:
        for a in p.authors:
            counts.setdefault(author_key(a), set()).add(p.paper_id())
    # a family name shared by a few papers (not one, not hundreds)
    key = sorted((k for k, v in counts.items() if 2 <= len(v) <= 5 and len(k) > 3), key=lambda k: (-len(counts[k]), k))[
        0
    ]
    return key, counts[key]


def test_author_filter_by_family_name_any_case(index, papers):
    key, expected = _distinctive_author(papers)
    for value in (key, key.upper(), key.title()):
        assert set(index.search(f"author:{value}", limit=100).ids) == expected
    assert index.filter_ids(SearchFilters(authors=(key,))) == expected


def test_author_filter_by_full_name_forms(index, papers):
    p = next(p for p in papers if len(p.authors[0].split()) == 2)
    first, last = p.authors[0].split()
    want = p.paper_id()
    for form in (
        f'"{first} {last}"',
        f'"{last}, {first}"',
        f'"{first[0]}. {last}"',
        f'"{first.upper()} {last.lower()}"',
    ):
        assert want in index.search(f"author:{form}", limit=100).ids, form
    # someone else's first name with this family name must not match
    assert want not in index.search(f'author:"Zzyzx {last}"', limit=100).ids


def test_author_filters_are_all_of(index, papers):
    p = next(p for p in papers if len(p.authors) >= 2)
    a, b = author_key(p.authors[0]), author_key(p.authors[1])
    ids = index.filter_ids(SearchFilters(authors=(a, b)))
    assert p.paper_id() in ids
    assert all({a, b} <= {author_key(x) for x in q.authors} for q in papers if q.paper_id() in ids)


def test_author_keys_variants():
    keys = author_keys("Geoffrey E. Hinton")
    assert {"hinton", "geoffrey e hinton", "geoffrey hinton", "g hinton", "g e hinton"} <= keys
    assert "hinton" in author_keys("Hinton, Geoffrey") and "geoffrey hinton" in author_keys("Hinton, Geoffrey")
    assert "schonlieb" in author_keys("Carola-Bibiane Schönlieb")


def test_category_filter_exact_prefix_and_any_of(index, papers):
    def having(pred):
        return {p.paper_id() for p in papers if any(pred(c) for c in p.categories)}

    assert index.filter_ids(SearchFilters(categories=("cs.GR",))) == having(lambda c: c == "cs.GR")
    assert index.filter_ids(SearchFilters(categories=("cs.gr",))) == having(lambda c: c == "cs.GR")
    assert index.filter_ids(SearchFilters(categories=("eess",))) == having(lambda c: c.startswith("eess."))
    assert index.filter_ids(SearchFilters(categories=("cs",))) == having(lambda c: c.startswith("cs."))
    both = having(lambda c: c in ("cs.GR", "cs.CL"))
    assert set(index.search("cat:cs.GR,cs.CL", limit=1000).ids) == both
    assert set(index.search("cat:cs.GR cat:cs.CL", limit=1000).ids) == both
    ranked = index.search("image cat:cs.GR", limit=1000)
    assert ranked.ids and set(ranked.ids) <= having(lambda c: c == "cs.GR")


def test_category_terms():
    assert category_terms(["cs.CL", "eess.IV", "68T50"]) == {"cs.cl", "cs", "eess.iv", "eess", "68t50"}


def test_date_filters(index, papers):
    def between(lo, hi):
        return {p.paper_id() for p in papers if lo <= p.listed <= hi}

    assert index.filter_ids(parse_query("year:2026").filters) == between(date(2026, 1, 1), date(2026, 12, 31))
    assert index.filter_ids(parse_query("year:2025").filters) == between(date(2025, 1, 1), date(2025, 12, 31))
    assert index.filter_ids(parse_query("year:2024..2025").filters) == between(date(2024, 1, 1), date(2025, 12, 31))
    assert index.filter_ids(parse_query("year:2023").filters) == set()
    days = sorted({p.listed for p in papers})
    lo, hi = days[1], days[2]
    q = f"since:{lo.isoformat()} until:{hi.isoformat()}"
    assert set(index.search(q, limit=1000).ids) == between(lo, hi) != set()
    assert set(index.search(f"until:{days[0].isoformat()}", limit=1000).ids) == between(date.min, days[0])
    assert index.search("since:2026 until:2025", limit=10).ids == []


def test_filters_argument_merges_with_query_filters(index, papers):
    h = index.search("cat:cs.CV", filters=SearchFilters(since=date(2026, 1, 1)), limit=1000)
    expected = {p.paper_id() for p in papers if "cs.CV" in p.categories and p.listed.year == 2026}
    assert set(h.ids) == expected != set()


def test_filter_only_query_lists_newest_first(index, by_id):
    h = index.search("cat:cs.CV", limit=400)
    dates = [by_id[i].listed for i in h.ids]
    assert dates == sorted(dates, reverse=True)
    assert dates[0] == date(2026, 7, 1) and not h.scores.any()
    # the same with an empty query string plus a filters argument
    h2 = index.search("", filters=SearchFilters(categories=("cs.CV",)), limit=400)
    assert set(h2.ids) == set(h.ids)


def test_filters_do_not_change_scores(index):
    plain = index.search("video generation", limit=1000)
    filtered = index.search("video generation cat:cs", limit=1000)
    score = dict(zip(plain.ids, plain.scores))
    assert filtered.ids and all(abs(score[i] - s) < 1e-4 for i, s in zip(filtered.ids, filtered.scores))


def test_filters_honoured_with_text_and_exclusion_only(index, by_id):
    h = index.search("-image cat:cs.CL", limit=1000)
    assert h.ids and all("cs.CL" in by_id[i].categories for i in h.ids)


# ---------------------------------------------------------------------------------------------- ids


@pytest.mark.parametrize(
    "form", ["{id}", "{id}v2", "arXiv:{id}v1", "https://arxiv.org/abs/{id}v3", "http://arxiv.org/pdf/{id}"]
)
def test_id_lookup(index, papers, form):
    p = papers[17]
    h = index.search(form.format(id=p.arxiv_id), limit=10)
    assert h.ids == [p.paper_id()]


def test_id_among_words_goes_first(index, papers):
    p = papers[42]
    assert index.search(f"{p.arxiv_id} segmentation", limit=10).ids[0] == p.paper_id()


def test_unknown_id_is_empty(index):
    h = index.search("9912.99999", limit=10)
    assert h.ids == [] and len(h.scores) == 0
    assert index.search("hep-th/9901001", limit=10).ids == []


# --------------------------------------------------------------------------------- incremental writes


def test_add_makes_new_paper_searchable(small, papers):
    new = papers[300]
    assert small.search(new.title, limit=5).ids[:1] != [new.paper_id()]
    before = small.count()
    assert small.add([new]) == 1
    assert small.count() == before + 1
    assert small.search(new.title, limit=5).ids[0] == new.paper_id()
    assert small.search(new.arxiv_id).ids == [new.paper_id()]


def test_update_replaces_old_version(small, papers):
    p = papers[5]
    small.add([replace(p, title="Quokka Hyperbolic Zeppelin Calibration", abstract="A changed abstract.")])
    assert small.count() == 40
    assert small.search("quokka zeppelin", limit=5).ids == [p.paper_id()]
    assert p.paper_id() not in small.search(f'"{p.title}"', limit=50).ids
    # in-batch repeats: the last one wins
    small.add([replace(p, title="First Walrus"), replace(p, title="Second Narwhal")])
    assert small.count() == 40
    assert small.search("walrus").ids == [] and small.search("narwhal").ids == [p.paper_id()]


def test_delete(small, papers):
    gone = [papers[0].paper_id(), papers[1].paper_id(), "not-an-indexed-id"]
    small.delete(gone)
    assert small.count() == 38
    assert small.search(papers[0].arxiv_id).ids == []
    assert small.search(papers[1].title, limit=50).ids[:1] != [papers[1].paper_id()]
    assert not (set(gone) & small.ids())
    assert len(small.ids()) == 38


def test_paper_without_arxiv_id_uses_hash_id(small):
    p = Paper(title="Self-hosted Paper Discovery Engines", authors=["Ada Lovelace"], published=date(2024, 2, 2))
    small.add([p])
    assert small.search("self-hosted discovery").ids[0] == p.paper_id()
    assert small.search("author:lovelace").ids == [p.paper_id()]
    assert p.paper_id().startswith("pb-")


def test_reopen_keeps_documents_and_manifest(small, papers):
    again = LexicalIndex(small.directory)
    assert again.count() == 40
    assert again.search(papers[2].title, limit=3).ids[0] == papers[2].paper_id()
    m = again.read_manifest()
    assert m["count"] == 40 and m["schema_version"] >= 1
    files = {p.name for p in small.directory.iterdir()}
    assert "manifest.json" in files and any(f.endswith(".idx") or f == "meta.json" for f in files)


def test_empty_index(tmp_path):
    idx = LexicalIndex(tmp_path / "empty")
    assert idx.count() == 0 and idx.ids() == set()
    assert idx.search("anything").ids == [] and idx.search("cat:cs").ids == []
    assert idx.add([]) == 0


def test_clear(small):
    small.clear()
    assert small.count() == 0 and small.search("model").ids == []


def test_concurrent_searches_during_writes(small, papers):
    errors: list[BaseException] = []

    def reader():
        try:
            for p in papers[:60]:
                small.search(p.title, limit=10)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    small.add(papers[40:80])
    for t in threads:
        t.join()
    assert not errors
    assert small.count() == 80


# ------------------------------------------------------------------------------------------ hostile


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_queries_never_raise(index, text):
    h = index.search(text, limit=20)
    assert isinstance(h, Hits) and len(h) <= 20
    # Also through the common-word paths: some words common (rank only), every word common (WAND + estimate).
    for common_df in (60, 0):
        hits, total, _ = LexicalIndex(index.directory, common_df=common_df).search_counted(text, limit=20)
        assert len(hits) <= 20 and total >= 0


def test_stop_words_only_still_answers(index):
    h = index.search("the of and", limit=10)
    assert isinstance(h, Hits) and len(h) > 0
    assert isinstance(index.search("a", limit=10), Hits)


@pytest.mark.parametrize("limit", [0, -5, 1, 10_000_000])
def test_limits(index, papers, limit):
    matching = sum("model" in _tokens(f"{p.title} {p.abstract} {' '.join(p.authors)}") for p in papers)
    assert len(index.search("model", limit=limit)) == max(0, min(limit, matching))
    assert len(index.search("cat:cs", limit=limit)) == max(
        0, min(limit, len(index.filter_ids(SearchFilters(categories=("cs",)))))
    )


def test_tantivy_syntax_in_words_is_literal(index, papers):
    p = papers[8]
    noisy = re.sub(r"\s+", " ^2 (", p.title) + ' ) ~ * ? [ ] { } \\ AND || "'
    assert index.search(noisy, limit=5).ids[0] == p.paper_id()


def test_undated_paper_fails_date_filters_and_lists_last(small):
    p = Paper(title="An Undated Note on Quasicrystal Tilings", authors=["N. O. Date"])
    small.add([p])
    assert small.search("quasicrystal").ids == [p.paper_id()]
    assert p.paper_id() not in small.search("quasicrystal until:2100").ids
    assert p.paper_id() not in small.filter_ids(SearchFilters(since=date(1900, 1, 1)))
    assert small.search("author:date", limit=100).ids == [p.paper_id()]
    newest_first = small.search("-zzzzqqq", limit=1000).ids
    assert newest_first[-1] == p.paper_id()


def test_id_lookup_honours_filters(index, papers):
    p = next(p for p in papers if "cs.CV" in p.categories and "cs.CL" not in p.categories)
    assert index.search(f"{p.arxiv_id} cat:cs.CV").ids == [p.paper_id()]
    assert index.search(p.arxiv_id, filters=SearchFilters(categories=("cs.CL",))).ids == []


def _flat(ranking) -> tantivy.Query:
    """The ranking as one flat boolean query, the plain reading of its parts (the reference the
    index's nested queries and split paths must rank exactly as)."""
    Q, Should, Must = tantivy.Query, tantivy.Occur.Should, tantivy.Occur.Must
    bonus = [(Should, Q.boost_query(ranking.bonus, PHRASE_BOOST))] if ranking.bonus is not None else []
    if ranking.rank_only and not ranking.must:
        return Q.boolean_query([(Must, Q.boolean_query(ranking.should)), *ranking.rank_only, *bonus])
    return Q.boolean_query(ranking.must + ranking.should + ranking.rank_only + bonus)


def test_word_queries_rank_exactly_as_the_single_query(index, papers):
    # The WAND-friendly path (words ranked alone, the phrase bonus ranked apart, then merged) must give
    # the ranking and scores of the one combined query, for titles (phrase bonus) and loose words.
    searcher = index._searcher()
    queries = [p.title for p in papers[::40]] + ["video generation", "graph neural network", "the the"]
    for q in queries:
        ranking = index._text_query(parse_query(q), searcher)
        assert ranking is not None and ranking.plain()
        res = searcher.search(_flat(ranking), 30, count=True)
        want = [(searcher.doc(a).get_first("id"), s) for s, a in res.hits]
        got = index.search(q, limit=30)  # no count: the split path
        counted, total, _ = index.search_counted(q, limit=30)  # counted: the bonus ranked apart too
        assert total == res.count
        for hits in (got, counted):
            assert hits.ids[:5] == [i for i, _ in want][:5]
            assert np.allclose(hits.scores, [s for _, s in want], atol=1e-4)


def _holding(papers, word: str) -> set[str]:
    """Ids of the papers whose title or abstract holds `word` (as the index stems it), read from the papers."""
    analyzer = _text_analyzer()
    (stem,) = analyzer.analyze(word)
    return {p.paper_id() for p in papers if stem in analyzer.analyze(f"{p.title} {p.abstract}")}


def test_common_words_only_rank_the_papers_rarer_words_find(index, papers):
    rare, common = _holding(papers, "diffusion"), _holding(papers, "model")
    assert 0 < len(rare) <= 60 < len(common)
    scaled = LexicalIndex(index.directory, common_df=60)  # "model" is common here, "diffusion" is not
    hits, total, about = scaled.search_counted("model diffusion", limit=500)
    assert set(hits.ids) == rare and total == len(rare) and not about
    assert set(scaled.search("model diffusion", limit=500).ids) == rare  # uncounted: the same papers
    # Every word finds papers at the default bound (this index is small): the papers found by both
    # keep the exhaustive query's scores and order.
    full, full_total, _ = index.search_counted("model diffusion", limit=500)
    assert full_total == len(rare | common)
    assert hits.ids == [i for i in full.ids if i in rare]
    score = dict(zip(full.ids, full.scores.tolist()))
    assert np.allclose(hits.scores, [score[i] for i in hits.ids], atol=1e-4)


def test_only_common_words_rank_everything_and_estimate_the_count(index, papers):
    model, learning = _holding(papers, "model"), _holding(papers, "learning")
    scaled = LexicalIndex(index.directory, common_df=60)
    assert min(len(model), len(learning)) > 60
    full, full_total, about = index.search_counted("model learning", limit=30)
    assert not about and full_total == len(model | learning)
    hits, total, about = scaled.search_counted("model learning", limit=30)
    assert about and max(len(model), len(learning)) <= total <= len(papers)
    assert abs(total - full_total) <= 0.25 * full_total  # independence is a fair guess for two words
    assert hits.ids == full.ids and np.allclose(hits.scores, full.scores, atol=1e-4)
    # A word no paper holds finds nothing, so the common word alone decides.
    hits, total, about = scaled.search_counted("zzqxjvw model", limit=500)
    assert set(hits.ids) == model and about and total == pytest.approx(len(model), rel=0.05)  # 2 figures


def test_common_words_rank_exactly_as_the_flat_query(index, papers):
    # Common words are sought only at the papers the others find (nested clauses), the phrase bonus is
    # ranked apart: papers, order, scores and counts must be those of the flat query, whatever finds the
    # papers (rarer words, a name, an id, a quoted phrase) and whether the phrase holds.
    scaled = LexicalIndex(index.directory, common_df=60)
    searcher = scaled._searcher()
    p = next(p for p in papers if p.authors and p.arxiv_id)
    name = p.authors[0]
    queries = [x.title for x in papers[::25]] + [
        "model diffusion",
        "diffusion model learning",
        f"{p.arxiv_id} model learning",  # the id finds; the common words only rank it
        f"{name} model",
        name,
        '"language model" learning model',
        "model learning",  # every word common: WAND and an estimate, checked above
    ]
    checked = 0
    for q in queries:
        parsed = parse_query(q)
        ranking = scaled._text_query(parsed, searcher, common_df=60)
        if ranking is None or ranking.all_common or parsed.arxiv_id:
            continue
        res = searcher.search(_flat(ranking), 50, count=True)
        want = [(searcher.doc(a).get_first("id"), s) for s, a in res.hits]
        hits, total, about = scaled.search_counted(q, limit=50)
        assert not about and total == res.count, q
        assert hits.ids[:10] == [i for i, _ in want][:10], q
        assert np.allclose(hits.scores, [s for _, s in want], atol=1e-4), q
        checked += bool(ranking.rank_only)
    assert checked >= 10


def test_phrases_decide_what_matches_whatever_the_words(index, papers):
    scaled = LexicalIndex(index.directory, common_df=60)
    q = '"language model" diffusion'
    want, want_total, _ = index.search_counted(q, limit=500)
    hits, total, about = scaled.search_counted(q, limit=500)
    assert want_total > 0 and total == want_total and set(hits.ids) == set(want.ids) and not about


def test_excluded_ids_are_neither_returned_nor_counted(index):
    for q, flt in [("video generation", None), ("video generation", SearchFilters(categories=("cs",)))]:
        for count in (True, False):  # one query with the ids excluded / the split path dropping them
            full, total, _ = index.search_counted(q, limit=20, filters=flt, count=count)
            gone = set(full.ids[:5])
            rest, rest_total, _ = index.search_counted(q, limit=20, filters=flt, exclude_ids=gone, count=count)
            assert len(rest) == 20 and not gone & set(rest.ids)
            assert rest.ids[:15] == full.ids[5:]
            assert rest_total == (total - 5 if count else 0)
