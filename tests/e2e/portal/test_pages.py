"""What the journeys pass by: the password reset, a change of address, the attachment checks in the
browser and on the server, Soporte 24 Horas explained before sending, a group user's company list,
and the pages a stranger meets."""
import re
import uuid

import pytest

from ..conftest import Api, as_user
from .browser import check_page, links_in
from .test_journeys import address, choose, customer, fill, log_in
from .texts import PDF, Text, mail_with


def test_forgotten_password_reset_from_the_mail_then_log_in(system, portal):
    email, password = address("olvido"), "una clave que olvidé"
    Api(system).call("POST", "/api/v1/auth/register", {"email": email, "password": password, "name": "Olga"})
    verify = next(url for url in links_in(mail_with(system, email, "/verify-email"), system.base_url))
    page = portal("es", "phone")
    text = Text("es")
    page.goto(verify)
    page.get_by_text(text("verify.welcome", name="Olga")).wait_for()
    page.get_by_role("button", name=text["nav.logout"]).click()
    page.get_by_role("heading", name=text["home.welcome"]).wait_for()

    page.get_by_role("link", name=text["login.forgot"]).click()
    check_page(page, "forgot-password-es-phone")
    fill(page, text["login.email"], email)
    page.get_by_role("button", name=text["forgot.submit"]).click()
    page.get_by_text(text("forgot.sent", email=email)).wait_for()
    reset = next(url for url in links_in(mail_with(system, email, "/reset-password#token="), system.base_url))
    page.goto(reset)
    page.get_by_role("heading", name=text["reset.title"]).wait_for()
    assert "#token" not in page.url
    check_page(page, "reset-password-es-phone")
    fill(page, text["reset.password"], "mi clave nueva y larga")
    page.get_by_role("button", name=text["reset.submit"]).click()
    page.get_by_text(text["reset.done"]).wait_for()
    page.get_by_role("main").get_by_role("link", name=text["nav.login"]).click()
    log_in(page, text, email, "mi clave nueva y larga")
    page.get_by_role("heading", name=text["list.title"]).wait_for()
    check_page(page, "tickets-empty-es-phone")


def test_a_new_address_is_confirmed_from_the_mail_sent_to_it(system, portal):
    page = portal("en", "desktop")
    text = Text("en")
    email, password = address("muda"), "the old address secret"
    Api(system).call("POST", "/api/v1/auth/register", {"email": email, "password": password, "name": "Marta",
                                                        "language": "en"})
    page.goto(next(iter(links_in(mail_with(system, email, "/verify-email"), system.base_url))))
    page.get_by_text(text("verify.welcome", name="Marta")).wait_for()
    page.goto("/profile")
    new = address("nueva")
    fill(page, text["profile.new_email"], new)
    fill(page, text["password.current"], password)
    page.get_by_role("button", name=text["profile.email_submit"]).click()
    page.get_by_text(text("profile.email_sent", email=new)).wait_for()
    page.goto(next(iter(links_in(mail_with(system, new, "/verify-email"), system.base_url))))
    page.get_by_text(text("verify.changed", email=new)).wait_for()
    page.goto("/profile")
    page.get_by_text(text("profile.email_now", email=new)).wait_for()


@pytest.mark.parametrize("language", ["es", "en"])
def test_attachments_are_checked_in_the_browser_and_by_the_server(system, portal, language):
    # the server's refusal (a 422 naming the attachment) is logged by the browser as a failed load
    page = portal(language, "desktop", allow_errors=[r"status of 422"])
    text = Text(language)
    page.goto("/login")
    log_in(page, text, *customer(system, language))
    page.get_by_role("heading", name=text["list.title"]).wait_for()
    page.goto("/tickets/new")
    field = page.locator("input[type=file]")
    error = page.locator(f"#{field.get_attribute('id')}-error")

    field.set_input_files(files=[{"name": "programa.exe", "mimeType": "application/octet-stream", "buffer": b"MZ"}])
    assert error.inner_text().startswith(text["attachment.bad_type"].split("{")[0].strip())
    field.set_input_files(files=[{"name": "grande.pdf", "mimeType": "application/pdf",
                                  "buffer": b"%PDF-1.4\n" + b"0" * (2 * 1024 * 1024 + 10)}])
    assert error.inner_text() == text("attachment.too_large", size="2 MB")

    # a name that lies about its content passes the browser's check; the server looks inside
    field.set_input_files(files=[{"name": "factura.pdf", "mimeType": "application/pdf", "buffer": b"MZ\x90\x00 not a pdf"}])
    assert error.is_hidden()
    choose(page, text["new.department"], "billing")
    fill(page, text["new.title"], "Factura")
    fill(page, text["new.description"], "Adjunto la factura.")
    page.get_by_role("button", name=text["new.submit"]).click()
    error.wait_for()
    assert field.get_attribute("aria-invalid") == "true"
    assert "pdf" in error.inner_text().lower()
    assert "/tickets/new" in page.url  # nothing was opened

    field.set_input_files(files=[PDF])
    page.get_by_role("button", name=text["new.submit"]).click()
    page.wait_for_url(re.compile(r"/tickets/[0-9a-f-]{36}$"))


@pytest.mark.parametrize("language", ["es", "en"])
def test_soporte_24_horas_is_explained_and_the_form_says_where_a_non_urgent_ticket_goes(system, portal, language):
    page = portal(language, "phone")
    text = Text(language)
    page.goto("/login")
    log_in(page, text, *customer(system, language))
    page.get_by_role("heading", name=text["list.title"]).wait_for()
    page.goto("/tickets/new")
    choose(page, text["new.department"], "support_24h")
    catalog = text.catalog
    support = next(d for d in catalog["departments"] if d["code"] == "support_24h")
    page.get_by_text(support["description"][language]).wait_for()
    choose(page, text["new.urgency"], "medium")
    placement = as_user(system, "cliente@demo.example").call(
        "GET", "/api/v1/routing/preview?department=support_24h&urgency=medium").json()
    page.get_by_text(text("new.preview_changed", department=text.department("systems"),
                          reason=placement["reason"][language])).wait_for()
    choose(page, text["new.urgency"], "high")
    page.get_by_text(text("new.preview", department=text.department("support_24h"))).wait_for()
    check_page(page, f"new-ticket-24h-{language}-phone")


def test_a_group_user_sees_the_company_tickets_with_who_opened_each(system, portal):
    title = f"Caída del correo {uuid.uuid4().hex[:6]}"
    opened = as_user(system, "cliente@demo.example").call(
        "POST", "/api/v1/tickets", {"department": "systems", "title": title, "description": "No llega el correo."})
    assert opened.status_code == 201
    page = portal("es", "desktop")
    text = Text("es")
    page.goto("/login")
    log_in(page, text, "soporte@demo.example", "helpdesk-demo-2026")
    page.get_by_role("heading", name=text["list.title"]).wait_for()
    page.get_by_role("searchbox", name=text["list.search"]).fill(title)
    page.get_by_role("button", name=text["list.apply"]).click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=title))
    row.get_by_role("cell", name="Ana Cliente").wait_for()
    assert page.get_by_role("columnheader", name=text["ticket.requester"]).is_visible()
    check_page(page, "tickets-group-es-desktop")


@pytest.mark.parametrize("language", ["es", "en"])
def test_pages_a_stranger_meets(system, portal, language):
    page = portal(language, "desktop", allow_errors=[r"status of 404"])  # the unknown page's document
    text = Text(language)
    for path, heading, name in (("/login", "login.title", "login"), ("/forgot-password", "forgot.title", "forgot"),
                                ("/no-such-page", "notfound.title", "not-found")):
        page.goto(path)
        page.get_by_role("heading", name=text[heading], exact=True).wait_for()
        check_page(page, f"{name}-{language}-desktop")
    page.goto("/tickets")  # needs a session: to the login, and back afterwards
    page.wait_for_url(re.compile(r"/login\?next=%2Ftickets$"))
    page.goto("/solution")  # a solution link without its fragment
    page.get_by_text(text["link.incomplete"]).wait_for()
