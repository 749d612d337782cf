"""discussions (threaded comments, opt-in comment emails) and collections of papers"""
from alembic import op
import sqlalchemy as sa

from paperboy.store.migrations.ddl import TIMESTAMP, columns, create_table, drop_tables, key, owned_by_reader, paper_id, user_id

revision = '0010'
down_revision = '0005'


def upgrade() -> None:
    # A NOT NULL column with a constant default: a plain ADD COLUMN on SQLite and PostgreSQL alike.
    op.add_column('subscriptions', sa.Column('comment_emails', sa.Boolean(), server_default=sa.false(), nullable=False))
    create_table('comments',
        key(),
        paper_id(),
        user_id(),
        sa.Column('parent_id', sa.Integer(), nullable=True),
        sa.Column('depth', sa.Integer(), server_default='0', nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', TIMESTAMP, nullable=False),
        *columns(TIMESTAMP, 'edited_at', 'deleted_at', 'hidden_at'),
        sa.Column('hidden_reason', sa.Text(), nullable=True),
        refs={'paper_id': 'papers', 'user_id': 'users'}, indexes=['paper_id', 'user_id', 'created_at'],
    )
    owned_by_reader('collections', 200,
        sa.Column('description', sa.Text(), server_default='', nullable=False),
        sa.Column('public', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('created_at', TIMESTAMP, nullable=False),
        sa.Column('updated_at', TIMESTAMP, nullable=False),
    )
    create_table('collection_items',
        sa.Column('collection_id', sa.Integer(), nullable=False),
        paper_id(),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('added_at', TIMESTAMP, nullable=False),
        refs={'collection_id': 'collections', 'paper_id': 'papers'}, primary_key=['collection_id', 'paper_id'],
        indexes=['paper_id'],
    )


def downgrade() -> None:
    drop_tables('collection_items', 'collections', 'comments')
    op.drop_column('subscriptions', 'comment_emails')
