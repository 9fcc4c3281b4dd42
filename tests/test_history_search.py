"""History search: filters, words (accents, syntax characters), pages, and who sees which chat."""
from datetime import datetime, timedelta

import pytest
from werkzeug.datastructures import MultiDict

from chat import access, history_search, messages, sessions
from chat.errors import ChatError
from chat.extensions import db
from chat.history import csv_cell
from chat.history_search import HistoryFilters, find_chats
from chat.models import ChatSession, Message, Visitor, hash_session_key
from tests.support import csrf_token


def make_chat(site, name, email=None, holder=None, lines=(), status="ended", channel="web", started=None):
    """A chat with its messages; `lines` are (sender_type, text) or (sender_type, text, agent, private)."""
    started = started or datetime(2026, 11, 20, 10, 0)
    chat = ChatSession(site=site, visitor=Visitor(site_id=site.id, name=name, email=email), status=status,
                       channel=channel, agent_id=holder.id if holder else None, key_hash=hash_session_key("k"),
                       started_at=started, expires_at=started + timedelta(hours=22), last_activity_at=started,
                       visitor_last_seen_at=started, ended_at=started + timedelta(minutes=5) if status == "ended" else None)
    db.session.add(chat)
    db.session.flush()
    for seq, line in enumerate(lines, start=1):
        sender_type, text, author, private = (*line, None, False)[:4]
        db.session.add(Message(session_id=chat.id, seq=seq, sender_type=sender_type, text=text, created_at=started,
                               sender_id=author.id if author else None, private=private,
                               sender_name=author.display_name if author else name))
    chat.last_seq = len(lines)
    db.session.commit()
    return chat


def found(agent, **filters):
    found = find_chats(agent, HistoryFilters(**filters), per_page=100)
    assert found.total == len(found.rows) and not found.total_is_lower_bound
    return {row.visitor_name for row in found.rows}


@pytest.fixture
def alice(agents):
    return agents[0]


@pytest.fixture
def supervisor(agents):
    return agents[2]


def test_a_word_from_a_message_finds_its_chat(site, supervisor):
    make_chat(site, "Ann", lines=[("visitor", "My parcel never arrived"), ("agent", "Let me check the tracking")])
    make_chat(site, "Ben", lines=[("visitor", "How do I reset my password?")])
    assert found(supervisor, search="parcel") == {"Ann"}
    assert found(supervisor, search="TRACKING") == {"Ann"}
    assert found(supervisor, search="password") == {"Ben"}
    assert found(supervisor, search="refund") == set()


def test_every_word_must_be_in_one_message(site, supervisor):
    make_chat(site, "Ann", lines=[("visitor", "the parcel is late"), ("visitor", "and the box was broken")])
    make_chat(site, "Ben", lines=[("visitor", "my parcel box was broken")])
    assert found(supervisor, search="parcel broken") == {"Ben"}
    assert found(supervisor, search="box broken") == {"Ann", "Ben"}


def test_accents_do_not_matter_either_way(site, supervisor):
    make_chat(site, "Ann", lines=[("visitor", "Un café crème, s'il vous plaît")])
    make_chat(site, "Ben", lines=[("visitor", "Creme brulee for the cafe")])
    assert found(supervisor, search="cafe") == {"Ann", "Ben"}
    assert found(supervisor, search="CAFÉ") == {"Ann", "Ben"}
    assert found(supervisor, search="plait") == {"Ann"}
    assert found(supervisor, search="brûlée") == {"Ben"}


@pytest.mark.parametrize("search", [
    '"foo" OR bar*', 'foo" OR "bar', "foo AND NOT bar", "NEAR(foo bar)", "-foo", "foo:*", "foo & !bar",
    "foo | bar", "'); DROP TABLE message; --", "(", "*", '"', "^foo", "foo'bar", "col:foo", "{foo bar}",
])
def test_query_syntax_in_the_search_is_only_words(site, supervisor, search):
    make_chat(site, "Ann", lines=[("visitor", "foo or bar and not foo bar near col drop table message")])
    make_chat(site, "Ben", lines=[("visitor", "nothing to see")])
    assert found(supervisor, search=search) <= {"Ann"}


def test_quotes_and_operators_are_read_as_the_words_they_hold(site, supervisor):
    make_chat(site, "Ann", lines=[("visitor", "foo or bar")])
    make_chat(site, "Ben", lines=[("visitor", "foo alone")])
    assert found(supervisor, search='"foo" OR bar*') == {"Ann"}
    assert history_search.search_words('"foo" OR bar*') == ["foo", "or", "bar"]


def test_the_visitors_name_and_email_match_as_typed_with_like_characters_literal(site, supervisor):
    make_chat(site, "Anna Smith", email="anna@shop.example")
    make_chat(site, "Bob 100%", email="bob_b@example.com")
    make_chat(site, "Carl", email="carl@example.com")
    assert found(supervisor, search="anna sm") == {"Anna Smith"}
    assert found(supervisor, search="SHOP.EXAMPLE") == {"Anna Smith"}
    assert found(supervisor, search="100%") == {"Bob 100%"}
    assert found(supervisor, search="b_b") == {"Bob 100%"}
    assert found(supervisor, search="%") == {"Bob 100%"}
    assert found(supervisor, search="An") == {"Anna Smith"}


def test_a_visitor_who_changed_their_name_is_found_by_the_new_one(site, supervisor):
    chat = make_chat(site, "Before Name")
    chat.visitor.name = "Renamed Visitor"
    db.session.commit()
    assert found(supervisor, search="renamed") == {"Renamed Visitor"}
    assert found(supervisor, search="before") == set()


def test_filters_by_status_channel_agent_and_dates(site, alice, agents, supervisor):
    bob = agents[1]
    make_chat(site, "Ann", holder=alice, started=datetime(2026, 11, 1, 9))
    make_chat(site, "Ben", holder=bob, status="abandoned", started=datetime(2026, 11, 2, 23, 59))
    make_chat(site, "Cat", channel="whatsapp", status="waiting", started=datetime(2026, 11, 3, 0, 0))
    assert found(supervisor) == {"Ann", "Ben", "Cat"}
    assert found(supervisor, status="abandoned") == {"Ben"}
    assert found(supervisor, channel="whatsapp") == {"Cat"}
    assert found(supervisor, agent_id=alice.id) == {"Ann"}
    day = datetime(2026, 11, 2).date()
    assert found(supervisor, start_date=day, end_date=day) == {"Ben"}
    assert found(supervisor, start_date=day) == {"Ben", "Cat"}
    assert found(supervisor, end_date=day) == {"Ann", "Ben"}


def test_pages_newest_first_with_the_total(site, supervisor):
    for n in range(7):
        make_chat(site, f"V{n}", started=datetime(2026, 11, 1) + timedelta(hours=n))
    found = find_chats(supervisor, HistoryFilters(), page=2, per_page=3)
    rows = found.rows
    assert found.total == 7
    assert [row.visitor_name for row in rows] == ["V3", "V2", "V1"]
    assert [row.message_count for row in rows] == [0, 0, 0]
    assert rows[0].duration_seconds == 300


def test_an_agent_finds_only_the_chats_they_held_or_wrote_in(site, alice, agents, supervisor):
    bob = agents[1]
    held = make_chat(site, "Held", holder=alice, lines=[("visitor", "secret one")])
    wrote = make_chat(site, "Wrote", holder=bob, lines=[("visitor", "secret two"), ("agent", "hi", alice, False)])
    other = make_chat(site, "Other", holder=bob, lines=[("visitor", "secret three"), ("agent", "hi", bob, False)])
    queued = make_chat(site, "Queued", status="waiting", lines=[("visitor", "secret four")])
    assert found(alice) == {"Held", "Wrote"}
    assert found(alice, search="secret") == {"Held", "Wrote"}
    assert found(alice, agent_id=bob.id) == {"Wrote"}
    assert found(bob) == {"Wrote", "Other"}
    assert found(supervisor, search="secret") == {"Held", "Wrote", "Other", "Queued"}
    # The queued chat is in the queue of her site, where she may open it anyway (not in her history).
    assert [access.may_read_transcript(alice, chat) for chat in (held, wrote, other, queued)] == [
        True, True, False, True]
    assert all(access.may_read_transcript(supervisor, chat) for chat in (held, wrote, other, queued))
    with pytest.raises(ChatError) as refused:
        access.require_transcript(alice, other)
    assert refused.value.code == "session_not_found"


def test_private_notes_are_searched_and_in_the_transcript(site, alice, supervisor):
    chat = make_chat(site, "Ann", holder=alice, lines=[
        ("system", "Alice has joined the chat"), ("visitor", "hello"), ("agent", "VIP customer, be nice", alice, True)])
    assert found(alice, search="vip") == {"Ann"}
    assert [(m.sender_type, m.private) for m in history_search.transcript(chat)] == [
        ("system", False), ("visitor", False), ("agent", True)]


def test_a_note_alone_is_no_part_in_a_chat(site, alice, agents):
    """Any agent of the site may note a waiting chat; once Bob claims it, the note opens
    neither the chat's transcript nor its place in the history to the note's author."""
    chat, _ = sessions.start_session(site, name="Ann")
    messages.post_note(chat, alice, ".", "note-1")
    sessions.claim_session(chat, agents[1])
    assert found(alice) == set()
    assert not access.may_read_transcript(alice, chat)


@pytest.mark.parametrize("args, refusal", [
    ({"start_date": "2026-13-01"}, "start date must be a date"),
    ({"end_date": "yesterday"}, "end date must be a date"),
    ({"end_date": "9999-12-31"}, "The end date must be a date like 2026-01-31, in the years 1970 to 9998."),
    ({"start_date": "0001-01-01"}, "The start date must be a date like 2026-01-31, in the years 1970 to 9998."),
    ({"start_date": "2026-11-02", "end_date": "2026-11-01"}, "end date comes before"),
    ({"status": "closed"}, "status must be one of"),
    ({"channel": "fax"}, "channel must be one of"),
    ({"agent_id": "-1"}, "agent id must be a whole number"),
    ({"agent_id": "1e3"}, "agent id must be a whole number"),
    ({"search": "x" * 201}, "search can be up to 200"),
])
def test_bad_filters_are_refused_with_a_sentence(app, args, refusal):
    with pytest.raises(ChatError) as refused:
        history_search.filters_from(MultiDict(args))
    assert refused.value.code == "invalid_payload"
    assert refusal in refused.value.message


@pytest.mark.parametrize("args", [{"page": "0"}, {"per_page": "101"}, {"page": "abc"}, {"per_page": "10001"}])
def test_pages_are_bounded(app, args):
    with pytest.raises(ChatError):
        history_search.page_from(MultiDict(args))


def test_empty_filters_mean_none(app):
    assert history_search.filters_from(MultiDict({"status": "", "search": "  "})) == HistoryFilters()
    assert history_search.page_from(MultiDict({})) == (1, 25)


@pytest.mark.parametrize("value, cell", [
    ("=HYPERLINK(1)", "'=HYPERLINK(1)"), ("+1", "'+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("plain", "plain"), (None, ""), (12, "12"),
])
def test_csv_cells_never_start_a_formula(value, cell):
    assert csv_cell(value) == cell


# ---- a search counts and lists at most MATCH_CAP chats

@pytest.fixture
def cap_of_three(monkeypatch):
    """MATCH_CAP 3 and messages searched two ids at first, so a handful of chats passes the cap."""
    monkeypatch.setattr(history_search, "MATCH_CAP", 3)
    monkeypatch.setattr(history_search, "WINDOW", 2)


def parcel_chats(site, count, holder=None):
    """`count` chats an hour apart (V0 oldest), each with three messages saying "parcel"."""
    for n in range(count):
        make_chat(site, f"V{n}", holder=holder, started=datetime(2026, 11, 1) + timedelta(hours=n),
                  lines=[("visitor", "my parcel"), ("agent", "your parcel"), ("visitor", "parcel again")])


def test_a_search_past_the_cap_counts_the_cap_as_a_lower_bound_and_pages_end_there(site, supervisor, cap_of_three):
    parcel_chats(site, 5)
    first = find_chats(supervisor, HistoryFilters(search="parcel"), page=1, per_page=2)
    assert (first.total, first.total_is_lower_bound, first.pages(2)) == (3, True, 2)
    assert [row.visitor_name for row in first.rows] == ["V4", "V3"]
    assert [row.visitor_name for row in find_chats(supervisor, HistoryFilters(search="parcel"), 2, 2).rows] == ["V2"]
    assert find_chats(supervisor, HistoryFilters(search="parcel"), 3, 2).rows == []
    assert find_chats(supervisor, HistoryFilters()).total == 5          # no words: exact, no cap


def test_a_search_up_to_the_cap_is_counted_exactly(site, supervisor, cap_of_three):
    parcel_chats(site, 3)
    found_ = find_chats(supervisor, HistoryFilters(search="PARCEL"), per_page=2)
    assert (found_.total, found_.total_is_lower_bound) == (3, False)
    assert [row.visitor_name for row in found_.rows] == ["V2", "V1"]


def test_the_cap_counts_only_chats_the_filters_and_the_access_rule_keep(site, alice, agents, supervisor, cap_of_three):
    parcel_chats(site, 5, holder=agents[1])
    make_chat(site, "Mine", holder=alice, started=datetime(2026, 10, 1), lines=[("visitor", "parcel")])
    assert found(alice, search="parcel") == {"Mine"}
    assert found(supervisor, search="parcel", agent_id=alice.id) == {"Mine"}
    assert found(supervisor, search="parcel", end_date=datetime(2026, 10, 31).date()) == {"Mine"}


def test_visitors_found_by_name_are_capped_too(site, supervisor, cap_of_three):
    for n in range(5):
        make_chat(site, f"Smith {n}", started=datetime(2026, 11, 1) + timedelta(hours=n))
    found_ = find_chats(supervisor, HistoryFilters(search="smith"), per_page=10)
    assert (found_.total, found_.total_is_lower_bound) == (3, True)
    assert [row.visitor_name for row in found_.rows] == ["Smith 4", "Smith 3", "Smith 2"]


def test_the_page_the_json_and_the_csv_say_more_than_the_cap(app, site, agents, cap_of_three):
    parcel_chats(site, 5)
    client = app.test_client()
    token = csrf_token(client.get("/login").text)
    assert client.post("/login", data={"email": "s@example.com", "password": "password-3",
                                       "csrf_token": token}).status_code == 302
    page = client.get("/history?search=parcel").text
    assert "More than 3 chats: the 3 with the latest matching messages are listed" in page
    answer = client.get("/api/v1/agent/sessions/history?search=parcel&per_page=2").get_json()
    assert (answer["total"], answer["total_is_lower_bound"], answer["pages"]) == (3, True, 2)
    assert [item["visitor_name"] for item in answer["items"]] == ["V4", "V3"]
    exact = client.get("/api/v1/agent/sessions/history?search=V1").get_json()
    assert (exact["total"], exact["total_is_lower_bound"]) == (1, False)
    rows = client.get("/history.csv?search=parcel").text.splitlines()
    assert len(rows) == 1 + 3


@pytest.mark.parametrize("own_chats_read", [history_search.OWN_CHATS_READ, 0])   # from its own chats; by id
def test_an_agent_with_many_chats_among_many_matches_gets_exactly_its_own_newest(
        site, alice, agents, cap_of_three, monkeypatch, own_chats_read):
    monkeypatch.setattr(history_search, "OWN_CHATS_READ", own_chats_read)
    bob = agents[1]
    for n in range(12):             # an hour apart, oldest first; alice held or wrote in every third
        mine, wrote = n % 3 == 0, n % 6 == 0
        make_chat(site, f"{'A' if mine else 'B'}{n}", holder=bob if wrote or not mine else alice,
                  started=datetime(2026, 11, 1) + timedelta(hours=n),
                  lines=[("visitor", "my parcel"), ("agent", "your parcel", alice if wrote else bob, False)])
    make_chat(site, "A-old", holder=alice, started=datetime(2026, 10, 1), lines=[("visitor", "no match")])
    searched = find_chats(alice, HistoryFilters(search="parcel"), per_page=10)
    assert (searched.total, searched.total_is_lower_bound) == (3, True)
    assert [row.visitor_name for row in searched.rows] == ["A9", "A6", "A3"]
    assert found(alice, search="parcel", agent_id=bob.id) == {"A0", "A6"}        # the filters still apply


def test_an_agents_own_chats_are_the_chats_the_access_rule_lets_it_find(site, alice, agents, supervisor):
    bob = agents[1]
    make_chat(site, "Held", holder=alice)
    make_chat(site, "Wrote", holder=bob, lines=[("agent", "hello", alice, False)])
    make_chat(site, "Noted", holder=bob, lines=[("agent", "noted", alice, True)])
    make_chat(site, "Other", holder=bob, lines=[("agent", "hi", bob, False)])
    by_rule = set(db.session.scalars(db.select(ChatSession.id).where(access.history_condition(alice))))
    own = set(db.session.scalars(access.history_chats(alice)))
    assert own == by_rule and len(by_rule) == 2
    assert sorted(history_search.own_chats(alice)) == sorted(own)
    assert history_search.own_chats(supervisor) is None


def test_a_search_repeated_on_one_connection_finds_the_same_chats(site, alice, agents, supervisor):
    """PostgreSQL prepares a statement run often on one connection; a search plans each anew."""
    parcel_chats(site, 3, holder=alice)
    make_chat(site, "Other", holder=agents[1], lines=[("visitor", "parcel")])
    for _ in range(12):
        assert found(alice, search="parcel") == {"V0", "V1", "V2"}
        assert found(supervisor, search="parcel") == {"V0", "V1", "V2", "Other"}
        assert found(alice, search="nothing") == set()


def test_a_search_that_finds_nothing_exports_only_the_header(app, site, agents):
    parcel_chats(site, 2)
    client = app.test_client()
    token = csrf_token(client.get("/login").text)
    assert client.post("/login", data={"email": "s@example.com", "password": "password-3",
                                       "csrf_token": token}).status_code == 302
    assert len(client.get("/history.csv?search=parcel").text.splitlines()) == 1 + 2
    assert len(client.get("/history.csv?search=nowhere").text.splitlines()) == 1
