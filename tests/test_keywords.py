"""Local keywords from a paper's title and abstract (real records of the corpus)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from paperboy.ranking.keywords import GENERIC, keywords

SHARD = (
    Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "arxiv-cs-2025-2026" / "papers-2026-06.jsonl.gz"
)


def _first(n: int) -> list[dict]:
    with gzip.open(SHARD, "rt", encoding="utf-8") as f:
        return [json.loads(next(f)) for _ in range(n)]


def test_keywords_of_real_papers():
    by_id = {r["id"]: keywords(r["title"], r["summary"]) for r in _first(12)}
    assert "ship detection" in by_id["2605.30380"] and "SAR" in by_id["2605.30380"]
    assert "hybrid diffusion transformer" in by_id["2605.30409"]
    assert "domain adaptation" in by_id["2605.30415"]
    for words in by_id.values():
        assert 1 <= len(words) <= 5
        assert not any(w.lower() in GENERIC for w in words)  # never a lone generic word
        assert len({w.lower() for w in words}) == len(words)


def test_keywords_ignore_math_urls_and_empty_text():
    assert keywords("", None) == []
    kws = keywords("Sparse $\\alpha$-attention", "We study sparse $\\alpha$-attention, see https://github.com/a/b.")
    assert all("github" not in k and "alpha" not in k for k in kws)
    assert "sparse" in " ".join(kws)
