"""history: an index on message(sender_type, sender_id, session_id), the chats an agent wrote in

Revision ID: e2a7c4f9b1d3
Revises: d8f2b6c4a1e7
Create Date: 2026-11-29 13:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e2a7c4f9b1d3'
down_revision = 'd8f2b6c4a1e7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_message_sender', 'message', ['sender_type', 'sender_id', 'session_id'])


def downgrade():
    op.drop_index('ix_message_sender', table_name='message')
