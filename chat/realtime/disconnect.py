"""Closing an agent's live sockets when its login ends or the agent is disabled."""
from sqlalchemy import select

from ..extensions import db, socketio
from ..message_queue import disconnect_members
from ..models import Agent
from ..publish import AGENT_NS, agent_room
from .acks import sockets_of


def disconnect_agent_sockets(agent_id):
    """Every open dashboard socket of this agent is closed, in every process when the
    message queue is Redis (a CLI command included); otherwise in this process, and the
    others close theirs at the socket's next event or the next job tick."""
    manager = socketio.server.manager
    if hasattr(manager, "disconnect_room"):
        manager.disconnect_room(agent_room(agent_id), AGENT_NS)
    else:
        disconnect_members(socketio.server, AGENT_NS, agent_room(agent_id))


def disconnect_signed_out_agents():
    """Close this process's sockets whose login has ended (disabled, logged out, password or
    role changed): every tick, every process, behind the immediate disconnect above."""
    open_sockets = [(sid, state["agent_id"], state["version"]) for sid, state in sockets_of(AGENT_NS)]
    if not open_sockets:
        return 0
    ids = {agent_id for _, agent_id, _ in open_sockets}
    current = dict(db.session.execute(
        select(Agent.id, Agent.session_version).where(Agent.id.in_(ids), Agent.active)).all())
    closed = 0
    for sid, agent_id, version in open_sockets:
        if current.get(agent_id) != version:
            socketio.server.disconnect(sid, namespace=AGENT_NS)
            closed += 1
    return closed
