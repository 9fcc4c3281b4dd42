"""agents answer the visitors of their sites

Revision ID: 3c1f0a9d7e21
Revises: 6ba839479335
Create Date: 2026-11-29 04:40:00

Every agent that exists when this runs keeps answering every site that exists then.
"""
from alembic import op
import sqlalchemy as sa


revision = '3c1f0a9d7e21'
down_revision = '6ba839479335'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('agent_site',
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('agent_id', 'site_id')
    )
    op.execute("INSERT INTO agent_site (agent_id, site_id) SELECT agent.id, site.id FROM agent CROSS JOIN site")


def downgrade():
    op.drop_table('agent_site')
