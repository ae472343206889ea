"""Live updates through the running system: server-sent events over HTTP, fed by the tickets
service's events through RabbitMQ and by presence through the gateways' fan-out exchange
(services/gateway/live.py). The rules themselves are tests/unit/test_live_hub.py's and
tests/service/test_live.py's; here, that the real parts carry them."""
import requests

from helpdesk.testing import EventStream

from .conftest import as_user

TICKET = {"title": "Corte de fibra", "description": "Sin servicio desde las 8:00.", "department": "networks"}


def live_queues(system):
    listed = requests.get(f"{system.rabbit.api}/api/queues/{requests.utils.quote(system.vhost, safe='')}",
                          auth=system.rabbit.auth, timeout=10).json()
    return [q["name"] for q in listed if q["name"].startswith("gateway.live.")]


def test_a_queue_and_a_ticket_page_hear_changes_through_the_broker_and_colleagues_hear_each_other(system):
    agent = as_user(system, "agent-networks@helpdesk.example")
    boss = as_user(system, "supervisor@helpdesk.example")
    customer = as_user(system, "cliente@demo.example")
    watching = EventStream(agent, "queue=networks")
    try:
        assert watching.next() == ("ready", {})
        assert len(live_queues(system)) == 1  # one queue of this gateway's while streams are open
        opened = customer.call("POST", "/api/v1/tickets", TICKET).json()
        kind, data = watching.until(lambda k, d: k == "ticket" and d["ticket_id"] == opened["ticket_id"])
        assert (kind, data["type"], data["department"]) == ("ticket", "TicketOpened", "networks")

        page = EventStream(customer, f"ticket={opened['ticket_id']}")
        colleague = EventStream(boss, f"ticket={opened['ticket_id']}")
        assert page.next() == colleague.next() == ("ready", {})
        ticket_id = opened["ticket_id"]
        assert agent.call("POST", f"/api/v1/tickets/{ticket_id}/notes", {"body": "Solo el equipo."}).status_code == 200
        asked = agent.call("POST", f"/api/v1/tickets/{ticket_id}/information-requests", {"body": "¿Qué router?"})
        assert asked.status_code == 200, asked.text
        kind, data = page.until(lambda k, d: k == "ticket")
        assert data["type"] == "InformationRequested" and data["version"] == asked.json()["version"]  # never the note

        said = agent.call("POST", f"/api/v1/tickets/{ticket_id}/presence", {"activity": "replying"})
        assert said.status_code == 204, said.text
        kind, notice = colleague.until(lambda k, d: k == "presence")
        assert (notice["user_id"], notice["activity"], notice["ticket_id"]) == (
            agent.call("GET", "/api/v1/me").json()["user_id"], "replying", ticket_id)
        page.close()
        colleague.close()
    finally:
        watching.close()
    # (that it stops consuming when nobody watches: tests/integration/test_live_feed.py)


def test_a_logout_ends_the_stream_and_refusals_answer_json_before_any_stream(system):
    agent = as_user(system, "agent-networks@helpdesk.example")
    watching = EventStream(agent, "queue=networks")
    assert watching.next() == ("ready", {})
    assert agent.call("POST", "/api/v1/auth/logout").status_code == 204
    assert watching.until(lambda k, d: False, timeout=10) == ("closed", None)
    customer = as_user(system, "cliente@demo.example")
    refused = customer.call("GET", "/api/v1/live?queue=networks")
    assert refused.status_code == 403 and refused.headers["Content-Type"].startswith("application/json")
    assert refused.json()["message"]
