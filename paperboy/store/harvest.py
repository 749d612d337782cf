"""Harvest bookkeeping: watermarks and resumption state per source and set, instance settings, HF extras."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa

from paperboy.store.db import reading
from paperboy.store.schema import harvest_state, hf_extras, instance_settings, papers


@dataclass(slots=True)
class HarvestState:
    """Where the harvest of one (source, scope) stands."""

    source: str
    scope: str
    watermark: date | None = None
    resume_token: str | None = None
    resume_from: date | None = None
    resume_until: date | None = None
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes for timezone=True columns; they were written in UTC.
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


def _state(row: Any) -> HarvestState:
    m = dict(row._mapping)
    for k in ("last_attempt_at", "last_success_at", "last_error_at"):
        m[k] = _aware(m[k])
    return HarvestState(**m)


class HarvestStore:
    """Reads and writes of harvest_state, instance_settings and hf_extras."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def states(self, source: str | None = None) -> list[HarvestState]:
        q = sa.select(harvest_state).order_by(harvest_state.c.source, harvest_state.c.scope)
        if source:
            q = q.where(harvest_state.c.source == source)
        with reading(self.engine) as conn:
            return [_state(r) for r in conn.execute(q)]

    def state(self, source: str, scope: str) -> HarvestState:
        q = sa.select(harvest_state).where(harvest_state.c.source == source, harvest_state.c.scope == scope)
        with reading(self.engine) as conn:
            row = conn.execute(q).first()
        return _state(row) if row is not None else HarvestState(source, scope)

    def _update(self, source: str, scope: str, values: dict[str, Any]) -> None:
        key = (harvest_state.c.source == source) & (harvest_state.c.scope == scope)
        with self.engine.begin() as conn:
            if conn.execute(harvest_state.update().where(key).values(**values)).rowcount == 0:
                try:
                    with conn.begin_nested():
                        conn.execute(harvest_state.insert().values(source=source, scope=scope, **values))
                except sa.exc.IntegrityError:  # another process inserted it first
                    conn.execute(harvest_state.update().where(key).values(**values))

    def attempt(self, source: str, scope: str) -> None:
        self._update(source, scope, {"last_attempt_at": _now()})

    def save_resume(self, source: str, scope: str, token: str | None, from_: date | None, until: date | None) -> None:
        """After a page is stored: where the next page starts (token), within which window."""
        self._update(source, scope, {"resume_token": token, "resume_from": from_, "resume_until": until})

    def finish(self, source: str, scope: str, watermark: date | None) -> None:
        """The window is complete: advance the watermark (never backwards) and forget the token."""
        current = self.state(source, scope).watermark
        if watermark is not None and current is not None and watermark < current:
            watermark = current
        self._update(
            source,
            scope,
            {
                "watermark": watermark or current,
                "resume_token": None,
                "resume_from": None,
                "resume_until": None,
                "last_success_at": _now(),
                "last_error": None,
                "last_error_at": None,
            },
        )

    def advance(self, source: str, scope: str, watermark: date) -> None:
        """Move the watermark forward only (per day, for sources harvested day by day)."""
        current = self.state(source, scope).watermark
        if current is None or watermark > current:
            self._update(source, scope, {"watermark": watermark})

    def fail(self, source: str, scope: str, error: str) -> None:
        self._update(source, scope, {"last_error": error[:2000], "last_error_at": _now()})

    # -- instance settings -------------------------------------------------------------------------------
    def get_setting(self, key: str) -> Any | None:
        with reading(self.engine) as conn:
            return conn.execute(sa.select(instance_settings.c.value).where(instance_settings.c.key == key)).scalar()

    def set_setting(self, key: str, value: Any, by: str | None = None) -> None:
        now = _now()
        with self.engine.begin() as conn:
            q = instance_settings.update().where(instance_settings.c.key == key)
            if conn.execute(q.values(value=value, updated_at=now, updated_by=by)).rowcount == 0:
                conn.execute(instance_settings.insert().values(key=key, value=value, updated_at=now, updated_by=by))

    def delete_setting(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(instance_settings.delete().where(instance_settings.c.key == key))

    def held_categories(self, limit: int = 50) -> list[str]:
        """Primary categories of the papers held, most papers first (the default of what to follow)."""
        q = (
            sa.select(papers.c.primary_category, sa.func.count().label("n"))
            .where(papers.c.primary_category.is_not(None))
            .group_by(papers.c.primary_category)
            .order_by(sa.desc("n"), papers.c.primary_category)
            .limit(limit)
        )
        with reading(self.engine) as conn:
            return [r.primary_category for r in conn.execute(q)]

    # -- Hugging Face extras ----------------------------------------------------------------------------
    def save_hf_extras(self, by_arxiv_id: dict[str, dict[str, Any]]) -> int:
        """Store AI summary/keywords for papers held (matched on arXiv id); returns how many rows were written."""
        if not by_arxiv_id:
            return 0
        now = _now()
        written = 0
        with self.engine.begin() as conn:
            ids = dict(
                conn.execute(
                    sa.select(papers.c.arxiv_id, papers.c.id).where(papers.c.arxiv_id.in_(list(by_arxiv_id)))
                ).all()
            )
            for arxiv_id, extra in by_arxiv_id.items():
                pid = ids.get(arxiv_id)
                if pid is None:
                    continue
                values = {
                    "ai_summary": extra.get("ai_summary"),
                    "ai_keywords": extra.get("ai_keywords"),
                    "updated_at": now,
                }
                q = hf_extras.update().where(hf_extras.c.paper_id == pid)
                if conn.execute(q.values(**values)).rowcount == 0:
                    conn.execute(hf_extras.insert().values(paper_id=pid, **values))
                written += 1
        return written

    def hf_extras(self, paper_id: str) -> dict[str, Any] | None:
        q = sa.select(hf_extras.c.ai_summary, hf_extras.c.ai_keywords).where(hf_extras.c.paper_id == paper_id)
        with reading(self.engine) as conn:
            row = conn.execute(q).first()
        return {"ai_summary": row.ai_summary, "ai_keywords": list(row.ai_keywords or [])} if row else None
