"""One real flow through the whole system: HTTP → tickets → event store → relay → RabbitMQ →
notifier → SMTP; and the gateway's answers to bad input."""
import uuid

import pytest
import requests

from helpdesk import testing

from .conftest import as_user

CUSTOMER = "cliente@demo.example"
TICKET = {
    "department": "networks",
    "title": "Sin conexión en la sede",
    "description": "Desde las 9:00 no hay tráfico en el enlace principal.",
}


@pytest.fixture(scope="module")
def customer(system):
    return as_user(system, CUSTOMER)


def post(customer, body, headers=None):
    return customer.call("POST", "/api/v1/tickets", body, headers=headers)


def test_health_reports_every_process_and_every_relay(system):
    response = requests.get(system.url("/api/v1/health"), timeout=10)
    assert response.status_code == 200, response.text
    health = response.json()
    assert health["status"] == "ok"
    assert health["services"] == {s: "ok" for s in ("identity", "tickets", "routing", "sla", "content", "notifier",
                                                    "notifier_inbound", "inbound_smtp")}
    assert {"identity.events", "tickets.events", "sla.events", "sla.billing", "content.events"} == set(
        health["relays"]), health["relays"]
    assert all(relay["status"] == "ok" and relay["waiting_seconds"] < 30 for relay in health["relays"].values())


def test_a_ticket_opened_over_http_is_stored_and_mailed_with_a_link(system, customer):
    title = f"Sin conexión en la sede {uuid.uuid4().hex[:6]}"
    response = post(customer, dict(TICKET, title=title))
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["status"] == "new" and ticket["department"] == "networks"
    assert ticket["requester_email"] == CUSTOMER
    assert response.headers["Location"] == f"/api/v1/tickets/{ticket['ticket_id']}"

    fetched = customer.call("GET", response.headers["Location"])
    assert fetched.status_code == 200 and fetched.json() == ticket

    # the demo customer has mail from earlier tests: wait for this ticket's, not for any
    mails = testing.wait_until(lambda: [m for m in system.mails_to(CUSTOMER) if title in m["Subject"]], timeout=15)
    assert mails, f"no mail about {title!r}:\n{system.log_tail()}"
    (mail,) = mails
    body = mail.get_body(("plain",)).get_content()
    assert f"{system.base_url}/tickets/{ticket['ticket_id']}" in body


def test_an_itil_incident_is_accepted(customer):
    body = dict(TICKET, urgency="high")
    del body["department"]
    body["itil"] = {"type": "incident", "service": "internet_access", "category": "packet_loss"}
    response = post(customer, body)
    assert response.status_code == 201, response.text
    assert response.json()["itil"]["category"] == "packet_loss"


def test_a_client_chosen_ticket_id_makes_the_post_safe_to_retry(customer):
    body = dict(TICKET, ticket_id=str(uuid.uuid4()))
    assert post(customer, body).status_code == 201
    again = post(customer, body)
    assert again.status_code == 409 and again.json()["error"] == "conflict"


def without(field):
    body = dict(TICKET)
    del body[field]
    return body


BAD_INPUT = [
    # (case, body, expected status, field named in the error)
    ("missing title", without("title"), 422, "title"),
    ("missing description", without("description"), 422, "description"),
    ("requester is the session's, not the body's", dict(TICKET, requester_email="x@y.es"), 422,
     "requester_email"),
    ("empty title", dict(TICKET, title=""), 422, "title"),
    ("title too long", dict(TICKET, title="x" * 201), 422, "title"),
    ("title not a string", dict(TICKET, title=123), 422, "title"),
    ("description a list", dict(TICKET, description=["a"]), 422, "description"),
    ("unknown department", dict(TICKET, department="marketing"), 422, "department"),
    ("department not a string", dict(TICKET, department=7), 422, "department"),
    ("unknown field", dict(TICKET, priority="p1"), 422, "priority"),
    ("unknown channel", dict(TICKET, channel="fax"), 422, "channel"),
    ("unknown urgency", dict(TICKET, urgency="critical"), 422, "urgency"),
    ("bad ticket_id", dict(TICKET, ticket_id="abc"), 422, "ticket_id"),
    ("neither department nor itil", without("department"), 422, "department"),
    ("both department and itil", dict(TICKET, itil={"type": "request", "service": "hosting",
                                                     "category": "technical"}), 422, "department"),
    ("itil unknown type", dict(without("department"), itil={"type": "wish", "service": "hosting",
                                                            "category": "technical"}), 422, "itil.type"),
    ("itil category of the other type", dict(without("department"), urgency="high", itil={
        "type": "incident", "service": "hosting", "category": "admin_billing"}), 422, "itil.category"),
    ("incident without urgency", dict(without("department"), itil={
        "type": "incident", "service": "hosting", "category": "slowness"}), 422, "urgency"),
    ("request with urgency", dict(without("department"), urgency="high", itil={
        "type": "request", "service": "hosting", "category": "technical"}), 422, "urgency"),
    ("unknown service", dict(without("department"), itil={
        "type": "request", "service": "teleport", "category": "technical"}), 422, "itil.service"),
    ("itil not an object", dict(without("department"), itil="incident"), 422, "itil"),
]


@pytest.mark.parametrize("case,body,status,field", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_is_refused_naming_the_field(customer, case, body, status, field):
    response = post(customer, body)
    assert response.status_code == status, response.text
    error = response.json()
    assert error["error"] == "invalid_input"
    assert field in error["fields"], error


@pytest.mark.parametrize("field,value", [("channel", "phone"), ("on_behalf_of", str(uuid.uuid4()))])
def test_customers_cannot_claim_what_only_staff_may_say(customer, field, value):
    response = post(customer, dict(TICKET, **{field: value}))
    assert response.status_code == 403 and field in response.json()["message"]


@pytest.mark.parametrize("case,data,headers,status,error", [
    ("malformed JSON", b'{"title": ', None, 400, "malformed_json"),
    ("JSON but not an object", b'["a"]', None, 400, "malformed_json"),
    ("not UTF-8", b'\xff\xfe{', None, 400, "malformed_json"),
    ("form-encoded", b"title=x", {"Content-Type": "application/x-www-form-urlencoded"}, 415,
     "unsupported_media_type"),
    ("body too large", b'{"title": "' + b"x" * 4_000_000 + b'"}', None, 413, "payload_too_large"),
])
def test_malformed_bodies_get_clear_errors(customer, case, data, headers, status, error):
    response = post(customer, data, headers=headers or {"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.json()["message"]


def test_unknown_tickets_and_paths_answer_404_as_json(customer):
    for path in (f"/api/v1/tickets/{uuid.uuid4()}", "/api/v1/tickets/not-a-uuid", "/api/v1/nothing"):
        response = customer.call("GET", path)
        assert response.status_code == 404, path
        assert response.json()["error"] == "not_found"


def test_openapi_document_describes_every_endpoint_and_its_errors(system):
    spec = requests.get(system.url("/api/v1/openapi.json"), timeout=10).json()
    assert spec["openapi"].startswith("3.")
    post_op = spec["paths"]["/api/v1/tickets"]["post"]
    assert {"201", "400", "409", "413", "415", "422"} <= set(post_op["responses"])
    assert "404" in spec["paths"]["/api/v1/tickets/{ticket_id}"]["get"]["responses"]
    assert "/api/v1/health" in spec["paths"]
    schema = spec["components"]["schemas"]["OpenTicket"]
    assert {"title", "description"} <= set(schema["required"])
    assert "requester_email" not in schema["properties"]  # the requester is the session's user
    assert post_op["security"] and spec["paths"]["/api/v1/auth/login"]["post"]["security"] == []


def test_the_portal_page_is_served(system):
    response = requests.get(system.base_url + "/", timeout=10)
    assert response.status_code == 200 and "text/html" in response.headers["Content-Type"]
