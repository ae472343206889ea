"""Routing's tables (schema `routing`); every function takes the caller's cursor."""
import json

from helpdesk.db import later


def add_ticket(cur, ticket_id, data, arrival):
    facts = {"department": data.get("department"), "itil": data.get("itil"), "urgency": data.get("urgency")}
    later(
        cur, "INSERT INTO routing.tickets (ticket_id, facts, department, arrival) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (ticket_id) DO NOTHING",
        (ticket_id, json.dumps(facts), data.get("department"), arrival))


def requeue(cur, ticket_id, department):
    later(cur, "UPDATE routing.tickets SET department = %s, assignee_id = NULL WHERE ticket_id = %s",
               (department, ticket_id))


def set_urgency(cur, ticket_id, urgency):
    later(cur, "UPDATE routing.tickets SET facts = jsonb_set(facts, '{urgency}', to_jsonb(%s::text))"
               " WHERE ticket_id = %s", (urgency, ticket_id))


def set_assignee(cur, ticket_id, agent_id):
    later(cur, "UPDATE routing.tickets SET assignee_id = %s WHERE ticket_id = %s", (agent_id, ticket_id))


def set_open(cur, ticket_id, is_open):
    later(cur, "UPDATE routing.tickets SET open = %s WHERE ticket_id = %s", (is_open, ticket_id))


def needs_agent(cur, ticket_id):
    """Locks the ticket's row until the transaction ends: the timer offering waiting tickets and
    the event that routed one (in this process or another replica) never both assign it."""
    cur.execute("SELECT open AND assignee_id IS NULL FROM routing.tickets WHERE ticket_id = %s FOR UPDATE",
                (ticket_id,))
    row = cur.fetchone()
    return bool(row and row[0])


def waiting(cur, limit):
    cur.execute("SELECT ticket_id, department FROM routing.tickets WHERE open AND assignee_id IS NULL"
                " AND department IS NOT NULL ORDER BY arrival LIMIT %s", (limit,))
    return cur.fetchall()


def open_tickets(cur):
    cur.execute("SELECT ticket_id, facts, department FROM routing.tickets WHERE open ORDER BY arrival")
    return cur.fetchall()


def agents_of(cur, department):
    cur.execute("SELECT user_id, email FROM routing.agents WHERE active AND %s = ANY(departments)",
                (department,))
    return cur.fetchall()


def open_counts(cur):
    cur.execute("SELECT assignee_id, count(*) FROM routing.tickets WHERE open AND assignee_id IS NOT NULL"
                " GROUP BY assignee_id")
    return dict(cur.fetchall())


def last_assigned(cur, department):
    cur.execute("SELECT agent_id FROM routing.last_assigned WHERE department = %s", (department,))
    row = cur.fetchone()
    return row[0] if row else None


def remember_assignment(cur, department, agent_id):
    later(cur, "INSERT INTO routing.last_assigned (department, agent_id) VALUES (%s, %s)"
               " ON CONFLICT (department) DO UPDATE SET agent_id = EXCLUDED.agent_id", (department, agent_id))


def project_agent(cur, event):
    """Agents, their departments and whether they are active: from identity's events."""
    data = event.data
    if event.type == "UserRegistered" and data["role"] == "agent":
        cur.execute(
            "INSERT INTO routing.agents (user_id, email, name, departments) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (user_id) DO NOTHING",
            (data["user_id"], data["email"], data["name"], data["departments"]))
    elif event.type == "AgentDepartmentsChanged":
        cur.execute("UPDATE routing.agents SET departments = %s WHERE user_id = %s",
                    (data["departments"], data["user_id"]))
    elif event.type in ("UserDeactivated", "UserReactivated"):
        cur.execute("UPDATE routing.agents SET active = %s WHERE user_id = %s",
                    (event.type == "UserReactivated", data["user_id"]))
    elif event.type == "EmailChanged":
        cur.execute("UPDATE routing.agents SET email = %s WHERE user_id = %s", (data["new_email"], data["user_id"]))
