"""Who the notifier mails, from its own projections in PostgreSQL (services/notifier/contacts.py):
a deactivated account gets no ticket mail (issue 11, review: deactivated agents still got queue
and SLA mails), and gets it again once reactivated."""
import datetime as dt
import uuid

import pytest

from helpdesk.events import RecordedEvent
from helpdesk.migrate import migrate_all
from services.notifier import contacts
from services.notifier.plans import mails_for

COMPANY = str(uuid.uuid4())


@pytest.fixture(scope="module")
def migrated(database_url):
    migrate_all(database_url, ["notifier"])


def event(type_, **data):
    return RecordedEvent(event_id=uuid.uuid4(), type=type_, schema_version=1, stream="x-1", stream_position=0,
                         global_position=1, occurred_at=dt.datetime.now(dt.timezone.utc), data=data)


def person(cur, role, **extra):
    user_id = str(uuid.uuid4())
    data = {"user_id": user_id, "email": f"{role}-{user_id[:8]}@example.com", "name": role.title(),
            "language": "es", "company_id": None, "is_group": False, "role": role, "departments": [], **extra}
    contacts.project(cur, event("UserRegistered", **data))
    return data


def recipients(cur, evt):
    return {mail.recipient for mail in mails_for(evt, contacts.Directory(cur))}


def test_a_deactivated_account_gets_no_ticket_mail_until_reactivated(db, migrated):
    with db.transaction() as cur:
        agent = person(cur, "agent", departments=["networks"])
        supervisor = person(cur, "supervisor")
        customer = person(cur, "customer", company_id=COMPANY)
        group = person(cur, "customer", company_id=COMPANY, is_group=True)
        ticket_id = str(uuid.uuid4())
        opened = event("TicketOpened", ticket_id=ticket_id, reference="#900001", title="Sin conexión",
                       requester_id=customer["user_id"], requester_email=customer["email"], company_id=COMPANY,
                       cc=[], department="networks", description="x")
        contacts.project_ticket(cur, opened)
        contacts.project_ticket(cur, event("TicketAssigned", ticket_id=ticket_id, agent_id=agent["user_id"]))
        alert = event("SlaBreached", ticket_id=ticket_id, reference="#900001", clock="first_response",
                      due_at=dt.datetime.now(dt.timezone.utc).isoformat(), department="networks",
                      assignee_id=agent["user_id"])
        everyone = {agent["email"], customer["email"], group["email"]}
        assert everyone <= recipients(cur, opened)
        assert {agent["email"], supervisor["email"]} <= recipients(cur, alert)

        for gone in (agent, supervisor, customer, group):
            contacts.project(cur, event("UserDeactivated", user_id=gone["user_id"]))
        assert not everyone & recipients(cur, opened)
        assert not {agent["email"], supervisor["email"]} & recipients(cur, alert)

        for back in (agent, supervisor, customer, group):
            contacts.project(cur, event("UserReactivated", user_id=back["user_id"]))
        assert everyone <= recipients(cur, opened)
        assert {agent["email"], supervisor["email"]} <= recipients(cur, alert)
        cur.connection.rollback()  # leave the shared database as it was
