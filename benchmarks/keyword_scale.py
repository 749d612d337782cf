"""Keyword search at arXiv scale: build the tantivy index straight from an OAI snapshot, then time queries.

    nice -n 10 .venv/bin/python benchmarks/keyword_scale.py --corpus /tmp/scale/arxiv-1m.json --index /tmp/kw-1m \
        [--against REF]

The store is left out (`benchmarks/scale.py` times the full `paperboy ingest` + `paperboy index` path);
this isolates the engine: build time of LexicalIndex.add over N papers (the same parser as `paperboy
ingest`), then, in the same process, p50/p99 over 100 natural questions + 200 title prefixes of
  one query  every word finding papers, the ranking as one tantivy query (phrase bonus among the
             term clauses) counted by the top-k collector: what `search_counted` ran before COMMON_DF
  search     `LexicalIndex.search_counted` now, with the count: words in more than COMMON_DF papers
             only rank what the rarer words find, the phrase bonus ranked apart and merged
  no count   `search_counted(count=False)` (what `search()` and hybrid's `allowed` set use)
  REF search with --against: `search_counted` of REF's paperboy/index/lexical.py (loaded from git, the rest
             of the package from this tree) on the same index, timed query by query beside `search`
Each is timed in wall-clock and in this thread's CPU time (tantivy searches in the calling thread),
the figure that survives a shared, loaded machine. The rankings are compared with the exhaustive one
query (top-10 ids equal in order; mean top-10 overlap) so a speed-up never hides a change of results.
An index already in --index is reused (delete it to time the build again).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from lexical_engines import NATURAL_QUERIES  # noqa: E402


def build(corpus: Path, index_dir: Path) -> dict:
    from paperboy.index.lexical import LexicalIndex
    from paperboy.models import Paper
    from paperboy.sources import FORMATS

    lex = LexicalIndex(index_dir, writer_heap_mb=512)
    t0, c0 = time.perf_counter(), time.process_time()
    with open(corpus, "rb") as f:
        papers = (p.with_defaults() for p in FORMATS["arxiv-oai"].parse(f, corpus.name) if isinstance(p, Paper))
        lex.add(papers)
    return {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}


def _lexical_of(ref: str):
    """REF's paperboy/index/lexical.py as a module of its own (it imports the rest from this tree)."""
    import importlib.util
    import subprocess
    import tempfile

    source = subprocess.run(
        ["git", "-C", str(HERE.parent), "show", f"{ref}:paperboy/index/lexical.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp(prefix="pb-lexical-ref-")) / "lexical_ref.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("lexical_ref", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["lexical_ref"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--against", help="git ref whose lexical.py is timed beside this tree's (same index)")
    ap.add_argument("--rounds", type=int, default=1, help="passes over the queries; the last one is reported")
    args = ap.parse_args()
    from paperboy.index.lexical import LexicalIndex
    from paperboy.index.query import parse_query

    built = None if (args.index / "meta.json").exists() else build(args.corpus, args.index)
    lex = LexicalIndex(args.index)
    searcher = lex._searcher()
    rng = random.Random(7)
    titles = []
    with open(args.corpus, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i % 997 == 0:
                titles.append(" ".join(json.loads(line)["title"].split()[:6]))
            if len(titles) >= 2000:
                break
    queries = NATURAL_QUERIES[:100] + rng.sample(titles, min(200, len(titles)))

    def one_query(q: str) -> list[str]:
        ranking = lex._text_query(parse_query(q), searcher, common_df=None)
        res = searcher.search(ranking.query(), 100, count=True)
        return [searcher.doc(a).get_first("id") for _, a in res.hits]

    modes = {
        "one query": one_query,
        "search": lambda q: lex.search_counted(q, limit=100)[0].ids,
        "no count": lambda q: lex.search_counted(q, limit=100, count=False)[0].ids,
    }
    if args.against:
        ref = _lexical_of(args.against).LexicalIndex(args.index)
        modes[f"{args.against} search"] = lambda q: ref.search_counted(q, limit=100)[0].ids
    out: dict = {"papers": searcher.num_docs, "segments": searcher.num_segments, "build": built}
    out["load_before"] = os.getloadavg()
    tops: dict[str, list] = {}
    for fn in modes.values():
        fn("warm up")
    for _ in range(max(1, args.rounds)):
        lat: dict[str, list] = {m: [] for m in modes}
        cpu: dict[str, list] = {m: [] for m in modes}
        tops = {m: [] for m in modes}
        for q in queries:  # every mode on a query before the next: they share the machine's moments
            for name, fn in modes.items():
                t0, c0 = time.perf_counter(), time.thread_time()
                ids = fn(q)
                cpu[name].append((time.thread_time() - c0) * 1000)
                lat[name].append((time.perf_counter() - t0) * 1000)
                tops[name].append(ids[:10])
    for name in modes:
        out[name] = {
            "p50_ms": float(np.percentile(lat[name], 50)),
            "p99_ms": float(np.percentile(lat[name], 99)),
            "cpu_p50_ms": float(np.percentile(cpu[name], 50)),
            "cpu_p99_ms": float(np.percentile(cpu[name], 99)),
        }
    out["load_after"] = os.getloadavg()
    for name in [m for m in modes if m not in ("one query",)]:
        pairs = list(zip(tops["one query"], tops[name]))
        out[name]["same_top10"] = sum(a == b for a, b in pairs) / len(pairs)
        out[name]["top10_overlap"] = float(np.mean([len(set(a) & set(b)) / max(1, len(a)) for a, b in pairs]))
    if args.against:
        pairs = list(zip(tops[f"{args.against} search"], tops["search"]))
        out["search"][f"same_top10_as_{args.against}"] = sum(a == b for a, b in pairs) / len(pairs)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
