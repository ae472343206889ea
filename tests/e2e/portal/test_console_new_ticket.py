"""A technician opens a ticket for a customer who phoned (manual 000 §3.2): from the queue's link,
finds the customer, chooses her, the channel and the department, and the ticket's workspace opens;
through the API the ticket is the customer's, opened by phone."""
import re
import uuid

import pytest

from services.identity.seed import DEMO_PASSWORD

from ..conftest import as_user
from .browser import check_page
from .test_console import AGENT, DEPARTMENT, _opened, resolved_afterwards, speaking  # noqa: F401 (autouse cleanup)
from .test_journeys import choose, fill, log_in
from .texts import Text

CUSTOMER = "cliente@demo.example"


@pytest.mark.parametrize("language,view", [("es", "desktop"), ("en", "phone")])
def test_an_agent_opens_a_ticket_for_a_customer_who_phoned(system, portal, language, view):
    agent = speaking(system, AGENT, language)
    text = Text(language)
    title = f"Llamada: sin correo {uuid.uuid4().hex[:6]}"

    page = portal(language, view)
    page.goto("/console")
    log_in(page, text, AGENT, DEMO_PASSWORD)
    page.wait_for_url(re.compile(r"/console/queues/"))
    page.get_by_role("link", name=text["console.new.link"]).click()
    page.wait_for_url(re.compile(r"/console/new-ticket$"))
    page.get_by_role("heading", name=text["console.new.title"]).wait_for()

    page.get_by_role("searchbox", name=text["console.new.search"]).fill("Ana Cli")
    customer = page.get_by_role("radio", name=re.compile(re.escape(CUSTOMER)))
    customer.check()
    choose(page, text["console.new.channel"], "phone")
    choose(page, text["new.department"], DEPARTMENT)
    fill(page, text["new.description"], "Llama la clienta: no recibe correo desde esta mañana.")
    check_page(page, f"console-new-ticket-{language}-{view}")

    submit = page.get_by_role("main").get_by_role("button", name=text["new.submit"])
    submit.click()  # no title: the error is at its field
    error = page.locator(".field:has(input[name=title]) .field-error")
    error.wait_for()
    assert error.inner_text() == text["form.required"]
    assert page.get_by_role("textbox", name=text["new.title"], exact=True).get_attribute("aria-invalid") == "true"

    fill(page, text["new.title"], title)
    submit.click()
    page.wait_for_url(re.compile(r"/console/tickets/[^/]+$"))
    page.get_by_role("heading", name=re.compile(re.escape(title))).first.wait_for()
    ticket_id = page.url.rsplit("/", 1)[1]
    _opened.append(ticket_id)

    ticket = agent.call("GET", f"/api/v1/tickets/{ticket_id}").json()
    assert ticket["requester_email"] == CUSTOMER and ticket["channel"] == "phone", ticket
    assert ticket["department"] == DEPARTMENT and ticket["title"] == title
    assert as_user(system, CUSTOMER).call("GET", f"/api/v1/tickets/{ticket_id}").status_code == 200
