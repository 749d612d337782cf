"""The store on a real database (SQLite file, or PostgreSQL with --db=postgres): schema, migrations, merge-upsert."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from paperboy.models import Paper
from paperboy.store import Store
from paperboy.store.schema import metadata, paper_authors, paper_sources


def _paper(**kw) -> Paper:
    base = dict(
        title="Attention Is All You Need",
        abstract="The dominant sequence transduction models are based on recurrent networks.",
        authors=["Ashish Vaswani", "Noam Shazeer"],
        categories=["cs.CL", "cs.LG"],
        arxiv_id="1706.03762",
        version=1,
        source="arxiv-jsonl",
        source_ref="x.jsonl:1",
    )
    base.update(kw)
    return Paper(**base)


@pytest.fixture
def open_store(database_url):
    """Opens a Store on this test's database (several times if a test reopens it); closes them all."""
    opened: list[Store] = []

    def make() -> Store:
        opened.append(Store(database_url))
        return opened[-1]

    yield make
    for st in opened:
        st.close()


@pytest.fixture
def st(open_store) -> Store:
    return open_store()


def test_migrations_build_exactly_the_declared_schema(st):
    with st.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diffs == []


@pytest.mark.sqlite_only
def test_sqlite_runs_in_wal_mode_with_foreign_keys(st):
    with st.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_reopening_an_existing_store_keeps_its_papers(open_store):
    open_store().upsert([(_paper(), False)])
    assert open_store().count() == 1


def test_same_input_twice_changes_nothing(st):
    first = st.upsert([(_paper(), False)])
    seq = st.max_seq()
    second = st.upsert([(_paper(), False)])
    assert (first.added, first.updated) == (1, 0)
    assert (second.added, second.updated, second.unchanged) == (0, 0, 1)
    assert st.max_seq() == seq  # nothing rewritten, so indexes have nothing to catch up on


def test_newer_version_updates_and_older_does_not_regress(st):
    st.upsert([(_paper(version=2, title="Attention Is All You Need (v2)"), False)])
    older = st.upsert([(_paper(version=1, title="Old title"), False)])
    assert older.updated == 0 and st.get("1706.03762").title == "Attention Is All You Need (v2)"
    newer = st.upsert([(_paper(version=5, title="Attention Is All You Need (v5)"), False)])
    p = st.get("1706.03762v5")
    assert newer.updated == 1 and p.version == 5 and p.title.endswith("(v5)")


def test_same_paper_from_two_sources_is_one_row(st):
    # An HF page dump knows only title + abstract; arXiv knows the id; HF daily adds upvotes.
    st.upsert([(Paper(title="Attention is all you need!", abstract="short", source="hf-page"), False)])
    st.upsert([(_paper(), False)])
    st.upsert([(_paper(upvotes=42, source="hf-daily", code_url="https://github.com/t/t"), False)])
    assert st.count() == 1
    p = st.get("1706.03762")
    assert p.upvotes == 42 and p.code_url == "https://github.com/t/t"
    assert p.abstract.startswith("The dominant")  # arXiv text outranks the page dump
    assert set(p.source.split(",")) == {"hf-page", "arxiv-jsonl", "hf-daily"}
    # Re-ingesting the low-priority page dump does not flip the text back.
    again = st.upsert([(Paper(title="Attention is all you need!", abstract="short", source="hf-page"), False)])
    assert again.updated == 0


def test_match_on_title_needs_a_compatible_first_author(st):
    st.upsert([(Paper(title="Deep Learning", authors=["Yann LeCun"], source="bibtex"), False)])
    st.upsert([(Paper(title="Deep learning", authors=["Ian Goodfellow"], source="bibtex"), False)])
    st.upsert([(Paper(title="DEEP LEARNING.", authors=["LeCun, Yann"], source="bibtex"), False)])
    assert st.count() == 2


def test_two_arxiv_papers_with_the_same_title_stay_apart(st):
    st.upsert([(_paper(arxiv_id="2401.00001"), False), (_paper(arxiv_id="2401.00002"), False)])
    assert st.count() == 2


def test_papers_without_arxiv_id_get_a_stable_id(st):
    p = Paper(title="A Survey of Things", authors=["Jane Roe"], source="bibtex")
    assert p.paper_id() == Paper(title="a survey of THINGS", authors=["Roe, Jane"]).paper_id()
    assert p.paper_id().startswith("pb-")
    st.upsert([(p, False)])
    assert st.get(p.paper_id()).title == "A Survey of Things"


def test_authors_keep_their_order_and_sources_are_recorded(st):
    st.upsert([(_paper(authors=["Zed Z", "Amy A", "Mid M"]), False)])
    with st.engine.connect() as conn:
        names = [r.name for r in conn.execute(sa.select(paper_authors).order_by(paper_authors.c.position))]
        srcs = conn.execute(sa.select(paper_sources.c.source)).scalars().all()
    assert names == ["Zed Z", "Amy A", "Mid M"]
    assert st.get("1706.03762").authors == ["Zed Z", "Amy A", "Mid M"]
    assert srcs == ["arxiv-jsonl"]


def test_a_failed_batch_leaves_nothing_half_written(st):
    st.upsert([(_paper(), False)])
    bad = _paper(arxiv_id="2401.99999", title=None)  # NOT NULL violation inside the batch
    good = _paper(arxiv_id="2401.11111")
    try:
        st.upsert([(good, False), (bad, False)])
    except Exception:
        pass
    assert st.count() == 1 and st.get("2401.11111") is None


def test_iter_papers_resumes_after_a_high_water_mark(st):
    st.upsert([(_paper(arxiv_id=f"2401.{i:05d}", title=f"Paper {i}"), False) for i in range(5)])
    mark = st.max_seq()
    st.upsert([(_paper(arxiv_id="2402.00001", title="Later", listed=date(2024, 2, 1)), False)])
    assert [p.arxiv_id for _s, p in st.iter_papers(0)][:5] == [f"2401.{i:05d}" for i in range(5)]
    assert [p.arxiv_id for _s, p in st.iter_papers(mark)] == ["2402.00001"]


@pytest.mark.parametrize("scan_limit", [5000, 1])  # 1: more hidden papers than the scan reads -> id probes
def test_hidden_among_finds_exactly_the_hidden_hits(open_store, monkeypatch, scan_limit):
    from datetime import datetime, timezone

    from paperboy.store import papers as store_papers
    from paperboy.store.moderation import set_hidden

    monkeypatch.setattr(store_papers, "HIDDEN_SCAN", scan_limit)
    store = open_store()
    ids = [f"2601.{i:05d}" for i in range(30)]
    store.upsert([(_paper(arxiv_id=i, title=f"Paper {i}"), False) for i in ids])
    with store.engine.begin() as conn:
        for i in (ids[3], ids[17], ids[29]):
            assert set_hidden(conn, i, datetime.now(timezone.utc), "spam")
    assert store.hidden_among(ids[:20] + ["2601.99999"]) == {ids[3], ids[17]}
    assert store.hidden_among(ids[20:28]) == set()
    assert store.hidden_among([]) == set()


def test_a_large_ingest_leaves_fresh_planner_statistics(tmp_path, database_url, db_backend):
    """Right after a bulk load the planner must know hidden papers are rare (it scanned 75k rows per search)."""
    import json

    from paperboy.store.ingest import ANALYZE_AFTER, Ingester

    src = tmp_path / "bulk.jsonl"
    src.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"2502.{i:05d}",
                    "title": f"Bulk paper {i}",
                    "authors": ["A. Author"],
                    "categories": ["cs.CL"],
                    "summary": "An abstract.",
                    "published": "2025-02-01",
                }
            )
            + "\n"
            for i in range(ANALYZE_AFTER)
        )
    )
    st = Store(database_url)
    try:
        [rep] = Ingester(st, 500).ingest_files([src])
        assert rep.added == ANALYZE_AFTER
        with st.engine.connect() as conn:
            if db_backend == "postgres":
                assert (
                    conn.exec_driver_sql(
                        "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'papers'"
                    ).scalar()
                    is not None
                )
                plan = "\n".join(
                    conn.exec_driver_sql(
                        "EXPLAIN SELECT id FROM papers WHERE hidden_at IS NOT NULL LIMIT 5001"
                    ).scalars()
                )
                assert "ix_papers_hidden_at" in plan, plan
            else:
                assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'papers'").scalar() > 0
    finally:
        st.close()


def test_the_hidden_paper_query_uses_its_index_even_without_statistics(open_store, db_backend):
    """A migration adds hidden_at without statistics; the query must not fall back to reading every row."""
    if db_backend != "postgres":
        pytest.skip("PostgreSQL's planner")
    store = open_store()
    store.upsert([(_paper(arxiv_id="2604.00001"), False)])
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # 20k copies of that row in one statement (ingesting them would take a while): the planner
        # reads a small table whole, rightly; the trap is a large one.
        conn.exec_driver_sql(
            "INSERT INTO papers SELECT (jsonb_populate_record(NULL::papers, to_jsonb(p) || jsonb_build_object("
            "'id', 'x' || g, 'arxiv_id', 'x' || g, 'seq', p.seq + g))).* "
            "FROM papers p, generate_series(1, 20000) g"
        )
        conn.exec_driver_sql("ANALYZE papers")  # table statistics, then none for the column: what a
        conn.exec_driver_sql(  # column added by a migration to a populated table looks like
            "DELETE FROM pg_statistic WHERE starelid = 'papers'::regclass AND staattnum = "
            "(SELECT attnum FROM pg_attribute WHERE attrelid = 'papers'::regclass AND attname = 'hidden_at')"
        )
    ran = []
    sa.event.listen(
        store.engine, "before_cursor_execute", lambda _c, _cur, stmt, params, *_a: ran.append((stmt, params))
    )
    assert store.hidden_among(["x1", "x2"]) == set()
    [(stmt, params)] = [r for r in ran if "hidden_at" in r[0]]
    with store.engine.connect() as conn:
        plan = "\n".join(conn.exec_driver_sql("EXPLAIN " + stmt, params).scalars())
        bare = "\n".join(
            conn.exec_driver_sql("EXPLAIN SELECT id FROM papers WHERE hidden_at IS NOT NULL LIMIT 5001").scalars()
        )
    assert "ix_papers_hidden_at" in plan, plan
    assert "Seq Scan" in bare, bare  # the form it replaced, which is what the ORDER BY protects against


def test_head_revision_read_from_the_files_is_alembics_head():
    """The fast check every store open makes agrees with Alembic's own view of the migrations."""
    from alembic.script import ScriptDirectory

    from paperboy.store.db import _alembic_config, head_revision

    assert head_revision() == ScriptDirectory.from_config(_alembic_config()).get_current_head()


def test_accounts_from_before_verification_keep_their_votes_counted(new_database_url):
    """Upgrading to email verification (0006) counts existing accounts as verified from their sign-up."""
    from datetime import datetime, timezone

    import sqlalchemy as sa
    from alembic import command

    from paperboy.store.db import _alembic_config, create_engine, migrate

    engine = create_engine(new_database_url())
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")  # the revision before 0006
    signed_up = datetime(2026, 5, 1, tzinfo=timezone.utc)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO users (email, password_hash, created_at) VALUES ('old@example.org', 'x', :t)"),
            {"t": signed_up},
        )
    migrate(engine)
    with engine.connect() as conn:
        verified = conn.execute(sa.text("SELECT verified_at FROM users WHERE email = 'old@example.org'")).scalar()
    engine.dispose()
    assert verified is not None
