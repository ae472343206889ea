"""Live updates through the in-process system (services/gateway/live.py): who may follow what, and
what each stream is told when tickets change. The broker's side is tests/e2e/test_live.py's."""
import json
import uuid

import pytest

from .conftest import as_user

OPEN_STREAMS = []


@pytest.fixture(autouse=True)
def closed_afterwards():
    """Every stream a test opened is closed after it, as a browser leaving the page."""
    yield
    while OPEN_STREAMS:
        OPEN_STREAMS.pop().close()

TICKET = {"title": "Corte de fibra", "description": "Sin servicio desde las 8:00."}


def messages(chunks, count):
    """The next `count` server-sent events of a stream, as (event, data)."""
    found = []
    while len(found) < count:
        chunk = next(chunks).decode()
        for block in chunk.split("\n\n"):
            lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
            if "event" in lines:
                found.append((lines["event"], json.loads(lines["data"])))
    return found


def follow(user, **wanted):
    query = "&".join(f"{name}={value}" for name, values in wanted.items() for value in values)
    status, headers, chunks = user.stream(f"/api/v1/live?{query}")
    OPEN_STREAMS.append(chunks)
    assert status == 200
    assert headers["Content-Type"].startswith("text/event-stream") and headers["Cache-Control"] == "no-store"
    assert messages(chunks, 1) == [("ready", {})]
    return chunks


def open_ticket(customer, department="networks"):
    opened = customer.call("POST", "/api/v1/tickets", dict(TICKET, department=department))
    assert opened.status_code == 201, opened.text
    return opened.json()


def test_a_department_queue_is_told_of_a_new_ticket_and_of_one_taken_from_it(system):
    agent = as_user(system, "agent-networks@helpdesk.example")
    queue = follow(agent, queue=["networks"])
    ticket = open_ticket(as_user(system, "cliente@demo.example"))
    (kind, data), = messages(queue, 1)
    assert kind == "ticket" and data == {"ticket_id": ticket["ticket_id"], "version": 0, "type": "TicketOpened",
                                         "department": "networks"}
    taken = agent.call("POST", f"/api/v1/tickets/{ticket['ticket_id']}/assign", {})
    assert taken.status_code == 200, taken.text
    (kind, data), = messages(queue, 1)
    assert (data["ticket_id"], data["type"], data["version"]) == (ticket["ticket_id"], "TicketAssigned", taken.json()["version"])


def test_a_ticket_moved_to_another_department_tells_both_queues(system):
    networks = follow(as_user(system, "agent-networks@helpdesk.example"), queue=["networks"])
    supervisor = as_user(system, "supervisor@helpdesk.example")
    sales = follow(supervisor, queue=["sales"])
    ticket = open_ticket(as_user(system, "cliente@demo.example"))
    assert messages(networks, 1)[0][1]["type"] == "TicketOpened"
    moved = supervisor.call("POST", f"/api/v1/tickets/{ticket['ticket_id']}/reclassify",
                            {"department": "sales", "reason": "Es una consulta comercial."})
    assert moved.status_code == 200, moved.text
    assert messages(networks, 1)[0][1] == messages(sales, 1)[0][1] == {
        "ticket_id": ticket["ticket_id"], "version": moved.json()["version"], "type": "TicketReclassified",
        "department": "sales"}


def test_a_customer_following_their_ticket_hears_the_reply_but_never_the_internal_note(system):
    customer = as_user(system, "cliente@demo.example")
    ticket = open_ticket(customer)
    page = follow(customer, ticket=[ticket["ticket_id"]])
    agent = as_user(system, "agent-networks@helpdesk.example")
    assert agent.call("POST", f"/api/v1/tickets/{ticket['ticket_id']}/notes", {"body": "Solo el equipo."}).status_code == 200
    asked = agent.call("POST", f"/api/v1/tickets/{ticket['ticket_id']}/information-requests", {"body": "¿Qué router?"})
    assert asked.status_code == 200, asked.text
    (kind, data), = messages(page, 1)  # the note was never put on this stream: the request comes first
    assert (kind, data["type"], data["version"]) == ("ticket", "InformationRequested", asked.json()["version"])
    staff_page = follow(agent, ticket=[ticket["ticket_id"]])
    assert agent.call("POST", f"/api/v1/tickets/{ticket['ticket_id']}/notes", {"body": "Otra nota."}).status_code == 200
    assert messages(staff_page, 1)[0][1]["type"] == "InternalNoteAdded"  # staff hear it


def test_colleagues_on_a_ticket_hear_who_is_replying_and_customers_may_not_say_it(system):
    ticket = open_ticket(as_user(system, "cliente@demo.example"))
    ana = as_user(system, "agent-networks@helpdesk.example")
    boss = as_user(system, "supervisor@helpdesk.example")
    anas_page, boss_page = follow(ana, ticket=[ticket["ticket_id"]]), follow(boss, ticket=[ticket["ticket_id"]])
    said = ana.call("POST", f"/api/v1/tickets/{ticket['ticket_id']}/presence", {"activity": "replying"})
    assert said.status_code == 204, said.text
    (kind, notice), = messages(boss_page, 1)
    assert kind == "presence" and notice["activity"] == "replying" and notice["ticket_id"] == ticket["ticket_id"]
    assert notice["name"] == "Agente networks" and notice["expires_in"] == 15
    boss.call("POST", f"/api/v1/tickets/{ticket['ticket_id']}/presence", {"activity": "viewing"})
    (_, viewing), = messages(anas_page, 1)  # Ana's own notice never came back to her
    assert viewing["activity"] == "viewing" and viewing["expires_in"] == 90  # renewed only when the boss acts
    assert viewing["answer"] is False
    ana.call("POST", f"/api/v1/tickets/{ticket['ticket_id']}/presence", {"activity": "viewing", "answer": True})
    assert messages(boss_page, 1)[0][1]["answer"] is True  # Ana answers the boss's arrival: no answer back
    boss.call("POST", f"/api/v1/tickets/{ticket['ticket_id']}/presence", {"activity": "left"})
    (_, left), = messages(anas_page, 1)
    assert left["activity"] == "left" and left["expires_in"] == 0
    customer = as_user(system, "cliente@demo.example")
    refused = customer.call("POST", f"/api/v1/tickets/{ticket['ticket_id']}/presence", {"activity": "replying"})
    assert refused.status_code == 403 and refused.json()["message"]
    bad = ana.call("POST", f"/api/v1/tickets/{ticket['ticket_id']}/presence", {"activity": "sleeping"})
    assert bad.status_code == 422 and "activity" in bad.json()["fields"]


def test_a_logout_ends_that_sessions_streams_at_once(system):
    agent = as_user(system, "agent-networks@helpdesk.example")
    queue = follow(agent, queue=["networks"])
    assert agent.call("POST", "/api/v1/auth/logout").status_code == 204
    assert list(queue) == []  # the stream ended
    assert system.live.hub.idle


def test_who_may_follow_what_is_checked_when_the_stream_opens(system, api):
    customer = as_user(system, "cliente@demo.example")
    others = open_ticket(as_user(system, "cliente@demo.example"))
    stranger_ticket = str(uuid.uuid4())
    cases = [
        (api, "queue=networks", 401, None),
        (customer, "queue=networks", 403, None),
        (as_user(system, "agent-sales@helpdesk.example"), "queue=networks", 403, None),  # not their department
        (as_user(system, "agent-sales@helpdesk.example"), f"ticket={others['ticket_id']}", 404, None),
        (customer, f"ticket={stranger_ticket}", 404, None),
        (customer, "", 422, "ticket"),
        (customer, "ticket=not-a-uuid", 422, "ticket"),
        (customer, "&".join(f"ticket={uuid.uuid4()}" for _ in range(21)), 422, "ticket"),
        (customer, "ticket=" + others["ticket_id"] + "&colour=red", 422, "colour"),
    ]
    for user, query, status, field in cases:
        answer = user.call("GET", f"/api/v1/live?{query}")
        assert answer.status_code == status, (query, answer.text)
        body = answer.json()
        assert body["message"], query
        if field:  # the parameter named (its item, for a list: ticket.0)
            assert any(name.split(".")[0] == field for name in body["fields"]), (query, body)
    assert system.live.hub.idle  # no refused request left a subscription behind


def test_a_queue_is_filtered_by_assignee_me_or_nobody_urgency_and_text_and_bad_filters_are_named(system):
    customer = as_user(system, "cliente@demo.example")
    mine, other = open_ticket(customer, "systems"), open_ticket(customer, "systems")
    agent = as_user(system, "agent-systems@helpdesk.example")
    assert agent.call("POST", f"/api/v1/tickets/{mine['ticket_id']}/assign", {}).status_code == 200

    def ids(query):
        answer = agent.call("GET", f"/api/v1/queues/systems?limit=100&{query}")
        assert answer.status_code == 200, answer.text
        return [item["ticket_id"] for item in answer.json()["items"]]
    assert mine["ticket_id"] in ids("assignee=me") and other["ticket_id"] not in ids("assignee=me")
    rows = agent.call("GET", "/api/v1/queues/systems?limit=100&assignee=me").json()["items"]
    assert {row["assignee_name"] for row in rows} == {"Agente systems"}  # the queue names who took it
    assert other["ticket_id"] in ids("assignee=none") and mine["ticket_id"] not in ids("assignee=none")
    assert mine["ticket_id"] in ids("status=assigned") and other["ticket_id"] in ids("status=new")
    assert other["ticket_id"] in ids(f"text={other['reference'].lstrip('#')}")
    for query, field in (("assignee=somebody", "assignee"), ("urgency=low", "urgency"), ("status=lost", "status")):
        answer = agent.call("GET", f"/api/v1/queues/systems?{query}")
        assert answer.status_code == 422 and field in answer.json()["fields"], (query, answer.text)
