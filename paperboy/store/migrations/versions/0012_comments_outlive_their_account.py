"""comments outlive their account: comments.user_id may be NULL (a deleted account's "[deleted]" comments)

Revision ID: 0012
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0008'
branch_labels = depends_on = None


def _user_id_nullable(nullable: bool) -> None:
    # batch mode: SQLite rebuilds the table (it cannot alter a column in place)
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=nullable)


def upgrade() -> None:
    _user_id_nullable(True)


def downgrade() -> None:
    op.execute("DELETE FROM comments WHERE user_id IS NULL")
    _user_id_nullable(False)
