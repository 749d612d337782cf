"""harvest: watermarks per source and set, instance settings (followed categories), Hugging Face extras

Revision ID: 0007
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('harvest_state',
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('watermark', sa.Date(), nullable=True),
    sa.Column('resume_token', sa.Text(), nullable=True),
    sa.Column('resume_from', sa.Date(), nullable=True),
    sa.Column('resume_until', sa.Date(), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('source', 'scope', name=op.f('pk_harvest_state'))
    )
    op.create_table('instance_settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=254), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_instance_settings'))
    )
    op.create_table('hf_extras',
    sa.Column('paper_id', sa.String(length=64), nullable=False),
    sa.Column('ai_summary', sa.Text(), nullable=True),
    sa.Column('ai_keywords', sa.JSON(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['paper_id'], ['papers.id'], name=op.f('fk_hf_extras_paper_id_papers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('paper_id', name=op.f('pk_hf_extras'))
    )


def downgrade() -> None:
    op.drop_table('hf_extras')
    op.drop_table('instance_settings')
    op.drop_table('harvest_state')
