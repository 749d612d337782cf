"""The ledger of ingest runs: one row per run, opened before reading and closed with its counts."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from paperboy.models import IngestReport
from paperboy.store.schema import ingest_runs


def start_run(engine: sa.Engine, source: str, inputs: str) -> int:
    with engine.begin() as conn:
        res = conn.execute(
            ingest_runs.insert().values(
                source=source, inputs=inputs, started_at=datetime.now(timezone.utc), status="running"
            )
        )
        return res.inserted_primary_key[0]


def finish_run(engine: sa.Engine, run_id: int, report: IngestReport, status: str) -> None:
    message = report.aborted or ("; ".join(report.errors[:3]) if report.errors else None)
    with engine.begin() as conn:
        conn.execute(
            ingest_runs.update()
            .where(ingest_runs.c.id == run_id)
            .values(
                finished_at=datetime.now(timezone.utc),
                status=status,
                added=report.added,
                updated=report.updated,
                unchanged=report.unchanged,
                rejected=report.rejected,
                duplicates=report.duplicates,
                message=message,
            )
        )


def recent_runs(conn: sa.Connection, limit: int = 10) -> list[dict[str, Any]]:
    q = sa.select(ingest_runs).order_by(ingest_runs.c.id.desc()).limit(limit)
    return [
        {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r._mapping.items()}
        for r in conn.execute(q)
    ]
