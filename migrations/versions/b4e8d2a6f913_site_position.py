"""site position: which bottom corner the launcher sits in

Revision ID: b4e8d2a6f913
Revises: 9a1f3c5e7b20
Create Date: 2026-11-29 09:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b4e8d2a6f913'
down_revision = '9a1f3c5e7b20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('position', sa.String(length=12), nullable=False,
                                      server_default='bottom-right'))


def downgrade():
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_column('position')
