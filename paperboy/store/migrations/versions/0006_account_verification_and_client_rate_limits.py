"""accounts: email verification time, per-client-address events for sign-up and vote rate limits

Revision ID: 0006
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column without default: a plain ALTER TABLE ADD COLUMN on SQLite and PostgreSQL.
    # Accounts from before stay unverified: their votes count once their owner follows a link
    # (or an operator verifies them), as the abuse this closes is exactly unverified accounts voting.
    op.add_column('users', sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('client_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_events'))
    )
    op.create_index('ix_client_events_action_client_at', 'client_events', ['action', 'client', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_client_events_action_client_at', table_name='client_events')
    op.drop_table('client_events')
    op.drop_column('users', 'verified_at')
