"""moderation: hidden papers, banned accounts, moderation log

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns without defaults: a plain ALTER TABLE ADD COLUMN on both SQLite and
    # PostgreSQL, no table rewrite, so this is quick even on a million papers.
    # op.add_column, not batch mode: a batch "move and copy" of papers would fire the ON DELETE
    # CASCADE of its child tables on SQLite.
    op.add_column('papers', sa.Column('hidden_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('papers', sa.Column('hidden_reason', sa.Text(), nullable=True))
    op.add_column('users', sa.Column('banned_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f('ix_papers_hidden_at'), 'papers', ['hidden_at'], unique=False)

    op.create_table('moderation_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_email', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('paper_id', sa.String(length=64), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('user_email', sa.String(length=254), nullable=True),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_moderation_log_actor_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_log'))
    )
    with op.batch_alter_table('moderation_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_moderation_log_at'), ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('moderation_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_moderation_log_at'))

    op.drop_table('moderation_log')
    # SQLite 3.35+ and PostgreSQL both drop a plain column in place.
    op.drop_index(op.f('ix_papers_hidden_at'), table_name='papers')
    op.drop_column('users', 'banned_at')
    op.drop_column('papers', 'hidden_reason')
    op.drop_column('papers', 'hidden_at')
