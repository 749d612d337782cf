"""The pure recommender (paperboy.ranking.recommend) on synthetic clusters, dense and sparse, and its TF-IDF."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from paperboy.index.query import STOP_WORDS
from paperboy.ranking import scorers
from paperboy.ranking.recommend import explore, fit_linear_svm, preference_scores, recommend
from paperboy.ranking.tfidf import Tfidf


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def clusters():
    """Three topics of 40 papers each around orthogonal-ish centres (seeded)."""
    rng = np.random.default_rng(42)
    centres = _unit(rng.normal(size=(3, 32)))
    X = np.vstack([_unit(c + 0.08 * rng.normal(size=(40, 32))) for c in centres]).astype(np.float32)
    ids = [f"{t}-{i}" for t in "abc" for i in range(40)]
    return ids, X


def topic(pid: str) -> str:
    return pid.split("-")[0]


def test_linear_model_ranks_the_readers_topic_first(clusters):
    ids, X = clusters
    pos = X[[0, 1, 2, 3, 4]]  # five papers of topic a
    bg = X[np.r_[60:70, 100:110]]
    recs = recommend(
        ids,
        X,
        pos,
        [f"“a{i}” in your retrieval profile" for i in range(5)],
        None,
        bg,
        exclude={"a-0", "a-1", "a-2", "a-3", "a-4"},
        limit=10,
    )
    assert len(recs) == 10
    assert {r.method for r in recs} == {scorers.DEFAULT_SCORER}
    assert all(topic(r.id) == "a" for r in recs)
    assert not {r.id for r in recs} & {"a-0", "a-1", "a-2", "a-3", "a-4"}  # the library is excluded
    assert all(r.reason.startswith("like “a") and r.reason.endswith("in your retrieval profile") for r in recs)


def test_thumbs_down_pushes_a_topic_away(clusters):
    ids, X = clusters
    # One paper of topic a and one of b: both topics score alike ...
    pos = X[[0, 40]]
    plain, method = preference_scores(X, pos)
    assert method == scorers.DEFAULT_SCORER
    # ... until the reader marks a few b papers "not interested".
    marked, _ = preference_scores(X, pos, not_interested=X[[41, 42, 43]])
    a_vs_b_before = plain[:40].mean() - plain[40:80].mean()
    a_vs_b_after = marked[:40].mean() - marked[40:80].mean()
    assert a_vs_b_after > a_vs_b_before + 0.2


def test_each_reason_names_the_most_similar_positive(clusters):
    ids, X = clusters
    pos = X[[0, 1, 2, 40, 41, 42]]
    labels = ["A0", "A1", "A2", "B0", "B1", "B2"]
    recs = recommend(
        ids, X, pos, labels, None, X[100:120], limit=20, exclude={"a-0", "a-1", "a-2", "b-0", "b-1", "b-2"}
    )
    for r in recs:
        assert topic(r.id) in "ab"
        assert r.reason.startswith("like " + ("A" if topic(r.id) == "a" else "B"))


def test_no_positives_fall_back_to_trending_and_respect_exclusions(clusters):
    ids, X = clusters
    trending = [("c-5", "trending this week · 9 upvotes"), ("c-6", "trending this week · 3 upvotes"), ("c-7", "new")]
    recs = recommend(ids, X, None, [], trending=trending, exclude={"c-6"}, limit=5)
    assert [(r.id, r.method) for r in recs] == [("c-5", "trending"), ("c-7", "trending")]
    assert recs[0].reason == "trending this week · 9 upvotes"


def test_saved_search_matches_come_first_but_take_at_most_half(clusters):
    ids, X = clusters
    matches = {f"c-{i}": "graph neural networks" for i in range(20)}
    recs = recommend(
        ids,
        X,
        X[[0, 1, 2, 3]],
        ["A"] * 4,
        None,
        X[60:80],
        search_matches=matches,
        limit=10,
        exclude={"a-0", "a-1", "a-2", "a-3"},
    )
    searched = [r for r in recs if r.method == "search"]
    assert len(searched) == 5 and recs[:5] == searched
    assert all(r.reason == "matches your search “graph neural networks”" for r in searched)
    assert all(topic(r.id) == "a" for r in recs[5:])


def test_sparse_tfidf_rows_work_like_dense_ones(clusters):
    ids, X = clusters
    S = sp.csr_matrix(np.maximum(X, 0))  # non-negative sparse rows, as TF-IDF gives
    S = sp.csr_matrix(S.multiply(1 / np.sqrt(S.multiply(S).sum(axis=1))))
    recs = recommend(ids, S, S[[0, 1, 2, 3]], ["A"] * 4, None, S[80:100], limit=8, exclude={"a-0", "a-1", "a-2", "a-3"})
    assert sum(topic(r.id) == "a" for r in recs) >= 7


def test_degenerate_inputs_do_not_crash(clusters):
    ids, X = clusters
    assert recommend([], np.zeros((0, 32), np.float32), X[:3], ["A"] * 3, limit=5) == []
    assert recommend(ids, X, X[:3], ["A"] * 3, limit=0) == []
    every = set(ids)
    assert recommend(ids, X, X[:3], ["A"] * 3, None, X[50:60], exclude=every, limit=5) == []
    w, b = fit_linear_svm(X[:3], X[50:53])
    assert w.shape == (32,) and np.isfinite(b)


@pytest.mark.parametrize("method", scorers.SCORERS)
def test_every_scorer_ranks_the_libraries_topic_first(clusters, method):
    ids, X = clusters
    words = {"a": "retrieval ranking queries", "b": "robot grasping policies", "c": "protein folding structure"}
    texts = [f"{words[topic(i)]} paper {i}" for i in ids]
    lib = scorers.Library(X[[0, 1, 2]], [texts[k] for k in (0, 1, 2)], background=X[[60, 61, 100, 101]])
    s = scorers.score(method, X[3:], lib, texts[3:])
    top = [ids[3 + k] for k in np.argsort(-s)[:20]]
    assert all(topic(i) == "a" for i in top), (method, top)


def test_unknown_scorer_is_refused(clusters):
    _ids, X = clusters
    with pytest.raises(ValueError, match="unknown scorer"):
        scorers.score("magic", X, scorers.Library(X[:2]))


def test_exploration_takes_well_rated_papers_outside_the_profile_only(clusters):
    ids, X = clusters
    scores, _ = preference_scores(X, X[[0, 1, 2]])
    well_rated = [("a-10", "9 upvotes"), ("c-3", "7 upvotes"), ("b-5", "5 upvotes"), ("c-4", "4 upvotes")]
    picks = explore(ids, scores, well_rated, 2, exclude={"c-3"})
    assert [p.id for p in picks] == ["b-5", "c-4"]  # a-10 is inside the profile, c-3 excluded
    assert all(p.method == "explore" and p.reason.startswith("exploring beyond your profile") for p in picks)
    assert explore(ids, scores, well_rated, 0) == []


TEXTS = [
    "Dense retrieval with learned sparse representations: retrieval, retrieval and more retrieval.",
    "Robot learning from demonstrations; the robot grasps objects.",
    "",
    "A survey of graph neural networks for molecules and graphs — naïve baselines, GNNs, 3D.",
    "the of and",  # stop words only: an empty row
]


def test_tfidf_rows_and_vocabulary_match_scikit_learn():
    from sklearn.feature_extraction.text import TfidfVectorizer

    for max_features in (None, 2):  # 2: no tie at the cut (scikit-learn breaks ties arbitrarily)
        ours = Tfidf(max_features)
        ref = TfidfVectorizer(sublinear_tf=True, stop_words=sorted(STOP_WORDS), max_features=max_features)
        X, R = ours.fit_transform(TEXTS), ref.fit_transform(TEXTS)
        assert ours.vocabulary == ref.vocabulary_
        assert X.shape == R.shape and np.allclose(X.toarray(), R.toarray(), atol=1e-6)
        unseen = ["retrieval of unseen words only", "zzz"]
        assert np.allclose(ours.transform(unseen).toarray(), ref.transform(unseen).toarray(), atol=1e-6)
    empty = Tfidf().fit_transform(["the", ""])
    assert empty.shape == (2, 0) and empty.nnz == 0
