"""history search: a full-text index over message text (SQLite FTS5, PostgreSQL GIN), chats by visitor

SQLite: `message_fts`, an FTS5 table over message.text with the message table as its
content, kept in step by triggers (so the fixed SQL that stores messages is untouched);
`remove_diacritics 2` makes "cafe" find "café".
PostgreSQL: the `unaccent` extension (contrib, a trusted extension since PostgreSQL 13),
an immutable wrapper `chat_unaccent(text)` (unaccent itself is only stable) and a GIN
index on to_tsvector('simple', chat_unaccent(text)). history_search.py queries the same
expressions.

Revision ID: d4f8b2c6a1e3
Revises: c7a3e9f41d2b
Create Date: 2026-11-29 11:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd4f8b2c6a1e3'
down_revision = 'c7a3e9f41d2b'
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
]
SQLITE_DOWN = [
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
    "CREATE INDEX ix_message_text_search ON message USING gin (to_tsvector('simple', chat_unaccent(text)))",
]
POSTGRES_DOWN = [
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
