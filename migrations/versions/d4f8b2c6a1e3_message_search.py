"""history search: a full-text index over message text (SQLite FTS5, PostgreSQL GIN), chats by visitor

SQLite: `message_fts`, an FTS5 table over message.text with the message table as its
content, kept in step by triggers (so the fixed SQL that stores messages is untouched);
`remove_diacritics 2` makes "cafe" find "café".
`visitor_fts`, a trigram FTS5 table over the visitor's name and email, answers LIKE '%text%'.
PostgreSQL: the `unaccent` extension (contrib, a trusted extension since PostgreSQL 13),
an immutable wrapper `chat_unaccent(text)` (unaccent itself is only stable) and a GIN
index on to_tsvector('simple', chat_unaccent(text)); `pg_trgm` GIN indexes on lower(name)
and lower(email) for LIKE '%text%'. history_search.py queries the same expressions.

Revision ID: d4f8b2c6a1e3
Revises: d5b1f7a3c9e2
Create Date: 2026-11-29 11:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd4f8b2c6a1e3'
down_revision = 'd5b1f7a3c9e2'
branch_labels = None
depends_on = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE message_fts USING fts5(text, content='message', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER message_fts_insert AFTER INSERT ON message BEGIN "
    "INSERT INTO message_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER message_fts_delete AFTER DELETE ON message BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER message_fts_update AFTER UPDATE OF text ON message BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO message_fts(rowid, text) VALUES (new.id, new.text); END",
    "INSERT INTO message_fts(message_fts) VALUES ('rebuild')",
    # The visitor's name and email, for LIKE '%text%' (case-insensitive, 3 characters or more).
    "CREATE VIRTUAL TABLE visitor_fts USING fts5(name, email, content='visitor', content_rowid='id', "
    "tokenize='trigram')",
    "CREATE TRIGGER visitor_fts_insert AFTER INSERT ON visitor BEGIN "
    "INSERT INTO visitor_fts(rowid, name, email) VALUES (new.id, new.name, new.email); END",
    "CREATE TRIGGER visitor_fts_delete AFTER DELETE ON visitor BEGIN "
    "INSERT INTO visitor_fts(visitor_fts, rowid, name, email) VALUES ('delete', old.id, old.name, old.email); END",
    "CREATE TRIGGER visitor_fts_update AFTER UPDATE OF name, email ON visitor BEGIN "
    "INSERT INTO visitor_fts(visitor_fts, rowid, name, email) VALUES ('delete', old.id, old.name, old.email); "
    "INSERT INTO visitor_fts(rowid, name, email) VALUES (new.id, new.name, new.email); END",
    "INSERT INTO visitor_fts(visitor_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS visitor_fts_update",
    "DROP TRIGGER IF EXISTS visitor_fts_delete",
    "DROP TRIGGER IF EXISTS visitor_fts_insert",
    "DROP TABLE IF EXISTS visitor_fts",
    "DROP TRIGGER IF EXISTS message_fts_update",
    "DROP TRIGGER IF EXISTS message_fts_delete",
    "DROP TRIGGER IF EXISTS message_fts_insert",
    "DROP TABLE IF EXISTS message_fts",
]
POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public",
    # Two-argument, schema-qualified form: immutable in practice, whatever the search_path.
    "CREATE OR REPLACE FUNCTION chat_unaccent(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT "
    "AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public",
    "CREATE INDEX ix_visitor_name_search ON visitor USING gin (lower(name) public.gin_trgm_ops)",
    "CREATE INDEX ix_visitor_email_search ON visitor USING gin (lower(email) public.gin_trgm_ops)",
    # Last: the bench builds it again after its bulk load.
    "CREATE INDEX ix_message_text_search ON message USING gin (to_tsvector('simple', chat_unaccent(text)))",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_visitor_email_search",
    "DROP INDEX IF EXISTS ix_visitor_name_search",
    "DROP INDEX IF EXISTS ix_message_text_search",
    "DROP FUNCTION IF EXISTS chat_unaccent(text)",
]


def upgrade():
    # A search by the visitor's name or email finds visitors first, then their chats.
    op.create_index('ix_chat_session_visitor', 'chat_session', ['visitor_id'])
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}.get(dialect, []):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}.get(dialect, []):
        op.execute(statement)
    op.drop_index('ix_chat_session_visitor', table_name='chat_session')
