"""moderation: hidden papers, banned accounts, moderation log"""
from alembic import op
import sqlalchemy as sa

from paperboy.store.migrations.ddl import EMAIL, PAPER_ID, TIMESTAMP, create_index, create_table, drop_index, drop_tables, key

revision = '0004'
down_revision = '0003'


def upgrade() -> None:
    # Nullable columns without defaults: a plain ALTER TABLE ADD COLUMN on both SQLite and
    # PostgreSQL, no table rewrite, so this is quick even on a million papers.
    # op.add_column, not batch mode: a batch "move and copy" of papers would fire the ON DELETE
    # CASCADE of its child tables on SQLite.
    op.add_column('papers', sa.Column('hidden_at', TIMESTAMP, nullable=True))
    op.add_column('papers', sa.Column('hidden_reason', sa.Text(), nullable=True))
    op.add_column('users', sa.Column('banned_at', TIMESTAMP, nullable=True))
    create_index('papers', 'hidden_at')
    create_table('moderation_log',
        key(),
        sa.Column('at', TIMESTAMP, nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor_email', EMAIL, nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('paper_id', PAPER_ID, nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('user_email', EMAIL, nullable=True),
        sa.Column('reason', sa.Text(), server_default='', nullable=False),
        sa.Column('detail', sa.Text(), nullable=True),
        refs={'actor_id': 'users'}, set_null=['actor_id'], indexes=['at'],
    )


def downgrade() -> None:
    drop_tables('moderation_log')
    # SQLite 3.35+ and PostgreSQL both drop a plain column in place.
    drop_index('papers', 'hidden_at')
    op.drop_column('users', 'banned_at')
    op.drop_column('papers', 'hidden_reason')
    op.drop_column('papers', 'hidden_at')
