"""Sublinear TF-IDF rows of texts: the lexical features of the recommender's scorer. Pure.

scikit-learn's TfidfVectorizer(sublinear_tf=True) weighting — tf 1 + log(count), smooth idf
log((1 + n) / (1 + df)) + 1, unit-length rows — over its default tokens (words of two or more
characters, lower-cased), minus the keyword index's stop words; on numpy and scipy.sparse alone,
because importing scikit-learn cost more than the 2 s budget of a fresh `paperboy rank`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import chain, count, repeat

import numpy as np

from paperboy.index.query import STOP_WORDS

WORD = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token pattern


def words(text: str) -> list[str]:
    """The terms of a text: lower-cased words of two or more characters, the keyword index's stop words dropped."""
    return [w for w in WORD.findall(text.lower()) if w not in STOP_WORDS]


class Tfidf:
    """A vocabulary with idf weights fitted on some texts; turns texts into unit-norm sparse rows.

    Python touches each word twice (the regex, one dict lookup mapped in C); counting is numpy's.
    """

    def __init__(self, max_features: int | None = None):
        self.max_features = max_features
        self.vocabulary: dict[str, int] = {}
        self.idf = np.zeros(0, dtype=np.float32)

    @property
    def n_terms(self) -> int:
        return len(self.vocabulary)

    def fit(self, texts: Iterable[str]) -> Tfidf:
        self.fit_transform(texts)
        return self

    def fit_transform(self, texts: Iterable[str]):
        flat, lengths = _tokens(texts)
        # Each word's id is where it first occurs; then columns in term order, as scikit-learn numbers them.
        seen: dict[str, int] = {}
        first = np.fromiter(map(seen.setdefault, flat, count()), dtype=np.int64, count=len(flat))
        terms = sorted(t for t in seen if t not in STOP_WORDS)
        col_at = np.full(len(flat), -1, dtype=np.int64)
        col_at[[seen[t] for t in terms]] = np.arange(len(terms))
        rows, cols, counts = _count(lengths, col_at[first], len(terms))
        df = np.bincount(cols, minlength=len(terms))
        if self.max_features is not None and len(terms) > self.max_features:
            # The most frequent terms of all texts, as scikit-learn keeps them (ties by term here).
            total = np.bincount(cols, weights=counts, minlength=len(terms))
            keep = np.sort(np.argsort(-total, kind="stable")[: self.max_features])
            renumber = np.full(len(terms), -1, dtype=np.int64)
            renumber[keep] = np.arange(keep.size)
            terms, df = [terms[k] for k in keep], df[keep]
            ok = renumber[cols] >= 0
            rows, cols, counts = rows[ok], renumber[cols[ok]], counts[ok]
        self.vocabulary = {t: k for k, t in enumerate(terms)}
        self.idf = (np.log((1 + len(lengths)) / (1 + df.astype(np.float64))) + 1).astype(np.float32)
        return self._matrix(rows, cols, counts, len(lengths))

    def transform(self, texts: Iterable[str]):
        flat, lengths = _tokens(texts)
        ids = np.fromiter(map(self.vocabulary.get, flat, repeat(-1)), dtype=np.int64, count=len(flat))
        return self._matrix(*_count(lengths, ids, self.n_terms), len(lengths))

    def _matrix(self, rows: np.ndarray, cols: np.ndarray, counts: np.ndarray, n_docs: int):
        """CSR rows of tf (1 + log count) x idf, scaled to unit length (an empty row stays zero)."""
        import scipy.sparse as sp

        data = ((1 + np.log(counts)) * self.idf[cols]).astype(np.float32)
        norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=n_docs)).astype(np.float32)
        data /= np.maximum(norms, 1e-12)[rows]
        indptr = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n_docs), out=indptr[1:])
        return sp.csr_matrix((data, cols, indptr), shape=(n_docs, self.n_terms), dtype=np.float32)


def _tokens(texts: Iterable[str]) -> tuple[list[str], np.ndarray]:
    """Every word of the texts, in order (stop words included: they never get a column), and the count per text."""
    docs = [WORD.findall(t.lower()) for t in texts]
    return list(chain.from_iterable(docs)), np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))


def _count(lengths: np.ndarray, ids: np.ndarray, n_terms: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, count) of every distinct (text, term) pair, by row then column; ids < 0 are dropped."""
    doc = np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)
    ok = ids >= 0
    width = max(n_terms, 1)
    keys, counts = np.unique(doc[ok] * width + ids[ok], return_counts=True)
    return keys // width, keys % width, counts.astype(np.float64)
