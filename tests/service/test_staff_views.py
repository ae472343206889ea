"""What the console asks besides tickets (services/gateway/service.py): people found by staff,
and the supervisors' view of the agents' loads."""
import pytest

from helpdesk import errors

from .conftest import as_user


def test_staff_find_a_customer_by_name_email_or_company_and_customers_may_not_search(system):
    agent = as_user(system, "agent-networks@helpdesk.example")
    found = agent.call("GET", "/api/v1/people?text=demo&kind=customer")
    assert found.status_code == 200, found.text
    emails = {person["email"] for person in found.json()["items"]}
    assert "cliente@demo.example" in emails and all(p["role"] == "customer" for p in found.json()["items"])
    assert not any(e.endswith("@helpdesk.example") for e in emails)
    colleagues = agent.call("GET", "/api/v1/people?kind=staff&limit=100").json()["items"]
    assert {"supervisor@helpdesk.example", "agent-networks@helpdesk.example"} <= {p["email"] for p in colleagues}
    refused = as_user(system, "cliente@demo.example").call("GET", "/api/v1/people?text=a")
    assert refused.status_code == 403 and refused.json()["message"]
    for query, field in (("kind=robot", "kind"), ("limit=0", "limit"), ("text=", "text"), ("colour=red", "colour")):
        bad = agent.call("GET", f"/api/v1/people?{query}")
        assert bad.status_code == 422 and field in bad.json()["fields"], (query, bad.text)


def test_supervisors_see_each_agents_open_tickets_and_what_nobody_took(system):
    customer = as_user(system, "cliente@demo.example")
    ticket = customer.call("POST", "/api/v1/tickets", {"department": "billing", "title": "Factura",
                                                      "description": "Importe duplicado."}).json()
    boss = as_user(system, "supervisor@helpdesk.example")
    before = boss.call("GET", "/api/v1/agents").json()
    billing_agent = next(a for a in before["agents"] if a["email"] == "agent-billing@helpdesk.example")
    taken = as_user(system, "agent-billing@helpdesk.example").call("POST", f"/api/v1/tickets/{ticket['ticket_id']}/assign", {})
    assert taken.status_code == 200, taken.text
    after = boss.call("GET", "/api/v1/agents").json()
    now = next(a for a in after["agents"] if a["user_id"] == billing_agent["user_id"])
    assert now["open_tickets"] == billing_agent["open_tickets"] + 1 and now["departments"] == ["billing"]
    assert after["unassigned"].get("billing", 0) == before["unassigned"].get("billing", 0) - 1
    for email in ("agent-billing@helpdesk.example", "cliente@demo.example"):
        refused = as_user(system, email).call("GET", "/api/v1/agents")
        assert refused.status_code == 403 and refused.json()["message"]


def test_staff_get_a_departments_canned_replies_in_both_languages_and_customers_do_not(system):
    agent = as_user(system, "agent-networks@helpdesk.example")
    answer = agent.call("GET", "/api/v1/canned-replies?department=networks")
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert items[0]["code"] == "restart_router" and items[0]["body"]["en"].startswith("Could you switch")
    bad = agent.call("GET", "/api/v1/canned-replies?department=legal")
    assert bad.status_code == 422 and "department" in bad.json()["fields"]
    assert agent.call("GET", "/api/v1/canned-replies").status_code == 422
    refused = as_user(system, "cliente@demo.example").call("GET", "/api/v1/canned-replies?department=networks")
    assert refused.status_code == 403


def test_supervisors_and_admins_read_the_routing_rules_in_force_and_where_to_change_them(system):
    answer = as_user(system, "admin@helpdesk.example").call("GET", "/api/v1/admin/routing")
    assert answer.status_code == 200, answer.text
    rules = answer.json()
    assert rules["file"] == "routing.yaml" and rules["default"]["department"] == "systems"
    assert rules["itil_rules"][0] == {
        "when": {"type": "incident", "category": "total_outage", "urgency": "high"}, "department": "support_24h",
        "reason": {"es": "una interrupción total urgente se atiende a cualquier hora",
                   "en": "an urgent total outage is handled around the clock"}}
    assert rules["assignment"]["support_24h"] == "least_loaded" and rules["assignment"]["networks"] == "round_robin"
    assert as_user(system, "supervisor@helpdesk.example").call("GET", "/api/v1/admin/routing").status_code == 200
    refused = as_user(system, "agent-networks@helpdesk.example").call("GET", "/api/v1/admin/routing")
    assert refused.status_code == 403 and refused.json()["message"]


def test_staff_see_the_requesters_contact_card_on_the_ticket_and_customers_do_not(system):
    admin = as_user(system, "admin@helpdesk.example")
    company = admin.call("POST", "/api/v1/admin/companies", {"name": "Talleres Ebro"}).json()
    created = admin.call("POST", "/api/v1/admin/users", {
        "email": "jefa@talleres-ebro.example", "name": "Jefa de taller", "role": "customer", "phone": "+34 976 000 111",
        "language": "en", "company_id": company["company_id"], "company_admin": True})
    assert created.status_code == 201, created.text
    agent = as_user(system, "agent-networks@helpdesk.example")
    opened = agent.call("POST", "/api/v1/tickets", {
        "on_behalf_of": created.json()["user_id"], "channel": "phone", "department": "networks",
        "title": "Sin línea", "description": "Llamó: la fibra no sincroniza."})
    assert opened.status_code == 201, opened.text
    seen = agent.call("GET", f"/api/v1/tickets/{opened.json()['ticket_id']}").json()
    assert seen["requester"] == {
        "user_id": created.json()["user_id"], "name": "Jefa de taller", "email": "jefa@talleres-ebro.example",
        "phone": "+34 976 000 111", "language": "en", "time_zone": "Europe/Madrid",
        "company_id": company["company_id"], "company_name": "Talleres Ebro", "is_group": False,
        "company_admin": True, "active": True}
    customer = as_user(system, "cliente@demo.example")
    own = customer.call("POST", "/api/v1/tickets", {"department": "billing", "title": "Factura", "description": "Duplicada."})
    assert "requester" not in customer.call("GET", f"/api/v1/tickets/{own.json()['ticket_id']}").json()
    card = system.identity.contact_card  # asked directly: only staff, only of an account that exists
    with pytest.raises(errors.Forbidden):
        card(customer.call("GET", "/api/v1/me").json(), created.json()["user_id"])
    with pytest.raises(errors.NotFound):
        card(agent.call("GET", "/api/v1/me").json(), "not-a-user")


def test_the_routing_rules_carry_the_calendars_that_shifts_and_departments_name(system):
    rules = as_user(system, "admin@helpdesk.example").call("GET", "/api/v1/admin/routing").json()
    assert rules["calendars"]["24x7"] == {"name": "24x7", "always_open": True}
    office = rules["calendars"]["8x5"]
    assert office["timezone"] == "Europe/Madrid" and office["hours"]["mon"] == ["09:00-17:00"]
    assert "sat" not in office["hours"] and office["holidays"]["country"] == "ES"
