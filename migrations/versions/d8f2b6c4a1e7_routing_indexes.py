"""routing: indexes for a site's queue order and its recent claims (queue position, wait estimate)

Revision ID: d8f2b6c4a1e7
Revises: d4f8b2c6a1e3
Create Date: 2026-11-29 11:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd8f2b6c4a1e7'
down_revision = 'd4f8b2c6a1e3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_chat_session_site_status_queued', 'chat_session', ['site_id', 'status', 'queued_at'])
    op.create_index('ix_chat_session_site_claimed', 'chat_session', ['site_id', 'claimed_at'])


def downgrade():
    op.drop_index('ix_chat_session_site_claimed', table_name='chat_session')
    op.drop_index('ix_chat_session_site_status_queued', table_name='chat_session')
