"""ingest runs: owner host/pid and heartbeat, to mark runs whose process was killed"""
from alembic import op
import sqlalchemy as sa

from paperboy.store.migrations.ddl import TIMESTAMP

revision = '0005'
down_revision = '0004'


def upgrade() -> None:
    # Nullable columns without defaults: a plain ALTER TABLE ADD COLUMN on SQLite and PostgreSQL.
    # Rows from before have none of them; the age rule (started_at) still closes them.
    with op.batch_alter_table('ingest_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('host', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('pid', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', TIMESTAMP, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('ingest_runs', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('pid')
        batch_op.drop_column('host')
