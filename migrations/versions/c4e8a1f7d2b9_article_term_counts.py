"""knowledge-base search: how many articles hold each stem (article_term), kept as articles are
saved and deleted, so a search reads its words' document frequencies by key instead of counting
them over every matching article (most of a PostgreSQL search's time at 10,000 articles)

Revision ID: c4e8a1f7d2b9
Revises: b1d7e3f5a902
Create Date: 2026-11-29 18:55:00

"""
from collections import Counter

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c4e8a1f7d2b9'
down_revision = 'b1d7e3f5a902'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        'article_term',
        sa.Column('term', sa.String(length=100), nullable=False),
        sa.Column('articles', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('term'),
    )
    counts = Counter()
    for search_title, search_body in op.get_bind().execute(sa.text("SELECT search_title, search_body FROM article")):
        counts.update({term[:100] for term in f"{search_title} {search_body}".split()})
    if counts:
        op.bulk_insert(table, [{"term": term, "articles": n} for term, n in counts.items()])


def downgrade():
    op.drop_table('article_term')
