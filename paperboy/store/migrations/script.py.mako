"""${message}"""
from alembic import op
import sqlalchemy as sa
${imports if imports else ""}
# Tables, keys and reference columns: build them with paperboy.store.migrations.ddl, which names
# constraints and indexes as paperboy.store.schema.metadata does.

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
