"""What the database holds: read inside a unit test's app, or written by a separate
process straight into a live server's database."""
import json
import subprocess
import sys
import uuid

from tests.support.server import ROOT, flask_cli


def stored_texts(chat):
    """The texts of a unit test's chat as stored, in order (needs the `app` fixture)."""
    from chat import messages       # here, so that live-server tests never import the app
    return [message.text for message in messages.after(chat.id)]


def add_site_and_agent(server, site_key, email, password):
    """A second site, and a plain agent who answers only that site, in the server's database."""
    code = ("import sys\nfrom chat import create_app\nfrom chat.cli import save_agent\n"
            "from chat.extensions import db\nfrom chat.models import Site\n"
            "with create_app().app_context():\n"
            "    site = Site(key=sys.argv[1], name=sys.argv[1], allowed_origins='https://' + sys.argv[1] + '.example')\n"
            "    db.session.add(site)\n"
            "    save_agent(sys.argv[2], 'Agent of ' + sys.argv[1], 'agent', sys.argv[3], sites=[site])\n")
    subprocess.run([sys.executable, "-c", code, site_key, email, password],
                   cwd=ROOT, env=server.env, check=True, timeout=60)


def add_routed_site(server, site_key, routing, agents):
    """A site with this routing ("manual" or "auto") and its own plain agents, each
    `(email, password, max_chats)`, who answer only that site; in the server's database."""
    code = ("import json, sys\nfrom chat import create_app\nfrom chat.cli import save_agent\n"
            "from chat.extensions import db\nfrom chat.models import Site\n"
            "with create_app().app_context():\n"
            "    site = Site(key=sys.argv[1], name='Shop ' + sys.argv[1], routing=sys.argv[2], allowed_origins='self')\n"
            "    db.session.add(site)\n"
            "    for email, password, max_chats in json.loads(sys.argv[3]):\n"
            "        agent = save_agent(email, email.split('@')[0].title(), 'agent', password, sites=[site])\n"
            "        agent.max_chats = max_chats\n"
            "    db.session.commit()\n")
    subprocess.run([sys.executable, "-c", code, site_key, routing, json.dumps(agents)],
                   cwd=ROOT, env=server.env, check=True, timeout=60)


def store_message_unannounced(server, session_id, text, sender_type="agent"):
    """Store a message from a process with no message queue: it is in the database, but no
    connected client hears of it, as when an overloaded queue drops the event."""
    code = ("import sys\nfrom chat import create_app, message_store\n"
            "with create_app().app_context():\n"
            "    message_store.store_one(dict(session_id=sys.argv[1], sender_type=sys.argv[2], text=sys.argv[3],\n"
            "                                 client_id=sys.argv[4], sender_name='Sam'), lambda pending: None)\n")
    env = {name: value for name, value in server.env.items() if name != "SOCKETIO_MESSAGE_QUEUE"}
    subprocess.run([sys.executable, "-c", code, session_id, sender_type, text, uuid.uuid4().hex],
                   cwd=ROOT, env=env, check=True, timeout=60)


def contact_texts(server, channel, contact):
    """What a phone's contact wrote in its latest chat, in the chat's order (seq), read straight
    from the server's database."""
    code = ("import sys\nfrom sqlalchemy import select\nfrom chat import create_app\nfrom chat.extensions import db\n"
            "from chat.models import ChatSession, Message, Visitor\n"
            "with create_app().app_context():\n"
            "    chat = db.session.execute(select(ChatSession).join(Visitor).where(\n"
            "        Visitor.channel == sys.argv[1], Visitor.external_id == sys.argv[2])\n"
            "        .order_by(ChatSession.started_at.desc())).scalars().first()\n"
            "    for message in db.session.execute(select(Message).where(\n"
            "            Message.session_id == chat.id, Message.sender_type == 'visitor').order_by(Message.seq)).scalars():\n"
            "        print(message.text)\n")
    env = {name: value for name, value in server.env.items() if name != "SOCKETIO_MESSAGE_QUEUE"}
    done = subprocess.run([sys.executable, "-c", code, channel, contact], cwd=ROOT, env=env, check=True,
                          timeout=60, capture_output=True, text=True)
    return done.stdout.splitlines()


def add_note(server, session_id, agent_email, text):
    """A private note by the agent with this email, written straight into the server's database
    (as the note-writing feature stores one: private=True, the chat's next seq)."""
    code = ("import sys\nfrom chat import create_app\nfrom chat.extensions import db\n"
            "from chat.models import Agent, ChatSession, Message\n"
            "with create_app().app_context():\n"
            "    agent = db.session.execute(db.select(Agent).filter_by(email=sys.argv[2])).scalar_one()\n"
            "    seq = db.session.execute(db.update(ChatSession).where(ChatSession.id == sys.argv[1])\n"
            "                             .values(last_seq=ChatSession.last_seq + 1).returning(ChatSession.last_seq)).scalar_one()\n"
            "    db.session.add(Message(session_id=sys.argv[1], seq=seq, sender_type='agent', sender_id=agent.id,\n"
            "                           sender_name=agent.display_name, text=sys.argv[3], private=True))\n"
            "    db.session.commit()\n")
    subprocess.run([sys.executable, "-c", code, session_id, agent_email, text], cwd=ROOT, env=server.env,
                   check=True, timeout=60)


def create_agent(server, email, name, password, role="agent", sites=("demo",)):
    """Create (or reset) an agent with `flask chat create-agent`, as a maintainer would. A plain
    agent answers the demo site only: an agent of every site would be offered the waiting chats
    other tests left on their own sites (routing's auto sites)."""
    site_options = [option for key in sites for option in ("--site", key)] if role == "agent" else []
    result = flask_cli(server.env, "chat", "create-agent", "--email", email, "--name", name, "--role", role,
                       "--password", password, *site_options)
    assert result.returncode == 0, result.stderr


def add_article(server, site_key, title, body, tags=""):
    """A published knowledge-base article of the site, in the server's database."""
    code = ("import sys\nfrom chat import create_app, knowledge\nfrom chat.extensions import db\n"
            "from chat.models import Site\n"
            "with create_app().app_context():\n"
            "    site = db.session.execute(db.select(Site).filter_by(key=sys.argv[1])).scalar_one()\n"
            "    knowledge.save(site, sys.argv[2], sys.argv[3], sys.argv[4], published=True)\n")
    subprocess.run([sys.executable, "-c", code, site_key, title, body, tags],
                   cwd=ROOT, env=server.env, check=True, timeout=60)
