"""history: ix_message_sender on message(sender_type, sender_id, private, session_id): the
chats an agent wrote in count public messages only, read from the index alone

Revision ID: a7c2e9d4f1b6
Revises: f3b9d1c7a5e2
Create Date: 2026-11-29 15:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a7c2e9d4f1b6'
down_revision = 'f3b9d1c7a5e2'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_message_sender', table_name='message')
    op.create_index('ix_message_sender', 'message', ['sender_type', 'sender_id', 'private', 'session_id'])


def downgrade():
    op.drop_index('ix_message_sender', table_name='message')
    op.create_index('ix_message_sender', 'message', ['sender_type', 'sender_id', 'session_id'])
