"""Routing and SLA in the running system. Its clock starts on a Sunday night (FAKE_NOW): the 8x5
departments are closed, Soporte 24 Horas is on shift."""
import datetime as dt
import time

import pytest

from helpdesk import testing

from .conftest import as_user

TICKET = {"title": "Caída total", "description": "Sin servicio en la sede central"}


@pytest.fixture(scope="module")
def customer(system):
    return as_user(system, "cliente@demo.example")


@pytest.fixture(scope="module")
def supervisor(system):
    return as_user(system, "supervisor@helpdesk.example")


def opened(customer, **fields):
    response = customer.call("POST", "/api/v1/tickets", dict(TICKET, **fields))
    assert response.status_code == 201, response.text
    return response.json()["ticket_id"]


def eventually(viewer, ticket_id, predicate, timeout=15):
    """The ticket as `viewer` sees it, once `predicate` holds (routing works asynchronously)."""
    seen = {}

    def check():
        seen["ticket"] = viewer.call("GET", f"/api/v1/tickets/{ticket_id}").json()
        return predicate(seen["ticket"])

    assert testing.wait_until(check, timeout=timeout, interval=0.1), seen.get("ticket")
    return seen["ticket"]


AGENT_24H, AGENT_SYSTEMS = "agent-support-24h@helpdesk.example", "agent-systems@helpdesk.example"


def queue_mails(system, address, reference):
    return [m for m in system.mails_to(address) if m["Subject"].startswith(f"[Ticket {reference}]")]


def test_a_non_urgent_ticket_asked_for_24h_support_is_opened_in_systems_and_no_24h_agent_is_paged(
        customer, system):
    response = customer.call("POST", "/api/v1/tickets", dict(TICKET, department="support_24h", urgency="medium"))
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["department"] == "systems"  # decided at opening: the answer names where it went
    (opening,) = ticket["history"]
    assert opening["body"] == "Pidió Soporte 24 Horas; va a Sistemas porque Soporte 24 Horas atiende solo tickets urgentes"
    assert ticket["status"] == "new" and ticket["assignee_id"] is None  # systems is closed on Sunday night
    # the systems agents hear of it, and the customer; the 24-hour agents never do (their mails
    # would have been planned with these, from the same event)
    for address in (AGENT_SYSTEMS, "cliente@demo.example"):
        assert testing.wait_until(lambda: queue_mails(system, address, ticket["reference"]), timeout=15), \
            system.log_tail()
    time.sleep(0.5)
    assert queue_mails(system, AGENT_24H, ticket["reference"]) == []
    later = customer.call("GET", f"/api/v1/tickets/{ticket['ticket_id']}").json()
    assert [e["type"] for e in later["history"]] == ["TicketOpened"]  # routing had nothing to move


def test_lowering_the_urgency_of_a_24h_ticket_moves_it_to_systems_in_the_same_command(customer, system):
    agent = as_user(system, AGENT_24H)
    ticket_id = opened(customer, department="support_24h", urgency="high")
    reference = eventually(agent, ticket_id, lambda t: t["status"] == "assigned")["reference"]
    assert testing.wait_until(lambda: queue_mails(system, AGENT_24H, reference), timeout=15)  # urgent: theirs
    response = agent.call("POST", f"/api/v1/tickets/{ticket_id}/urgency", {"urgency": "medium"})
    assert response.status_code == 200, response.text
    ticket = response.json()
    assert (ticket["department"], ticket["urgency"], ticket["assignee_id"], ticket["status"]) == (
        "systems", "medium", None, "new")
    changed, moved = ticket["history"][-2:]
    assert (changed["type"], moved["type"]) == ("UrgencyChanged", "TicketReclassified")
    assert moved["summary"].endswith("de Soporte 24 Horas a Sistemas")
    assert moved["body"] == "Soporte 24 Horas atiende solo tickets urgentes"
    assert testing.wait_until(lambda: queue_mails(system, AGENT_SYSTEMS, reference), timeout=15), system.log_tail()
    supervisor = as_user(system, "supervisor@helpdesk.example")
    queue = supervisor.call("GET", "/api/v1/queues/systems?limit=100").json()["items"]
    assert any(item["ticket_id"] == ticket_id for item in queue)


@pytest.mark.parametrize("query,expected", [
    ("department=support_24h&urgency=medium",
     {"department": "systems", "department_name": {"es": "Sistemas", "en": "Systems"},
      "reason": {"es": "Soporte 24 Horas atiende solo tickets urgentes", "en": "24-Hour Support takes urgent tickets only"},
      "changed": True}),
    ("department=support_24h",
     {"department": "systems", "changed": True}),
    ("department=support_24h&urgency=high",
     {"department": "support_24h", "reason": None, "changed": False}),
    ("department=networks",
     {"department": "networks", "department_name": {"es": "Redes", "en": "Networks"}, "reason": None,
      "changed": False}),
    ("type=incident&service=hosting&category=total_outage&urgency=high",
     {"department": "support_24h", "changed": False,
      "reason": {"es": "una interrupción total urgente se atiende a cualquier hora",
                 "en": "an urgent total outage is handled around the clock"}}),
    ("type=request&service=domains&category=admin_billing", {"department": "billing", "changed": False}),
])
def test_the_form_learns_where_a_ticket_would_go_before_sending_it(api, query, expected):
    response = api.call("GET", f"/api/v1/routing/preview?{query}")  # no session: the form is public
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == {"department", "department_name", "reason", "changed"}
    assert {key: answer[key] for key in expected} == expected


@pytest.mark.parametrize("query,field", [
    ("department=marketing", "department"),
    ("type=complaint&service=hosting&category=slowness", "type"),
    ("type=incident&service=hosting&category=admin_billing", "category"),
    ("department=sales&urgency=low", "urgency"),
    ("department=sales&colour=red", "colour"),
])
def test_the_preview_names_the_field_it_does_not_know(api, query, field):
    response = api.call("GET", f"/api/v1/routing/preview?{query}")
    assert response.status_code == 422, response.text
    assert field in response.json()["fields"]


def test_an_urgent_24h_ticket_stays_and_is_assigned_to_the_agent_on_shift(customer, supervisor, system):
    ticket_id = opened(customer, department="support_24h", urgency="high")
    ticket = eventually(supervisor, ticket_id, lambda t: t["status"] == "assigned")
    assert ticket["department"] == "support_24h"
    agents = as_user(system, "admin@helpdesk.example").call("GET", "/api/v1/admin/users").json()["items"]
    on_shift = next(u for u in agents if u["email"] == "agent-support-24h@helpdesk.example")
    assert ticket["assignee_id"] == on_shift["user_id"]
    # 24x7, urgent: the first response is due 30 minutes after opening, to the second
    opened_at = dt.datetime.fromisoformat(ticket["opened_at"])
    sla = eventually(supervisor, ticket_id, lambda t: t.get("sla"))["sla"]
    assert dt.datetime.fromisoformat(sla["first_response_due_at"]) == opened_at + dt.timedelta(minutes=30)
    assert dt.datetime.fromisoformat(sla["resolution_due_at"]) == opened_at + dt.timedelta(minutes=240)
    assert "sla" not in customer.call("GET", f"/api/v1/tickets/{ticket_id}").json()  # staff only


def test_an_urgent_total_outage_by_itil_form_is_routed_to_24h_support(customer, supervisor, system):
    from nameko.standalone.rpc import ServiceRpcProxy

    ticket_id = opened(customer, urgency="high",
                       itil={"type": "incident", "service": "hosting", "category": "total_outage"})
    ticket = eventually(supervisor, ticket_id, lambda t: t["department"] == "support_24h" and t["assignee_id"])
    assert any(e["type"] == "TicketRouted" for e in ticket["history"])
    # routing's reactions name what they react to, in the opening's correlation (issue 11)
    with ServiceRpcProxy("tickets", {"AMQP_URI": system.amqp_uri}) as tickets:
        stream = {event["type"]: event for event in tickets.read_stream(f"ticket-{ticket_id}", 0)}
    opening, routed, assigned = stream["TicketOpened"], stream["TicketRouted"], stream["TicketAssigned"]
    assert routed["causation_id"] == opening["event_id"] and assigned["causation_id"] == routed["event_id"]
    assert opening["correlation_id"] == routed["correlation_id"] == assigned["correlation_id"] == opening["event_id"]


def test_with_nobody_on_shift_the_ticket_waits_in_the_queue(customer, system):
    ticket_id = opened(customer, department="networks", urgency="high")
    agent = as_user(system, "agent-networks@helpdesk.example")
    queue = agent.call("GET", "/api/v1/queues/networks?limit=100")
    assert queue.status_code == 200
    waiting = [item for item in queue.json()["items"] if item["ticket_id"] == ticket_id]
    assert waiting and waiting[0]["status"] == "new" and waiting[0]["assignee_id"] is None
    assert waiting[0]["sla"]["first_response_due_at"]  # due times in the queue too


def test_24h_usage_reaches_the_billing_ledger_once_billable_unless_urgent_and_the_providers_fault(
        customer, system, tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    consumer = Path(__file__).resolve().parents[2] / "deploy" / "billing-consumer" / "billing_consumer.py"
    ledger = tmp_path / "ledger.jsonl"
    amqp = system.amqp_uri

    def run_consumer(*extra):
        done = subprocess.run([sys.executable, str(consumer), "--amqp-url", amqp, "--ledger", str(ledger), *extra],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr

    run_consumer("--declare-only")  # the billing team's queue exists before anything is published
    agent = as_user(system, "agent-support-24h@helpdesk.example")
    faulty = opened(customer, department="support_24h", urgency="high")
    plain = opened(customer, department="support_24h", urgency="high")
    for ticket_id in (faulty, plain):
        eventually(agent, ticket_id, lambda t: t["status"] == "assigned")
    assert agent.call("POST", f"/api/v1/tickets/{faulty}/provider-fault",
                      {"provider_fault": True, "note": "corte de fibra nuestro"}).status_code == 200
    for ticket_id in (faulty, plain):
        assert agent.call("POST", f"/api/v1/tickets/{ticket_id}/resolve", {"solution": "Restablecido"}).status_code == 200

    def records():
        run_consumer("--idle-exit", "1")
        lines = [json.loads(line) for line in ledger.read_text().splitlines()] if ledger.exists() else []
        return {line["data"]["ticket_id"]: line for line in lines if line["data"]["ticket_id"] in (faulty, plain)}

    found = {}
    assert testing.wait_until(lambda: len(found.update(records()) or found) == 2, timeout=20), found
    assert found[faulty]["type"] == "Support24hUsageRecorded" and found[faulty]["data"]["billable"] is False
    assert found[plain]["data"]["billable"] is True
    assert found[plain]["data"]["customer_email"] == "cliente@demo.example"
    run_consumer("--idle-exit", "1")  # nothing new: still one line per record
    assert sum(1 for line in ledger.read_text().splitlines() if faulty in line) == 1


def test_re_running_sla_over_the_event_log_reproduces_the_live_clocks_exactly(system, customer):
    from services.sla import recompute

    agent = as_user(system, "agent-support-24h@helpdesk.example")
    ticket_id = opened(customer, department="support_24h", urgency="high")
    eventually(agent, ticket_id, lambda t: t["status"] == "assigned")
    for action, body in (("information-requests", {"body": "¿Desde cuándo?"}),):
        assert agent.call("POST", f"/api/v1/tickets/{ticket_id}/{action}", body).status_code == 200
    assert customer.call("POST", f"/api/v1/tickets/{ticket_id}/comments", {"body": "Desde las 8"}).status_code == 200
    settings = {"DATABASE_URL": system.database_url, "AMQP_URI": system.amqp_uri}
    log = recompute.read_ticket_log(settings)
    assert any(e.data.get("ticket_id") == ticket_id for e in log)
    # the SLA service has consumed what the log holds: then the replay equals the live clocks
    assert testing.wait_until(lambda: recompute.recompute(settings, recompute.read_ticket_log(settings)) == [],
                              timeout=15)


def test_a_rules_change_re_routes_the_open_tickets_with_the_reroute_command(system, customer, tmp_path):
    import yaml

    from services.routing import reroute, rules

    # two tickets, so that every move (not only the last one planned) is shown to be made
    older, ticket_id = (opened(customer, itil={"type": "request", "service": "domains", "category": "admin_information"})
                        for _ in range(2))
    supervisor = as_user(system, "supervisor@helpdesk.example")
    for each in (older, ticket_id):
        eventually(supervisor, each, lambda t: t["department"] == "sales")
    changed = yaml.safe_load(open(rules.DEFAULT_PATH))
    changed["itil_rules"].insert(0, {"when": {"type": "request", "category": "admin_information"},
                                     "department": "billing",
                                     "reason": {"es": "la información la da Facturación",
                                                "en": "information now comes from billing"}})
    config_path = tmp_path / "routing.yaml"
    config_path.write_text(yaml.safe_dump(changed))
    settings = {"DATABASE_URL": system.database_url, "AMQP_URI": system.amqp_uri, "ROUTING_CONFIG": str(config_path)}
    planned = reroute.reroute(system.database_url, settings, dry_run=True)
    assert {(older, "sales", "billing"), (ticket_id, "sales", "billing")} <= {(t, a, b) for t, a, b, _ in planned}
    reroute.reroute(system.database_url, settings)
    for each in (older, ticket_id):
        ticket = eventually(supervisor, each, lambda t: t["department"] == "billing")
        assert "redirigido" in [e for e in ticket["history"] if e["type"] == "TicketRouted"][-1]["summary"]
