"""users, sessions, votes, saved papers and searches, submissions, login failures"""
import sqlalchemy as sa

from paperboy.store.migrations.ddl import EMAIL, PAPER_ID, TIMESTAMP, create_table, drop_tables, key, paper_id, reader_marks, required, user_id

revision = '0002'
down_revision = '0001'


def upgrade() -> None:
    create_table('login_failures',
        key(),
        sa.Column('email', EMAIL, nullable=False),
        sa.Column('client', sa.String(length=64), nullable=False),
        sa.Column('at', TIMESTAMP, nullable=False),
        indexes=['email'],
    )
    create_table('users',
        key(),
        sa.Column('email', EMAIL, nullable=False),
        sa.Column('password_hash', sa.Text(), nullable=False),
        sa.Column('created_at', TIMESTAMP, nullable=False),
        unique=['email'],
    )
    reader_marks('saved_papers')
    create_table('saved_searches',
        key(),
        user_id(),
        sa.Column('query', sa.Text(), nullable=False),
        sa.Column('filters', sa.JSON(), nullable=False),
        sa.Column('created_at', TIMESTAMP, nullable=False),
        refs={'user_id': 'users'}, indexes=['user_id'],
    )
    create_table('sessions',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        user_id(),
        *required(TIMESTAMP, 'created_at', 'expires_at'),
        refs={'user_id': 'users'}, primary_key=['token_hash'], indexes=['user_id'],
    )
    create_table('submissions',
        key(),
        sa.Column('arxiv_id', PAPER_ID, nullable=False),
        user_id(nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('message', sa.Text(), nullable=True),
        paper_id(nullable=True),
        *required(TIMESTAMP, 'created_at', 'updated_at'),
        refs={'user_id': 'users'}, set_null=['user_id'], indexes=['state', 'user_id'],
    )
    reader_marks('votes', indexes=['paper_id'])


def downgrade() -> None:
    drop_tables('votes', 'submissions', 'sessions', 'saved_searches', 'saved_papers', 'users', 'login_failures')
