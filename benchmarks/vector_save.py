"""Cost of publishing new vectors: an append save vs a whole rewrite, at arXiv-sized indexes.

    nice -n 10 .venv/bin/python benchmarks/vector_save.py --sizes 1000000 --add 1000 [--dir /tmp/vecsave]

Per size N: a VectorIndex of N random unit vectors (384-d, float16, what the packaged model makes)
saved once, then `--rounds` rounds of "upsert --add new papers, save" (a day's arXiv is ~1,000),
timed as an append (the default since format 2) and as the whole rewrite every save did before
(forced by marking a row changed in place). Prints wall and CPU seconds and the bytes each save
wrote, with the load average. Random vectors: the cost is I/O and copying, not their values.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from paperboy.index.vectors import VectorIndex


def written(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.iterdir() if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000000")
    ap.add_argument("--add", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/vecsave"))
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    for n in (int(s) for s in args.sizes.split(",")):
        shutil.rmtree(args.dir, ignore_errors=True)
        ix = VectorIndex(args.dir, model_name="m", dim=384, text_format=1)
        ix.upsert([f"p{i}" for i in range(n)], ["h"] * n, rng.standard_normal((n, 384), dtype=np.float32))
        ix.save()
        out: dict = {"vectors": n, "added_per_save": args.add, "load": os.getloadavg()[0]}
        for how in ("append", "rewrite"):
            walls, cpus, sizes = [], [], []
            for r in range(args.rounds):
                ids = [f"{how}{r}-{i}" for i in range(args.add)]
                ix.upsert(ids, ["h"] * args.add, rng.standard_normal((args.add, 384), dtype=np.float32))
                if how == "rewrite":
                    ix._in_place = True  # what every save did before format 2
                before = {p.name: p.stat().st_size for p in args.dir.iterdir() if p.is_file()}
                t0, c0 = time.perf_counter(), time.process_time()
                ix.save()
                walls.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
                after = {p.name: p.stat().st_size for p in args.dir.iterdir() if p.is_file()}
                # Bytes written: new files whole, grown files by their growth (the manifest is rewritten).
                sizes.append(
                    sum(
                        s - before.get(k, 0) if k in before and k != "manifest.json" else s
                        for k, s in after.items()
                        if s != before.get(k)
                    )
                )
            out[how] = {
                "wall_s_median": float(np.median(walls)),
                "cpu_s_median": float(np.median(cpus)),
                "mb_written_median": float(np.median(sizes)) / 2**20,
            }
        out["load_after"] = os.getloadavg()[0]
        print(json.dumps(out, indent=1), flush=True)
    shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
