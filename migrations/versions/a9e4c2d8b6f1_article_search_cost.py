"""knowledge-base search cost: PostgreSQL keeps each article's tsvector in a stored generated
column (search_vector, GIN-indexed, in the row rather than in TOAST) instead of computing
to_tsvector for every matching row at each search; an index on article.search_length serves the average length BM25 needs (SQLite
read every article's whole row for it)

Revision ID: a9e4c2d8b6f1
Revises: a7c2e9d4f1b6
Create Date: 2026-11-29 15:15:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a9e4c2d8b6f1'
down_revision = 'a7c2e9d4f1b6'
branch_labels = None
depends_on = None

POSTGRES_UP = [
    # Kept in the row (compressed) rather than out of line: a search reads it for every match.
    "ALTER TABLE article ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', search_title || ' ' || search_body)) STORED, "
    "ALTER COLUMN search_vector SET STORAGE MAIN",
    "DROP INDEX IF EXISTS ix_article_search",
    "CREATE INDEX ix_article_search ON article USING gin (search_vector)",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_article_search",
    "ALTER TABLE article DROP COLUMN IF EXISTS search_vector",
    "CREATE INDEX ix_article_search ON article USING gin (to_tsvector('simple', search_title || ' ' || search_body))",
]


def upgrade():
    op.create_index('ix_article_search_length', 'article', ['search_length'])
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_UP:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_DOWN:
            op.execute(statement)
    op.drop_index('ix_article_search_length', table_name='article')
