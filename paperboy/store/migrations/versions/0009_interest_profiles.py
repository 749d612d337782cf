"""interest profiles: named profiles per reader with their own ratings; existing libraries become default profiles

Revision ID: 0009
Revises: 0006 (main's head when rebased; the lead re-chains at merge)
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('profiles',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('is_default', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('in_digest', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_profiles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_profiles')),
    sa.UniqueConstraint('user_id', 'name', name=op.f('uq_profiles_user_id'))
    )
    with op.batch_alter_table('profiles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_profiles_user_id'), ['user_id'], unique=False)

    op.create_table('profile_ratings',
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('paper_id', sa.String(length=64), nullable=False),
    sa.Column('rating', sa.SmallInteger(), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['paper_id'], ['papers.id'], name=op.f('fk_profile_ratings_paper_id_papers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_profile_ratings_profile_id_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('profile_id', 'paper_id', name=op.f('pk_profile_ratings'))
    )
    with op.batch_alter_table('profile_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_profile_ratings_paper_id'), ['paper_id'], unique=False)

    # saved_searches has no child tables, so batch mode's copy-and-move (needed for a new foreign key
    # on SQLite) cascades nothing.
    with op.batch_alter_table('saved_searches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('profile_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_saved_searches_profile_id'), ['profile_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_saved_searches_profile_id_profiles'), 'profiles',
                                    ['profile_id'], ['id'], ondelete='CASCADE')

    # Every reader with a library or marks gets a default profile holding them: upvoted and saved
    # papers as thumbs up, "not interested" marks as thumbs down (a mark wins over a vote).
    op.execute("""
        INSERT INTO profiles (user_id, name, is_default, in_digest, created_at)
        SELECT u.id, 'My interests', TRUE, TRUE, CURRENT_TIMESTAMP FROM users u
        WHERE EXISTS (SELECT 1 FROM votes v WHERE v.user_id = u.id)
           OR EXISTS (SELECT 1 FROM saved_papers s WHERE s.user_id = u.id)
           OR EXISTS (SELECT 1 FROM not_interested n WHERE n.user_id = u.id)
    """)
    op.execute("""
        INSERT INTO profile_ratings (profile_id, paper_id, rating, origin, created_at)
        SELECT p.id, n.paper_id, -1, 'library', n.created_at
        FROM not_interested n JOIN profiles p ON p.user_id = n.user_id AND p.is_default
    """)
    for table in ('saved_papers', 'votes'):
        op.execute(f"""
            INSERT INTO profile_ratings (profile_id, paper_id, rating, origin, created_at)
            SELECT p.id, t.paper_id, 1, 'library', MIN(t.created_at)
            FROM {table} t JOIN profiles p ON p.user_id = t.user_id AND p.is_default
            WHERE NOT EXISTS (SELECT 1 FROM profile_ratings r WHERE r.profile_id = p.id AND r.paper_id = t.paper_id)
            GROUP BY p.id, t.paper_id
        """)


def downgrade() -> None:
    with op.batch_alter_table('saved_searches', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_saved_searches_profile_id_profiles'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_saved_searches_profile_id'))
        batch_op.drop_column('profile_id')
    with op.batch_alter_table('profile_ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_profile_ratings_paper_id'))
    op.drop_table('profile_ratings')
    with op.batch_alter_table('profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_profiles_user_id'))
    op.drop_table('profiles')
