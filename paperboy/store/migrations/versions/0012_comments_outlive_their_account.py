"""comments outlive their account: comments.user_id may be NULL (a deleted account's "[deleted]" comments)

Revision ID: 0012
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM comments WHERE user_id IS NULL")
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
