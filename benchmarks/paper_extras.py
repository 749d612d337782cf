"""What the paper extras cost per paper: link extraction (every card), keywords (paper page), comment markdown.

Prints papers/s (and µs per paper) over a real corpus shard, and comments/s for markdown + nh3.
    .venv/bin/python benchmarks/paper_extras.py [SHARD.jsonl.gz]
"""

from __future__ import annotations

import gzip
import json
import sys
import time
from pathlib import Path

from paperboy.ranking.keywords import _compute
from paperboy.service.comments import render_markdown
from paperboy.sources.links import extract_links

SHARD = Path(__file__).resolve().parents[1].parent / "shared/corpus/arxiv-cs-2025-2026/papers-2026-06.jsonl.gz"


def rate(label: str, fn, items, repeat: int = 3) -> None:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for it in items:
            fn(it)
        best = min(best, time.perf_counter() - t)
    print(f"{label:<28} {len(items) / best:>10,.0f} /s   {best / len(items) * 1e6:>8.1f} µs each   (n={len(items):,})")


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else SHARD
    with gzip.open(path, "rt", encoding="utf-8") as f:
        recs = [json.loads(line) for line in f]
    with_links = sum(1 for r in recs if extract_links(r.get("summary"), r.get("comment")))
    print(f"{path.name}: {len(recs):,} papers, {with_links:,} with at least one link")
    rate("extract_links (card)", lambda r: extract_links(r.get("summary"), r.get("comment")), recs)
    rate("keywords, uncached (page)", lambda r: _compute(r.get("title") or "", r.get("summary") or "", 5), recs[:3000])
    bodies = [r.get("summary") or "" for r in recs[:3000]]
    rate("render_markdown + nh3", render_markdown, bodies)


if __name__ == "__main__":
    main()
