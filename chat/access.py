"""Who may do what: every permission rule of the product lives here.

Socket handlers, views and templates ask these functions (templates get their answers as
booleans). An agent is anything with `id`, `role` and `serves_site(site_id)`, a chat anything
with `status`, `agent_id` and `site_id`: the ORM models, or the facts an agent event reads
in one query (`agent_and_chat`).
"""
from dataclasses import dataclass

from sqlalchemy import and_, exists, false, or_, select, true, union

from . import message_store, visitors
from .errors import ChatError, session_not_found
from .extensions import db
from .models import EVERY_SITE_ROLES, OPEN_STATUSES, QUEUED_STATUSES, ChatSession, Message, StatusGroups


def supervises(agent):
    """Supervisors and admins see and act on every chat of every site."""
    return agent.role in EVERY_SITE_ROLES


def administers(agent):
    return agent.role == "admin"


def may_manage_canned(agent, reply):
    """An agent manages its own canned replies; admins the shared ones (agent_id None);
    nobody another agent's."""
    if reply.agent_id is None:
        return administers(agent)
    return reply.agent_id == agent.id


def reads_reports(agent):
    """The figures of every site's chats: supervisors and admins."""
    return supervises(agent)


def holds(agent, chat):
    return chat.agent_id is not None and chat.agent_id == agent.id


def may_view(agent, chat):
    """Supervisors see everything; agents see the chats they hold and the queue of the
    sites they serve (the holder is checked first: it needs no look-up of the sites)."""
    if supervises(agent) or holds(agent, chat):
        return True
    return chat.is_queued and agent.serves_site(chat.site_id)


def may_claim(agent, chat):
    """Any agent who serves the chat's site may accept it while it is queued."""
    return chat.is_queued and agent.serves_site(chat.site_id)


def may_write(agent, chat):
    """Replies (and typing) go to an active chat, from its holder or a supervisor."""
    return chat.status == "active" and (holds(agent, chat) or supervises(agent))


def may_end(agent, chat):
    """The holder ends an active chat; a supervisor ends any open chat."""
    return chat.is_open and (supervises(agent) or may_write(agent, chat))


def may_transfer(agent, chat):
    """Handing an active chat to someone else (or back to the queue): its holder or a supervisor."""
    return chat.status == "active" and (holds(agent, chat) or supervises(agent))


def may_note(agent, chat):
    """A private note goes on any open chat the agent may view (a heads-up on a waiting one too)."""
    return chat.is_open and may_view(agent, chat)


def may_join(agent, chat):
    """A supervisor joins any open chat as a participant (a waiting one by taking it)."""
    return chat.is_open and supervises(agent)


def may_receive(agent, chat):
    """Who a chat may be transferred to: an active member of the team who answers its site
    and does not hold it already."""
    return agent.active and agent.serves_site(chat.site_id) and not holds(agent, chat)


def visitor_may_write(chat):
    return chat.is_open


# Attachments: who may upload to a chat, and who may fetch a file.

def may_attach(agent, chat):
    """An agent uploads to a chat it may write in or leave a note on."""
    return may_write(agent, chat) or may_note(agent, chat)


def visitor_may_attach(chat):
    return visitor_may_write(chat)


def visitor_may_fetch(attachment, private):
    """The chat's visitor (its key checked by the caller) fetches the files of the chat's public
    messages and its own uploads not yet sent; never a private note's, never an agent's draft."""
    if attachment.message_id is None:
        return attachment.uploaded_by_type == "visitor"
    return not private


def may_fetch(agent, chat, attachment, private):
    """An agent fetches a file of a message it may see: in a chat it may view, or whose transcript it
    may read (a note's only as its notes); a file not yet sent, only the agent who uploaded it."""
    if attachment.message_id is None:
        return attachment.uploaded_by_type == "agent" and attachment.uploaded_by_id == agent.id
    if may_view(agent, chat):
        return True
    return may_read_notes(agent, chat) if private else may_read_transcript(agent, chat)


# Refusals: a chat the agent may not see does not exist, as far as the agent knows.

def require_view(agent, chat):
    if chat is None or not may_view(agent, chat):
        raise session_not_found()
    return chat


def require_claim(agent, chat):
    """Only the site is checked here: whether the chat is still queued is decided by the
    claim itself, atomically, so a lost race is reported as such."""
    if chat is None or not (supervises(agent) or agent.serves_site(chat.site_id)):
        raise session_not_found()
    return chat


def require_write(agent, chat):
    if not may_write(agent, chat):
        raise ChatError("not_assigned", "Accept this chat before replying.")
    return chat


def require_end(agent, chat):
    """Ending an ended chat changes nothing and is allowed to whoever may view it."""
    if chat.is_open and not may_end(agent, chat):
        raise ChatError("not_assigned", "Only the agent holding this chat can end it.")
    return chat


def require_note(agent, chat):
    if not may_note(agent, chat):
        raise ChatError("session_closed", "This chat has ended; notes go on open chats.")
    return chat


def require_join(agent, chat):
    if not may_join(agent, chat):
        if not chat.is_open:
            raise ChatError("session_closed", "This chat has ended.")
        raise ChatError("forbidden", "Only a supervisor can join a chat someone else holds.")
    return chat


def require_transfer(agent, chat, to_agent):
    """`to_agent` None: back to the queue."""
    if not may_transfer(agent, chat):
        if not chat.is_open:
            raise ChatError("session_closed", "This chat has ended.")
        raise ChatError("not_assigned", "Only the agent holding this chat (or a supervisor) can transfer it.")
    if to_agent is not None and not may_receive(to_agent, chat):
        if holds(to_agent, chat):
            raise ChatError("invalid_target", f"{to_agent.display_name} already holds this chat.")
        raise ChatError("invalid_target", f"{to_agent.display_name} cannot take this chat "
                                          "(disabled, or does not answer this website).")
    return chat


def require_attach(agent, chat):
    """A chat the agent may not see does not exist; one it sees but that ended takes no files."""
    require_view(agent, chat)
    if not may_attach(agent, chat):
        if not chat.is_open:
            raise ChatError("session_closed", "This chat has ended.")
        raise ChatError("not_assigned", "Accept this chat before sending files.")
    return chat


def require_visitor_attach(chat):
    if not visitor_may_attach(chat):
        raise ChatError("session_closed", "This chat has ended.")
    return chat


def require_visitor_write(chat):
    if not visitor_may_write(chat):
        raise ChatError("session_closed", "This chat has ended.")
    return chat


# What an agent's socket event needs to decide, read fresh in one query on the driver's
# cursor: the agent (is the login still valid? its role, its name) and the chat (status,
# holder, site). Loading both through the ORM was a third of the server's time per agent
# message, and the same query through the ORM session still a sixth (docs/benchmarks.md).

@dataclass(frozen=True)
class AgentFacts:
    id: int
    active: bool
    session_version: int
    role: str
    display_name: str
    serves_chat_site: bool      # answers the site of the chat read with it

    def serves_site(self, site_id):
        return supervises(self) or self.serves_chat_site


@dataclass(frozen=True)
class ChatFacts(StatusGroups):
    id: str
    status: str
    agent_id: int | None
    site_id: int
    last_seq: int
    channel: str = "web"        # web, whatsapp, line: a phone's chat has rules of its own (channels/)


AGENT_AND_CHAT_SQL = (
    "SELECT a.active, a.session_version, a.role, a.display_name, "
    "c.id, c.status, c.agent_id, c.site_id, c.last_seq, c.channel, "
    "EXISTS (SELECT 1 FROM agent_site s WHERE s.agent_id = a.id AND s.site_id = c.site_id) "
    "FROM agent a LEFT JOIN chat_session c ON c.id = :session_id WHERE a.id = :agent_id")


def agent_and_chat(agent_id, session_id=None):
    """(AgentFacts or None, ChatFacts or None): None for an agent that no longer exists
    and for a chat that does not."""
    row = message_store.fetch_one(AGENT_AND_CHAT_SQL, {"agent_id": agent_id, "session_id": session_id})
    if row is None:
        return None, None
    active, version, role, name, chat_id, status, holder, site_id, last_seq, channel, serves = row
    agent = AgentFacts(agent_id, bool(active), version, role, name, bool(serves))
    chat = ChatFacts(chat_id, status, holder, site_id, last_seq, channel) if chat_id is not None else None
    return agent, chat


# History: an agent reads the past chats it took part in (held it, or wrote in it);
# supervisors and admins read every chat. Once as SQL for the lists, once for one chat.
# Writing in a chat means a public message: a note is no part in the conversation (any agent
# of the site may leave one on a waiting chat, and it must not open the transcript for good).

def _wrote_in(agent, session_id):
    return exists().where(Message.session_id == session_id, Message.sender_type == "agent",
                          Message.sender_id == agent.id, Message.private == false())


def history_condition(agent):
    """A WHERE condition on chat_session: the chats `agent` may find in history."""
    if supervises(agent):
        return true()
    return or_(ChatSession.agent_id == agent.id, _wrote_in(agent, ChatSession.id))


def history_chats(agent):
    """The same rule from the agent's side: a select of the ids of the chats it held or wrote in
    (through ix_chat_session_agent_status and ix_message_sender); None for a supervisor (all)."""
    if supervises(agent):
        return None
    return union(select(ChatSession.id).where(ChatSession.agent_id == agent.id),
                 select(Message.session_id).where(Message.sender_type == "agent", Message.sender_id == agent.id,
                                                  Message.private == false())
                 .group_by(Message.session_id))     # one per chat, in the index's order: a smaller union


def took_part(agent, chat):
    """Supervisors, and the agent who holds or held the chat or wrote in it: they read its
    transcript whole, private notes included."""
    return supervises(agent) or holds(agent, chat) or db.session.execute(select(_wrote_in(agent, chat.id))).scalar()


# The same person's other chats: the agent talking to a visitor now (holding an active chat of
# theirs) reads their closed chats, without the notes. "The same person" is the same visitor
# or the same email, which nobody has verified: anyone may type a customer's email, so the
# rule never opens a chat still going on (nor its notes), only one that has ended.

def _talking_to_person_of(agent, chat):
    talking = select(ChatSession.id).where(
        ChatSession.agent_id == agent.id, ChatSession.status == "active", visitors.same_person(chat))
    return db.session.execute(select(talking.exists())).scalar()


def may_read_transcript(agent, chat):
    """Supervisors any; an agent the chats it took part in, the chats it may view (the queue of
    its sites), and the closed chats of a visitor it is talking to now (its side panel lists them)."""
    return (took_part(agent, chat) or may_view(agent, chat)
            or (not chat.is_open and _talking_to_person_of(agent, chat)))


def may_read_notes(agent, chat):
    """The private notes of a transcript belong to those who took part in the chat."""
    return took_part(agent, chat)


def readable_transcripts(agent, chat):
    """A WHERE condition on chat_session for the chats of `chat`'s person (visitors.same_person):
    those whose transcript `agent` may read, may_read_transcript as SQL (the side panel's list)."""
    if supervises(agent):
        return true()
    same_person_rule = ChatSession.status.not_in(OPEN_STATUSES) if _talking_to_person_of(agent, chat) else false()
    in_its_queue = and_(ChatSession.status.in_(QUEUED_STATUSES), ChatSession.site_id.in_(agent.site_ids))
    return or_(history_condition(agent), same_person_rule, in_its_queue)


def require_transcript(agent, chat):
    """A transcript the agent may not read does not exist, as far as the agent knows."""
    if chat is None or not may_read_transcript(agent, chat):
        raise session_not_found()
    return chat
