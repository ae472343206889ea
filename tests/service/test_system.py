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
