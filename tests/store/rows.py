"""What a store's database holds, read straight with SQL (beside the store, so a test can watch another process)."""

from __future__ import annotations

import sqlalchemy as sa

from paperboy.store.db import create_engine


def papers_in(url: str) -> int:
    """Papers committed in the database at `url`; 0 before the first migration made the table."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("papers"):
                return 0
            return conn.execute(sa.text("SELECT count(*) FROM papers")).scalar_one()
    finally:
        engine.dispose()
