"""knowledge base and bot: articles (searched through a full-text index), the bot's settings
per site, its part of a chat, unanswered questions, and what a message offers beside its text

SQLite: `article_fts`, an FTS5 table over article.search_title and search_body (stems made in
Python, knowledge_search.py) with the article table as its content, kept in step by triggers.
PostgreSQL: a GIN index over to_tsvector('simple', search_title || ' ' || search_body), the
expression knowledge_search.PG_VECTOR queries.

Revision ID: f3b9d1c7a5e2
Revises: e2a7c4f9b1d3
Create Date: 2026-11-29 14:40:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f3b9d1c7a5e2'
down_revision = 'e2a7c4f9b1d3'
branch_labels = None
depends_on = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE article_fts USING fts5(search_title, search_body, content='article', "
    "content_rowid='id', tokenize='unicode61')",
    "CREATE TRIGGER article_fts_insert AFTER INSERT ON article BEGIN "
    "INSERT INTO article_fts(rowid, search_title, search_body) VALUES (new.id, new.search_title, new.search_body); END",
    "CREATE TRIGGER article_fts_delete AFTER DELETE ON article BEGIN "
    "INSERT INTO article_fts(article_fts, rowid, search_title, search_body) "
    "VALUES ('delete', old.id, old.search_title, old.search_body); END",
    "CREATE TRIGGER article_fts_update AFTER UPDATE OF search_title, search_body ON article BEGIN "
    "INSERT INTO article_fts(article_fts, rowid, search_title, search_body) "
    "VALUES ('delete', old.id, old.search_title, old.search_body); "
    "INSERT INTO article_fts(rowid, search_title, search_body) VALUES (new.id, new.search_title, new.search_body); END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS article_fts_update",
    "DROP TRIGGER IF EXISTS article_fts_delete",
    "DROP TRIGGER IF EXISTS article_fts_insert",
    "DROP TABLE IF EXISTS article_fts",
]
POSTGRES_UP = [
    "CREATE INDEX ix_article_search ON article USING gin (to_tsvector('simple', search_title || ' ' || search_body))",
]


def upgrade():
    op.create_table(
        'article',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('tags', sa.String(length=500), server_default='', nullable=False),
        sa.Column('published', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('search_title', sa.Text(), server_default='', nullable=False),
        sa.Column('search_body', sa.Text(), server_default='', nullable=False),
        sa.Column('search_length', sa.Integer(), server_default='0', nullable=False),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_article_site_published', 'article', ['site_id', 'published'])
    op.create_table(
        'unanswered_question',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.String(length=36), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('asked_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['session_id'], ['chat_session.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_unanswered_question_site_asked', 'unanswered_question', ['site_id', 'asked_at'])
    with op.batch_alter_table('site') as batch:
        batch.add_column(sa.Column('bot_enabled', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column('bot_menu', sa.Text(), nullable=True))
        batch.add_column(sa.Column('business_hours', sa.Text(), nullable=True))
    with op.batch_alter_table('chat_session') as batch:
        batch.add_column(sa.Column('with_bot', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column('handoff_reason', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('bot_misses', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('bot_helped', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column('offline', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('message') as batch:
        batch.add_column(sa.Column('extras', sa.Text(), nullable=True))
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}.get(dialect, []):
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
    with op.batch_alter_table('message') as batch:
        batch.drop_column('extras')
    with op.batch_alter_table('chat_session') as batch:
        batch.drop_column('offline')
        batch.drop_column('bot_helped')
        batch.drop_column('bot_misses')
        batch.drop_column('handoff_reason')
        batch.drop_column('with_bot')
    with op.batch_alter_table('site') as batch:
        batch.drop_column('business_hours')
        batch.drop_column('bot_menu')
        batch.drop_column('bot_enabled')
    op.drop_index('ix_unanswered_question_site_asked', table_name='unanswered_question')
    op.drop_table('unanswered_question')
    op.drop_index('ix_article_site_published', table_name='article')
    op.drop_table('article')
