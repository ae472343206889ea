"""The in-process system holds together: what one API call causes in the other services has
happened when it returns (routing, SLA, the notifier's mail plans), as in the real one."""
from .conftest import as_user

TICKET = {"title": "Sin conexión", "description": "Desde las 9:00 no hay tráfico."}


def test_an_urgent_24_hour_ticket_is_assigned_timed_and_mailed_by_the_time_the_call_returns(system):
    customer = as_user(system, "cliente@demo.example")
    opened = customer.call("POST", "/api/v1/tickets", dict(TICKET, department="support_24h", urgency="high"))
    assert opened.status_code == 201, opened.text
    ticket_id, reference = opened.json()["ticket_id"], opened.json()["reference"]
    agent = as_user(system, "agent-support-24h@helpdesk.example")
    seen = agent.call("GET", f"/api/v1/tickets/{ticket_id}").json()
    assert seen["status"] == "assigned" and seen["assignee_id"]  # routing: someone is on shift in 24x7
    assert [entry["type"] for entry in seen["history"]] == ["TicketOpened", "TicketAssigned"]
    assert seen["sla"]["first_response_due_at"] and seen["sla"]["breached"] == []  # SLA's clock
    planned = {(mail.recipient, mail.template) for mail in system.mails()
               if mail.context.get("reference") == reference}
    assert {("cliente@demo.example", "ticket_opened"), ("soporte@demo.example", "ticket_opened"),
            ("agent-support-24h@helpdesk.example", "staff_ticket")} <= planned


def test_an_internal_note_plans_no_mail_to_the_customer(system):
    customer = as_user(system, "cliente@demo.example")
    ticket = customer.call("POST", "/api/v1/tickets", dict(TICKET, department="networks")).json()
    agent = as_user(system, "agent-networks@helpdesk.example")
    before = len(system.mails("cliente@demo.example"))
    noted = agent.call("POST", f"/api/v1/tickets/{ticket['ticket_id']}/notes", {"body": "Solo para el equipo."})
    assert noted.status_code == 200, noted.text
    assert len(system.mails("cliente@demo.example")) == before
    replied = agent.call("POST", f"/api/v1/tickets/{ticket['ticket_id']}/comments", {"body": "Lo miramos."})
    assert replied.status_code == 200, replied.text
    assert len(system.mails("cliente@demo.example")) == before + 1


def test_staff_reopen_a_resolved_ticket_and_every_service_takes_it_back_to_work(system):
    """The customer phoned: it still fails. The ticket is reopened with the reason, the customer
    side is mailed it, its department's queue has it again, and the resolution clock runs again."""
    customer = as_user(system, "cliente@demo.example")
    ticket = customer.call("POST", "/api/v1/tickets", dict(TICKET, department="networks")).json()
    agent = as_user(system, "agent-networks@helpdesk.example")
    path = f"/api/v1/tickets/{ticket['ticket_id']}"
    assert agent.call("POST", f"{path}/assign", {}).status_code == 200
    assert agent.call("POST", f"{path}/resolve", {"solution": "Puerto reiniciado."}).status_code == 200
    assert agent.call("GET", path).json()["sla"]["resolution_due_at"] is None  # stopped: resolved
    queued = {item["ticket_id"] for item in agent.call("GET", "/api/v1/queues/networks").json()["items"]}
    assert ticket["ticket_id"] not in queued
    before = len(system.mails("cliente@demo.example"))

    reopened = agent.call("POST", f"{path}/reopen", {"reason": "Ha llamado: sigue sin línea."})
    assert reopened.status_code == 200, reopened.text
    seen = agent.call("GET", path).json()
    assert seen["status"] == "reopened" and seen["history"][-1]["type"] == "TicketReopened"
    assert seen["history"][-1]["body"] == "Ha llamado: sigue sin línea."
    assert seen["sla"]["resolution_due_at"] and not seen["sla"]["resolution_paused"]  # running again
    assert ticket["ticket_id"] in {item["ticket_id"] for item in agent.call("GET", "/api/v1/queues/networks").json()["items"]}
    mails = system.mails("cliente@demo.example")[before:]
    assert [(mail.template, mail.context.get("kind")) for mail in mails] == [("ticket_update", "reopened")]
    refused = customer.call("POST", f"{path}/reopen", {"reason": "Yo también."})
    assert refused.status_code == 403  # the customer refuses a solution instead
