"""A paper's keywords: Hugging Face's AI keywords when harvested, else phrases of its text chosen by
closeness to its stored embedding (KeyBERT-style), else the text-only keywords.

Computed on demand for the one paper a page or an API call shows: its candidate phrases (20 short
texts) are embedded in one batch with the index's own embedder and cached per paper and text,
so a page costs one small batch the first time and nothing after (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from paperboy.models import Paper
from paperboy.ranking.keywords import candidate_phrases, keywords, keywords_by_vector

K = 5
CANDIDATES = 20  # phrases embedded per paper: the text's best 20 hold its topic; each one more costs time
CACHE_SIZE = 4096  # papers; a page's keywords are a few short strings


class Keywords:
    """`of(paper)`: up to K keywords, best first, and `source` saying where they came from."""

    def __init__(self, pb):
        self.pb = pb
        self._cache: OrderedDict[tuple[str, str], tuple[list[str], str]] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, paper: Paper) -> list[str]:
        return self.with_source(paper)[0]

    def with_source(self, paper: Paper) -> tuple[list[str], str]:
        """(keywords, "hf" | "embedding" | "text")."""
        key = (paper.id, hashlib.blake2b(f"{paper.title}\n{paper.abstract}".encode(), digest_size=8).hexdigest())
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        got = self._compute(paper)
        if got[1] == "text":  # not kept: the vector (or HF's keywords) may arrive later; text keywords are cached
            return got
        with self._lock:
            self._cache[key] = got
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return got

    def _compute(self, paper: Paper) -> tuple[list[str], str]:
        extras = self.pb.harvest.hf_extras(paper.id)
        if extras and extras.get("ai_keywords"):
            return [str(k) for k in extras["ai_keywords"][:K]], "hf"
        vector = self._vector(paper.id)
        phrases = candidate_phrases(paper.title, paper.abstract, CANDIDATES) if vector is not None else []
        if phrases:
            embedded = self.pb.indexes.embedder.embed_documents(phrases, progress=False)
            return keywords_by_vector(phrases, embedded, vector, K), "embedding"
        return keywords(paper.title, paper.abstract, K), "text"

    def _vector(self, paper_id: str):
        indexes = self.pb.indexes
        if not indexes.dense_ready():
            return None
        return indexes.vectors.vector(paper_id)
