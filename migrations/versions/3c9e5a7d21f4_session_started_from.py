"""session started_from: a keyed hash of the address that started the chat

Revision ID: 3c9e5a7d21f4
Revises: e6139c22ebc4
Create Date: 2026-11-29 04:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3c9e5a7d21f4'
down_revision = 'e6139c22ebc4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('chat_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('started_from', sa.String(length=32), nullable=True))
        batch_op.create_index('ix_chat_session_started_from_status', ['started_from', 'status'], unique=False)


def downgrade():
    with op.batch_alter_table('chat_session', schema=None) as batch_op:
        batch_op.drop_index('ix_chat_session_started_from_status')
        batch_op.drop_column('started_from')
