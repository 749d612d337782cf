"""digest subscriptions, outbox, not-interested marks"""
import sqlalchemy as sa

from paperboy.store.migrations.ddl import EMAIL, TIMESTAMP, counters, create_table, drop_tables, key, reader_marks, required, user_id

revision = '0003'
down_revision = '0002'


def upgrade() -> None:
    reader_marks('not_interested')
    create_table('subscriptions',
        key(),
        sa.Column('email', EMAIL, nullable=False),
        user_id(nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('frequency', sa.String(length=8), nullable=False),
        *required(sa.Integer(), 'send_hour', 'weekday'),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        *required(sa.Boolean(), 'include_trending', 'include_searches', 'include_recommended'),
        *required(sa.JSON(), 'categories', 'authors'),
        sa.Column('nonce', sa.String(length=32), nullable=False),
        *counters('bounces'),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', TIMESTAMP, nullable=False),
        sa.Column('confirmed_at', TIMESTAMP, nullable=True),
        sa.Column('updated_at', TIMESTAMP, nullable=False),
        refs={'user_id': 'users'}, set_null=['user_id'], unique=['email'], indexes=['state', 'user_id'],
    )
    create_table('digest_outbox',
        key(),
        sa.Column('subscription_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('period', sa.String(length=40), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        *counters('attempts'),
        sa.Column('next_attempt_at', TIMESTAMP, nullable=False),
        sa.Column('claimed_by', sa.String(length=200), nullable=True),
        sa.Column('claimed_at', TIMESTAMP, nullable=True),
        sa.Column('message_id', sa.String(length=255), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        *required(TIMESTAMP, 'created_at', 'updated_at'),
        sa.Column('sent_at', TIMESTAMP, nullable=True),
        refs={'subscription_id': 'subscriptions'}, unique=['subscription_id', 'period'], indexes=['state'],
    )


def downgrade() -> None:
    drop_tables('digest_outbox', 'subscriptions', 'not_interested')
