"""accounts: email verification time, per-client-address events for sign-up and vote rate limits"""
from alembic import op
import sqlalchemy as sa

from paperboy.store.migrations.ddl import TIMESTAMP, create_table, drop_tables, key

revision = '0006'
down_revision = '0007'


def upgrade() -> None:
    # A nullable column without default: a plain ALTER TABLE ADD COLUMN on SQLite and PostgreSQL.
    op.add_column('users', sa.Column('verified_at', TIMESTAMP, nullable=True))
    # Accounts from before the upgrade keep their votes counted (verified as of their sign-up):
    # an upgrade must not wipe an instance's community signal overnight. New accounts verify by
    # email; an operator who suspects old stuffed accounts bans them from /admin.
    op.execute("UPDATE users SET verified_at = created_at")
    create_table('client_events',
        key(),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('client', sa.String(length=64), nullable=False),
        sa.Column('at', TIMESTAMP, nullable=False),
        indexes=[('action', 'client', 'at')],
    )


def downgrade() -> None:
    drop_tables('client_events')
    op.drop_column('users', 'verified_at')
