"""Who is connected: agents online, and whether a session's visitor is online.

Each process counts its own sockets in memory. With a Redis message queue, each
process also mirrors its counts into Redis hashes that expire unless refreshed,
so every process sees the connections of all (and a killed process's entries
fade away within PRESENCE_TTL seconds).
"""
import os
import socket
import threading
import time
from collections import Counter

from flask import current_app

from ..extensions import db
from ..message_queue import shared_redis
from ..models import EVERY_SITE_ROLES, Agent

PRESENCE_TTL = 120
PROCESS = f"{socket.gethostname()}:{os.getpid()}"
_lock = threading.Lock()
_counts = {"agents": Counter(), "visitors": Counter(), "viewers": Counter()}


def _shared():
    """The Redis client when the app runs with a Redis message queue, else None."""
    url = current_app.config.get("SOCKETIO_MESSAGE_QUEUE")
    if not url or not url.startswith(("redis://", "rediss://")):
        return None
    return shared_redis(url)


PROCESSES_KEY = "chat:presence:processes"


def _key(kind, process=PROCESS):
    return f"chat:presence:{kind}:{process}"


def _process_keys(shared, kind):
    """This kind's hash of every live process (a process whose hashes expired is dropped)."""
    processes = [p.decode() for p in shared.smembers(PROCESSES_KEY)]
    keys = [_key(kind, process) for process in processes]
    alive = shared.exists(*keys) if keys else 0
    if alive < len(keys):
        for process in processes:
            if not any(shared.exists(_key(k, process)) for k in _counts):
                shared.srem(PROCESSES_KEY, process)
    return keys


def _change(kind, member, delta):
    """Add or remove one socket; returns this process's new count for `member`."""
    with _lock:
        counter = _counts[kind]
        counter[member] += delta
        count = counter[member]
        if count <= 0:
            del counter[member]
    shared = _shared()
    if shared is not None:
        pipe = shared.pipeline()
        if count > 0:
            pipe.hset(_key(kind), member, count)
        else:
            pipe.hdel(_key(kind), member)
        pipe.expire(_key(kind), PRESENCE_TTL)
        pipe.sadd(PROCESSES_KEY, PROCESS)
        pipe.execute()
    return count


def _members(kind):
    """Every member connected to any process."""
    shared = _shared()
    if shared is None:
        with _lock:
            return set(_counts[kind])
    members = set()
    for key in _process_keys(shared, kind):
        members.update(member.decode() for member in shared.hkeys(key))
    return members


def _holders(kind, member):
    """How many processes have at least one socket of `member`."""
    shared = _shared()
    if shared is None:
        with _lock:
            return 1 if member in _counts[kind] else 0
    return sum(1 for key in _process_keys(shared, kind) if shared.hexists(key, member))


def refresh():
    """Keep this process's entries alive (called every job tick in every process)."""
    shared = _shared()
    if shared is None:
        return
    with _lock:
        snapshot = {kind: dict(counter) for kind, counter in _counts.items()}
    pipe = shared.pipeline()
    for kind, counts in snapshot.items():
        pipe.delete(_key(kind))
        if counts:
            pipe.hset(_key(kind), mapping={str(member): count for member, count in counts.items()})
            pipe.expire(_key(kind), PRESENCE_TTL)
    pipe.sadd(PROCESSES_KEY, PROCESS)
    pipe.execute()


def agent_connected(agent_id):
    """True when this is the agent's first socket anywhere."""
    return _change("agents", str(agent_id), +1) == 1 and _holders("agents", str(agent_id)) == 1


def agent_disconnected(agent_id):
    """True when the agent's last socket anywhere closed."""
    _change("agents", str(agent_id), -1)
    return _holders("agents", str(agent_id)) == 0


def local_agent_ids():
    """The agents with a dashboard connected to this process."""
    with _lock:
        return [int(member) for member in _counts["agents"]]


def online_agent_ids():
    """The agents with a dashboard connected to any process."""
    return [int(member) for member in _members("agents")]


# Which sites each connected agent answers, read once per ANSWERS_SECONDS per agent: counting
# a site's agents online on every visitor connect and widget load read the database each time.
# A changed role ends the agent's logins; a changed list of sites shows in the counts within
# ANSWERS_SECONDS.
ANSWERS_SECONDS = 10
_answers = {}          # agent id -> (read at (monotonic), every site?, frozenset of site ids)


def _sites_answered(agent_ids):
    now = time.monotonic()
    with _lock:
        stale = [agent_id for agent_id in agent_ids
                 if now - _answers.get(agent_id, (float("-inf"),))[0] >= ANSWERS_SECONDS]
    if stale:
        agents = db.session.execute(db.select(Agent).where(Agent.id.in_(stale))).scalars().all()
        fresh = {agent.id: (now, agent.role in EVERY_SITE_ROLES, frozenset(agent.site_ids)) for agent in agents}
        with _lock:
            for agent_id in stale:
                _answers[agent_id] = fresh.get(agent_id, (now, False, frozenset()))
            if len(_answers) > 10000:
                _answers.clear()
    with _lock:
        return [_answers[agent_id] for agent_id in agent_ids if agent_id in _answers]


def agents_online(site_id):
    """How many agents who answer this site's visitors are connected."""
    online = online_agent_ids()
    if not online:
        return 0
    return sum(1 for _, every_site, site_ids in _sites_answered(online) if every_site or site_id in site_ids)


def agents_online_payload(site_id):
    """The `presence` event a site's visitors get: how many agents could answer them."""
    return {"agents_online": agents_online(site_id)}


# Who of the team has a chat open: a member "<session id>|<agent id>" per agent, counting
# that agent's sockets which joined the chat (each socket keeps the set it views).

def start_viewing(state, session_id):
    """This socket opened the chat; True when that changed who views it."""
    viewing = state.setdefault("viewing", set())
    if session_id in viewing:
        return False
    viewing.add(session_id)
    return _change("viewers", f"{session_id}|{state['agent_id']}", +1) == 1


def stop_viewing(state, session_id):
    """This socket closed the chat (or went away); True when that changed who views it."""
    viewing = state.setdefault("viewing", set())
    if session_id not in viewing:
        return False
    viewing.discard(session_id)
    member = f"{session_id}|{state['agent_id']}"
    _change("viewers", member, -1)
    return _holders("viewers", member) == 0


def viewers(session_id):
    """Everyone of the team with the chat open: [{agent_id, name, role}], by name."""
    return viewers_by_chat(session_id).get(session_id, [])


def viewers_by_chat(session_id=None):
    """{session id: its viewers, as `viewers` gives them} for every chat someone has open (or
    for `session_id` only): one read of the members, one query for their names."""
    pairs = [member.split("|") for member in _members("viewers")
             if session_id is None or member.startswith(f"{session_id}|")]
    ids = {int(agent_id) for _chat, agent_id in pairs}
    if not ids:
        return {}
    agents = {agent_id: (name, role) for agent_id, name, role in db.session.execute(
        db.select(Agent.id, Agent.display_name, Agent.role).where(Agent.id.in_(ids))).all()}
    by_chat = {}
    for chat_id, agent_id in pairs:
        if int(agent_id) in agents:
            name, role = agents[int(agent_id)]
            by_chat.setdefault(chat_id, []).append({"agent_id": int(agent_id), "name": name, "role": role})
    for listed in by_chat.values():
        listed.sort(key=lambda viewer: (viewer["name"].lower(), viewer["agent_id"]))
    return by_chat


def visitor_connected(session_id):
    return _change("visitors", session_id, +1) == 1 and _holders("visitors", session_id) == 1


def visitor_disconnected(session_id):
    _change("visitors", session_id, -1)
    return _holders("visitors", session_id) == 0


def visitor_sockets(session_id):
    """How many sockets of this chat's visitor are open, on every process."""
    shared = _shared()
    if shared is None:
        with _lock:
            return _counts["visitors"][session_id]
    return sum(int(shared.hget(key, session_id) or 0) for key in _process_keys(shared, "visitors"))


def online_visitor_ids():
    """The chats whose visitor is connected to any process (one pass, for whole lists)."""
    return _members("visitors")


def visitor_online(session_id):
    return _holders("visitors", session_id) > 0
