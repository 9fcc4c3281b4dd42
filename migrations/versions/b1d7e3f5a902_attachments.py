"""attachments: files attached to messages (issue 15), and each site's allowed kinds of file

Revision ID: b1d7e3f5a902
Revises: a9e4c2d8b6f1
Create Date: 2026-11-29 18:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b1d7e3f5a902'
down_revision = 'a9e4c2d8b6f1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'attachment',
        sa.Column('id', sa.String(length=36), primary_key=True),
        sa.Column('session_id', sa.String(length=36), sa.ForeignKey('chat_session.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('message_id', sa.Integer(), sa.ForeignKey('message.id', ondelete='SET NULL')),
        sa.Column('uploaded_by_type', sa.String(length=10), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer()),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('width', sa.Integer()),
        sa.Column('height', sa.Integer()),
        sa.Column('thumbnail_type', sa.String(length=20)),
        sa.Column('created_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_attachment_session_created', 'attachment', ['session_id', 'created_at'])
    op.create_index('ix_attachment_message', 'attachment', ['message_id'])
    with op.batch_alter_table('site') as batch:
        batch.add_column(sa.Column('attachment_types', sa.String(length=100), nullable=False,
                                   server_default='images pdf office audio video'))


def downgrade():
    with op.batch_alter_table('site') as batch:
        batch.drop_column('attachment_types')
    op.drop_index('ix_attachment_message', table_name='attachment')
    op.drop_index('ix_attachment_session_created', table_name='attachment')
    op.drop_table('attachment')
