"""Routing's tables behind the unit of work (helpdesk.application): on PostgreSQL the SQL of
store.py on the transaction's cursor, plus the outgoing commands; in memory the same methods over
dicts (tests/contract/test_routing_repositories.py holds both to one contract)."""
import json
import uuid

from helpdesk.application import InMemoryTable

from . import store as sql


class Tickets:
    """Routing's view of tickets and agents, built from ticket and identity events."""

    def __init__(self, cur):
        self.cur = cur

    def add_ticket(self, ticket_id, data, arrival):
        sql.add_ticket(self.cur, ticket_id, data, arrival)

    def requeue(self, ticket_id, department):
        sql.requeue(self.cur, ticket_id, department)

    def set_urgency(self, ticket_id, urgency):
        sql.set_urgency(self.cur, ticket_id, urgency)

    def set_assignee(self, ticket_id, agent_id):
        sql.set_assignee(self.cur, ticket_id, agent_id)

    def assignee(self, ticket_id):
        self.cur.execute("SELECT assignee_id FROM routing.tickets WHERE ticket_id = %s", (ticket_id,))
        row = self.cur.fetchone()
        return row[0] if row else None

    def set_open(self, ticket_id, is_open):
        sql.set_open(self.cur, ticket_id, is_open)

    def needs_agent(self, ticket_id):
        return sql.needs_agent(self.cur, ticket_id)

    def waiting(self, limit):
        return sql.waiting(self.cur, limit)

    def agents_of(self, department):
        return sql.agents_of(self.cur, department)

    def open_counts(self):
        return sql.open_counts(self.cur)

    def last_assigned(self, department):
        return sql.last_assigned(self.cur, department)

    def remember_assignment(self, department, agent_id):
        sql.remember_assignment(self.cur, department, agent_id)

    def project_agent(self, event):
        sql.project_agent(self.cur, event)


class OutgoingCommands:
    def __init__(self, cur):
        self.cur = cur

    def add(self, command_id, ticket_id, action, command, cause):
        self.cur.execute("INSERT INTO routing.outgoing_commands (command_id, ticket_id, action, command, cause)"
                         " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (command_id) DO NOTHING",
                         (str(command_id), str(ticket_id), action, json.dumps(command),
                          json.dumps(cause) if cause else None))

    def pending(self, limit=100):
        """(command_id, ticket_id, action, command, cause), oldest first."""
        self.cur.execute("SELECT command_id, ticket_id, action, command, cause FROM routing.outgoing_commands"
                         " ORDER BY position LIMIT %s", (limit,))
        return [(str(c), str(t), a, command, cause) for c, t, a, command, cause in self.cur.fetchall()]

    def done(self, command_id):
        self.cur.execute("DELETE FROM routing.outgoing_commands WHERE command_id = %s", (str(command_id),))


POSTGRES = {"tickets": Tickets, "outgoing": OutgoingCommands}


class InMemoryTickets(InMemoryTable):
    """rows: ("ticket", id) -> dict; ("agent", id) -> dict; ("last", department) -> agent id."""

    def add_ticket(self, ticket_id, data, arrival):
        key = ("ticket", str(ticket_id))
        if key not in self.rows:
            facts = {"department": data.get("department"), "itil": data.get("itil"), "urgency": data.get("urgency")}
            self.rows[key] = {"ticket_id": uuid.UUID(str(ticket_id)), "facts": facts,
                              "department": data.get("department"), "assignee_id": None, "open": True,
                              "arrival": arrival}

    def _change(self, ticket_id, **values):
        key = ("ticket", str(ticket_id))
        if key in self.rows:
            self.rows[key] = dict(self.rows[key], **values)

    def requeue(self, ticket_id, department):
        self._change(ticket_id, department=department, assignee_id=None)

    def set_urgency(self, ticket_id, urgency):
        found = self.rows.get(("ticket", str(ticket_id)))
        if found:
            self._change(ticket_id, facts=dict(found["facts"], urgency=urgency))

    def set_assignee(self, ticket_id, agent_id):
        self._change(ticket_id, assignee_id=agent_id)

    def assignee(self, ticket_id):
        found = self.rows.get(("ticket", str(ticket_id)))
        return found["assignee_id"] if found else None

    def set_open(self, ticket_id, is_open):
        self._change(ticket_id, open=is_open)

    def needs_agent(self, ticket_id):
        found = self.rows.get(("ticket", str(ticket_id)))
        return bool(found and found["open"] and found["assignee_id"] is None)

    def _tickets(self):
        return sorted((row for (kind, _), row in self.rows.items() if kind == "ticket"), key=lambda r: r["arrival"])

    def waiting(self, limit):
        return [(row["ticket_id"], row["department"]) for row in self._tickets()
                if row["open"] and row["assignee_id"] is None and row["department"] is not None][:limit]

    def agents_of(self, department):
        return [(row["user_id"], row["email"]) for (kind, _), row in self.rows.items()
                if kind == "agent" and row["active"] and department in row["departments"]]

    def open_counts(self):
        counts = {}
        for row in self._tickets():
            if row["open"] and row["assignee_id"] is not None:
                counts[row["assignee_id"]] = counts.get(row["assignee_id"], 0) + 1
        return counts

    def last_assigned(self, department):
        return self.rows.get(("last", department))

    def remember_assignment(self, department, agent_id):
        self.rows[("last", department)] = agent_id

    def project_agent(self, event):
        data = event.data
        key = ("agent", str(data.get("user_id")))
        if event.type == "UserRegistered" and data["role"] == "agent":
            self.rows.setdefault(key, {"user_id": str(data["user_id"]), "email": data["email"], "name": data["name"],
                                       "departments": list(data["departments"]), "active": True})
        elif key in self.rows and event.type == "AgentDepartmentsChanged":
            self.rows[key] = dict(self.rows[key], departments=list(data["departments"]))
        elif key in self.rows and event.type in ("UserDeactivated", "UserReactivated"):
            self.rows[key] = dict(self.rows[key], active=event.type == "UserReactivated")
        elif key in self.rows and event.type == "EmailChanged":
            self.rows[key] = dict(self.rows[key], email=data["new_email"])


class InMemoryOutgoingCommands(InMemoryTable):
    """command_id -> (position, ticket_id, action, command, cause)."""

    def __init__(self):
        super().__init__()
        self._positions = iter(range(1, 1 << 62))

    def add(self, command_id, ticket_id, action, command, cause):
        self.rows.setdefault(str(command_id), (next(self._positions), str(ticket_id), action,
                                               json.loads(json.dumps(command)), cause))

    def pending(self, limit=100):
        ordered = sorted(self.rows.items(), key=lambda item: item[1][0])[:limit]
        return [(command_id, ticket_id, action, command, cause)
                for command_id, (_, ticket_id, action, command, cause) in ordered]

    def done(self, command_id):
        self.rows.pop(str(command_id), None)


def in_memory():
    return {"tickets": InMemoryTickets(), "outgoing": InMemoryOutgoingCommands()}
