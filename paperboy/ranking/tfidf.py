"""Sublinear TF-IDF rows of texts: the lexical features of the recommender's scorer. Pure.

scikit-learn's TfidfVectorizer(sublinear_tf=True) weighting — tf 1 + log(count), smooth idf
log((1 + n) / (1 + df)) + 1, unit-length rows — over its default tokens (words of two or more
characters, lower-cased), minus the keyword index's stop words; on numpy and scipy.sparse alone,
because importing scikit-learn cost more than the 2 s budget of a fresh `paperboy rank`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from paperboy.index.lexical import STOP_WORDS

WORD = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token pattern


def words(text: str) -> list[str]:
    """The terms of a text: lower-cased words of two or more characters, the keyword index's stop words dropped."""
    return [w for w in WORD.findall(text.lower()) if w not in STOP_WORDS]


class Tfidf:
    """A vocabulary with idf weights fitted on some texts; turns texts into unit-norm sparse rows."""

    def __init__(self, max_features: int | None = None):
        self.max_features = max_features
        self.vocabulary: dict[str, int] = {}
        self.idf = np.zeros(0, dtype=np.float32)

    @property
    def n_terms(self) -> int:
        return len(self.vocabulary)

    def fit(self, texts: Iterable[str]) -> Tfidf:
        self._fit([Counter(words(t)) for t in texts])
        return self

    def fit_transform(self, texts: Iterable[str]):
        counts = [Counter(words(t)) for t in texts]
        self._fit(counts)
        return self._rows(counts)

    def transform(self, texts: Iterable[str]):
        return self._rows([Counter(words(t)) for t in texts])

    def _fit(self, counts: Sequence[Counter]) -> None:
        df: Counter = Counter()
        total: Counter = Counter()
        for c in counts:
            df.update(c.keys())
            total.update(c)
        terms = sorted(df)
        if self.max_features is not None and len(terms) > self.max_features:
            # The most frequent terms of all texts, as scikit-learn keeps them (ties by term here).
            terms = sorted(sorted(terms, key=lambda t: (-total[t], t))[: self.max_features])
        self.vocabulary = {t: k for k, t in enumerate(terms)}
        n = len(counts)
        d = np.array([df[t] for t in terms], dtype=np.float64)
        self.idf = (np.log((1 + n) / (1 + d)) + 1).astype(np.float32)

    def _rows(self, counts: Sequence[Counter]):
        import scipy.sparse as sp

        vocab = self.vocabulary
        indptr = [0]
        indices: list[int] = []
        tf: list[float] = []
        for c in counts:
            for t, k in c.items():
                col = vocab.get(t)
                if col is not None:
                    indices.append(col)
                    tf.append(k)
            indptr.append(len(indices))
        cols = np.asarray(indices, dtype=np.int32)
        data = (1 + np.log(np.asarray(tf, dtype=np.float32))) * self.idf[cols]
        ptr = np.asarray(indptr, dtype=np.int64)
        # Unit length per row (an empty row stays zero).
        lengths = np.diff(ptr)
        row = np.repeat(np.arange(len(counts)), lengths)
        norms = np.sqrt(np.bincount(row, weights=data * data, minlength=len(counts))).astype(np.float32)
        data /= np.maximum(norms, 1e-12)[row]
        X = sp.csr_matrix((data, cols, ptr), shape=(len(counts), self.n_terms), dtype=np.float32)
        X.sort_indices()
        return X
