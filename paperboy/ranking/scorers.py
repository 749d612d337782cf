"""How well a candidate paper fits a reader's library: the scorers compared by benchmarks/recommend.py. Pure.

Every scorer takes unit-norm feature rows (candidates `C`, library `L`) and returns one score per
candidate, higher = better fit. `score()` picks one by name; DEFAULT_SCORER is the one the
benchmark chose, shared by `paperboy rank`, "recommended for you" and the digest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from paperboy.ranking.tfidf import Tfidf

SCORERS = ("centroid", "max", "topk", "svm", "lexical", "fused")
DEFAULT_SCORER = "fused"
TOP_K = 3  # library papers averaged by the top-k scorer
# Small C = strong regularisation: with a handful of positives a looser fit just memorises them.
SVM_C = 0.1
MIN_SVM_POSITIVES = 3  # below this a classifier overfits; "svm" falls back to top-k
LEXICAL_WEIGHT = 0.5  # share of the lexical z-score in "fused"
NOT_INTERESTED_WEIGHT = 0.5  # how far scores move away from papers marked "not interested"
BLOCK = 2048  # candidate rows per similarity block (bounds memory for 10,000 x 500)


def _dense(X) -> np.ndarray:
    return X.toarray() if hasattr(X, "toarray") else np.asarray(X)


def _rows(X) -> int:
    return 0 if X is None else X.shape[0]


def similarities(C, L) -> np.ndarray:
    """Cosine similarity of every candidate to every library paper (rows are unit vectors)."""
    return _dense(C @ L.T).astype(np.float32, copy=False)


def score_centroid(C, L) -> np.ndarray:
    """Cosine to the library's mean direction (the old default)."""
    v = np.asarray(L.mean(axis=0), dtype=np.float64).ravel()
    v /= np.linalg.norm(v) or 1.0
    return np.asarray(C @ v, dtype=np.float64).ravel()


def score_max(C, L) -> np.ndarray:
    """Similarity to the single most similar library paper."""
    return _blocks(C, L, lambda S: S.max(axis=1))


def score_topk_mean(C, L, k: int = TOP_K) -> np.ndarray:
    """Mean similarity to the k most similar library papers (max for k=1, centroid-like for large k)."""
    k = max(1, min(k, _rows(L)))

    def top(S: np.ndarray) -> np.ndarray:
        if k == S.shape[1]:
            return S.mean(axis=1)
        return np.partition(S, S.shape[1] - k, axis=1)[:, -k:].mean(axis=1)

    return _blocks(C, L, top)


def _blocks(C, L, reduce) -> np.ndarray:
    out = np.empty(_rows(C), dtype=np.float64)
    for start in range(0, _rows(C), BLOCK):
        out[start : start + BLOCK] = reduce(similarities(C[start : start + BLOCK], L))
    return out


def fit_linear_svm(pos, neg, C: float = SVM_C) -> tuple[np.ndarray, float]:
    """(weights, bias) of a linear SVM with positives as class 1; classes balanced by weight."""
    from sklearn.svm import LinearSVC

    X = _vstack([pos, neg])
    y = np.r_[np.ones(_rows(pos)), np.zeros(_rows(neg))]
    # The primal solver converges in a few iterations on ~400 dense dimensions; the dual suits sparse TF-IDF.
    clf = LinearSVC(C=C, class_weight="balanced", dual=hasattr(X, "tocsr"), max_iter=2000, random_state=0)
    clf.fit(X, y)
    return clf.coef_.ravel().astype(np.float64), float(clf.intercept_[0])


def score_svm(C, L, negatives, C_: float = SVM_C) -> np.ndarray:
    """Decision value of a per-reader linear SVM: library vs. negatives (marks + random background)."""
    if _rows(L) < MIN_SVM_POSITIVES or not _rows(negatives):
        return score_topk_mean(C, L)
    w, b = fit_linear_svm(L, negatives, C_)
    return np.asarray(C @ w, dtype=np.float64).ravel() + b


def _vstack(blocks: Sequence):
    blocks = [b for b in blocks if _rows(b)]
    if any(hasattr(b, "tocsr") for b in blocks):
        import scipy.sparse as sp

        return sp.vstack([sp.csr_matrix(b) for b in blocks]).tocsr()
    return np.vstack(blocks)


def tfidf_vectorizer(max_features: int | None = None) -> Tfidf:
    """The lexical features: sublinear TF-IDF of words, stop words dropped (paperboy.ranking.tfidf)."""
    return Tfidf(max_features)


def tfidf_rows(cand_texts: Sequence[str], lib_texts: Sequence[str]):
    """TF-IDF rows (unit norm) of candidates and library, vocabulary fitted on both together."""
    X = tfidf_vectorizer().fit_transform(list(cand_texts) + list(lib_texts) or ["empty"])
    n = len(cand_texts)
    return X[:n], X[n:]


def zscore(x: np.ndarray) -> np.ndarray:
    """Standardised scores (so scorers on different scales can be added); constant input gives zeros."""
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 1e-12 else np.zeros_like(x, dtype=np.float64)


def score_fused(C, L, lex_C, lex_L, weight: float = LEXICAL_WEIGHT) -> np.ndarray:
    """Top-k dense similarity plus `weight` x top-k TF-IDF similarity, both as z-scores over the candidates."""
    dense = zscore(score_topk_mean(C, L))
    if lex_C is None or not _rows(lex_L):
        return dense
    return dense + weight * zscore(score_topk_mean(lex_C, lex_L))


@dataclass(slots=True)
class Library:
    """A reader's papers as features: dense rows, and optionally texts for the lexical part."""

    vectors: np.ndarray
    texts: Sequence[str] | None = None
    not_interested: np.ndarray | None = None
    background: np.ndarray | None = None  # random papers: generic negatives for the classifier
    lexical: object | None = None  # TF-IDF rows of the library in the candidates' vocabulary, if precomputed


def score(
    method: str, C: np.ndarray, lib: Library, cand_texts: Sequence[str] | None = None, cand_lexical=None
) -> np.ndarray:
    """Scores of candidate rows `C` for `lib` with the named scorer (see SCORERS).

    The lexical part uses `cand_lexical` with `lib.lexical` when both are given (a pool's TF-IDF,
    fitted once), else TF-IDF fitted on `cand_texts` + `lib.texts`; with neither it is left out.
    """
    L = lib.vectors
    if method == "centroid":
        s = score_centroid(C, L)
    elif method == "max":
        s = score_max(C, L)
    elif method == "topk":
        s = score_topk_mean(C, L)
    elif method == "svm":
        s = score_svm(
            C,
            L,
            _vstack([lib.not_interested, lib.background])
            if (_rows(lib.not_interested) + _rows(lib.background))
            else None,
        )
    elif method in ("lexical", "fused"):
        if cand_lexical is not None and lib.lexical is not None:
            lex_C, lex_L = cand_lexical, lib.lexical
        elif cand_texts is not None and lib.texts is not None:
            lex_C, lex_L = tfidf_rows(cand_texts, lib.texts)
        else:
            lex_C = lex_L = None
        if lex_C is None:
            s = score_topk_mean(C, L)
        else:
            s = score_topk_mean(lex_C, lex_L) if method == "lexical" else score_fused(C, L, lex_C, lex_L)
    else:
        raise ValueError(f"unknown scorer {method!r}; choose one of {', '.join(SCORERS)}")
    if method != "svm" and _rows(lib.not_interested):
        # Marked papers pull scores down in proportion to the closest mark (the SVM learns them as negatives).
        penalty = score_max(C, lib.not_interested)
        s = s - NOT_INTERESTED_WEIGHT * (zscore(penalty) if method in ("lexical", "fused") else penalty)
    return s


def nearest(C, L) -> np.ndarray:
    """Index of the most similar library row for each candidate row."""
    out = np.empty(_rows(C), dtype=np.int64)
    for start in range(0, _rows(C), BLOCK):
        out[start : start + BLOCK] = np.argmax(similarities(C[start : start + BLOCK], L), axis=1)
    return out
