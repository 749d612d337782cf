"""Recommendation quality and speed of every scorer in paperboy.ranking.scorers, on the shared arXiv sample.

    nice -n 5 .venv/bin/python benchmarks/recommend.py [--authors 400] [--state /tmp/paperboy-bench-recommend]
        [--no-cli]   # skip timing fresh `paperboy rank` processes on 1,000 stored candidates

Task (leave-latest-out): for an author with at least 4 papers, the library is all but their latest paper
(by listing date); the candidates are that paper plus 99 others listed the same month (none by the author).
A scorer is good when it ranks the held-out paper high: MRR and nDCG@10 (one relevant item) over authors.
The same author writing again is a proxy for "a paper this reader wants", without relevance judgments.

Embeddings (the instance's default embedder, through paperboy.index.embedder) are computed once for the few
thousand papers involved and cached in <state>/embeddings.npz. Timing: scoring 1,000 candidates for a
50-paper library in this process, per scorer (median of 5), and the default scorer on the largest input
(500 library papers, 10,000 candidates); and the wall and CPU (user + system) time of
fresh `paperboy rank --json` processes ranking 1,000 stored candidates with stored vectors for libraries of 1, 50
and 500 stored papers (a home of 1,500 papers built once in <state>; CPU time says
what a run costs when the machine is busy and wall time mostly measures the wait).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _sample import sample_records  # noqa: E402

from paperboy.index.embedder import document_text  # noqa: E402
from paperboy.ranking import scorers  # noqa: E402

CORPUS = Path(os.environ.get("PAPERBOY_CORPUS", "/work/shared/corpus/arxiv-cs-2025-2026"))
OTHERS = 99
POOL_PER_MONTH = 110  # the 99 others come from a fixed pool per month, so few papers need embeddings
BACKGROUND = 128
CHECKPOINT = 300  # papers embedded between saves of the cache
MAX_LIBRARY = 500


def load_corpus(corpus: Path) -> list[dict]:
    papers = []
    for o in sample_records(corpus):
        papers.append(
            {
                "id": o["id"],
                "title": o["title"],
                "abstract": o.get("summary") or "",
                "authors": o.get("authors") or [],
                "day": o.get("crawl_date") or "",
            }
        )
    return papers


def build_tasks(papers: list[dict], n_authors: int, months: list[str] | None = None, seed: int = 42):
    """(tasks, background ids): each task is (author, library ids, candidate ids, target id).

    months: only authors whose latest paper is listed in one of these months (fewer papers to embed).
    """
    rng = random.Random(seed)
    by_author: dict[str, list[dict]] = defaultdict(list)
    for p in papers:
        for a in p["authors"]:
            by_author[a].append(p)
    eligible = sorted(
        a for a, ps in by_author.items() if len(ps) >= 4 and (not months or max(p["day"] for p in ps)[:7] in months)
    )
    by_month: dict[str, list[dict]] = defaultdict(list)
    for p in papers:
        by_month[p["day"][:7]].append(p)
    pools = {m: rng.sample(ps, min(POOL_PER_MONTH, len(ps))) for m, ps in sorted(by_month.items())}
    chosen = rng.sample(eligible, min(n_authors, len(eligible)))
    tasks = []
    for author in chosen:
        mine = sorted(by_author[author], key=lambda p: (p["day"], p["id"]))
        target, library = mine[-1], mine[:-1][-MAX_LIBRARY:]
        own = {p["id"] for p in mine}
        others = [p["id"] for p in pools[target["day"][:7]] if p["id"] not in own and author not in p["authors"]]
        cands = rng.sample(others, min(OTHERS, len(others))) + [target["id"]]
        rng.shuffle(cands)
        tasks.append((author, [p["id"] for p in library], cands, target["id"]))
    background = [p["id"] for p in rng.sample(papers, BACKGROUND)]
    return tasks, background, len(eligible)


def embeddings(ids: list[str], texts: dict[str, str], state: Path) -> dict[str, np.ndarray]:
    """Vectors for `ids`, computed once through the instance's embedder and cached in <state>/embeddings.npz."""
    cache = state / "embeddings.npz"
    have: dict[str, np.ndarray] = {}
    if cache.exists():
        with np.load(cache) as z:
            have = dict(zip(z["ids"].tolist(), z["vectors"]))
    missing = sorted(set(ids) - have.keys())
    if missing:
        from paperboy.index.embedder import load_embedder

        emb = load_embedder("default")  # the instance's encoder, as `paperboy index` loads it
        print(f"embedding {len(missing)} papers with {emb.name} ...", file=sys.stderr, flush=True)
        for start in range(0, len(missing), CHECKPOINT):  # a killed run keeps what it embedded
            chunk = missing[start : start + CHECKPOINT]
            V = emb.embed_documents([texts[i] for i in chunk], progress=sys.stderr.isatty())
            have.update(zip(chunk, np.asarray(V, dtype=np.float32)))
            keys = sorted(have)
            tmp = state / "embeddings.tmp.npz"
            np.savez(tmp, ids=np.array(keys), vectors=np.stack([have[k] for k in keys]))
            tmp.replace(cache)
            print(f"  {min(start + CHECKPOINT, len(missing))} / {len(missing)}", file=sys.stderr, flush=True)
    return have


def rank_of(scores: np.ndarray, cands: list[str], target: str) -> int:
    t = cands.index(target)
    return 1 + int((scores > scores[t]).sum())  # ties count in the target's favour only once


def evaluate(tasks, vec, texts, background_ids) -> dict[str, tuple[float, float]]:
    B = np.stack([vec[i] for i in background_ids])
    out = {}
    for method in scorers.SCORERS:
        rr, ndcg = [], []
        for _author, lib_ids, cands, target in tasks:
            lib_set = set(lib_ids) | set(cands)
            lib = scorers.Library(
                np.stack([vec[i] for i in lib_ids]),
                [texts[i] for i in lib_ids],
                background=B[[k for k, i in enumerate(background_ids) if i not in lib_set]],
            )
            C = np.stack([vec[i] for i in cands])
            s = scorers.score(method, C, lib, [texts[i] for i in cands])
            r = rank_of(s, cands, target)
            rr.append(1.0 / r)
            ndcg.append(1.0 / np.log2(r + 1) if r <= 10 else 0.0)
        out[method] = (float(np.mean(rr)), float(np.mean(ndcg)))
    return out


def time_scorers(vec, texts, ids: list[str], background_ids) -> dict[str, float]:
    """Median milliseconds to score 1,000 candidates for a 50-paper library."""
    rng = random.Random(7)
    sample = rng.sample(ids, 1050)
    lib_ids, cand_ids = sample[:50], sample[50:]
    B = np.stack([vec[i] for i in background_ids])
    lib = scorers.Library(np.stack([vec[i] for i in lib_ids]), [texts[i] for i in lib_ids], background=B)
    C = np.stack([vec[i] for i in cand_ids])
    ct = [texts[i] for i in cand_ids]
    out = {}
    for method in scorers.SCORERS:
        runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            scorers.score(method, C, lib, ct)
            runs.append((time.perf_counter() - t0) * 1000)
        out[method] = statistics.median(runs)
    return out


def time_largest(vec, texts, ids: list[str]) -> float:
    """Seconds for the default scorer on the largest input `rank` takes: 500 library papers, 10,000 candidates.

    Drawn with replacement from the embedded papers (repeats cost the same to score as new papers).
    """
    rng = random.Random(11)
    lib_ids, cand_ids = rng.sample(ids, MAX_LIBRARY), rng.choices(ids, k=10_000)
    lib = scorers.Library(np.stack([vec[i] for i in lib_ids]), [texts[i] for i in lib_ids])
    C = np.stack([vec[i] for i in cand_ids])
    t0 = time.perf_counter()
    s = scorers.score(scorers.DEFAULT_SCORER, C, lib, [texts[i] for i in cand_ids])
    assert s.shape == (10_000,)
    return time.perf_counter() - t0


class CachedEmbedder:
    """The embedder interface answered from the benchmark's cache (vectors of these very papers, same model)."""

    def __init__(self, by_text: dict[str, np.ndarray]):
        from paperboy.index.embedder import DEFAULT_MODEL

        self.name, self.by_text = DEFAULT_MODEL, by_text
        self.dim = len(next(iter(by_text.values())))

    def embed_documents(self, texts, progress: bool = True) -> np.ndarray:
        return np.stack([self.by_text[t] for t in texts])


RANK_CANDIDATES = 1000
RANK_HOME_PAPERS = MAX_LIBRARY + RANK_CANDIDATES  # the largest library and 1,000 candidates


def rank_home(state: Path, ids: list[str], vec: dict[str, np.ndarray]) -> Path:
    """A home holding `ids` (papers of the sample) with their cached vectors, built once.

    Papers go in through the real ingester; vectors through the real index update, answered by the cache.
    """
    from paperboy.config import Settings
    from paperboy.service import Paperboy

    home = state / f"rank-home-{len(ids)}"
    ready = state / f"rank-home-{len(ids)}.ready"
    if not ready.exists():
        subset, want = state / "rank-subset.jsonl", set(ids)
        with open(subset, "w", encoding="utf-8") as out:
            for shard in sorted(CORPUS.glob("*.jsonl.gz")):
                with gzip.open(shard, "rt", encoding="utf-8") as f:
                    out.writelines(line for line in f if json.loads(line)["id"] in want)
        pb = Paperboy(Settings(home=home))
        try:
            pb.ingest([subset])
            stored = pb.store.get_many(ids)
            pb.indexes._embedder = CachedEmbedder({document_text(p): vec[i] for i, p in stored.items()})
            pb.update_index(embed=True)
        finally:
            pb.close()
        ready.write_text("ok")
    return home


def time_cli(home: Path, library: list[str], candidates: list[str], runs: int = 5) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of fresh `paperboy rank --json` processes over stored papers with stored vectors."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    args = [sys.executable, "-m", "paperboy.cli", "--home", str(home), "rank", "--json"]
    args += [a for i in library for a in ("--library", i)] + candidates
    walls = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = subprocess.run(args, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        walls.append((wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime))
        if done.returncode != 0:
            raise SystemExit(f"paperboy rank failed: {done.stderr[-2000:]}")
        if len(json.loads(done.stdout)) != len(candidates):
            raise SystemExit("paperboy rank did not return every candidate")
    return walls


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--authors", type=int, default=120)
    ap.add_argument(
        "--months",
        default="2026-05,2026-06",
        help="Latest-paper months to sample authors from (comma-separated; empty = all).",
    )
    ap.add_argument("--state", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "paperboy-bench-recommend")
    ap.add_argument("--no-cli", action="store_true", help="skip timing fresh `paperboy rank` processes")
    args = ap.parse_args()
    args.state.mkdir(parents=True, exist_ok=True)
    papers = load_corpus(CORPUS)
    texts = {p["id"]: document_text(p) for p in papers}
    months = [m for m in args.months.split(",") if m]
    tasks, background, n_eligible = build_tasks(papers, args.authors, months)
    needed = sorted({i for _, lib, cands, _ in tasks for i in lib + cands} | set(background))
    vec = embeddings(needed, texts, args.state)
    lib_sizes = [len(t[1]) for t in tasks]
    print(
        f"{len(papers)} papers, {n_eligible} authors with >= 4 papers (latest in {args.months or 'any month'}), "
        f"{len(tasks)} sampled; "
        f"library size median {statistics.median(lib_sizes):.0f} (max {max(lib_sizes)}); "
        f"{len(needed)} papers embedded; 100 candidates per author"
    )
    quality = evaluate(tasks, vec, texts, background)
    speed = time_scorers(vec, texts, needed, background)
    print(f"{'scorer':<10} {'MRR':>7} {'nDCG@10':>8} {'ms / 1,000 candidates':>22}")
    for m in scorers.SCORERS:
        mrr, ndcg = quality[m]
        star = "  (default)" if m == scorers.DEFAULT_SCORER else ""
        print(f"{m:<10} {mrr:7.4f} {ndcg:8.4f} {speed[m]:22.1f}{star}")
    print(
        f"default scorer, 500-paper library x 10,000 candidates, in process: {time_largest(vec, texts, needed):.2f} s"
    )
    if not args.no_cli:
        corpus_ids = sorted(p["id"] for p in papers)
        extra = [i for i in corpus_ids if i not in vec][: max(0, RANK_HOME_PAPERS - len(vec))]
        vec = embeddings(needed + extra, texts, args.state)
        ids = sorted(set(corpus_ids) & vec.keys())[:RANK_HOME_PAPERS]
        home = rank_home(args.state, ids, vec)
        candidates = ids[MAX_LIBRARY:]
        for n_lib in (1, 50, MAX_LIBRARY):
            runs = time_cli(home, ids[:n_lib], candidates)
            walls, cpus = [w for w, _ in runs], [c for _, c in runs]
            print(
                f"paperboy rank, fresh process, {n_lib}-paper library + {len(candidates):,} candidates "
                f"(stored vectors), {len(runs)} runs: wall median {statistics.median(walls):.2f} s "
                f"({', '.join(f'{w:.2f}' for w in walls)}); CPU median {statistics.median(cpus):.2f} s; "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
