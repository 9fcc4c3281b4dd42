"""Behind a proxy: TRUSTED_PROXIES, and the nginx block of docs/deployment.md run for real
(Debian's nginx, in front of two server processes on one database and Redis)."""
import os
import re
import shutil
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from flask import request
from flask_migrate import upgrade
from requests.adapters import HTTPAdapter

from chat import create_app
from chat.config import load_settings
from chat.extensions import db
from chat.models import Site
from tests.support import (
    ROOT, LiveServer, RecordingClient, connect_visitor, free_port, fresh_database_url, login, redis_url,
    server_environment, start_chat, submit_login, wait_until,
)

pytestmark = pytest.mark.database_independent

# ---- the setting, in-process ----


@pytest.mark.parametrize("value", ["-1", "6", "one"])
def test_trusted_proxies_out_of_bounds_stops_start_up(monkeypatch, tmp_path, value):
    monkeypatch.setenv("CHAT_ENV", "testing")
    monkeypatch.setenv("TRUSTED_PROXIES", value)
    with pytest.raises(RuntimeError, match="TRUSTED_PROXIES must be a whole number from 0 to 5"):
        load_settings(str(tmp_path))


@pytest.fixture
def app_behind(tmp_path, monkeypatch):
    """The app in-process with TRUSTED_PROXIES set, and a route that shows what it sees."""
    made = []

    def make(trusted_proxies):
        for name, value in {"CHAT_ENV": "testing", "SECRET_KEY": "unit", "INSTANCE_PATH": str(tmp_path),
                            "DATABASE_URL": fresh_database_url(tmp_path),
                            "TRUSTED_PROXIES": str(trusted_proxies)}.items():
            monkeypatch.setenv(name, value)
        app = create_app()
        with app.app_context():
            upgrade()
            db.session.add(Site(key="demo", name="Demo", allowed_origins="self"))
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        app.add_url_rule("/_seen", "seen", lambda: {"address": request.remote_addr, "scheme": request.scheme,
                                                    "host": request.host})
        made.append(app)
        return app
    yield make
    for app in made:            # the requests opened pooled connections (PostgreSQL warns if left)
        with app.app_context():
            db.engine.dispose()


NGINX_HEADERS = {"Host": "chat.example.com", "X-Forwarded-Proto": "https",
                 "X-Forwarded-For": "10.9.9.9, 203.0.113.7", "X-Forwarded-Host": "evil.example"}


def test_one_trusted_proxy_gives_the_client_address_and_scheme(app_behind):
    seen = app_behind(1).test_client().get("/_seen", headers=NGINX_HEADERS).json
    # The last X-Forwarded-For entry is the proxy's; the one before it came from the client.
    assert seen == {"address": "203.0.113.7", "scheme": "https", "host": "chat.example.com"}


def test_without_trusted_proxies_forwarded_headers_are_ignored(app_behind):
    seen = app_behind(0).test_client().get("/_seen", headers=NGINX_HEADERS).json
    assert seen == {"address": "127.0.0.1", "scheme": "http", "host": "chat.example.com"}


@pytest.mark.parametrize("trusted_proxies, status", [(1, 200), (0, 400)])
def test_engineio_sees_the_forwarded_scheme(app_behind, trusted_proxies, status):
    """Engine.IO checks the origin on the raw environ, before Flask: behind a TLS proxy, the
    page's own https origin is accepted only when ProxyFix runs in front of Socket.IO too."""
    client = app_behind(trusted_proxies).test_client()
    response = client.get("/socket.io/?EIO=4&transport=polling",
                          headers={**NGINX_HEADERS, "Origin": "https://chat.example.com"})
    assert response.status_code == status


# ---- docs/deployment.md's nginx block, live ----

DOC_CERTIFICATE = ("ssl_certificate     /etc/letsencrypt/live/chat.example.com/fullchain.pem;\n"
                   "    ssl_certificate_key /etc/letsencrypt/live/chat.example.com/privkey.pem;")


def nginx_binary():
    found = shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx",) if os.access(path, os.X_OK)), None)
    if not found:
        pytest.skip("nginx is not installed (bin/test installs Debian's nginx)")
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed (needed for the proxy's throwaway certificate)")
    return found


def documented_nginx_block():
    blocks = re.findall(r"```nginx\n(.*?)```", (ROOT / "docs" / "deployment.md").read_text(), re.DOTALL)
    assert len(blocks) == 1, "docs/deployment.md should hold exactly one nginx block"
    return blocks[0]


def replace_once(text, old, new):
    assert text.count(old) == 1, f"the nginx block in docs/deployment.md no longer has {old!r} once"
    return text.replace(old, new)


def local_server_block(ports, listen_port, certificate, key):
    """The doc's block with only what a local run must change: the upstream ports, the
    listening address and the certificate. Every proxying directive is the doc's own text."""
    block = documented_nginx_block()
    block = replace_once(block, "server 127.0.0.1:5001;", f"server 127.0.0.1:{ports[0]};")
    block = replace_once(block, "server 127.0.0.1:5002;", f"server 127.0.0.1:{ports[1]};")
    block = replace_once(block, "listen 443 ssl http2;", f"listen 127.0.0.1:{listen_port} ssl http2;")
    return replace_once(block, DOC_CERTIFICATE, f"ssl_certificate {certificate};\n    ssl_certificate_key {key};")


def nginx_configuration(workdir, server_block):
    """A main and http context that keep everything in `workdir`, and an access log that
    names the upstream each request went to."""
    temp_paths = "".join(f"    {kind}_temp_path {workdir}/{kind};\n"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (("user root;\n" if os.geteuid() == 0 else "")
            + f"worker_processes 1;\nerror_log {workdir}/error.log;\nevents {{ worker_connections 256; }}\n"
            + "http {\n    log_format upstreams '$remote_addr $upstream_addr \"$request\" $status';\n"
            + f"    access_log {workdir}/access.log upstreams;\n{temp_paths}{server_block}}}\n")


class Nginx:
    """Debian's nginx in the foreground, its files in `workdir`, in front of `servers`."""

    def __init__(self, workdir, servers, port, certificate, key):
        self.workdir, self.port = workdir, port
        self.url = f"https://127.0.0.1:{port}"
        conf = workdir / "nginx.conf"
        conf.write_text(nginx_configuration(workdir, local_server_block(
            [server.port for server in servers], port, certificate, key)))
        self.process = subprocess.Popen(
            [nginx_binary(), "-p", str(workdir), "-c", str(conf), "-e", str(workdir / "error.log"),
             "-g", f"daemon off; pid {workdir}/nginx.pid;"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_until(self.is_up, message=f"nginx on {self.url}")

    def is_up(self):
        if self.process.poll() is not None:
            raise AssertionError(f"nginx exited: {(self.workdir / 'error.log').read_text()[-2000:]}")
        try:
            return requests.get(self.url + "/healthz", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def api(self, path):
        return f"{self.url}/api/v1/chat/public{path}"

    def upstream_of(self, address):
        """The server process nginx sends `address`'s requests to (ip_hash)."""
        from_address(address, self).get(self.url + f"/healthz?probe={address}", timeout=5)

        def logged():
            for line in (self.workdir / "access.log").read_text().splitlines():
                if line.startswith(address + " ") and f"probe={address} " in line:
                    return line.split()[1]
        return wait_until(logged, message=f"the access log line for {address}")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class SourceAddressAdapter(HTTPAdapter):
    """Connect from a chosen loopback address (all of 127.0.0.0/8 is local), so the proxy
    sees several clients."""

    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, source_address=(self.address, 0), **kwargs)


def from_address(address, proxy):
    http = requests.Session()
    http.mount(proxy.url, SourceAddressAdapter(address))
    return http


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A throwaway self-signed certificate for 127.0.0.1, trusted by this module's clients."""
    nginx_binary()
    workdir = tmp_path_factory.mktemp("tls")
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", str(cert))          # requests, and Engine.IO's polling
        patch.setenv("WEBSOCKET_CLIENT_CA_BUNDLE", str(cert))  # websocket-client
        yield cert, key


LIMITS = {"START_LIMIT_PER_IP": "3 per minute", "LOGIN_LIMIT_PER_IP": "3 per minute"}


def nginx_in_front_of_two_servers(workdir, certificate, env):
    """Two wsgi.py processes with `env` behind the doc's nginx; rate limits counted afresh."""
    env = dict(env, RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}")
    with ThreadPoolExecutor(2) as pool:                          # start both at once
        servers = list(pool.map(LiveServer.start, [LiveServer(workdir, env=env), LiveServer(workdir, env=env)]))
    try:
        return Nginx(workdir, servers, free_port(), *certificate), servers
    except BaseException:
        for server in servers:
            server.stop()
        raise


@pytest.fixture(scope="module")
def proxied_env(tmp_path_factory):
    """One database, Redis for events and rate limits, low per-address limits, one trusted proxy.
    APP_ORIGIN is left unset: the app's own origin then comes from X-Forwarded-Proto and Host,
    which Engine.IO's origin check must see corrected too."""
    workdir = tmp_path_factory.mktemp("proxied")
    env = server_environment(workdir, {**LIMITS, "TRUSTED_PROXIES": "1", "SOCKETIO_MESSAGE_QUEUE": redis_url(),
                                       "RATELIMIT_STORAGE_URI": redis_url()})
    LiveServer(workdir, env=env).prepare_database()
    return env


@pytest.fixture(scope="module")
def behind_nginx(tmp_path_factory, certificate, proxied_env):
    proxy, servers = nginx_in_front_of_two_servers(tmp_path_factory.mktemp("nginx"), certificate, proxied_env)
    yield proxy
    proxy.stop()
    for server in servers:
        server.stop()


def test_a_chat_and_a_reconnect_through_the_documented_nginx(behind_nginx, clients):
    proxy = behind_nginx
    # ip_hash keys on the first three octets: an agent on 127.0.N.1 can reach the other process.
    visitor_process = proxy.upstream_of("127.0.0.1")
    agent_address = next(address for address in (f"127.0.{n}.1" for n in range(1, 30))
                         if proxy.upstream_of(address) != visitor_process)

    chat = start_chat(proxy, name="Behind nginx")
    visitor = connect_visitor(proxy, chat)
    clients.append(visitor)
    assert visitor.client.transport() == "websocket"            # the upgrade went through nginx
    # Long-polling only: every request must reach the process that holds the Engine.IO session.
    agent = RecordingClient("/agent", login(proxy, http=from_address(agent_address, proxy)))
    agent.connect(proxy, transports=["polling"])
    clients.append(agent)
    assert agent.call("claim_session", {"session_id": chat["session_id"]})["ok"]
    agent.call("join_session", {"session_id": chat["session_id"], "last_seq": 0})

    visitor.call("send_message", {"text": "hello through nginx", "client_id": "v1"})
    assert agent.wait_for("message", lambda m: m["text"] == "hello through nginx")
    agent.call("send_message", {"session_id": chat["session_id"], "text": "hello back", "client_id": "a1"})
    last_seen = visitor.wait_for("message", lambda m: m["text"] == "hello back")["seq"]

    visitor.disconnect()
    agent.call("send_message", {"session_id": chat["session_id"], "text": "while you were away", "client_id": "a2"})
    back = connect_visitor(proxy, chat, last_seq=last_seen)
    clients.append(back)
    assert back.wait_for("message", lambda m: m["text"] == "while you were away")["seq"] == last_seen + 1
    back.call("send_message", {"text": "got it", "client_id": "v2"})
    assert agent.wait_for("message", lambda m: m["text"] == "got it")
    assert [m["text"] for m in back.messages()] == ["while you were away", "got it"]


def start_status(http, proxy, headers=None):
    return http.post(proxy.api("/start"), json={"site_key": "demo"}, headers=headers or {}, timeout=5).status_code


def exhaust_limits_from(attacker, proxy):
    """Four chat starts and four wrong passwords (one email each) from one address."""
    starts = [start_status(attacker, proxy) for _ in range(4)]
    logins = [submit_login(proxy, attacker, f"guess{n}@example.com", "wrong-password").status_code
              for n in range(4)]
    return starts, logins


def test_one_address_at_its_limits_leaves_the_others_alone(behind_nginx):
    proxy = behind_nginx
    attacker, victim = from_address("127.0.0.2", proxy), from_address("127.0.0.3", proxy)
    assert exhaust_limits_from(attacker, proxy) == ([201, 201, 201, 429], [400, 400, 400, 429])
    # A client's own X-Forwarded-For comes before the entry nginx appends: no way out.
    assert start_status(attacker, proxy, headers={"X-Forwarded-For": "127.0.0.9"}) == 429

    assert start_status(victim, proxy) == 201
    assert submit_login(proxy, victim, "supervisor@example.com", "demo-password").status_code == 302
    assert victim.get(proxy.url + "/dashboard", timeout=5).status_code == 200


def test_without_trusted_proxies_one_address_locks_everyone_out(tmp_path, certificate, proxied_env):
    """Why the setting matters: behind nginx, every client is 127.0.0.1 to the app."""
    proxy, servers = nginx_in_front_of_two_servers(tmp_path, certificate, dict(proxied_env, TRUSTED_PROXIES="0"))
    try:
        attacker, victim = from_address("127.0.0.2", proxy), from_address("127.0.0.3", proxy)
        exhaust_limits_from(attacker, proxy)
        assert start_status(victim, proxy) == 429
        assert submit_login(proxy, victim, "supervisor@example.com", "demo-password").status_code == 429
    finally:
        proxy.stop()
        for server in servers:
            server.stop()
