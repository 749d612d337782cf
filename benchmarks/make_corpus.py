"""A synthetic arXiv OAI snapshot of any size, recombined deterministically from the shared real sample.

    .venv/bin/python benchmarks/make_corpus.py --papers 1000000 --out /tmp/arxiv-1m.json [--seed 42]

Writes one OAI record per line (the format of Kaggle's arxiv-metadata-oai-snapshot.json, which
`paperboy ingest` reads): real titles (head of one, tail of another at a colon), abstracts made of
real sentences from 3-7 sample papers, real author lists, new ids numbered per month, first-version
dates spread over 2007-01..2026-06 with monthly submissions growing ~5.6x (as arXiv's did), and a
category mix shifting from physics/math towards CS over the years (approximate arXiv shares; CS
papers keep their sample categories). Same seed and size, same bytes. A name ending in .gz is
gzipped (level 1). Generated files never go into the repository.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import re
import sys
from datetime import date
from pathlib import Path

from _sample import sample_records

REPO = Path(__file__).resolve().parents[1]
# The shared folder sits beside the main checkout (../shared) or two levels up from a worktree.
SAMPLE = next(
    (
        d / "shared" / "corpus" / "arxiv-cs-2025-2026"
        for d in (REPO.parent, REPO.parent.parent)
        if (d / "shared" / "corpus").is_dir()
    ),
    REPO.parent / "shared" / "corpus" / "arxiv-cs-2025-2026",
)
FIRST, LAST = (2007, 1), (2026, 6)
GROWTH = 5.6  # ratio of monthly submissions last month / first month (arXiv: ~5k in 2007, ~28k in 2025)
OLD_STYLE_MAX = 9999  # before 2015 arXiv numbers had 4 digits per month

# Non-CS primary categories with cross-lists, weighted by approximate share of arXiv submissions.
OTHER = [
    (22, ["math.PR", "math.CO", "math.AP", "math.AG", "math.NT", "math.OC", "math.DG", "math.NA", "math.ST"]),
    (9, ["cond-mat.mes-hall", "cond-mat.str-el", "cond-mat.mtrl-sci", "cond-mat.stat-mech", "cond-mat.soft"]),
    (8, ["astro-ph.GA", "astro-ph.CO", "astro-ph.SR", "astro-ph.HE", "astro-ph.EP"]),
    (8, ["hep-ph", "hep-th", "hep-ex", "hep-lat"]),
    (7, ["physics.optics", "physics.flu-dyn", "physics.comp-ph", "physics.soc-ph", "physics.bio-ph"]),
    (5, ["quant-ph"]),
    (4, ["stat.ML", "stat.ME", "stat.AP"]),
    (4, ["eess.IV", "eess.SP", "eess.AS", "eess.SY"]),
    (2, ["gr-qc"]),
    (1, ["nucl-th", "nucl-ex"]),
    (1, ["q-bio.NC", "q-bio.QM", "q-bio.BM"]),
    (1, ["q-fin.ST", "q-fin.CP", "econ.EM", "econ.TH"]),
]
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def load_sample(directory: Path) -> list[dict]:
    """The sample papers: title, sentences, authors, categories, comment."""
    out = []
    for o in sample_records(directory):
        abstract = " ".join((o.get("summary") or "").split())
        sentences = [s for s in _SENTENCE.split(abstract) if len(s) > 20]
        title = " ".join((o.get("title") or "").split())
        if not title or not sentences:
            continue
        out.append(
            {
                "title": title,
                "sentences": sentences,
                "authors": o.get("authors") or ["Anonymous"],
                "categories": [c for c in o.get("categories") or [] if "." in c or "-" in c] or ["cs.LG"],
                "comment": o.get("comment"),
            }
        )
    if not out:
        sys.exit(f"no sample shards under {directory}")
    return out


def months() -> list[tuple[int, int]]:
    (y, m), out = FIRST, []
    while (y, m) <= LAST:
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def month_counts(total: int) -> list[int]:
    """Papers per month: exponential growth, summing to total; 4-digit months capped (overflow moves on)."""
    ms = months()
    rate = math.log(GROWTH) / (len(ms) - 1)
    weights = [math.exp(rate * i) for i in range(len(ms))]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    counts[-1] += total - sum(counts)
    carry = 0
    for i, (y, _m) in enumerate(ms):
        counts[i] += carry
        carry = 0
        cap = OLD_STYLE_MAX if y < 2015 else 99999
        if counts[i] > cap:
            carry, counts[i] = counts[i] - cap, cap
    counts[-1] += carry
    return counts


def categories(rng: random.Random, paper: dict, year: int) -> list[str]:
    cs_share = 0.10 + 0.35 * (year - FIRST[0]) / (LAST[0] - FIRST[0])  # CS grew from ~10% to ~45%
    if rng.random() < cs_share:
        return list(paper["categories"])
    cats = rng.choices([c for _w, c in OTHER], weights=[w for w, _c in OTHER])[0]
    primary = rng.choice(cats)
    cross = [c for c in rng.sample(cats, min(len(cats), rng.randint(0, 2))) if c != primary]
    return [primary, *cross]


def title(rng: random.Random, a: dict, b: dict) -> str:
    head, sep, _ = a["title"].partition(": ")
    if sep and ": " in b["title"] and rng.random() < 0.7:
        return f"{head}: {b['title'].partition(': ')[2]}"
    return a["title"]


def record(rng: random.Random, sample: list[dict], arxiv_id: str, day: date) -> dict:
    a, b = rng.choice(sample), rng.choice(sample)
    sentences = list(a["sentences"][:2])
    for _ in range(rng.randint(2, 6)):
        sentences.append(rng.choice(rng.choice(sample)["sentences"]))
    authors = rng.choice(sample)["authors"]
    created = day.strftime("%a, %d %b %Y 10:00:00 GMT")
    versions = [{"version": "v1", "created": created}]
    update = day
    if rng.random() < 0.35:
        update = date.fromordinal(min(day.toordinal() + rng.randint(5, 400), date(2026, 6, 30).toordinal()))
        versions.append({"version": "v2", "created": update.strftime("%a, %d %b %Y 10:00:00 GMT")})
    return {
        "id": arxiv_id,
        "submitter": authors[0],
        "authors": ", ".join(authors[:-1]) + (" and " if len(authors) > 1 else "") + authors[-1],
        "title": title(rng, a, b),
        "comments": a["comment"],
        "journal-ref": None,
        "doi": None,
        "report-no": None,
        "categories": " ".join(categories(rng, a, day.year)),
        "license": None,
        "abstract": " ".join(sentences),
        "versions": versions,
        "update_date": update.isoformat(),
        "authors_parsed": [[*_split_name(n), ""] for n in authors],
    }


def _split_name(name: str) -> tuple[str, str]:
    first, _, last = name.rpartition(" ")
    return last, first


def generate(total: int, out, sample: list[dict], seed: int, progress: bool) -> int:
    from tqdm import tqdm

    rng = random.Random(seed)
    written = 0
    with tqdm(total=total, unit=" papers", disable=None if progress else True) as bar:
        for (y, m), count in zip(months(), month_counts(total)):
            days = (date(y + (m == 12), m % 12 + 1, 1) - date(y, m, 1)).days
            width = 4 if y < 2015 else 5
            for n in range(1, count + 1):
                day = date(y, m, 1 + (n - 1) * days // max(count, 1))
                rec = record(rng, sample, f"{y % 100:02d}{m:02d}.{n:0{width}d}", day)
                out.write(json.dumps(rec, ensure_ascii=False))
                out.write("\n")
                written += 1
            bar.update(count)
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--papers", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--sample", type=Path, default=SAMPLE)
    args = ap.parse_args()
    if args.papers <= 0:
        sys.exit("--papers must be positive")
    sample = load_sample(args.sample)
    tmp = args.out.with_name(args.out.name + ".part")
    opener = (
        (lambda p: gzip.open(p, "wt", encoding="utf-8", compresslevel=1))
        if args.out.suffix == ".gz"
        else (lambda p: open(p, "w", encoding="utf-8"))
    )
    with opener(tmp) as f:
        n = generate(args.papers, f, sample, args.seed, progress=True)
    tmp.replace(args.out)
    print(f"wrote {n:,} papers to {args.out} ({args.out.stat().st_size / 2**20:,.0f} MiB)")


if __name__ == "__main__":
    main()
