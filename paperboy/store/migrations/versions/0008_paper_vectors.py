"""paper vectors: embeddings per model in the store, shared by every node of a deployment

Revision ID: 0008
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'paper_vectors',
        sa.Column('paper_id', sa.String(length=64), nullable=False),
        sa.Column('model', sa.String(length=200), nullable=False),
        sa.Column('dim', sa.Integer(), nullable=False),
        sa.Column('text_hash', sa.String(length=40), nullable=False),
        sa.Column('vector', sa.LargeBinary(), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['paper_id'], ['papers.id'], name=op.f('fk_paper_vectors_paper_id_papers'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('model', 'paper_id', name=op.f('pk_paper_vectors')),
    )
    op.create_index('ix_paper_vectors_model_seq', 'paper_vectors', ['model', 'seq'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_paper_vectors_model_seq', table_name='paper_vectors')
    op.drop_table('paper_vectors')
