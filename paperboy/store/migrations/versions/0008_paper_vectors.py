"""paper vectors: embeddings per model in the store, shared by every node of a deployment"""
import sqlalchemy as sa

from paperboy.store.migrations.ddl import create_table, drop_tables, paper_id

revision = '0008'
down_revision = '0009'


def upgrade() -> None:
    create_table('paper_vectors',
        paper_id(),
        sa.Column('model', sa.String(length=200), nullable=False),
        sa.Column('dim', sa.Integer(), nullable=False),
        sa.Column('text_hash', sa.String(length=40), nullable=False),
        sa.Column('vector', sa.LargeBinary(), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        refs={'paper_id': 'papers'}, primary_key=['model', 'paper_id'], indexes=[('model', 'seq')],
    )


def downgrade() -> None:
    drop_tables('paper_vectors')
