"""Rank a list of papers for a library ("rank my list"): every candidate scored, none stored.

Papers come from files in any ingest format or are stored papers given by id. Stored papers use the
dense index's vectors; the others are embedded on the fly through the instance's embedder (loaded only
when some paper has no stored vector). Scored with the default scorer of paperboy.ranking.scorers, the
same one behind "recommended for you" and the digest; an instance without embeddings yet ranks by
TF-IDF similarity alone, like its recommendations.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paperboy.models import Paper, Rejected, SourceError
from paperboy.ranking import scorers

MAX_LIBRARY = 500
MAX_CANDIDATES = 10_000
MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # a .bib or listing posted to the web app or API


class RankInputError(ValueError):
    """An input that cannot be ranked (unknown id, unreadable file, too many papers); the message says which."""


class UnknownPaper(RankInputError):
    """An id that names no stored paper (and no file)."""


class EmptyProfile(RankInputError):
    """The profile to rank for has no papers yet: a state to change first, not a bad request."""


@dataclass(slots=True, frozen=True)
class Ranked:
    id: str
    title: str
    score: float
    reason: str

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "score": round(self.score, 6), "reason": self.reason}


@dataclass(slots=True)
class Papers:
    """Papers read from the inputs, with the problems met (skipped records, unknown ids)."""

    papers: list[Paper]
    problems: list[str]


def short(text: str, n: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def parse_bytes(data: bytes, name: str, problems: list[str]) -> list[Paper]:
    """Papers of one file's bytes in any ingest format (gzip allowed); bad records become problems."""
    import gzip
    import zlib

    from paperboy.sources import FORMATS, detect_format

    try:
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        fmt = detect_format(data[: 64 * 1024], name)
        out = []
        for rec in FORMATS[fmt].parse(io.BytesIO(data), name):
            if isinstance(rec, Rejected):
                problems.append(str(rec))
            else:
                out.append(rec)
        return out
    except SourceError as e:
        raise RankInputError(f"{name}: {e}") from e
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise RankInputError(f"{name}: compressed data is truncated or corrupt ({e})") from e
    except UnicodeDecodeError as e:
        raise RankInputError(f"{name}: not valid UTF-8 text ({e.reason} at byte {e.start})") from e


def dedupe(papers: Iterable[Paper]) -> list[Paper]:
    seen: dict[str, Paper] = {}
    for p in papers:
        seen.setdefault(p.id or p.paper_id(), p)
    return list(seen.values())


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a name too long for the file system is no file
        return False


class Ranker:
    """`rank` for one Paperboy service: read inputs, find or compute vectors, score, explain."""

    def __init__(self, pb):
        self.pb = pb

    def read(self, items: Sequence[str | Path], files: bool = True) -> Papers:
        """Papers named by file paths (any ingest format) or stored-paper ids, in order, duplicates once.

        `files=False` (the web API) takes every item as an id: a remote caller must never make the
        server read one of its own files.
        """
        slots: list[list[Paper] | str] = []
        problems: list[str] = []
        for item in items:
            path = Path(item)
            if files and _is_file(path):
                try:
                    data = path.read_bytes()
                except OSError as e:
                    raise RankInputError(f"{path}: cannot read: {e.strerror}") from e
                slots.append(parse_bytes(data, path.name, problems))
            else:
                slots.append(str(item).strip())
        keys = [s for s in slots if isinstance(s, str)]
        keys += [p.paper_id() for s in slots if not isinstance(s, str) for p in s]
        stored = self.pb.store.get_many(keys) if keys else {}  # one query for plain ids and file papers
        out: list[Paper] = []
        for slot in slots:
            if not isinstance(slot, str):
                # A file paper this instance stores is scored as stored (its vector, its full abstract).
                out.extend(stored.get(p.paper_id(), p) for p in slot)
                continue
            paper = stored.get(slot) or self.pb.paper(slot)  # arXiv versions and URLs resolve one by one
            if paper is None:
                raise UnknownPaper(f"no stored paper {slot[:100]!r}" + (" and no such file" if files else ""))
            out.append(paper)
        return Papers(dedupe(out), problems)

    def ids(self, text: str) -> list[str]:
        """Ids pasted into a form: separated by whitespace or commas."""
        return [t for t in text.replace(",", " ").split() if t]

    def vectors(self, papers: Sequence[Paper]) -> np.ndarray:
        """Unit rows for papers: stored vectors where the dense index has them, else embedded now."""
        from paperboy.index.embedder import document_text

        rows: list[np.ndarray | None] = [None] * len(papers)
        idx = self.pb.indexes
        if idx.dense_ready():
            vec = idx.vectors
            for k, p in enumerate(papers):
                key = p.id or p.paper_id()
                if key in vec:
                    rows[k] = np.asarray(vec.vector(key), dtype=np.float32)
        missing = [k for k, r in enumerate(rows) if r is None]
        if missing:
            emb = idx.embedder.embed_documents([document_text(papers[k]) for k in missing], progress=False)
            for k, v in zip(missing, np.asarray(emb, dtype=np.float32)):
                rows[k] = v
        if not rows:
            return np.zeros((0, 1), np.float32)
        X = np.stack(rows).astype(np.float32)
        return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)

    def rank(
        self,
        library: Sequence[Paper],
        candidates: Sequence[Paper],
        *,
        where: str = "your library",
        not_interested: Sequence[Paper] = (),
        method: str = scorers.DEFAULT_SCORER,
    ) -> list[Ranked]:
        """Every candidate, best first, with a reason naming the closest library paper."""
        if not library:
            raise RankInputError("the library is empty: give at least one paper")
        if len(library) > MAX_LIBRARY:
            raise RankInputError(f"the library has {len(library)} papers; at most {MAX_LIBRARY}")
        if len(candidates) > MAX_CANDIDATES:
            raise RankInputError(f"{len(candidates)} candidates; at most {MAX_CANDIDATES:,}")
        if not candidates:
            return []
        from paperboy.index.embedder import document_text

        nl, nn = len(library), len(not_interested)
        everything = list(library) + list(not_interested) + list(candidates)
        texts = [document_text(p) for p in everything]
        if self.pb.indexes.dense_ready():
            X = self.vectors(everything)
            L, N, C = X[:nl], X[nl : nl + nn], X[nl + nn :]
            lib = scorers.Library(L, texts[:nl], not_interested=N if nn else None)
            s = scorers.score(method, C, lib, texts[nl + nn :])
        else:
            # No embeddings on this instance yet: lexical similarity alone, as "recommended for you" does,
            # rather than loading a model into a web process for one request.
            X = scorers.tfidf_vectorizer().fit_transform(texts)
            L, N, C = X[:nl], X[nl : nl + nn], X[nl + nn :]
            s = scorers.score("topk", C, scorers.Library(L, not_interested=N if nn else None))
        near = scorers.nearest(C, L)
        order = np.argsort(-s, kind="stable")
        return [
            Ranked(
                candidates[k].id or candidates[k].paper_id(),
                candidates[k].title,
                float(s[k]),
                f"like “{short(library[near[k]].title)}” in {where}",
            )
            for k in order
        ]

    def for_profile(self, user_id: int, profile_id: int | None, candidates: Sequence[Paper]) -> list[Ranked]:
        """Every candidate ranked for one of a reader's profiles (its thumbs up; thumbs down push away)."""
        profiles = self.pb.profiles
        prof = profiles.get(user_id, profile_id)
        pos, neg = profiles.ratings(prof)
        got = self.pb.store.get_many(pos[:MAX_LIBRARY] + neg[:MAX_LIBRARY])
        library = [got[i] for i in pos[:MAX_LIBRARY] if i in got]
        if not library:
            raise EmptyProfile(
                f"{prof.where[0].upper()}{prof.where[1:]} has no papers yet: rate, import or pick a few first"
            )
        marks = [got[i] for i in neg[:MAX_LIBRARY] if i in got]
        return self.rank(library, candidates, where=prof.where, not_interested=marks)
