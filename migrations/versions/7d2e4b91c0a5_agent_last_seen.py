"""agent last seen: when a dashboard of the agent was last known to be connected

Revision ID: 7d2e4b91c0a5
Revises: 3c9e5a7d21f4
Create Date: 2026-11-29 09:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d2e4b91c0a5'
down_revision = '3c9e5a7d21f4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.drop_column('last_seen_at')
