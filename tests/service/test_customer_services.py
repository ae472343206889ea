"""The services a customer has contracted (identity: UserRegistered's `services`,
CustomerServicesChanged), set by admins through /api/v1/admin/users, carried in the principal,
and what they are for: an announcement for chosen services is read by the customers of those
services only (services/content)."""
import uuid

import pytest

from helpdesk.linktokens import LinkTokens

from .conftest import as_user, client

ADMIN, CUSTOMER, OTHER_CUSTOMER = "admin@helpdesk.example", "cliente@demo.example", "soporte@demo.example"


def announced(system, audience):
    """An announcement for `audience` (service codes), drafted and published by staff: its id."""
    staff = as_user(system, "agent-networks@helpdesk.example")
    drafted = staff.call("POST", "/api/v1/announcements", {
        "title": {"es": f"Aviso para {', '.join(audience)}"}, "body": {"es": "Cambios en el servicio."},
        "audience": audience})
    assert drafted.status_code == 201 and drafted.json()["audience"] == audience, drafted.text
    published = staff.call("POST", f"/api/v1/announcements/{drafted.json()['id']}/publish", {})
    assert published.status_code == 200, published.text
    return drafted.json()["id"]


def listed(api):
    answer = api.call("GET", "/api/v1/announcements")
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


def listing(system, email):
    items = as_user(system, ADMIN).call("GET", "/api/v1/admin/users").json()["items"]
    return next(person for person in items if person["email"] == email)


def test_an_admin_sets_a_customers_services_and_only_customers_of_them_read_its_announcements(system):
    admin = as_user(system, ADMIN)
    customer = listing(system, CUSTOMER)
    mails_before = len(system.mails(CUSTOMER))
    changed = admin.call("PATCH", f"/api/v1/admin/users/{customer['user_id']}", {"services": ["hosting", "email"]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["services"] == ["email", "hosting"]
    assert listing(system, CUSTOMER)["services"] == ["email", "hosting"]
    assert len(system.mails(CUSTOMER)) == mails_before  # the notifier passes over the new event: nothing to mail
    assert system.identity.get_principal(customer["user_id"])["services"] == ["email", "hosting"]

    for_hosting, for_domains = announced(system, ["hosting"]), announced(system, ["domains"])
    seen = listed(as_user(system, CUSTOMER))
    assert for_hosting in seen and for_domains not in seen
    reader = as_user(system, CUSTOMER)
    assert reader.call("GET", f"/api/v1/announcements/{for_hosting}").status_code == 200
    assert reader.call("GET", f"/api/v1/announcements/{for_domains}").status_code == 404
    for stranger in (as_user(system, OTHER_CUSTOMER), client(system)):  # another customer, anonymous
        assert for_hosting not in listed(stranger)
        assert stranger.call("GET", f"/api/v1/announcements/{for_hosting}").status_code == 404

    ended = admin.call("PATCH", f"/api/v1/admin/users/{customer['user_id']}", {"services": []})
    assert ended.status_code == 200 and ended.json()["services"] == [], ended.text
    assert for_hosting not in listed(as_user(system, CUSTOMER))


def test_a_customer_created_with_services_reads_their_announcements_from_the_first_login(system):
    admin = as_user(system, ADMIN)
    company = admin.call("POST", "/api/v1/admin/companies", {"name": f"Alojamientos {uuid.uuid4().hex[:6]}"}).json()
    email = f"web-{uuid.uuid4().hex[:6]}@alojamientos.example"
    created = admin.call("POST", "/api/v1/admin/users", {
        "email": email, "name": "Responsable web", "role": "customer", "company_id": company["company_id"],
        "services": ["housing"]})
    assert created.status_code == 201, created.text
    assert created.json()["services"] == ["housing"] and listing(system, email)["services"] == ["housing"]
    for_housing = announced(system, ["housing"])
    (mail,) = system.mails(email)
    initial = LinkTokens(system.config["LINK_SECRET"]).initial_password(**mail.context["initial_password"])
    assert for_housing in listed(client(system).login(email, initial))
    assert for_housing not in listed(as_user(system, OTHER_CUSTOMER))


@pytest.mark.parametrize("body,field", [
    ({"services": ["hosting", "fibre_to_the_moon"]}, "services"),
    ({"services": "hosting"}, "services"),
    ({"services": [""]}, "services.0"),
    ({"services": ["email", "x" * 51]}, "services.1"),
])
def test_unknown_or_malformed_services_are_refused_naming_the_field(system, body, field):
    admin = as_user(system, ADMIN)
    customer = listing(system, CUSTOMER)
    changed = admin.call("PATCH", f"/api/v1/admin/users/{customer['user_id']}", body)
    assert changed.status_code == 422 and list(changed.json()["fields"]) == [field], changed.text
    created = admin.call("POST", "/api/v1/admin/users", dict(body, email=f"n-{uuid.uuid4().hex[:6]}@demo.example",
                                                             name="N", role="customer",
                                                             company_id=customer["company_id"]))
    assert created.status_code == 422 and list(created.json()["fields"]) == [field], created.text
    assert listing(system, CUSTOMER)["services"] == customer["services"]


def test_unknown_services_are_named_in_the_callers_language(system):
    customer = listing(system, CUSTOMER)
    changed = as_user(system, ADMIN).call("PATCH", f"/api/v1/admin/users/{customer['user_id']}",
                                          {"services": ["zeppelins", "hosting"]}, headers={"Accept-Language": "en"})
    assert changed.status_code == 422
    assert "zeppelins" in " ".join(changed.json()["fields"]["services"]) and "hosting" not in changed.text


def test_staff_have_no_services(system):
    admin = as_user(system, ADMIN)
    agent = listing(system, "agent-networks@helpdesk.example")
    refused = admin.call("PATCH", f"/api/v1/admin/users/{agent['user_id']}", {"services": ["email"]})
    assert refused.status_code == 422 and "services" in refused.json()["fields"], refused.text
    assert listing(system, "agent-networks@helpdesk.example")["services"] == []
    created = admin.call("POST", "/api/v1/admin/users", {
        "email": f"agent-{uuid.uuid4().hex[:6]}@helpdesk.example", "name": "A", "role": "agent",
        "departments": ["networks"], "services": ["email"]})
    assert created.status_code == 422 and "services" in created.json()["fields"], created.text


def test_only_admins_set_services_and_a_change_must_say_what(system):
    customer = listing(system, CUSTOMER)
    path = f"/api/v1/admin/users/{customer['user_id']}"
    for email in ("supervisor@helpdesk.example", "agent-networks@helpdesk.example", CUSTOMER):
        refused = as_user(system, email).call("PATCH", path, {"services": ["email"]})
        assert refused.status_code == 403 and refused.json()["message"], (email, refused.text)
    assert client(system).call("PATCH", path, {"services": ["email"]}).status_code == 401
    assert listing(system, CUSTOMER)["services"] == customer["services"]
    empty = as_user(system, ADMIN).call("PATCH", path, {}, headers={"Accept-Language": "en"})
    assert empty.status_code == 422 and "services" in empty.text, empty.text
