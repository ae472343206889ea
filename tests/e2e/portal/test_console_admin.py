"""The admins' pages of the staff console in a real browser (pages/admin.js): a company created,
an account created for it with its initial credentials mailed (the manual's first login: 004,
1/), an agent's departments changed, a customer's contracted services given and changed, an
account deactivated and reactivated; the catalogue and
the routing rules shown read-only with the file that changes each; and the pages kept from
everyone but admins. The API is asked afterwards what it holds."""
import re
import uuid

import requests

from ..conftest import as_user, wait_for_mail
from .browser import check_page
from .test_console import AGENT, CUSTOMER
from .test_console_supervisor import log_in_at, speaking
from .test_journeys import fill, log_in
from .texts import Text

ADMIN = "admin@helpdesk.example"
INITIAL_PASSWORD = re.compile(r"([a-z2-9]{4}(?:-[a-z2-9]{4}){3})")


def account(admin, email):
    return next(person for person in admin.call("GET", "/api/v1/admin/users").json()["items"] if person["email"] == email)


def test_an_admin_creates_a_company_and_its_first_account_which_logs_in_with_the_mailed_password(system, portal):
    admin = speaking(system, ADMIN, "es")
    text = Text("es")
    tag = uuid.uuid4().hex[:6]
    company_name = f"Ferretería Aragón {tag}"
    page = portal("es", "desktop", allow_errors=[r"status of 409"])  # the names and address taken, refused
    log_in_at(page, "/console/admin/companies", ADMIN, "es")
    page.get_by_role("heading", name=text["admin.companies.title"], level=1).wait_for()
    nav = page.get_by_role("navigation", name=text["nav.label"])
    admin_link = nav.locator("a[href='/console/admin/users']")  # (the admin's own name is "Administración" too)
    assert admin_link.inner_text() == text["nav.admin"] and admin_link.get_attribute("aria-current") == "true"

    create = page.get_by_role("form", name=text["admin.companies.create"])
    fill(create, text["admin.companies.name"], company_name)
    create.get_by_role("button", name=text["admin.companies.submit"]).click()
    create.get_by_text(text("admin.companies.done", name=company_name)).wait_for()
    company_id = next(item["company_id"] for item in admin.call("GET", "/api/v1/admin/companies").json()["items"]
                      if item["name"] == company_name)
    fill(create, text["admin.companies.name"], company_name.upper())  # the same name, in capitals: refused
    create.get_by_role("button", name=text["admin.companies.submit"]).click()
    create.locator(".error-summary:not([hidden])").wait_for()
    check_page(page, "console-admin-companies-es-desktop")

    page.get_by_role("link", name=text("admin.companies.accounts_of", name=company_name, count=0)).click()
    page.wait_for_url(re.compile(rf"/console/admin/users\?company={company_id}$"))
    page.get_by_text(text["admin.users.none"]).wait_for()  # the filter is the company's: nobody yet
    form = page.get_by_role("form", name=text["admin.create.title"])
    email = f"jefe-{tag}@ferreteria.example"
    fill(form, text["register.email"], email)
    fill(form, text["register.name"], "Jefe de compras")
    fill(form, text["register.phone"], "+34 976 123 456")
    form.get_by_role("combobox", name=text["language.label"]).select_option("en")
    assert form.get_by_role("combobox", name=text["admin.users.company"]).input_value() == company_id
    form.get_by_role("checkbox", name=text["admin.create.company_admin"]).check()
    form.get_by_role("button", name=text["admin.create.submit"]).click()
    form.get_by_text(text("admin.create.done", email=email)).wait_for()
    row = page.locator(f"table.people tbody tr[data-email='{email}']")
    row.get_by_text(text["admin.users.company_admin"]).wait_for()
    assert company_name in row.inner_text() and text["admin.users.active"] in row.inner_text()
    created = account(admin, email)
    assert (created["role"], created["company_id"], created["company_admin"], created["is_group"]) == (
        "customer", company_id, True, False)

    fill(form, text["register.email"], email)  # the same address again: refused, the form says why
    fill(form, text["register.name"], "Otro")
    form.get_by_role("button", name=text["admin.create.submit"]).click()
    form.locator(".error-summary:not([hidden])").wait_for()
    assert len([p for p in admin.call("GET", "/api/v1/admin/users").json()["items"] if p["email"] == email]) == 1

    # the new customer's first login: the mailed password, then a password of their own
    initial = INITIAL_PASSWORD.search(wait_for_mail(system, email)[0].get_body(("plain",)).get_content()).group(1)
    customer = portal("en", "phone")
    customer.goto("/login")
    log_in(customer, Text("en"), email, initial)
    customer.wait_for_url(re.compile(r"/password"))
    customer.get_by_role("heading", name=Text("en")["password.title"]).wait_for()


def test_an_admin_changes_an_agents_departments_and_deactivates_and_reactivates_an_account(system, portal):
    admin = speaking(system, ADMIN, "en")
    text = Text("en")
    tag = uuid.uuid4().hex[:6]
    email = f"agent-{tag}@helpdesk.example"
    made = admin.call("POST", "/api/v1/admin/users", {"email": email, "name": f"Agent {tag}", "role": "agent",
                                                      "departments": ["networks", "billing"]})
    assert made.status_code == 201, made.text
    page = portal("en", "phone")
    log_in_at(page, "/console/admin/users?role=agent", ADMIN, "en")
    row = page.locator(f"table.people tbody tr[data-email='{email}']")
    row.wait_for()
    assert text["admin.shift.departments"] in row.inner_text()
    row.get_by_role("button", name=text("admin.users.manage_named", name=email)).click()
    panel = page.get_by_role("region", name=text("admin.manage.title", name=f"Agent {tag}"))
    assert panel.locator("h2").evaluate("heading => heading === document.activeElement")
    departments = panel.get_by_role("form", name=text["admin.manage.departments"])
    billing = departments.get_by_role("checkbox", name=text.department("billing"))
    assert billing.is_checked()
    billing.uncheck()
    departments.get_by_role("button", name=text["admin.manage.save_departments"]).click()
    departments.get_by_text(text["admin.manage.saved"]).wait_for()
    assert account(admin, email)["departments"] == ["networks"]
    row.get_by_text(text.department("networks"), exact=True).wait_for()

    panel.get_by_role("button", name=text["admin.manage.deactivate"]).click()
    panel = page.get_by_role("region", name=text("admin.manage.title", name=f"Agent {tag}"))
    panel.get_by_text(text("admin.manage.deactivated", email=email)).wait_for()
    row.get_by_text(text["admin.users.inactive"]).wait_for()
    assert account(admin, email)["active"] is False
    panel.scroll_into_view_if_needed()
    check_page(page, "console-admin-users-en-phone")
    panel.get_by_role("button", name=text["admin.manage.reactivate"]).click()
    page.get_by_text(text("admin.manage.reactivated", email=email)).wait_for()
    assert account(admin, email)["active"] is True


def test_an_admin_gives_a_new_customer_services_and_changes_them_in_the_manage_panel(system, portal):
    admin = speaking(system, ADMIN, "en")
    text = Text("en")
    tag = uuid.uuid4().hex[:6]
    company = admin.call("POST", "/api/v1/admin/companies", {"name": f"Hosting Ebro {tag}"}).json()
    email = f"web-{tag}@hosting-ebro.example"
    page = portal("en", "desktop")
    log_in_at(page, f"/console/admin/users?company={company['company_id']}", ADMIN, "en")
    form = page.get_by_role("form", name=text["admin.create.title"])
    fill(form, text["register.email"], email)
    fill(form, text["register.name"], f"Web {tag}")
    offered = form.get_by_role("group", name=text["admin.create.services"])
    offered.get_by_role("checkbox", name=text.service("hosting"), exact=True).check()
    form.get_by_role("button", name=text["admin.create.submit"]).click()
    form.get_by_text(text("admin.create.done", email=email)).wait_for()
    assert account(admin, email)["services"] == ["hosting"]
    row = page.locator(f"table.people tbody tr[data-email='{email}']")
    row.get_by_text(text.service("hosting"), exact=True).wait_for()

    row.get_by_role("button", name=text("admin.users.manage_named", name=email)).click()
    panel = page.get_by_role("region", name=text("admin.manage.title", name=f"Web {tag}"))
    services = panel.get_by_role("form", name=text["admin.manage.services"])
    hosting = services.get_by_role("checkbox", name=text.service("hosting"), exact=True)
    assert hosting.is_checked() and panel.get_by_role("form", name=text["admin.manage.departments"]).count() == 0
    hosting.uncheck()
    services.get_by_role("checkbox", name=text.service("email"), exact=True).check()
    services.get_by_role("checkbox", name=text.service("domains"), exact=True).check()
    services.get_by_role("button", name=text["admin.manage.save_services"]).click()
    services.get_by_text(text["admin.manage.services_saved"]).wait_for()
    assert account(admin, email)["services"] == ["domains", "email"]
    row.get_by_text(f"{text.service('domains')}, {text.service('email')}", exact=True).wait_for()
    check_page(page, "console-admin-services-en-desktop")


def test_the_settings_page_shows_the_catalogue_and_routing_rules_in_force_and_where_to_change_them(system, portal):
    admin = speaking(system, ADMIN, "es")
    text = Text("es")
    rules = admin.call("GET", "/api/v1/admin/routing").json()
    page = portal("es", "desktop")
    log_in_at(page, "/console/admin/settings", ADMIN, "es")
    page.get_by_role("heading", name=text["admin.settings.title"], level=1).wait_for()
    departments = page.locator("table.settings-departments tbody tr")
    assert departments.count() == len(text.catalog["departments"])
    support = departments.filter(has_text=text.department("support_24h"))
    assert text["admin.calendar.always_open"] in support.inner_text()
    assert text["admin.strategy.least_loaded"] in support.inner_text()
    assert "09:00-17:00" in departments.filter(has_text=text.department("networks")).inner_text()
    routing = page.locator("table.settings-routing tbody tr")
    assert routing.count() == len(rules["itil_rules"]) + 1  # and "otherwise"
    assert rules["itil_rules"][0]["reason"]["es"] in routing.first.inner_text()
    assert page.get_by_text(text("admin.settings.where", file="routing.yaml")).count() == 2
    assert page.get_by_text(text("admin.settings.where", file="catalog.yaml")).count() == 3
    assert page.locator("form").count() == 1  # read-only: only the header's language form
    check_page(page, "console-admin-settings-es-desktop")


def test_the_admin_pages_are_for_admins_only(system, portal):
    for email in (AGENT, "supervisor@helpdesk.example"):
        speaking(system, email, "es")
        page = portal("es", "desktop")
        log_in_at(page, "/console/admin/users", email, "es")
        page.get_by_text(Text("es")["console.admin_only"]).wait_for()
        assert page.locator("table").count() == 0
        nav = page.get_by_role("navigation", name=Text("es")["nav.label"])
        nav.get_by_role("link", name=Text("es")["nav.console"], exact=True).wait_for()
        assert nav.locator("a[href^='/console/admin']").count() == 0
    customer = portal("es", "phone")
    log_in_at(customer, "/console/admin/companies", CUSTOMER, "es")
    customer.wait_for_url(re.compile(r"/tickets$"))
    refused = as_user(system, AGENT).call("GET", "/api/v1/admin/users")
    assert refused.status_code == 403
    assert requests.get(system.url("/console/admin/settings"), timeout=10).status_code == 200  # the shell; data is closed
