"""team work: private notes, capacity, routing, canned replies, the visitor's time zone,
when a chat joined the queue, its first reply and how often it was restored

Revision ID: c7a3e9f41d2b
Revises: b4e8d2a6f913
Create Date: 2026-11-29 11:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c7a3e9f41d2b'
down_revision = 'b4e8d2a6f913'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('private', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_chats', sa.Integer(), nullable=False, server_default='5'))
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('routing', sa.String(length=10), nullable=False, server_default='manual'))
    with op.batch_alter_table('visitor', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64)))
    with op.batch_alter_table('chat_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('queued_at', sa.DateTime()))
        batch_op.add_column(sa.Column('first_response_at', sa.DateTime()))
        batch_op.add_column(sa.Column('restored_count', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE chat_session SET queued_at = started_at")
    op.create_table(
        'canned_response',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('agent_id', sa.Integer(), sa.ForeignKey('agent.id', ondelete='CASCADE')),
        sa.Column('shortcut', sa.String(length=40), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_canned_response_agent', 'canned_response', ['agent_id'])


def downgrade():
    op.drop_index('ix_canned_response_agent', table_name='canned_response')
    op.drop_table('canned_response')
    with op.batch_alter_table('chat_session', schema=None) as batch_op:
        batch_op.drop_column('restored_count')
        batch_op.drop_column('first_response_at')
        batch_op.drop_column('queued_at')
    with op.batch_alter_table('visitor', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_column('routing')
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.drop_column('max_chats')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('private')
