"""The notifier's tables behind the unit of work (helpdesk.application): on PostgreSQL the SQL of
contacts.py and the mail outbox on the transaction's cursor; in memory the same methods over dicts
(tests/contract/test_repositories.py holds both to one contract)."""
import uuid

from helpdesk.application import InMemoryTable
from helpdesk.contracts import CLOSED_TICKET_EVENTS

from . import contacts
from .mail import MailOutbox


class Directory(contacts.Directory):
    """Who people are and who is on a ticket (contacts.Directory), and its projections."""

    def project(self, event):
        contacts.project(self.cur, event)

    def project_ticket(self, event):
        contacts.project_ticket(self.cur, event)

    def opt_out(self, ticket_id, address):
        self.cur.execute("INSERT INTO notifier.mail_opt_outs (ticket_id, address, opted_out_at) VALUES (%s, %s, now())"
                         " ON CONFLICT DO NOTHING", (str(ticket_id), address))


class Outbox:
    """Planned mails, added in the planning transaction; sent after it (mail.MailOutbox.send_due)."""

    _outbox = MailOutbox()

    def __init__(self, cur):
        self.cur = cur

    def add(self, event_id, *mails):
        self._outbox.add(self.cur, event_id, *mails)


POSTGRES = {"directory": Directory, "outbox": Outbox}


class InMemoryDirectory(InMemoryTable):
    """rows: ("contact", user_id) -> dict; ("ticket", id) -> dict; ("opt_out", ticket_id, address) -> True."""

    def project(self, event):
        data, key = event.data, ("contact", str(event.data.get("user_id")))
        if event.type == "UserRegistered":
            if key not in self.rows:
                row = {column: data.get(column) for column in contacts.CONTACT_COLUMNS if column != "active"}
                company = data.get("company_id")
                row.update(user_id=uuid.UUID(str(data["user_id"])), active=True,  # as the uuid columns answer
                           company_id=uuid.UUID(str(company)) if company else None,
                           departments=list(data.get("departments") or []))
                self.rows[key] = row
        elif key not in self.rows:
            return
        elif event.type == "EmailChanged":
            self.rows[key] = dict(self.rows[key], email=data["new_email"])
        elif event.type == "ProfileUpdated":
            self.rows[key] = dict(self.rows[key], name=data["name"], language=data["language"],
                                  time_zone=data.get("time_zone") or self.rows[key]["time_zone"])
        elif event.type == "AgentDepartmentsChanged":
            self.rows[key] = dict(self.rows[key], departments=list(data["departments"]))
        elif event.type in ("UserDeactivated", "UserReactivated"):
            self.rows[key] = dict(self.rows[key], active=event.type == "UserReactivated")

    def project_ticket(self, event):
        data, key = event.data, ("ticket", str(event.data.get("ticket_id")))
        if event.type == "TicketOpened":
            self.rows.setdefault(key, {
                "ticket_id": uuid.UUID(str(data["ticket_id"])), "reference": data.get("reference") or data["ticket_id"][:8],
                "title": data["title"], "requester_id": data.get("requester_id"),
                "requester_email": data["requester_email"], "company_id": data.get("company_id"),
                "cc": list(data.get("cc") or []), "department": data.get("department"), "assignee_id": None,
                "closed": False})
        elif key not in self.rows:
            return
        elif event.type in ("TicketRouted", "TicketReclassified"):
            self.rows[key] = dict(self.rows[key], department=data["department"], assignee_id=None)
        elif event.type == "TicketAssigned":
            self.rows[key] = dict(self.rows[key], assignee_id=data["agent_id"])
        elif event.type == "CcChanged":
            self.rows[key] = dict(self.rows[key], cc=list(data["cc"]))
        elif event.type in CLOSED_TICKET_EVENTS:
            self.rows[key] = dict(self.rows[key], closed=True)

    def opt_out(self, ticket_id, address):
        self.rows[("opt_out", str(ticket_id), address)] = True

    def _contacts(self, wanted):
        found = [row for (kind, *_), row in self.rows.items() if kind == "contact" and wanted(row)]
        return sorted(found, key=lambda row: row["email"].lower())

    def contact(self, user_id):
        if not user_id or str(user_id).startswith("system:"):
            return None
        return self.rows.get(("contact", str(user_id)))

    def contact_by_email(self, email):
        found = self._contacts(lambda row: row["email"].lower() == email.lower())
        return found[0] if found else None

    def supervisors(self):
        return self._contacts(lambda row: row["role"] == "supervisor" and row["active"])

    def agents_of(self, department):
        return self._contacts(lambda row: row["role"] == "agent" and row["active"] and department in row["departments"])

    def group_users(self, company_id):
        if not company_id:
            return []
        return self._contacts(lambda row: str(row["company_id"]) == str(company_id) and row["is_group"] and row["active"])

    def opted_out(self, ticket_id):
        return {key[2] for key in self.rows if key[0] == "opt_out" and key[1] == str(ticket_id)}

    def ticket(self, ticket_id):
        return self.rows.get(("ticket", str(ticket_id)))

    def subscribe_status(self, user_id, address, services):
        self.rows = {key: row for key, row in self.rows.items()
                     if not (key[0] == "status" and row["user_id"] == str(user_id))}
        if services:
            self.rows[("status", address.lower())] = {"user_id": str(user_id), "services": sorted(services)}

    def unsubscribe_status(self, address):
        self.rows.pop(("status", address.lower()), None)

    def status_subscription(self, user_id):
        found = [row["services"] for key, row in self.rows.items() if key[0] == "status" and row["user_id"] == str(user_id)]
        return found[0] if found else []

    def status_subscribers(self, services):
        return sorted((key[1], row["user_id"]) for key, row in self.rows.items()
                      if key[0] == "status" and set(row["services"]) & set(services))


class InMemoryOutbox(InMemoryTable):
    """(event_id, recipient) -> Mail: what the notifier would send (the in-process system sends nothing)."""

    def add(self, event_id, *mails):
        for mail in mails:
            self.rows.setdefault((str(event_id), mail.recipient), mail)


def in_memory():
    return {"directory": InMemoryDirectory(), "outbox": InMemoryOutbox()}
