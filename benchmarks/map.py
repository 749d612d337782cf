"""The map of the field at full size: layout + topics of the 74,728-paper sample, placing a day of new papers, /map in Chromium.

    .venv/bin/python benchmarks/map.py --home HOME [--vectors store|lsa] [--stages build,place,browser]

HOME holds the ingested sample (`paperboy ingest .../arxiv-cs-2025-2026/*.jsonl.gz`). With `--vectors store`
its embeddings (`paperboy index`) are used; with `--vectors lsa` (when the ~20 min+ embedding pass is not
done) 384-d LSA vectors (TF-IDF + truncated SVD of title + abstract) of the same papers are written into the
home under the model name "bench-lsa-384": the same shape as MiniLM's, so the timings carry over.
Prints: seconds per stage of `PaperMap.build()`, of placing the newest 1,500 papers into a map of the others,
and /map in Chromium (first paint from navigation start, bytes over the wire).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

LSA_MODEL = "bench-lsa-384"
DAY = 1500


def lsa_vectors(pb, dim: int = 384) -> tuple[list[str], np.ndarray]:
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    ids, texts = [], []
    for _s, p in pb.store.iter_papers(0):
        ids.append(p.id)
        texts.append(f"{p.title}. {p.abstract}")
    x = TfidfVectorizer(
        sublinear_tf=True, min_df=3, max_df=0.5, stop_words="english", max_features=100_000, dtype=np.float32
    ).fit_transform(texts)
    v = TruncatedSVD(dim, algorithm="randomized", n_iter=4, random_state=0).fit_transform(x).astype(np.float32)
    return ids, v


def install_lsa(home: Path) -> None:
    """Write LSA vectors into HOME as the dense index of model LSA_MODEL (as `paperboy index` would)."""
    from paperboy.config import Settings
    from paperboy.index.indexes import model_slug
    from paperboy.index.vectors import VectorIndex
    from paperboy.service import Paperboy

    pb = Paperboy(Settings(home=home, embedding_model=LSA_MODEL))
    if pb.indexes.manifest().get("dense", {}).get(LSA_MODEL, {}).get("count") == pb.store.count():
        print("lsa vectors: already in HOME")
        pb.close()
        return
    t = time.perf_counter()
    c = time.process_time()
    ids, v = lsa_vectors(pb)
    print(
        f"lsa vectors: {len(ids):,} x {v.shape[1]} in {time.perf_counter() - t:.1f} s wall, {time.process_time() - c:.1f} s CPU (not part of the map)"
    )
    vec = VectorIndex(
        pb.settings.index_dir / "dense" / model_slug(LSA_MODEL), model_name=LSA_MODEL, dim=v.shape[1], reset=True
    )
    vec.upsert(ids, ["lsa"] * len(ids), v)
    vec.save()
    dense = pb.indexes.manifest().get("dense", {})
    dense[LSA_MODEL] = {"seq": pb.store.max_seq(), "count": len(ids), "model": LSA_MODEL, "dim": v.shape[1]}
    pb.indexes._set_manifest(dense=dense)
    pb.close()


def bench_build(pb) -> None:
    t, c = time.perf_counter(), time.process_time()
    rep = pb.map.build()
    total, cpu = time.perf_counter() - t, time.process_time() - c
    stages = ", ".join(f"{k} {v:.1f} s ({rep.cpu[k]:.1f} CPU)" for k, v in rep.seconds.items() if k != "total")
    print(
        f"build: {rep.papers:,} papers -> {rep.fine_topics} fine / {rep.broad_topics} broad topics "
        f"in {total:.1f} s wall, {cpu:.1f} s CPU, load {os.getloadavg()[0]:.1f} ({stages})"
    )


def bench_place(pb) -> None:
    """A day of new papers: take the newest DAY off the map, then place them back (as the worker would)."""
    from tests.map.conftest import map_rows

    d = pb.map.data()
    keep = np.argsort(d.day, kind="stable")[:-DAY]
    keep.sort()
    old = map_rows(d, keep)
    pb.map.files.save(old)
    pb.map.files._cached = None  # the worker's process starts without the map in memory
    t, c = time.perf_counter(), time.process_time()
    placed = pb.map.update()
    print(
        f"place: {placed:,} new papers into a map of {len(old):,} in {time.perf_counter() - t:.2f} s wall, "
        f"{time.process_time() - c:.2f} s CPU, load {os.getloadavg()[0]:.1f}"
    )


def bench_browser(pb, runs: int = 3) -> None:
    from paperboy.web import create_app
    from tests.browser import chromium
    from tests.web.conftest import LiveServer

    with LiveServer(create_app(pb)) as srv, chromium() as browser:
        pb.map.points()  # the server's one-off encoding of a new generation is not the page's cost
        for run in range(runs):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(srv.url + "/map")
            page.wait_for_selector("#map-stage[data-state=ready]", timeout=120_000)
            m = page.evaluate("""() => ({
                paint: performance.getEntriesByName('map-first-paint', 'mark')[0].startTime,
                data: performance.getEntriesByName('map-data', 'mark')[0].startTime,
                resources: performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'))
                  .map(r => ({name: r.name.replace(location.origin, ''), transfer: r.transferSize,
                              body: r.encodedBodySize, decoded: r.decodedBodySize})),
                points: window.paperboyMap.count(),
            })""")
            print(
                f"/map run {run + 1}: {m['points']:,} points, data in {m['data']:.0f} ms, "
                f"first paint {m['paint']:.0f} ms after navigation start"
            )
            if run == 0:
                for r in m["resources"]:
                    print(f"   {r['name']:<28} {r['body']:>10,} B sent ({r['decoded']:,} B decoded)")
            page.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--vectors", choices=["store", "lsa"], default="store")
    ap.add_argument(
        "--stages",
        default="build,place,browser",
        help="Comma-separated: build (the full map), place (a day of papers into HOME's map), browser (/map).",
    )
    a = ap.parse_args()
    stages = set(a.stages.split(","))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from paperboy.config import Settings
    from paperboy.service import Paperboy

    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if a.vectors == "lsa" and "build" in stages:
        install_lsa(a.home)
    pb = Paperboy(
        Settings(home=a.home, secret_key="bench", **({"embedding_model": LSA_MODEL} if a.vectors == "lsa" else {}))
    )
    print(f"vectors: {len(pb.indexes.vectors):,} ({pb.indexes.vectors.model_name})")
    if "build" in stages:
        bench_build(pb)
    if "place" in stages:
        bench_place(pb)
        top = sorted(pb.map.topics(), key=lambda s: -s.size)[:8]
        print("biggest topics:", "; ".join(f"{s.label} ({s.size})" for s in top))
        print("rising:", "; ".join(f"{s.label} x{s.momentum:.2f}" for s in pb.map.rising(5)))
    if "browser" in stages:
        bench_browser(pb)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    print(json.dumps(pb.map.files.manifest()["meta"]))


if __name__ == "__main__":
    main()
