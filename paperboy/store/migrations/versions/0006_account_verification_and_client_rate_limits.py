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
    op.add_column('users', sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True))
    # Accounts from before the upgrade keep their votes counted (verified as of their sign-up):
    # an upgrade must not wipe an instance's community signal overnight. New accounts verify by
    # email; an operator who suspects old stuffed accounts bans them from /admin.
    op.execute("UPDATE users SET verified_at = created_at")
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
