"""Who may do what: every ticket endpoint against every kind of actor, as one table.

A ticket an actor may not see answers 404 exactly as a missing one. Every closed endpoint of the
OpenAPI document refuses a caller without a session, and one with a forged session.
"""
import re
import uuid

import pytest

from .conftest import Api, as_user, wait_for_mail

TICKET = {"department": "networks", "title": "Caída del enlace", "description": "Sin servicio"}


def staff_made(system, admin, email, **fields):
    """An account created by the admin, with its first-login password change done."""
    created = admin.call("POST", "/api/v1/admin/users", dict({"email": email, "name": email}, **fields))
    assert created.status_code == 201, created.text
    mail = wait_for_mail(system, email)[0]
    initial = re.search(r"([a-z2-9]{4}(?:-[a-z2-9]{4}){3})", mail.get_body(("plain",)).get_content()).group(1)
    user = as_user(system, email, initial)
    changed = user.call("POST", "/api/v1/me/password",
                        {"current_password": initial, "new_password": "matrix test secret"})
    assert changed.status_code == 200, changed.text
    user.token = changed.json()["token"]
    return user


@pytest.fixture(scope="module")
def actors(system):
    admin = as_user(system, "admin@helpdesk.example")
    run = uuid.uuid4().hex[:6]
    company = {}
    for name in ("A", "B"):
        response = admin.call("POST", "/api/v1/admin/companies", {"name": f"Company {name} {run}"})
        assert response.status_code == 201, response.text
        company[name] = response.json()["company_id"]
    customer = lambda who, c, **kw: staff_made(system, admin, f"{who}-{run}@example.com",  # noqa: E731
                                               role="customer", company_id=company[c], **kw)
    return {
        "anonymous": Api(system),
        "customer A": customer("customer-a", "A"),
        "colleague A": customer("colleague-a", "A"),
        "group user A": customer("group-a", "A", is_group=True),
        "company admin A": customer("companyadmin-a", "A", company_admin=True),
        "customer B": customer("customer-b", "B"),
        "agent, ticket's department": as_user(system, "agent-networks@helpdesk.example"),
        "agent, other department": as_user(system, "agent-sales@helpdesk.example"),
        "supervisor": as_user(system, "supervisor@helpdesk.example"),
        "admin": admin,
    }


@pytest.fixture(scope="module")
def ticket(actors):
    response = actors["customer A"].call("POST", "/api/v1/tickets", TICKET)
    assert response.status_code == 201, response.text
    return response.json()["ticket_id"]


ACTORS = ["anonymous", "customer A", "colleague A", "group user A", "company admin A", "customer B",
          "agent, ticket's department", "agent, other department", "supervisor", "admin"]

# endpoint → expected status for each actor, in ACTORS order
MATRIX = {
    "GET /api/v1/tickets/{ticket}":   [401, 200, 404, 200, 200, 404, 200, 404, 200, 200],
    "GET /api/v1/tickets/{missing}":  [401, 404, 404, 404, 404, 404, 404, 404, 404, 404],
    # staff open tickets only for a customer: without on_behalf_of the body is incomplete (422)
    "POST /api/v1/tickets":           [401, 201, 201, 201, 201, 201, 422, 422, 422, 422],
    "GET /api/v1/admin/users":        [401, 403, 403, 403, 403, 403, 403, 403, 403, 200],
    "GET /api/v1/admin/companies":    [401, 403, 403, 403, 403, 403, 403, 403, 403, 200],
    "POST /api/v1/admin/companies":   [401, 403, 403, 403, 403, 403, 403, 403, 403, 201],
    "GET /api/v1/me":                 [401, 200, 200, 200, 200, 200, 200, 200, 200, 200],
}


def request_for(endpoint, ticket):
    method, path = endpoint.split(" ")
    path = path.format(ticket=ticket, missing=uuid.uuid4())
    body = None
    if method == "POST" and path == "/api/v1/tickets":
        body = TICKET
    elif method == "POST":
        body = {"name": f"Matrix company {uuid.uuid4().hex[:8]}"}
    return method, path, body


def test_every_ticket_endpoint_against_every_actor(actors, ticket):
    failures = []
    for endpoint, expected_row in MATRIX.items():
        for actor, expected in zip(ACTORS, expected_row):
            method, path, body = request_for(endpoint, ticket)
            status = actors[actor].call(method, path, body).status_code
            if status != expected:
                failures.append(f"{endpoint:34} {actor:28} expected {expected}, got {status}")
    assert failures == [], "\n" + "\n".join(failures)


def test_a_hidden_ticket_answers_exactly_like_a_missing_one(actors, ticket):
    outsider = actors["customer B"]
    hidden = outsider.call("GET", f"/api/v1/tickets/{ticket}")
    missing_id = str(uuid.uuid4())
    missing = outsider.call("GET", f"/api/v1/tickets/{missing_id}")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == {"error": "not_found", "message": f"No existe el ticket {ticket}."}
    assert missing.json() == {"error": "not_found", "message": f"No existe el ticket {missing_id}."}
    assert set(hidden.headers) == set(missing.headers)


def test_every_closed_endpoint_refuses_strangers(system, actors, ticket):
    spec = Api(system).call("GET", "/api/v1/openapi.json").json()
    closed = [(method.upper(), path) for path, operations in spec["paths"].items()
              for method, operation in operations.items()
              if method in ("get", "post", "put", "patch", "delete") and operation["security"]]
    assert len(closed) >= 10
    forged = "A" * 43
    for method, path in closed:
        concrete = path.replace("{ticket_id}", ticket)
        for token in (None, forged):
            response = Api(system, token).call(method, concrete, {} if method in ("POST", "PATCH") else None)
            assert response.status_code == 401, (method, path, token, response.text)
            assert response.json()["error"] == "unauthenticated"
