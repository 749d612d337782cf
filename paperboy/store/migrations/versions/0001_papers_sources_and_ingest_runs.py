"""papers, sources and ingest runs"""
import sqlalchemy as sa

from paperboy.store.migrations.ddl import PAPER_ID, TIMESTAMP, columns, counters, create_table, drop_tables, key, paper_id, required

revision = '0001'
down_revision = None


def upgrade() -> None:
    create_table('ingest_runs',
        key(),
        *required(sa.Text(), 'source', 'inputs'),
        sa.Column('started_at', TIMESTAMP, nullable=False),
        sa.Column('finished_at', TIMESTAMP, nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        *counters('added', 'updated', 'unchanged', 'rejected', 'duplicates'),
        sa.Column('message', sa.Text(), nullable=True),
    )
    create_table('papers',
        sa.Column('id', PAPER_ID, nullable=False),
        sa.Column('arxiv_id', PAPER_ID, nullable=True),
        sa.Column('version', sa.Integer(), nullable=True),
        *required(sa.Text(), 'title', 'title_key'),
        sa.Column('first_author_key', sa.String(length=200), server_default='', nullable=False),
        sa.Column('abstract', sa.Text(), server_default='', nullable=False),
        *required(sa.JSON(), 'authors', 'categories'),
        sa.Column('primary_category', sa.String(length=64), nullable=True),
        *columns(sa.Date(), 'published', 'updated', 'listed'),
        *columns(sa.Text(), 'comment', 'doi', 'journal_ref', 'abs_url', 'pdf_url', 'code_url', 'project_url'),
        sa.Column('upvotes', sa.Integer(), nullable=True),
        sa.Column('submitted_by', sa.Text(), nullable=True),
        sa.Column('github_stars', sa.Integer(), nullable=True),
        *counters('meta_priority'),
        sa.Column('content_hash', sa.String(length=40), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        *required(TIMESTAMP, 'created_at', 'modified_at'),
        unique=['arxiv_id'],
        indexes=['listed', 'primary_category', 'seq', 'title_key'],
    )
    create_table('paper_authors',
        paper_id(),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('name_key', sa.String(length=200), nullable=False),
        refs={'paper_id': 'papers'}, primary_key=['paper_id', 'position'], indexes=['name_key'],
    )
    create_table('paper_categories',
        paper_id(),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=64), nullable=False),
        refs={'paper_id': 'papers'}, primary_key=['paper_id', 'position'], indexes=['category'],
    )
    create_table('paper_sources',
        paper_id(),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('source_ref', sa.Text(), nullable=True),
        sa.Column('first_seen', TIMESTAMP, nullable=False),
        refs={'paper_id': 'papers'}, primary_key=['paper_id', 'source'],
    )


def downgrade() -> None:
    drop_tables('paper_sources', 'paper_categories', 'paper_authors', 'papers', 'ingest_runs')
