"""Paper vectors in the store: float16 bytes per (model, paper), read back in `seq` order by every node."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from paperboy.store.db import begin_write, reading
from paperboy.store.rows import after_key
from paperboy.store.schema import paper_vectors, papers

# Stored byte order is fixed, so a big-endian node reads the same numbers.
DTYPE = np.dtype("<f2")


@dataclass(slots=True)
class VectorPage:
    """Consecutive stored vectors of one model, in seq order."""

    ids: list[str]
    hashes: list[str]
    vectors: np.ndarray  # (n, dim) float16
    last_seq: int


def put_vectors(engine: sa.Engine, model: str, ids: Sequence[str], hashes: Sequence[str], vectors: np.ndarray) -> int:
    """Insert or replace the vectors of `ids` for `model` in one transaction; returns the seq they got.

    Papers deleted meanwhile are skipped (their vectors would dangle). Vectors are stored as given
    (callers store unit vectors), converted to little-endian float16.
    """
    vectors = np.asarray(vectors)
    if vectors.ndim != 2 or not (len(ids) == len(hashes) == len(vectors)):
        raise ValueError(f"ids, hashes and a (n, dim) matrix of equal length expected, got {vectors.shape}")
    if not len(ids):
        return 0
    dim = int(vectors.shape[1])
    blobs = np.ascontiguousarray(vectors, dtype=DTYPE)
    last = {pid: j for j, pid in enumerate(ids)}  # the last vector given for an id wins
    with engine.begin() as conn:
        # Under the store's write lock: seqs commit in order, so a reader's high-water mark never skips a row.
        begin_write(conn)
        seq = (conn.execute(sa.select(sa.func.max(paper_vectors.c.seq))).scalar() or 0) + 1
        keys = list(last)
        present: set[str] = set()
        for start in range(0, len(keys), 900):  # SQLite's bound-parameter limit
            chunk = keys[start : start + 900]
            present.update(conn.execute(sa.select(papers.c.id).where(papers.c.id.in_(chunk))).scalars())
            conn.execute(
                paper_vectors.delete().where(paper_vectors.c.model == model, paper_vectors.c.paper_id.in_(chunk))
            )
        rows = [
            {
                "paper_id": pid,
                "model": model,
                "dim": dim,
                "text_hash": hashes[j],
                "vector": blobs[j].tobytes(),
                "seq": seq,
            }
            for pid, j in last.items()
            if pid in present
        ]
        if rows:
            conn.execute(paper_vectors.insert(), rows)
    return seq


def iter_vectors(engine: sa.Engine, model: str, since_seq: int = 0, page: int = 20_000) -> Iterator[VectorPage]:
    """Pages of the model's vectors written after `since_seq`, oldest first, each in a short read."""
    cond = sa.and_(paper_vectors.c.model == model, paper_vectors.c.seq > since_seq)
    cols = (
        paper_vectors.c.seq,
        paper_vectors.c.paper_id,
        paper_vectors.c.dim,
        paper_vectors.c.text_hash,
        paper_vectors.c.vector,
    )
    while True:
        with reading(engine) as conn:
            q = sa.select(*cols).where(cond).order_by(paper_vectors.c.seq, paper_vectors.c.paper_id).limit(page)
            rows = conn.execute(q).all()
        if not rows:
            return
        dims = {r.dim for r in rows}
        if len(dims) != 1:
            raise ValueError(f"stored vectors of model {model!r} have several dimensions: {sorted(dims)}")
        flat = np.frombuffer(b"".join(r.vector for r in rows), dtype=DTYPE)
        yield VectorPage(
            [r.paper_id for r in rows],
            [r.text_hash for r in rows],
            flat.reshape(len(rows), dims.pop()).astype(np.float16),
            rows[-1].seq,
        )
        last = after_key(paper_vectors.c.seq, paper_vectors.c.paper_id, rows[-1].seq, rows[-1].paper_id)
        cond = sa.and_(paper_vectors.c.model == model, last)


def vector_stats(engine: sa.Engine, model: str) -> tuple[int, int]:
    """(count, highest seq) of the model's stored vectors."""
    with reading(engine) as conn:
        row = conn.execute(
            sa.select(sa.func.count(), sa.func.max(paper_vectors.c.seq)).where(paper_vectors.c.model == model)
        ).one()
    return int(row[0] or 0), int(row[1] or 0)
