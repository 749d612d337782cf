"""What keywords from embeddings cost on a paper page: candidates from the text, one batch of phrase
embeddings with the index's own encoder, MMR against the paper's vector (paperboy.service.keywords).

Prints the encoder load (once per process), p50/p95/max ms per paper on first view (then cached), and
how often the vector picks differ from the text-only keywords, over real papers of a corpus shard.
    .venv/bin/python benchmarks/keywords_embedding.py [N_PAPERS] [CANDIDATES]
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from paperboy.index.embedder import document_text, load_embedder
from paperboy.ranking.keywords import candidate_phrases, keywords, keywords_by_vector
from paperboy.service.keywords import CANDIDATES

SHARD = Path(__file__).resolve().parents[1].parent / "shared/corpus/arxiv-cs-2025-2026/papers-2026-06.jsonl.gz"


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else CANDIDATES
    with gzip.open(SHARD, "rt", encoding="utf-8") as f:
        recs = [json.loads(next(f)) for _ in range(n)]
    t = time.perf_counter()
    enc = load_embedder("default")
    print(f"encoder load: {time.perf_counter() - t:.2f} s ({enc!r}); load average {os.getloadavg()[0]:.1f}")
    # The stored vectors, as indexing computes them (not timed: they exist before any page is shown).
    docs = enc.embed_documents(
        [document_text({"title": r["title"], "abstract": r["summary"]}) for r in recs], progress=False
    )
    times, differ, phrases_n = [], 0, []
    for r, vec in zip(recs, docs):
        t = time.perf_counter()
        phrases = candidate_phrases(r["title"], r["summary"], limit)
        chosen = keywords_by_vector(phrases, enc.embed_documents(phrases, progress=False), vec) if phrases else []
        times.append(time.perf_counter() - t)
        phrases_n.append(len(phrases))
        differ += set(chosen) != set(keywords(r["title"], r["summary"]))
    ms = np.array(times) * 1000
    print(
        f"{n} papers, {np.mean(phrases_n):.0f} candidate phrases each: first view p50 {np.percentile(ms, 50):.1f} ms, "
        f"p95 {np.percentile(ms, 95):.1f} ms, max {ms.max():.1f} ms; cached after that"
    )
    print(f"vector picks differ from the text-only keywords for {differ}/{n} papers")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
