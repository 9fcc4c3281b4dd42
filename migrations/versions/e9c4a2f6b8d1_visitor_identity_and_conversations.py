"""visitor identity and conversations: a browser's long-lived visitor token, each site's
identity secret (verified user ids), and a conversation's title, how far its visitor has read
it and when the visitor closed it

Revision ID: e9c4a2f6b8d1
Revises: d5f2a8c3e6b1
Create Date: 2026-11-30 05:00:00

"""
import secrets

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e9c4a2f6b8d1'
down_revision = 'd5f2a8c3e6b1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'visitor_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('visitor_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_used_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['visitor_id'], ['visitor.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_visitor_token_visitor', 'visitor_token', ['visitor_id'])
    with op.batch_alter_table('site') as batch:
        batch.add_column(sa.Column('identity_secret', sa.String(length=64), nullable=True))
    site = sa.table('site', sa.column('id', sa.Integer), sa.column('identity_secret', sa.String))
    connection = op.get_bind()
    for (site_id,) in connection.execute(sa.select(site.c.id)).all():
        connection.execute(site.update().where(site.c.id == site_id).values(identity_secret=secrets.token_hex(32)))
    with op.batch_alter_table('site') as batch:
        batch.alter_column('identity_secret', existing_type=sa.String(length=64), nullable=False)
    with op.batch_alter_table('chat_session') as batch:
        batch.add_column(sa.Column('title', sa.String(length=80), nullable=True))
        batch.add_column(sa.Column('visitor_read_seq', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('visitor_closed_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('chat_session') as batch:
        batch.drop_column('visitor_closed_at')
        batch.drop_column('visitor_read_seq')
        batch.drop_column('title')
    with op.batch_alter_table('site') as batch:
        batch.drop_column('identity_secret')
    op.drop_index('ix_visitor_token_visitor', table_name='visitor_token')
    op.drop_table('visitor_token')
