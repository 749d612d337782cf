"""harvest: watermarks per source and set, instance settings (followed categories), Hugging Face extras"""
import sqlalchemy as sa

from paperboy.store.migrations.ddl import EMAIL, TIMESTAMP, columns, create_table, drop_tables, paper_id

revision = '0007'
down_revision = '0010'


def upgrade() -> None:
    create_table('harvest_state',
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('scope', sa.String(length=64), nullable=False),
        sa.Column('watermark', sa.Date(), nullable=True),
        sa.Column('resume_token', sa.Text(), nullable=True),
        *columns(sa.Date(), 'resume_from', 'resume_until'),
        *columns(TIMESTAMP, 'last_attempt_at', 'last_success_at'),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('last_error_at', TIMESTAMP, nullable=True),
        primary_key=['source', 'scope'],
    )
    create_table('instance_settings',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('value', sa.JSON(), nullable=False),
        sa.Column('updated_at', TIMESTAMP, nullable=False),
        sa.Column('updated_by', EMAIL, nullable=True),
        primary_key=['key'],
    )
    create_table('hf_extras',
        paper_id(),
        sa.Column('ai_summary', sa.Text(), nullable=True),
        sa.Column('ai_keywords', sa.JSON(), nullable=True),
        sa.Column('updated_at', TIMESTAMP, nullable=False),
        refs={'paper_id': 'papers'}, primary_key=['paper_id'],
    )


def downgrade() -> None:
    drop_tables('hf_extras', 'instance_settings', 'harvest_state')
