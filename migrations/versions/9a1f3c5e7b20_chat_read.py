"""chat read: how far each agent has read each chat (unread badges)

Revision ID: 9a1f3c5e7b20
Revises: 7d2e4b91c0a5
Create Date: 2026-11-29 09:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9a1f3c5e7b20'
down_revision = '7d2e4b91c0a5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'chat_read',
        sa.Column('agent_id', sa.Integer(), sa.ForeignKey('agent.id', ondelete='CASCADE'), nullable=False),
        sa.Column('session_id', sa.String(length=36), sa.ForeignKey('chat_session.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('last_read_seq', sa.Integer(), nullable=False, server_default='0'),
        sa.PrimaryKeyConstraint('agent_id', 'session_id'),
    )


def downgrade():
    op.drop_table('chat_read')
