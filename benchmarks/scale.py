"""paperboy at arXiv scale: one table of ingest, index, embedding, ANN and search figures per corpus size.

    nice -n 10 .venv/bin/python benchmarks/scale.py --papers 75000,1000000 [--work /tmp/scale]

Per size N: a synthetic OAI snapshot (benchmarks/make_corpus.py, made once into --work), then in
<work>/home-N, each step timed once and remembered in <work>/home-N/scale.json so a rerun skips
it (delete the home to measure again):
  ingest     `paperboy ingest` child: wall, CPU (user+sys) and peak RSS; it builds the keyword index while it
             stores, so its wall time is the time to keyword-searchable (--index-after: `--no-index`, then
  keyword    `paperboy index --no-embed` as a second child, the way it was measured before: ingest + this)
  embedding  the configured encoder on 300 stored papers: papers/s, and N / rate as the projected
             time to embed everything on this box
  vectors    DERIVED, not embedded (N papers would take hours): new points inside the neighbourhoods
             of --real embedded sample papers (benchmarks/ann_scale.py `derive`, calibrated against real
             vectors of the same size by `ann_scale.py --calibrate`), stored through Store.put_vectors
             with each paper's real text hash, so `paperboy index` takes them as up to date; a home
             measured with another --real gets new vectors and a new vector index (ingest figures stay)
  ANN        `Paperboy.update_index()`: pulls the vectors from the store into the node's index and
             builds the HNSW graph when N is above the switch (the build time is printed)
  search     a fresh child process serving Paperboy.search() (hydration included), distinct queries
             throughout (every dense/hybrid query is encoded, nothing is served from a cache). Cold:
             the page cache is dropped first (root only; `cold_start` says whether it was), and the
             first 100 queries per mode give `cold_*` p50/p99, a restarted server's first users. Then
             every file of the home is read once, as on a server that has answered for a while (the
             pages a long-running server touches are cached; this box's RAM holds a whole 3.1M home),
             300 more queries warm up, and 100 more per mode give the steady-state p50/p99.
             ANN recall@10 against the exact f16 scan for the 200 held-out real query vectors of
             ann_scale (titles of sample papers whose own embeddings are not in the derivation base,
             as in the calibration), and for 100 in-corpus titles (`recall_in_corpus`); RSS after the
             queries (psutil) and what it is: anonymous memory vs file-backed pages of mapped files
             (page cache the kernel can drop), the files by kind, and USS (benchmarks/_memory.py)
  disk       store + index files
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from _memory import breakdown  # noqa: E402
from ann_scale import CACHE, REAL, derive, real_vectors  # noqa: E402
from lexical_engines import NATURAL_QUERIES  # noqa: E402

K = 10


# Figures of the ingest, keyword and embedding-rate steps: a new vector derivation keeps them.
FIXED = (
    "papers",
    "ingest_s",
    "ingest_cpu_s",
    "ingest_rss_mb",
    "stored",
    "ingest_load",
    "keyword_s",
    "keyword_cpu_s",
    "keyword_load",
    "embed_rate",
    "encoder",
)


def child(args: list[str]) -> tuple[dict, float, float, float]:
    """(json stdout, wall s, CPU s, peak RSS MiB) of one `paperboy` child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "paperboy.cli", *args], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 3):
        sys.exit(f"paperboy {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(proc.stdout or "{}"), wall, cpu, after.ru_maxrss / 1024


def load() -> float:
    """The 1-minute load average when a step ends: the machine is shared, every figure carries it."""
    return os.getloadavg()[0]


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20 if path.exists() else 0.0


def measure(n: int, work: Path, real: np.ndarray, cache: Path, index_after: bool = False) -> dict:
    corpus = work / f"arxiv-{n}.json"
    if not corpus.exists():
        subprocess.run(
            [sys.executable, str(HERE / "make_corpus.py"), "--papers", str(n), "--out", str(corpus)], check=True
        )
    home = work / f"home-{n}"
    home.mkdir(parents=True, exist_ok=True)
    saved = home / "scale.json"
    fig = json.loads(saved.read_text()) if saved.exists() else {"papers": n}

    def keep() -> None:
        saved.write_text(json.dumps(fig, indent=1))

    if "ingest_s" not in fig:
        after = ["--no-index"] if index_after else []
        out, wall, cpu, rss = child(["--home", str(home), "ingest", "--json", "-q", *after, str(corpus)])
        fig.update(ingest_s=wall, ingest_cpu_s=cpu, ingest_rss_mb=rss, stored=out.get("added", 0), ingest_load=load())
        if not index_after:  # indexed while storing: searchable when the ingest returned
            fig.update(keyword_s=0.0, keyword_cpu_s=0.0, keyword_load=None)
        keep()
    if "keyword_s" not in fig:
        _, wall, cpu, _ = child(["--home", str(home), "index", "--no-embed", "--json", "-q"])
        fig.update(keyword_s=wall, keyword_cpu_s=cpu, keyword_load=load())
        keep()

    from paperboy.config import Settings
    from paperboy.index.embedder import document_text
    from paperboy.index.vectors import text_hash
    from paperboy.service import Paperboy

    pb = Paperboy(Settings(home=home))
    if "embed_rate" not in fig:
        texts = [document_text(p) for _i, (_s, p) in zip(range(300), pb.store.iter_papers(0))]
        emb = pb.indexes.embedder
        emb.embed_documents(texts[:16], progress=False)  # warm
        t0 = time.perf_counter()
        emb.embed_documents(texts, progress=False)
        fig.update(embed_rate=len(texts) / (time.perf_counter() - t0), encoder=repr(emb))
        keep()
    model = pb.indexes.embedder.name
    rederive = fig.get("derived_from") not in (None, len(real))
    if rederive:
        # Vectors of another derivation base (--real): store new ones and build the vector index anew;
        # the keyword index and the ingest figures stay.
        with pb.indexes.updating():
            shutil.rmtree(home / "index" / "dense", ignore_errors=True)
            pb.indexes._set_manifest(dense={})
        with pb.store.engine.begin() as conn:  # one delete, so the new rows are inserts, not replacements
            conn.execute(sa.text("DELETE FROM paper_vectors WHERE model = :m"), {"m": model})
        for key in [k for k in fig if k not in FIXED]:
            del fig[key]
        pb.close()
        pb = Paperboy(Settings(home=home))
    if rederive or pb.store.vector_stats(model)[0] < pb.store.count():
        t0 = time.perf_counter()
        ids, hashes = [], []
        for _s, p in pb.store.iter_papers(0):
            ids.append(p.id)
            hashes.append(text_hash(document_text(p)))
        vecs = derive(real, len(ids), seed=n)
        for start in range(0, len(ids), 20_000):
            pb.store.put_vectors(
                model, ids[start : start + 20_000], hashes[start : start + 20_000], vecs[start : start + 20_000]
            )
        fig.update(vectors_stored_s=time.perf_counter() - t0, derived_from=len(real))
        del vecs
        keep()
    vec = pb.indexes.vectors
    if "ann_s" not in fig or (vec.ann_wanted() and not vec.ann_current()):  # an older graph: rebuilt, measured
        t0 = time.perf_counter()
        rep = pb.update_index(embed=True)
        fig.update(
            pull_and_build_s=time.perf_counter() - t0,
            pulled=rep.pulled,
            embedded=rep.embedded,
            ann_s=pb.indexes.last_ann_seconds or 0.0,
            ann=pb.indexes.vectors.ann_active(),
        )
        keep()
    pb.close()
    held_out = cache / "sample-queries-200.npy"
    proc = subprocess.run(
        [sys.executable, __file__, "--probe", str(home), "--queries", str(held_out)], capture_output=True, text=True
    )
    if proc.returncode:
        sys.exit(f"search probe failed: {proc.stderr[-2000:]}")
    fig.update(json.loads(proc.stdout.strip().splitlines()[-1]), search_load=load())
    fig["disk_mb"] = dir_mb(home)
    keep()
    return fig


def probe(home: Path, queries: Path | None = None) -> None:
    """Serve searches from a fresh process; print latencies, recall and RSS as one JSON line.

    Three passes of distinct queries (no query is ever repeated, so every dense/hybrid one is encoded):
    `cold_*` the first 100 per mode of the fresh process, as a restarted server answers its first users
    (its page cache is whatever the machine left: drop it first to measure a cold start); then 300 other
    queries as warm-up, not measured; then the steady-state figures (`lexical_p50`, ...), what a running
    server's users see. Recall@10 of the ANN against the exact scan on `queries` (held-out real query
    vectors, see main()), and on 100 in-corpus title queries (`recall_in_corpus`).
    """
    import psutil

    from paperboy.config import Settings
    from paperboy.service import Paperboy

    pool = _queries(home)
    cold = _drop_page_cache()
    pb = Paperboy(Settings(home=home))
    passes = {"cold_": pool[0:300], "warm-up": pool[300:600], "": pool[600:900]}
    out: dict = {"cold_start": cold}
    pb.search("warm up the searcher", mode="hybrid")
    for prefix, qs in passes.items():
        if prefix == "warm-up":
            out["home_read_s"] = _read_files(home)  # as on a server that has run a while (see the docstring)
        for n, mode in enumerate(("lexical", "dense", "hybrid")):
            lat = []
            for q in qs[n * 100 : (n + 1) * 100]:  # distinct per mode: every query is encoded
                t0 = time.perf_counter()
                pb.search(q, mode=mode, limit=20)
                lat.append((time.perf_counter() - t0) * 1000)
            if prefix != "warm-up":
                out[f"{prefix}{mode}_p50"] = float(np.percentile(lat, 50))
                out[f"{prefix}{mode}_p99"] = float(np.percentile(lat, 99))
    vec = pb.indexes.vectors
    out["serving_rss_mb"] = psutil.Process().memory_info().rss / 2**20
    mem = breakdown()
    out.update(
        serving_anon_mb=mem["anon_mb"],
        serving_file_mb=mem["file_mb"],
        serving_uss_mb=mem["uss_mb"],
        serving_files_mb=mem["files"],
    )
    if vec.ann_active():
        from usearch.index import search as exact_search

        def recall(qvs) -> float:
            rec = []
            for qv in qvs:
                got = set(vec.search(qv, K).ids)
                exact = exact_search(vec._vecs[: len(vec)], qv.astype(np.float16), K, "ip", exact=True).keys
                rec.append(len(got & {vec._ids[int(k)] for k in exact}) / K)
            return float(np.mean(rec))

        emb = pb.indexes.embedder
        out["recall_in_corpus"] = recall([emb.embed_query(q) for q in pool[900:1000]])
        out["recall_at_10"] = recall(np.load(queries)) if queries else out["recall_in_corpus"]
    else:
        out["recall_at_10"] = 1.0  # exact scan
    print(json.dumps(out))


def _queries(home: Path) -> list[str]:
    """1,000+ distinct queries: the natural questions and 6-word prefixes of 1,400 stored titles, shuffled."""
    import sqlite3

    rng = random.Random(42)
    db = sqlite3.connect(f"file:{home / 'paperboy.db'}?mode=ro", uri=True)
    try:
        titles = [t for (t,) in db.execute("SELECT title FROM papers ORDER BY seq LIMIT 5000")]
    finally:
        db.close()
    pool = list(dict.fromkeys(NATURAL_QUERIES + [" ".join(t.split()[:6]) for t in rng.sample(titles, 1400)]))
    rng.shuffle(pool)
    return pool


def _drop_page_cache() -> bool:
    """Empty the kernel's page cache (root only), so the first pass is a cold start; False if not allowed."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def _read_files(home: Path) -> float:
    """Read every file of the home once (seconds taken): its pages then sit in the page cache, as they do on
    a server that has answered for a while (the box's RAM holds a 3.1M home), not just after a restart."""
    t0 = time.perf_counter()
    for f in sorted(home.rglob("*")):
        if f.is_file():
            with open(f, "rb", buffering=0) as fh:
                while fh.read(1 << 24):
                    pass
    return time.perf_counter() - t0


def table(rows: list[dict]) -> None:
    def f(v, spec=",.0f"):
        return "-" if v is None else format(v, spec)

    def mins(s):
        return None if s is None else s / 60

    print(
        f"\n{'papers':>10} | {'ingest min (cpu)':>16} | {'keyword min':>11} | {'searchable min':>14} | "
        f"{'embed/s':>7} | {'full embed h':>12} | {'ANN build min':>13} | {'kw p50/p99 ms':>13} | "
        f"{'dense p50/p99':>13} | {'hybrid p50/p99':>14} | {'cold kw / hybrid p50':>20} | "
        f"{'recall@10 (in-corpus)':>21} | {'RSS MB (anon)':>13} | {'disk GB':>7} | {'load ingest/kw/search':>21}"
    )
    for r in rows:
        searchable = (r.get("ingest_s") or 0) + (r.get("keyword_s") or 0)
        print(
            f"{r['papers']:>10,} | {f(mins(r.get('ingest_s')), '.1f'):>6} ({f(mins(r.get('ingest_cpu_s')), '.1f'):>5}) "
            f"   | {f(mins(r.get('keyword_s')), '.1f'):>11} | {f(mins(searchable), '.1f'):>14} | "
            f"{f(r.get('embed_rate'), '.0f'):>7} | {f(r['papers'] / r['embed_rate'] / 3600 if r.get('embed_rate') else None, '.1f'):>12} | "
            f"{f(mins(r.get('ann_s')), '.1f'):>13} | "
            f"{f(r.get('lexical_p50'), '.1f'):>6}/{f(r.get('lexical_p99'), '.1f'):<6} | "
            f"{f(r.get('dense_p50'), '.1f'):>6}/{f(r.get('dense_p99'), '.1f'):<6} | "
            f"{f(r.get('hybrid_p50'), '.1f'):>7}/{f(r.get('hybrid_p99'), '.1f'):<6} | "
            f"{f(r.get('cold_lexical_p50'), '.1f'):>9} / {f(r.get('cold_hybrid_p50'), '.1f'):<8} | "
            f"{f(r.get('recall_at_10'), '.3f'):>11} ({f(r.get('recall_in_corpus'), '.3f'):>5})  | "
            f"{f(r.get('serving_rss_mb')):>6} ({f(r.get('serving_anon_mb')):>4}) | "
            f"{f(r.get('disk_mb', 0) / 1024, '.1f'):>7} | "
            f"{f(r.get('ingest_load'), '.0f')}/{f(r.get('keyword_load'), '.0f')}/{f(r.get('search_load'), '.0f')}"
        )
    bases = ", ".join(f"{r['papers']:,} from {r.get('derived_from', '?'):,}" for r in rows if r.get("derived_from"))
    print(
        f"vectors: derived from real embeddings of sample papers (see --help): {bases or '-'}; "
        "embedding rate sampled on 300 papers"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--papers", default="75000,1000000,3100000")
    ap.add_argument("--work", type=Path, default=Path("/tmp/scale"))
    ap.add_argument("--cache", type=Path, default=CACHE, help="real embeddings (ann_scale)")
    ap.add_argument("--real", type=int, default=REAL, help="sample papers embedded for real to derive vectors from")
    ap.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--queries", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--clean", action="store_true", help="delete each home after measuring it (disk)")
    ap.add_argument("--report", action="store_true", help="print the table of the steps measured so far, run none")
    ap.add_argument(
        "--index-after", action="store_true", help="store with --no-index, then build the keyword index (as before)"
    )
    args = ap.parse_args()
    if args.probe:
        return probe(args.probe, args.queries)
    if args.report:
        saved = [args.work / f"home-{s}" / "scale.json" for s in args.papers.split(",")]
        return table([json.loads(f.read_text()) for f in saved if f.exists()])
    real, _ = real_vectors(args.real, args.cache)
    rows = []
    for n in (int(s) for s in args.papers.split(",")):
        rows.append(measure(n, args.work, real, args.cache, args.index_after))
        print(json.dumps(rows[-1]), flush=True)
        if args.clean:
            shutil.rmtree(args.work / f"home-{n}")
    table(rows)


if __name__ == "__main__":
    main()
