"""What PostgreSQL is strict about, concurrent writers and concurrent migrations.

Runs on the backend --db selects, so SQLite and PostgreSQL are held to the same behaviour.
Writers and migrators are real processes (spawned), as web workers and the worker would be.
"""

from __future__ import annotations

import multiprocessing as mp
import random

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from paperboy.models import Paper
from paperboy.store import Store
from paperboy.store.db import _alembic_config
from paperboy.store.schema import metadata, paper_authors, paper_categories, papers

N_IDS = 600  # writers draw ids from this range, so they keep colliding on the same papers


def _paper(i: int, version: int = 1) -> Paper:
    return Paper(
        title=f"Paper {i} revision {version}",
        abstract=f"Abstract of {i}, v{version}.",
        authors=[f"Author {i % 17}", "Second Author"],
        categories=["cs.CL", "cs.LG"],
        arxiv_id=f"2501.{i:05d}",
        version=version,
        source="arxiv-jsonl",
        source_ref=f"w:{i}",
    )


def _write_batches(url: str, seed: int, batches: int, size: int, start) -> None:
    start.wait()
    st = Store(url)
    rng = random.Random(seed)
    for _ in range(batches):
        st.upsert([(_paper(rng.randrange(N_IDS), rng.randint(1, 4)), False) for _ in range(size)])
    st.close()


def _open_store(url: str, start) -> None:
    start.wait()
    Store(url).close()


def test_nul_characters_and_overlong_keys_are_stored_alike(database_url):
    """PostgreSQL rejects NUL in text and strings longer than VARCHAR(n); SQLite takes both."""
    st = Store(database_url)
    acm = "I.2.6; C.1.4; D.1.3; I.5.1; H.3.4; I.2.10; I.4.0; I.4.1; I.4.2; I.4.6; I.4.7"  # from the real sample
    p = Paper(
        title="Nul\x00 in the title",
        abstract="a\x00b",
        authors=["Ann\x00 Author", "B" * 512],
        categories=["cs.CL\x00", acm],
        comment="c\x00",
        arxiv_id="2501.00001",
        source="bibtex",
        source_ref="refs.bib:entry k\x00ey",
    )
    assert st.upsert([(p, False)]).added == 1
    got = st.get("2501.00001")
    assert (got.title, got.abstract, got.comment) == ("Nul in the title", "ab", "c")
    assert got.authors == ["Ann Author", "B" * 512] and got.categories == ["cs.CL", acm]  # JSON keeps full text
    with st.engine.connect() as conn:
        cats = conn.execute(sa.select(paper_categories.c.category).order_by(paper_categories.c.position)).scalars()
        assert list(cats) == ["cs.CL", acm[:64]]
        keys = conn.execute(sa.select(sa.func.max(sa.func.length(paper_authors.c.name_key)))).scalar()
        assert keys == 200
    assert st.upsert([(p, False)]).unchanged == 1  # the cleaned row hashes the same next time
    st.close()


def test_concurrent_writers_lose_nothing_and_a_follower_misses_nothing(database_url):
    """Three processes upsert overlapping papers while this one follows changes by `seq`, as an
    index does; the follower must end with exactly the stored rows (a `seq` committed out of
    order, below the follower's high-water mark, would be missed for good)."""
    Store(database_url).close()  # migrate first: this test is about writers
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(3)
    seeds = [11, 22, 33]
    procs = [ctx.Process(target=_write_batches, args=(database_url, s, 40, 60, start)) for s in seeds]
    for pr in procs:
        pr.start()
    st = Store(database_url)
    mark, view = 0, {}

    def follow() -> None:
        nonlocal mark
        for seq, paper in st.iter_papers(mark):
            assert seq >= mark  # the follower reads changes in seq order
            view[paper.id] = (seq, paper.title)
            mark = seq

    while any(pr.is_alive() for pr in procs):
        follow()
    for pr in procs:
        pr.join(60)
        assert pr.exitcode == 0
    follow()

    expected_ids = set()
    for s in seeds:
        rng = random.Random(s)
        for _ in range(40 * 60):
            expected_ids.add(f"2501.{rng.randrange(N_IDS):05d}")
            rng.randint(1, 4)
    with st.engine.connect() as conn:
        rows = {r.id: (r.seq, r.title) for r in conn.execute(sa.select(papers.c.id, papers.c.seq, papers.c.title))}
        dup_authors = conn.execute(
            sa.select(sa.func.count()).select_from(
                sa.select(paper_authors.c.paper_id)
                .group_by(paper_authors.c.paper_id)
                .having(sa.func.count() != 2)
                .subquery()
            )
        ).scalar()
    assert set(rows) == expected_ids
    assert view == rows
    assert dup_authors == 0  # updates replaced author rows, never doubled them
    st.close()


def test_processes_starting_together_on_a_fresh_database_migrate_it_once(new_database_url):
    url = new_database_url()
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(4)
    procs = [ctx.Process(target=_open_store, args=(url, start)) for _ in range(4)]
    for pr in procs:
        pr.start()
    for pr in procs:
        pr.join(60)
    assert [pr.exitcode for pr in procs] == [0, 0, 0, 0]
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        ctx_ = MigrationContext.configure(conn)
        assert ctx_.get_current_revision() == ScriptDirectory.from_config(_alembic_config()).get_current_head()
        assert compare_metadata(ctx_, metadata) == []
    engine.dispose()


def test_new_database_url_can_copy_a_prepared_store(new_database_url):
    """The fixture other test packages use to build one store per session and copy it per test."""
    base = new_database_url()
    st = Store(base)
    st.upsert([(_paper(1), False)])
    st.close()  # PostgreSQL copies only a template nobody is connected to
    copy = Store(new_database_url(template=base))
    copy.upsert([(_paper(2), False)])
    assert copy.count() == 2 and Store(base).count() == 1
    copy.close()
