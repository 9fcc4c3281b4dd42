import pytest
from flask_migrate import upgrade

from chat import create_app
from chat.cli import save_agent
from chat.extensions import db
from chat.models import Site

from tests.support import (
    LiveServer, connect_agent, connect_visitor, drop_created_databases, fresh_database_url, login,
    redis_url, server_environment, start_chat, start_two_servers,
)


def pytest_report_header():
    import os
    return f"database: {os.environ.get('TEST_DATABASE_URL') or 'SQLite files'}"


def pytest_collection_modifyitems(config, items):
    """The PostgreSQL run leaves out the modules marked `database_independent` (the transport,
    the proxy, file storage): the SQLite run of the same CI has run them."""
    import os
    if not os.environ.get("TEST_DATABASE_URL"):
        return
    left_out = [item for item in items if item.get_closest_marker("database_independent")]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not item.get_closest_marker("database_independent")]


def pytest_sessionfinish():
    drop_created_databases()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One live server (wsgi.py under eventlet) with a migrated, seeded database."""
    live = LiveServer(tmp_path_factory.mktemp("live"))
    live.prepare_database()
    live.start()
    yield live
    live.stop()


@pytest.fixture
def own_server(tmp_path):
    """A live server of this test's own, which the test may kill and restart."""
    servers = []

    def start(as_seeded=False, **settings):
        live = LiveServer(tmp_path, env=server_environment(tmp_path, {k: str(v) for k, v in settings.items()}))
        live.prepare_database(as_seeded=as_seeded)
        servers.append(live.start())
        return live
    yield start
    for live in servers:
        live.stop()


@pytest.fixture
def two_servers(tmp_path):
    """Processes A and B on different ports, one database, one Redis message queue."""
    servers = start_two_servers(tmp_path, redis_url())
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def clients():
    """Socket clients opened by a test, closed after it."""
    opened = []
    yield opened
    for client in opened:
        client.disconnect()


@pytest.fixture
def chat(server):
    return start_chat(server, name="Ann")


@pytest.fixture
def visitor(server, chat, clients):
    client = connect_visitor(server, chat)
    clients.append(client)
    return client


@pytest.fixture
def agent_http(server):
    return login(server)


@pytest.fixture
def agent(server, agent_http, clients):
    client = connect_agent(server, agent_http)
    clients.append(client)
    return client


# ---- unit tests: the app in-process, on a migrated SQLite file ----

@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAT_ENV", "testing")
    monkeypatch.setenv("SECRET_KEY", "unit")
    monkeypatch.setenv("DATABASE_URL", fresh_database_url(tmp_path))
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    app = create_app()
    with app.app_context():
        upgrade()
        db.session.add(Site(key="demo", name="Demo", allowed_origins="self https://shop.example"))
        db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def site(app):
    return db.session.execute(db.select(Site)).scalar_one()


@pytest.fixture
def agents(app):
    return (save_agent("a@example.com", "Alice", "agent", "password-1"),
            save_agent("b@example.com", "Bob", "agent", "password-2"),
            save_agent("s@example.com", "Sue", "supervisor", "password-3"))


@pytest.fixture
def someone_online(agents):
    """Alice is online (a socket of hers connected), so a handoff finds the team in."""
    from chat.realtime import presence
    presence.agent_connected(agents[0].id)
    yield agents[0]
    presence.agent_disconnected(agents[0].id)


@pytest.fixture
def published(app, monkeypatch):
    """What the domain code sent to clients, in order: ("emit", event, data, room, namespace)
    and ("close_room", room, namespace). Nothing reaches a real socket."""
    from chat.extensions import socketio
    sent = []

    def emit(event, data, to=None, namespace=None, **_options):
        sent.append(("emit", event, data, to, namespace))

    def close_room(room, namespace=None):
        sent.append(("close_room", room, namespace))

    monkeypatch.setattr(socketio, "emit", emit)
    monkeypatch.setattr(socketio, "close_room", close_room)
    return sent
