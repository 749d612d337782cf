"""Retrieval evaluation on a BEIR-format dataset: nDCG@10, Recall@100, MRR@10 (ranx) and latency per mode.

The corpus is indexed into a work directory of its own (never the user's store); embeddings are
cached there, keyed by model and text hash, so a second run only re-queries.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from paperboy.index.indexes import Indexes
from paperboy.models import Paper
from paperboy.ranking.hybrid import MODES, HybridParams, HybridSearcher

METRICS = ("ndcg@10", "recall@100", "mrr@10")


class EvalError(Exception):
    """The dataset files are missing or malformed."""


@dataclass(slots=True)
class Dataset:
    corpus: Path
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def _jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield n, json.loads(line)
                except ValueError as e:
                    raise EvalError(f"{path.name}:{n}: not JSON ({e})") from None


def load_dataset(corpus: Path, queries: Path, qrels: Path) -> Dataset:
    """Read BEIR queries and qrels (TSV with a header: query-id, corpus-id, score)."""
    for p in (corpus, queries, qrels):
        if not Path(p).is_file():
            raise EvalError(f"{p}: no such file")
    judged: dict[str, dict[str, int]] = {}
    with open(qrels, encoding="utf-8") as f:
        rows = csv.reader(f, delimiter="\t")
        for n, row in enumerate(rows, 1):
            if n == 1 and row and not row[-1].strip().lstrip("-").isdigit():
                continue  # header
            if len(row) < 3:
                raise EvalError(f"{Path(qrels).name}:{n}: expected query-id, corpus-id, score")
            if int(row[2]) > 0:
                judged.setdefault(row[0], {})[row[1]] = int(row[2])
    texts = {str(o["_id"]): str(o.get("text", "")) for _n, o in _jsonl(Path(queries))}
    missing = [q for q in judged if q not in texts]
    if missing:
        raise EvalError(f"{len(missing)} judged queries are not in {Path(queries).name} (e.g. {missing[0]})")
    return Dataset(Path(corpus), {q: texts[q] for q in judged}, judged)


def slice_corpus(corpus: Path, qrels: Path, dest: Path, distractor_every: int = 5) -> Path:
    """dest/corpus.jsonl: every judged document of `corpus` and every n-th other one, in corpus order.

    A deterministic, smaller stand-in for a whole split (the test suite's SciFact check runs on one).
    """
    judged = {line.split("\t")[1] for line in Path(qrels).read_text(encoding="utf-8").splitlines() if line.strip()}
    dest.mkdir(parents=True, exist_ok=True)
    kept, n_other = [], 0
    for line in Path(corpus).read_text(encoding="utf-8").splitlines():
        if str(json.loads(line)["_id"]) in judged:
            kept.append(line)
        else:
            n_other += 1
            if n_other % distractor_every == 0:
                kept.append(line)
    (dest / "corpus.jsonl").write_text("\n".join(kept) + "\n", encoding="utf-8")
    return dest / "corpus.jsonl"


def corpus_papers(corpus: Path) -> Iterator[Paper]:
    for n, o in _jsonl(corpus):
        if "_id" not in o:
            raise EvalError(f"{corpus.name}:{n}: no _id")
        yield Paper(title=str(o.get("title") or ""), abstract=str(o.get("text") or ""), id=str(o["_id"]))


def work_dir_for(base: Path, corpus: Path) -> Path:
    st = corpus.stat()
    key = hashlib.sha1(f"{corpus.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:12]
    return base / f"{corpus.stem}-{key}"


def build_indexes(ds: Dataset, work: Path, model: str, *, dense: bool, progress: bool) -> Indexes:
    """Index the corpus lexically (rebuilt each run: seconds) and densely (cached)."""
    idx = Indexes(work, model)
    papers = list(corpus_papers(ds.corpus))
    if idx.lexical.count() != len(papers):
        idx.lexical.clear()
        idx.lexical.add(papers)
    if dense:
        from paperboy.index.embedder import document_text
        from paperboy.index.vectors import embed_missing

        embed_missing(idx.vectors, idx.embedder, ((p.id, document_text(p)) for p in papers), progress=progress)
    return idx


def evaluate(
    ds: Dataset,
    idx: Indexes,
    modes: tuple[str, ...] = MODES,
    params: HybridParams | None = None,
    depth: int = 100,
) -> dict[str, dict[str, float]]:
    """Metrics and latency percentiles per mode."""
    try:
        from ranx import Qrels, Run
        from ranx import evaluate as ranx_evaluate
    except ImportError as e:  # an optional extra: say how to get it
        raise EvalError("`paperboy eval` needs ranx: pip install 'paperboy[eval]'") from e

    searcher = HybridSearcher(idx, params)
    qrels = Qrels(ds.qrels)
    out: dict[str, dict[str, float]] = {}
    for mode in modes:
        run: dict[str, dict[str, float]] = {}
        lat = []
        # Warm the model and caches so the first query's one-off costs don't skew p99.
        searcher.retrieve("warm up query", mode=mode, depth=depth)
        for qid, text in ds.queries.items():
            t0 = time.perf_counter()
            got = searcher.retrieve(text, mode=mode, depth=depth)
            lat.append((time.perf_counter() - t0) * 1000)
            # ranx needs distinct, positive-or-any scores; ranks matter, so use descending rank scores.
            run[qid] = {d: float(len(got.hits) - r) for r, d in enumerate(got.hits.ids)} or {"__none__": 0.0}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numba's uint64->int64 cast notice inside ranx; harmless here
            scores = ranx_evaluate(qrels, Run(run), list(METRICS), make_comparable=True)
        out[mode] = {m: round(float(scores[m]), 4) for m in METRICS}
        out[mode].update({f"p{p}_ms": round(float(np.percentile(lat, p)), 2) for p in (50, 95, 99)})
        out[mode]["queries"] = len(lat)
    return out


def run_eval(
    corpus: Path,
    queries: Path,
    qrels: Path,
    *,
    work: Path,
    model: str,
    modes: tuple[str, ...] = MODES,
    progress: bool = False,
    params: HybridParams | None = None,
) -> dict[str, Any]:
    """Load, index (cached) and evaluate; the CLI's `paperboy eval`."""
    ds = load_dataset(corpus, queries, qrels)
    idx = build_indexes(
        ds, work_dir_for(work, corpus), model, dense=any(m != "lexical" for m in modes), progress=progress
    )
    return evaluate(ds, idx, modes, params)
