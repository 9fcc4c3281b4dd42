"""channels: a site's WhatsApp and LINE accounts, the outbox of messages on their way to a
phone, the provider events already taken, a contact's channel id and 24-hour window on the
visitor, and a message's delivery state

Revision ID: d5f2a8c3e6b1
Revises: c4e8a1f7d2b9
Create Date: 2026-11-29 21:10:00

"""
import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd5f2a8c3e6b1'
down_revision = 'c4e8a1f7d2b9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'channel_account',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('external_id', sa.String(length=64), nullable=False),
        sa.Column('display_name', sa.String(length=120), nullable=True),
        sa.Column('business_account_id', sa.String(length=64), nullable=True),
        sa.Column('access_token', sa.Text(), nullable=False),
        sa.Column('signing_secret', sa.String(length=256), nullable=False),
        sa.Column('verify_token', sa.String(length=256), nullable=True),
        sa.Column('api_base', sa.String(length=500), nullable=True),
        sa.Column('templates', sa.Text(), nullable=True),
        sa.Column('templates_synced_at', sa.DateTime(), nullable=True),
        sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('site_id', 'channel', name='uq_channel_account_site_channel'),
        sa.UniqueConstraint('channel', 'external_id', name='uq_channel_account_external'),
    )
    op.create_table(
        'channel_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.String(length=36), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('recipient', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('lease_until', sa.DateTime(), nullable=True),
        sa.Column('provider_message_id', sa.String(length=128), nullable=True),
        sa.Column('retry_key', sa.String(length=36), nullable=False),
        sa.Column('error_code', sa.String(length=20), nullable=True),
        sa.Column('error_text', sa.String(length=300), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['message_id'], ['message.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['session_id'], ['chat_session.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['account_id'], ['channel_account.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_id', name='uq_channel_outbox_message'),
    )
    op.create_index('ix_channel_outbox_due', 'channel_outbox', ['state', 'next_attempt_at'])
    op.create_index('ix_channel_outbox_session', 'channel_outbox', ['session_id', 'id'])
    op.create_index('ix_channel_outbox_provider_id', 'channel_outbox', ['channel', 'provider_message_id'])
    op.create_table(
        'channel_event',
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('event_id', sa.String(length=128), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('contact', sa.String(length=64), nullable=True),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('processed_at', sa.DateTime(), nullable=True),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['channel_account.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('channel', 'event_id'),
    )
    op.create_index('ix_channel_event_unprocessed', 'channel_event', ['processed_at', 'received_at'])
    with op.batch_alter_table('visitor') as batch:
        batch.add_column(sa.Column('channel', sa.String(length=20), server_default='web', nullable=False))
        batch.add_column(sa.Column('external_id', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('last_inbound_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('reply_token', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('reply_token_at', sa.DateTime(), nullable=True))
    # An index, not a table constraint: SQLite would rebuild the table for a constraint, and the
    # rebuild drops the triggers that keep visitor_fts (History's visitor search) up to date.
    op.create_index('uq_visitor_channel_contact', 'visitor', ['site_id', 'channel', 'external_id'], unique=True)
    with op.batch_alter_table('message') as batch:
        batch.add_column(sa.Column('delivery_state', sa.String(length=10), nullable=True))
        batch.add_column(sa.Column('delivery_error', sa.String(length=300), nullable=True))


def search_triggers_again():
    """SQLite rebuilds a table to drop its columns, and the rebuild drops the triggers that keep
    message_fts and visitor_fts up to date (made by d4f8b2c6a1e3): make them again."""
    if op.get_bind().dialect.name != "sqlite":
        return
    path = Path(__file__).with_name("d4f8b2c6a1e3_message_search.py")
    spec = importlib.util.spec_from_file_location("message_search_migration", path)
    search = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(search)
    for statement in search.SQLITE_UP:
        if statement.startswith("CREATE TRIGGER"):
            op.execute(statement.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS", 1))
        elif "'rebuild'" in statement:
            op.execute(statement)


def downgrade():
    with op.batch_alter_table('message') as batch:
        batch.drop_column('delivery_error')
        batch.drop_column('delivery_state')
    op.drop_index('uq_visitor_channel_contact', table_name='visitor')
    with op.batch_alter_table('visitor') as batch:
        batch.drop_column('reply_token_at')
        batch.drop_column('reply_token')
        batch.drop_column('last_inbound_at')
        batch.drop_column('external_id')
        batch.drop_column('channel')
    op.drop_index('ix_channel_event_unprocessed', table_name='channel_event')
    op.drop_table('channel_event')
    op.drop_index('ix_channel_outbox_provider_id', table_name='channel_outbox')
    op.drop_index('ix_channel_outbox_session', table_name='channel_outbox')
    op.drop_index('ix_channel_outbox_due', table_name='channel_outbox')
    op.drop_table('channel_outbox')
    op.drop_table('channel_account')
    search_triggers_again()
