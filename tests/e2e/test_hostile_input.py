"""Hostile input and outages over HTTP: never a 500. Deep JSON (also before logging in), query
parameters of the wrong type, a taken ticket id, assignment to users who do not exist, and a
request that meets database connections killed under the services."""
import uuid

import psycopg2

from helpdesk import testing

from .conftest import as_user

CUSTOMER = "cliente@demo.example"
TICKET = {"department": "networks", "title": "Sin conexión", "description": "Desde las 9:00 no hay tráfico."}


def deep(depth):
    return "[" * depth + "]" * depth


def test_deep_json_is_a_400_also_before_logging_in(api):
    for path in ("/api/v1/auth/login", "/api/v1/auth/forgot-password"):
        for depth in (40, 2_000, 50_000):
            response = api.call("POST", path, '{"email": ' + deep(depth) + "}")
            assert response.status_code == 400, (path, depth, response.text)
            assert response.json()["error"] == "malformed_json"


def test_a_2000_deep_cc_is_a_400(system):
    customer = as_user(system, CUSTOMER)
    body = '{"department": "networks", "title": "t", "description": "d", "cc": ' + deep(2_000) + "}"
    assert customer.call("POST", "/api/v1/tickets", body).status_code == 400


def test_a_company_filter_that_is_not_a_uuid_is_a_422_naming_it(system):
    admin = as_user(system, "admin@helpdesk.example")
    response = admin.call("GET", "/api/v1/admin/users?company_id=notauuid")
    assert response.status_code == 422, response.text
    assert "company_id" in response.json()["fields"]


def test_a_taken_ticket_id_answers_the_same_whoever_owns_it(system):
    customer, agent = as_user(system, CUSTOMER), as_user(system, "agent-networks@helpdesk.example")
    admin = as_user(system, "admin@helpdesk.example")
    company = admin.call("POST", "/api/v1/admin/companies", {"name": f"Otra {uuid.uuid4().hex[:6]}"}).json()
    other = admin.call("POST", "/api/v1/admin/users", {
        "email": f"otro-{uuid.uuid4().hex[:8]}@example.com", "name": "Otro", "role": "customer",
        "company_id": company["company_id"]}).json()
    theirs = agent.call("POST", "/api/v1/tickets", dict(TICKET, on_behalf_of=other["user_id"], channel="phone"))
    mine = customer.call("POST", "/api/v1/tickets", TICKET)
    answers = [customer.call("POST", "/api/v1/tickets", dict(TICKET, ticket_id=taken.json()["ticket_id"]))
               for taken in (theirs, mine)]
    assert [a.status_code for a in answers] == [409, 409]
    assert answers[0].json() == answers[1].json()
    assert "current_version" not in answers[0].json()


def test_assign_answers_alike_for_a_missing_user_and_one_who_is_no_agent_of_the_department(system):
    customer, agent = as_user(system, CUSTOMER), as_user(system, "agent-networks@helpdesk.example")
    users = {u["email"]: u["user_id"] for u in
             as_user(system, "admin@helpdesk.example").call("GET", "/api/v1/admin/users").json()["items"]}
    ticket_id = customer.call("POST", "/api/v1/tickets", TICKET).json()["ticket_id"]
    answers = [agent.call("POST", f"/api/v1/tickets/{ticket_id}/assign", {"agent_id": user_id})
               for user_id in (str(uuid.uuid4()), users[CUSTOMER], users["agent-sales@helpdesk.example"])]
    assert {a.status_code for a in answers} == {422}
    assert answers[0].json() == answers[1].json() == answers[2].json()


def kill_pooled_connections(database_url):
    """pg_terminate_backend of this system's pooled connections only (idle ones: not the relays'
    LISTEN connections nor those holding session locks), as a database restart would."""
    with psycopg2.connect(database_url) as admin, admin.cursor() as cur:
        cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle'"
                    " AND query NOT ILIKE 'LISTEN%%' AND application_name <> 'pytest-db'"
                    " AND pid NOT IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory')")
        return cur.fetchone()[0]


def test_requests_meeting_killed_database_connections_answer_503_or_succeed_then_recover(system):
    customer = as_user(system, CUSTOMER)
    assert customer.call("GET", "/api/v1/tickets").status_code == 200
    assert kill_pooled_connections(system.database_url) > 0
    statuses = []
    for _ in range(30):
        response = customer.call("GET", "/api/v1/tickets")
        statuses.append(response.status_code)
        if response.status_code == 503:
            assert response.headers["Retry-After"] == "5"
            assert response.json()["error"] == "service_unavailable"
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[-10:] == [200] * 10, statuses  # recovered by itself
    opened = testing.wait_until(lambda: customer.call("POST", "/api/v1/tickets", TICKET).status_code == 201,
                                timeout=10)
    assert opened
