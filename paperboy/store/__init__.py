"""The store: the single source of truth. Only this package speaks SQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from paperboy.models import IngestReport, Paper
from paperboy.store import papers as _papers
from paperboy.store import runs as _runs
from paperboy.store import vectors as _vectors
from paperboy.store.db import analyze, create_engine, migrate, reading
from paperboy.store.harvest import HarvestStore
from paperboy.store.papers import BatchOutcome, Fresh

# The database went away (PostgreSQL restarting, a dropped connection, a full pool, SQLite locked
# past its timeout): surfaces turn these into a retryable "unavailable" answer.
UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)


class Conflict(Exception):
    """A write broke a uniqueness rule: someone (maybe this user, a moment ago) got there first."""


class Store:
    """Papers and ingest runs in one SQL database (SQLite file or PostgreSQL).

    Services run the store's query functions inside `writing()` (one transaction) or `reading()`;
    the connection they get is opaque to them: only this package builds SQL.
    """

    def __init__(self, url: str):
        self.url = url
        self.engine = create_engine(url)
        migrate(self.engine)
        self.harvest = HarvestStore(self.engine)  # watermarks, instance settings, HF extras

    @contextmanager
    def writing(self) -> Iterator[sa.Connection]:
        """One transaction: committed when the block ends, rolled back on error; Conflict on a duplicate."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.IntegrityError as e:
            raise Conflict(str(e.orig).splitlines()[0] if e.orig else str(e)) from e

    @contextmanager
    def reading(self) -> Iterator[sa.Connection]:
        """A connection for reads (autocommit on PostgreSQL: no BEGIN/ROLLBACK round trips)."""
        with reading(self.engine) as conn:
            yield conn

    def upsert(
        self, batch: Sequence[tuple[Paper, bool]], prepared: Sequence[Fresh | None] | None = None
    ) -> BatchOutcome:
        """Merge one batch in one transaction: all of it lands or none of it does (`prepared`: see upsert_batch)."""
        with self.engine.begin() as conn:
            return _papers.upsert_batch(conn, batch, prepared)

    def get(self, key: str, include_hidden: bool = False) -> Paper | None:
        """A paper by id/arXiv id/URL; papers hidden by a moderator only with include_hidden."""
        with reading(self.engine) as conn:
            return _papers.get_paper(conn, key, include_hidden)

    def get_many(self, ids: Sequence[str], include_hidden: bool = False) -> dict[str, Paper]:
        """Papers by id; hidden ones are left out, so every surface hydrating through here drops them."""
        with reading(self.engine) as conn:
            return _papers.get_papers(conn, ids, include_hidden)

    def analyze(self) -> None:
        """Refresh planner statistics; the ingester calls it after a large load."""
        analyze(self.engine)

    def hidden_ids(self) -> set[str] | None:
        """Every paper a moderator hid (few), or None when there are too many to list per search."""
        with reading(self.engine) as conn:
            return _papers.hidden_ids(conn)

    def hidden_among(self, ids: Sequence[str]) -> set[str]:
        with reading(self.engine) as conn:
            return _papers.hidden_among(conn, ids)

    def count(self) -> int:
        with reading(self.engine) as conn:
            return _papers.count_papers(conn)

    def max_seq(self) -> int:
        with reading(self.engine) as conn:
            return _papers.max_seq(conn)

    def iter_papers(self, since_seq: int = 0, until_seq: int | None = None) -> Iterator[tuple[int, Paper]]:
        return _papers.iter_papers(self.engine, since_seq, until_seq=until_seq)

    def put_vectors(self, model: str, ids: Sequence[str], hashes: Sequence[str], vectors: Any) -> int:
        """Store computed vectors (float16) of `ids` for `model`: every writer (`paperboy index`, Ray) goes here."""
        return _vectors.put_vectors(self.engine, model, ids, hashes, vectors)

    def iter_vectors(self, model: str, since_seq: int = 0) -> Iterator[_vectors.VectorPage]:
        """Pages of stored vectors of `model` written after `since_seq` (what a node has not read yet)."""
        return _vectors.iter_vectors(self.engine, model, since_seq)

    def vector_stats(self, model: str) -> tuple[int, int]:
        """(count, highest seq) of the stored vectors of `model`."""
        return _vectors.vector_stats(self.engine, model)

    def stats(self) -> dict[str, Any]:
        _runs.reap_interrupted(self.engine)  # so the listing never shows a killed run as running
        with reading(self.engine) as conn:
            out = _papers.stats(conn)
            out["runs"] = _runs.recent_runs(conn, 5)
        return out

    def start_run(self, source: str, inputs: str) -> int:
        """Open a ledger row for a run of this process (first closing those of killed runs)."""
        return _runs.start_run(self.engine, source, inputs)

    def heartbeat(self, run_id: int, report: IngestReport) -> None:
        """Record that the run is alive, with its counts so far."""
        _runs.heartbeat(self.engine, run_id, report)

    def finish_run(self, run_id: int, report: IngestReport, status: str) -> None:
        _runs.finish_run(self.engine, run_id, report, status)

    def close(self) -> None:
        self.engine.dispose()
