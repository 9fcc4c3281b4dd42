"""Helpers for the tests: start a live server, talk to it over HTTP and Socket.IO, slow
its network down, read and write its database. Every name is importable from here."""
from tests.support.clients import Participant, RecordingClient, connect_agent, connect_visitor
from tests.support.database import (
    add_article, add_note, add_routed_site, add_site_and_agent, contact_texts, create_agent, store_message_unannounced,
    stored_texts,
)
from tests.support.http import (
    csrf_token, fresh, logged_in_client, login, logout, message_pages, start_chat, stored_messages, submit_login, submit_logout,
)
from tests.support.proxies import DelayingProxy
from tests.support.visitors import Browser, identity_secret, user_hash
from tests.support.server import (
    ROOT, WAIT_SECONDS, LiveServer, drop_created_databases, flask_cli, free_port, fresh_database_url, redis_url,
    server_environment, start_two_servers, wait_until,
)

__all__ = [
    "Browser", "identity_secret", "user_hash",
    "ROOT", "WAIT_SECONDS", "DelayingProxy", "LiveServer", "Participant", "RecordingClient",
    "add_article", "add_note", "add_routed_site", "add_site_and_agent", "contact_texts", "create_agent", "connect_agent", "connect_visitor", "csrf_token",
    "drop_created_databases",
    "flask_cli", "fresh", "free_port", "logged_in_client", "fresh_database_url", "login", "logout", "message_pages", "redis_url",
    "server_environment", "start_chat", "start_two_servers", "store_message_unannounced", "stored_messages", "stored_texts",
    "submit_login", "submit_logout", "wait_until",
]
