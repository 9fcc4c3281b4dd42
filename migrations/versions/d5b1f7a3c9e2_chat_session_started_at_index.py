"""chat_session started_at index: a report's date range reads only its own chats

Revision ID: d5b1f7a3c9e2
Revises: c7a3e9f41d2b
Create Date: 2026-11-29 12:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd5b1f7a3c9e2'
down_revision = 'c7a3e9f41d2b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_chat_session_started_at', 'chat_session', ['started_at'])


def downgrade():
    op.drop_index('ix_chat_session_started_at', table_name='chat_session')
