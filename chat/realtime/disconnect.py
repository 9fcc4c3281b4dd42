"""Closing an agent's live sockets when its login ends or the agent is disabled."""
from sqlalchemy import select

from ..extensions import db, socketio
from ..models import Agent
from ..publish import AGENT_NS, agent_room
from .handlers import sockets_of


def disconnect_agent_sockets(agent_id):
    """Every open dashboard socket of this agent, in this process, is closed."""
    server = socketio.server
    sids = list(server.manager.get_participants(AGENT_NS, agent_room(agent_id)))
    for sid, _eio_sid in sids:
        server.disconnect(sid, namespace=AGENT_NS)


def disconnect_disabled_agents():
    """Close this process's sockets of agents who were disabled (every tick, every process)."""
    open_sockets = [(sid, state["agent_id"]) for sid, state in sockets_of(AGENT_NS)]
    if not open_sockets:
        return 0
    ids = {agent_id for _, agent_id in open_sockets}
    active = set(db.session.execute(select(Agent.id).where(Agent.id.in_(ids), Agent.active)).scalars())
    closed = 0
    for sid, agent_id in open_sockets:
        if agent_id not in active:
            socketio.server.disconnect(sid, namespace=AGENT_NS)
            closed += 1
    return closed
