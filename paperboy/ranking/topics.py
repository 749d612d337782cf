"""Topics of a paper map: two-level clusters of the 2-D layout, c-TF-IDF labels, and momentum per topic."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RECENT_DAYS = 30  # momentum compares the last 30 days ...
BEFORE_DAYS = 90  # ... with the 90 days before them
LABEL_TERMS = 3

# Words every CS abstract uses: they would top every cluster's label otherwise.
_BOILERPLATE = {
    "paper",
    "propose",
    "proposed",
    "method",
    "methods",
    "approach",
    "approaches",
    "results",
    "show",
    "shows",
    "novel",
    "based",
    "using",
    "use",
    "used",
    "model",
    "models",
    "task",
    "tasks",
    "performance",
    "state",
    "art",
    "existing",
    "work",
    "new",
    "framework",
    "achieve",
    "achieves",
    "demonstrate",
    "experiments",
    "extensive",
    "significantly",
    "improve",
    "improves",
    "improved",
    "code",
    "available",
    "github",
    "com",
    "https",
    "http",
    "www",
    "benchmark",
    "benchmarks",
    "dataset",
    "datasets",
    "introduce",
    "present",
    "large",
    "data",
    "learning",
    "while",
    "however",
    "challenging",
    "effective",
    "effectively",
    "efficient",
    "study",
    "problem",
    "address",
    "key",
    "various",
    "different",
    "furthermore",
    "specifically",
    "outperforms",
    "comprehensive",
    "significant",
    "superior",
    "remains",
    "leverage",
    "leverages",
    "leveraging",
    "enables",
    "enable",
    "ability",
    "capabilities",
    "recent",
    "recently",
    "advances",
    "including",
    "high",
    "quality",
    "real",
    "world",
    "analysis",
    "evaluation",
    "evaluate",
    "publicly",
    "project",
    "page",
    "io",
    "released",
    "release",
    "generalization",
    "robust",
    "lack",
    "limited",
    "et",
    "al",
}


@dataclass(slots=True)
class Topics:
    """Two levels of topics: every paper has a fine topic; each fine topic belongs to one broad topic."""

    fine: np.ndarray  # (n,) uint16 fine topic per paper
    parent: np.ndarray  # (n_fine,) uint16 broad topic of each fine topic

    @property
    def broad(self) -> np.ndarray:
        return self.parent[self.fine]


def cluster(xy: np.ndarray, *, min_size: int | None = None, n_broad: int | None = None) -> Topics:
    """Fine topics: HDBSCAN islands of the 2-D layout (stragglers join their nearest island); broad: Ward groups of them.

    Clustering the layout rather than the embedding keeps every topic one region of the map, so a
    label sits on its papers.
    """
    from sklearn.cluster import HDBSCAN, AgglomerativeClustering
    from sklearn.neighbors import NearestNeighbors

    n = len(xy)
    if n < 10:
        return Topics(np.zeros(n, np.uint16), np.zeros(1, np.uint16))
    min_size = min_size or max(8, n // 700)
    labels = HDBSCAN(
        min_cluster_size=min_size, min_samples=min(10, min_size), cluster_selection_method="leaf", copy=True
    ).fit_predict(xy.astype(np.float64))
    if labels.max() < 0:  # no structure at all: one topic
        labels = np.zeros(n, np.int64)
    noise = labels < 0
    if noise.any():
        nn = NearestNeighbors(n_neighbors=1).fit(xy[~noise])
        _d, j = nn.kneighbors(xy[noise])
        labels[noise] = labels[~noise][j[:, 0]]
    # Renumber by size, biggest first, so topic ids read in order of importance.
    uniq, counts = np.unique(labels, return_counts=True)
    order = uniq[np.argsort(-counts, kind="stable")]
    remap = np.empty(labels.max() + 1, np.int64)
    remap[order] = np.arange(len(order))
    fine = remap[labels]
    n_fine = len(order)
    centroids = np.stack([xy[fine == t].mean(axis=0) for t in range(n_fine)])
    n_broad = n_broad or int(np.clip(round(np.sqrt(n_fine) * 1.2), 1, 24))
    n_broad = min(n_broad, n_fine)
    if n_broad > 1:
        parent = AgglomerativeClustering(n_clusters=n_broad, linkage="ward").fit_predict(centroids)
    else:
        parent = np.zeros(n_fine, np.int64)
    sizes = np.bincount(parent[fine], minlength=n_broad)
    border = np.argsort(-sizes, kind="stable")
    bremap = np.empty(n_broad, np.int64)
    bremap[border] = np.arange(n_broad)
    return Topics(fine.astype(np.uint16), bremap[parent].astype(np.uint16))


def _analyzer():
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    stop = ENGLISH_STOP_WORDS | _BOILERPLATE
    token = re.compile(r"(?u)\b[a-zA-Z][a-zA-Z0-9\-]+\b")

    def analyze(doc: str) -> list[str]:
        words = [w for w in token.findall(doc.lower()) if w not in stop and len(w) > 2]
        return words + [f"{a} {b}" for a, b in zip(words, words[1:])]

    return analyze


def label_topics(texts: Sequence[str], groups: np.ndarray, n_groups: int, *, terms: int = LABEL_TERMS) -> list[str]:
    """A label of the top c-TF-IDF terms for each group of texts (class-based TF-IDF, as BERTopic uses).

    Each group is one long document; a term scores tf within the group times log(1 + average words
    per group / its frequency over all groups), so words common everywhere fall away. A unigram
    already inside a chosen bigram is skipped.
    """
    from scipy import sparse
    from sklearn.feature_extraction.text import CountVectorizer

    if len(texts) == 0:
        return ["" for _ in range(n_groups)]
    min_df = 2 if len(texts) >= 200 else 1
    vec = CountVectorizer(
        analyzer=_analyzer(), min_df=min_df, max_df=0.5 if len(texts) >= 200 else 1.0, dtype=np.float32
    )
    try:
        counts = vec.fit_transform(texts)
    except ValueError:  # no terms left at all
        return [f"topic {g + 1}" for g in range(n_groups)]
    member = sparse.csr_matrix(
        (np.ones(len(groups), np.float32), (groups.astype(np.int64), np.arange(len(groups)))),
        shape=(n_groups, len(texts)),
    )
    tf = np.asarray((member @ counts).todense())
    words_per_group = tf.sum(axis=1, keepdims=True)
    avg = float(words_per_group.mean()) or 1.0
    idf = np.log1p(avg / np.maximum(tf.sum(axis=0, keepdims=True), 1.0))
    score = tf / np.maximum(words_per_group, 1.0) * idf
    vocab = vec.get_feature_names_out()
    labels = []
    for g in range(n_groups):
        chosen: list[str] = []
        for j in np.argsort(-score[g])[: terms * 6]:
            if score[g, j] <= 0:
                break
            term = str(vocab[j])
            if any(term in c.split() or c in term.split() or c == term for c in chosen) or any(
                term in c or c in term for c in chosen
            ):
                continue
            chosen.append(term)
            if len(chosen) == terms:
                break
        labels.append(", ".join(chosen) if chosen else f"topic {g + 1}")
    return labels


def month_index(days: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of day numbers (days since 1970-01-01), as int64."""
    d = days.astype("datetime64[D]")
    return (d.astype("datetime64[M]").astype(np.int64)).astype(np.int64)


def per_month(topic: np.ndarray, months: np.ndarray, n_topics: int) -> tuple[int, np.ndarray]:
    """(first month, counts[n_topics, n_months]) of papers per topic and month."""
    if len(months) == 0:
        return 0, np.zeros((n_topics, 0), np.int64)
    first = int(months.min())
    span = int(months.max()) - first + 1
    out = np.zeros((n_topics, span), np.int64)
    np.add.at(out, (topic.astype(np.int64), months.astype(np.int64) - first), 1)
    return first, out


def momentum(topic: np.ndarray, days: np.ndarray, n_topics: int, as_of: int | None = None) -> tuple[np.ndarray, ...]:
    """Per topic: (papers in the last 30 days, papers in the 90 before, momentum).

    momentum = rate of the last 30 days / rate of the 90 before, add-one smoothed:
    (recent + 1) / (before / 3 + 1). Above 1: rising. `as_of` (a day number) defaults to the newest
    paper's day, so a corpus that stopped growing still has a meaningful "last 30 days".
    """
    if as_of is None:
        as_of = int(days.max()) if len(days) else 0
    recent_mask = (days > as_of - RECENT_DAYS) & (days <= as_of)
    before_mask = (days > as_of - RECENT_DAYS - BEFORE_DAYS) & (days <= as_of - RECENT_DAYS)
    recent = np.bincount(topic[recent_mask].astype(np.int64), minlength=n_topics)[:n_topics]
    before = np.bincount(topic[before_mask].astype(np.int64), minlength=n_topics)[:n_topics]
    mom = (recent + 1.0) / (before * (RECENT_DAYS / BEFORE_DAYS) + 1.0)
    return recent, before, mom
