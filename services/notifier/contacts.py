"""What the notifier knows of people and tickets: projections of identity and ticket events in its
own schema (it never reads another service's tables)."""

from helpdesk.contracts import CLOSED_TICKET_EVENTS
from helpdesk.db import later

CONTACT_COLUMNS = ("user_id", "email", "name", "language", "company_id", "is_group", "role", "departments",
                   "time_zone", "active")


def project(cur, event):
    """Identity events → notifier.contacts."""
    data = event.data
    if event.type == "UserRegistered":
        cur.execute(
            "INSERT INTO notifier.contacts (user_id, email, name, language, company_id, is_group, role,"
            " departments, time_zone) VALUES (%(user_id)s, %(email)s, %(name)s, %(language)s, %(company_id)s,"
            " %(is_group)s, %(role)s, %(departments)s, %(time_zone)s) ON CONFLICT (user_id) DO NOTHING",
            {"time_zone": None, **data})  # older events have no zone: the configured default applies
    elif event.type == "EmailChanged":
        cur.execute("UPDATE notifier.contacts SET email = %s WHERE user_id = %s",
                    (data["new_email"], data["user_id"]))
    elif event.type == "ProfileUpdated":
        cur.execute("UPDATE notifier.contacts SET name = %s, language = %s,"
                    " time_zone = COALESCE(%s, time_zone) WHERE user_id = %s",
                    (data["name"], data["language"], data.get("time_zone"), data["user_id"]))
    elif event.type == "AgentDepartmentsChanged":
        cur.execute("UPDATE notifier.contacts SET departments = %s WHERE user_id = %s",
                    (data["departments"], data["user_id"]))
    elif event.type in ("UserDeactivated", "UserReactivated"):
        cur.execute("UPDATE notifier.contacts SET active = %s WHERE user_id = %s",
                    (event.type == "UserReactivated", data["user_id"]))


def project_ticket(cur, event):
    """Ticket events → notifier.tickets (who is on the ticket, where it is)."""
    data, ticket_id = event.data, event.data.get("ticket_id")
    if event.type == "TicketOpened":
        later(
            cur, "INSERT INTO notifier.tickets (ticket_id, reference, title, requester_id, requester_email,"
            " company_id, cc, department) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (ticket_id) DO NOTHING",
            (ticket_id, data.get("reference") or ticket_id[:8], data["title"], data.get("requester_id"),
             data["requester_email"], data.get("company_id"), data.get("cc") or [], data.get("department")))
    elif event.type in ("TicketRouted", "TicketReclassified"):
        later(cur, "UPDATE notifier.tickets SET department = %s, assignee_id = NULL WHERE ticket_id = %s",
                   (data["department"], ticket_id))
    elif event.type == "TicketAssigned":
        later(cur, "UPDATE notifier.tickets SET assignee_id = %s WHERE ticket_id = %s", (data["agent_id"], ticket_id))
    elif event.type == "CcChanged":
        later(cur, "UPDATE notifier.tickets SET cc = %s WHERE ticket_id = %s", (data["cc"], ticket_id))
    elif event.type in CLOSED_TICKET_EVENTS:
        later(cur, "UPDATE notifier.tickets SET closed = true WHERE ticket_id = %s", (ticket_id,))


class Directory:
    """What mail planning may ask, within the planning transaction. The lists of people to mail
    (supervisors, a department's agents, a company's group users) hold active accounts only; a
    single contact says `active`, for the planner to decide (plans.reachable)."""

    def __init__(self, cur):
        self.cur = cur

    def _contacts(self, where, args):
        self.cur.execute(f"SELECT {', '.join(CONTACT_COLUMNS)} FROM notifier.contacts WHERE {where}"  # noqa: S608
                         " ORDER BY lower(email)", args)
        return [dict(zip(CONTACT_COLUMNS, row)) for row in self.cur.fetchall()]

    def contact(self, user_id):
        if not user_id or str(user_id).startswith("system:"):
            return None
        found = self._contacts("user_id = %s", (str(user_id),))
        return found[0] if found else None

    def contact_by_email(self, email):
        found = self._contacts("lower(email) = lower(%s)", (email,))
        return found[0] if found else None

    def supervisors(self):
        return self._contacts("role = 'supervisor' AND active", ())

    def agents_of(self, department):
        return self._contacts("role = 'agent' AND active AND %s = ANY(departments)", (department,))

    def group_users(self, company_id):
        if not company_id:
            return []
        return self._contacts("company_id = %s::uuid AND is_group AND active", (company_id,))

    def opted_out(self, ticket_id):
        """The addresses (lower case) that asked for no more mail about this ticket."""
        self.cur.execute("SELECT address FROM notifier.mail_opt_outs WHERE ticket_id = %s", (str(ticket_id),))
        return {row[0] for row in self.cur.fetchall()}

    # -- status subscriptions (the notifier's own preference, like the opt-outs) --
    def subscribe_status(self, user_id, address, services):
        self.cur.execute("DELETE FROM notifier.status_subscriptions WHERE user_id = %s", (str(user_id),))
        if services:
            self.cur.execute("INSERT INTO notifier.status_subscriptions (address, user_id, services)"
                             " VALUES (%s, %s, %s) ON CONFLICT (address) DO UPDATE SET user_id = EXCLUDED.user_id,"
                             " services = EXCLUDED.services, subscribed_at = now()",
                             (address.lower(), str(user_id), sorted(services)))

    def unsubscribe_status(self, address):
        self.cur.execute("DELETE FROM notifier.status_subscriptions WHERE address = %s", (address.lower(),))

    def status_subscription(self, user_id):
        self.cur.execute("SELECT services FROM notifier.status_subscriptions WHERE user_id = %s", (str(user_id),))
        row = self.cur.fetchone()
        return sorted(row[0]) if row else []

    def status_subscribers(self, services):
        """[(address, user_id)] of those subscribed to any of `services`, by address."""
        self.cur.execute("SELECT address, user_id FROM notifier.status_subscriptions WHERE services && %s"
                         " ORDER BY address", (list(services),))
        return [(address, str(user_id)) for address, user_id in self.cur.fetchall()]

    def ticket(self, ticket_id):
        columns = ("ticket_id", "reference", "title", "requester_id", "requester_email", "company_id", "cc",
                   "department", "assignee_id", "closed")
        self.cur.execute(f"SELECT {', '.join(columns)} FROM notifier.tickets WHERE ticket_id = %s",  # noqa: S608
                         (ticket_id,))
        row = self.cur.fetchone()
        return dict(zip(columns, row)) if row else None
