"""interest profiles: named profiles per reader with their own ratings; existing libraries become default profiles"""
from alembic import op
import sqlalchemy as sa

from paperboy.store.migrations.ddl import TIMESTAMP, create_table, drop_tables, owned_by_reader, paper_id

revision = '0009'
down_revision = '0006'


def upgrade() -> None:
    owned_by_reader('profiles', 80,
        sa.Column('is_default', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('in_digest', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('created_at', TIMESTAMP, nullable=False),
    )
    create_table('profile_ratings',
        sa.Column('profile_id', sa.Integer(), nullable=False),
        paper_id(),
        sa.Column('rating', sa.SmallInteger(), nullable=False),
        sa.Column('origin', sa.String(length=16), nullable=False),
        sa.Column('created_at', TIMESTAMP, nullable=False),
        refs={'paper_id': 'papers', 'profile_id': 'profiles'}, primary_key=['profile_id', 'paper_id'],
        indexes=['paper_id'],
    )

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
    drop_tables('profile_ratings', 'profiles')
