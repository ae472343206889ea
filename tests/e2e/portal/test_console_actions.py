"""The staff actions of the API the workspace reaches besides the common ones (issue 12): a canned
reply chosen and sent, assigning to a colleague, changing the CC (a bad address refused at its
field), and merging a duplicate into another ticket named by its reference. Each is sent by the
page with If-Match, and the API is asked afterwards what it holds."""
import re
import uuid

import pytest

from helpdesk import i18n
from services.identity.seed import DEMO_PASSWORD

from ..conftest import as_user
from .browser import check_page
from .test_console import AGENT, DEPARTMENT, history, open_ticket, resolved_afterwards, speaking  # noqa: F401 (the cleanup)
from .test_journeys import fill, log_in
from .texts import Text

SUPERVISOR = "supervisor@helpdesk.example"


def workspace(portal, text, email, ticket, language="es", view="desktop", **options):
    """The workspace of `ticket`, logged in as `email`."""
    page = portal(language, view, **options)
    page.goto(f"/login?next=%2Fconsole%2Ftickets%2F{ticket['ticket_id']}")
    log_in(page, text, email, DEMO_PASSWORD)
    page.wait_for_url(re.compile(f"/console/tickets/{ticket['ticket_id']}$"))
    page.get_by_role("heading", name=re.compile(re.escape(ticket["title"]))).wait_for()
    return page


def open_panel(page, title):
    page.locator("summary").filter(has_text=re.compile(f"^{re.escape(title)}$")).click()
    return page.get_by_role("form", name=title)


def taken(system, ticket):
    agent = as_user(system, AGENT)
    assert agent.call("POST", f"/api/v1/tickets/{ticket['ticket_id']}/assign", {}).status_code == 200
    return agent


def test_a_canned_reply_fills_the_reply_box_and_is_sent(system, portal):
    agent = speaking(system, AGENT, "es")
    text = Text("es")
    ticket = open_ticket(system, f"Respuesta predefinida {uuid.uuid4().hex[:6]}")
    taken(system, ticket)
    canned = agent.call("GET", f"/api/v1/canned-replies?department={DEPARTMENT}").json()["items"]
    greeting = next(item for item in canned if item["code"] == "greeting_received")
    page = workspace(portal, text, AGENT, ticket)

    page.get_by_role("combobox", name=text["console.canned.label"], exact=True).select_option("greeting_received")
    box = page.get_by_role("textbox", name=text["console.reply.label"], exact=True)
    assert box.input_value() == greeting["body"]["es"]  # neither the ticket nor the customer says otherwise
    assert box.evaluate("box => box === document.activeElement")  # to be edited before sending
    box.press("End")
    page.keyboard.type(" Gracias.")
    page.get_by_role("button", name=text["console.reply.submit"]).click()
    page.get_by_text(text["console.reply.done"]).wait_for()
    sent = greeting["body"]["es"] + " Gracias."
    page.get_by_role("region", name=text["ticket.tab.history"]).get_by_text(sent).wait_for()
    seen = agent.call("GET", f"/api/v1/tickets/{ticket['ticket_id']}").json()
    assert [entry["body"] for entry in seen["history"] if entry["type"] == "StaffReplied"] == [sent]


def test_a_supervisor_assigns_the_ticket_to_an_agent_of_its_department(system, portal):
    speaking(system, SUPERVISOR, "es")
    text = Text("es")
    ticket = open_ticket(system, f"Para un compañero {uuid.uuid4().hex[:6]}")
    agent = as_user(system, AGENT)
    agent_id = agent.call("GET", "/api/v1/me").json()["user_id"]
    page = workspace(portal, text, SUPERVISOR, ticket)

    form = open_panel(page, text["console.assign.title"])
    choices = form.get_by_role("combobox", name=text["console.assign.agent"])
    offered = choices.locator("option").evaluate_all("options => options.map((o) => o.value).filter(Boolean)")
    assert offered == [agent_id]  # the department's only active agent: not the supervisor, nor other departments'
    choices.select_option(agent_id)
    form.get_by_role("button", name=text["console.assign.submit"]).click()
    page.get_by_text(text("console.assign.done", name="Agente datacenters")).wait_for()
    page.locator(".facts").get_by_text("Agente datacenters", exact=True).wait_for()
    seen = agent.call("GET", f"/api/v1/tickets/{ticket['ticket_id']}").json()
    assert (seen["assignee_id"], seen["assignee_name"], seen["status"]) == (agent_id, "Agente datacenters", "assigned")


def test_the_cc_is_changed_and_a_bad_address_refused_at_its_field_on_a_phone(system, portal):
    speaking(system, AGENT, "en")
    text = Text("en")
    ticket = open_ticket(system, f"CC change {uuid.uuid4().hex[:6]}")
    agent = taken(system, ticket)
    page = workspace(portal, text, AGENT, ticket, language="en", view="phone",
                     allow_errors=[r"status of 422"])  # the bad address, refused

    form = open_panel(page, text["console.cc.title"])
    fill(form, text["console.cc.label"], "jefa@demo.example, not-an-address")
    form.get_by_role("button", name=text["console.cc.submit"]).click()
    box = form.get_by_role("textbox", name=text["console.cc.label"], exact=True)
    error = form.locator(".field-error:not([hidden])")
    error.wait_for()
    assert box.get_attribute("aria-invalid") == "true"
    assert error.get_attribute("id") in box.get_attribute("aria-describedby")
    assert agent.call("GET", f"/api/v1/tickets/{ticket['ticket_id']}").json()["cc"] == []

    fill(form, text["console.cc.label"], "jefa@demo.example, it@demo.example")
    form.get_by_role("button", name=text["console.cc.submit"]).click()
    page.get_by_text(text["console.cc.done"]).wait_for()
    assert agent.call("GET", f"/api/v1/tickets/{ticket['ticket_id']}").json()["cc"] == [
        "jefa@demo.example", "it@demo.example"]
    page.locator(".facts").get_by_text("jefa@demo.example, it@demo.example", exact=True).wait_for()
    form = page.get_by_role("form", name=text["console.cc.title"])  # redrawn, still open, with the CC now
    assert form.get_by_role("textbox", name=text["console.cc.label"], exact=True).input_value() == (
        "jefa@demo.example, it@demo.example")
    form.scroll_into_view_if_needed()
    check_page(page, "console-ticket-actions-en-phone")


def test_a_duplicate_is_merged_into_another_ticket_named_by_its_reference(system, portal):
    speaking(system, AGENT, "es")
    text = Text("es")
    kept = open_ticket(system, f"El original {uuid.uuid4().hex[:6]}")
    duplicate = open_ticket(system, f"El duplicado {uuid.uuid4().hex[:6]}")
    agent = taken(system, duplicate)
    page = workspace(portal, text, AGENT, duplicate)

    form = open_panel(page, text["console.merge.title"])
    fill(form, text["console.merge.label"], "#999999999")  # no such ticket: said at the field
    form.get_by_role("button", name=text["console.merge.submit"]).click()
    form.get_by_text(text("console.merge.not_found", reference="#999999999")).wait_for()

    fill(form, text["console.merge.label"], kept["reference"])
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer)
    form.get_by_role("button", name=text["console.merge.submit"]).click()
    page.get_by_text(text("console.merge.done", target=kept["reference"])).wait_for()
    assert asked == [text("console.merge.confirm", reference=duplicate["reference"], target=kept["reference"],
                          title=kept["title"])]
    page.locator(".facts").get_by_text(text["console.status.closed"], exact=True).wait_for()
    seen = agent.call("GET", f"/api/v1/tickets/{duplicate['ticket_id']}").json()
    assert (seen["status"], seen["merged_into"]) == ("closed", kept["ticket_id"])
    assert agent.call("GET", f"/api/v1/tickets/{kept['ticket_id']}").json()["status"] != "closed"


STALE_FORMS = {  # form title key, what is typed or chosen, submit key
    "assign": ("console.assign.title", lambda form, text, agent_id: form.get_by_role(
        "combobox", name=text["console.assign.agent"]).select_option(agent_id), "console.assign.submit"),
    "cc": ("console.cc.title", lambda form, text, agent_id: fill(form, text["console.cc.label"], "jefa@demo.example"),
           "console.cc.submit"),
    "merge": ("console.merge.title", None, "console.merge.submit"),  # the kept ticket's reference, below
}


@pytest.mark.parametrize("action", sorted(STALE_FORMS))
def test_assign_cc_and_merge_refuse_a_stale_version_and_show_the_ticket_as_it_is(system, portal, action):
    """The colleague's change is not told to the page (its live stream held silent): the form's
    If-Match is stale, the API's 409 is said in the alert, the state is redrawn, nothing changed."""
    speaking(system, SUPERVISOR, "en")
    text = Text("en")
    kept = open_ticket(system, f"Kept {uuid.uuid4().hex[:6]}")
    ticket = open_ticket(system, f"Stale {action} {uuid.uuid4().hex[:6]}")
    agent = as_user(system, AGENT)
    agent_id = agent.call("GET", "/api/v1/me").json()["user_id"]
    page = portal("en", "desktop", allow_errors=[r"status of 409"])
    page.route(re.compile(r"/api/v1/live\?"), lambda route: route.fulfill(
        status=200, headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}, body="retry: 600000\n\n"))
    page.goto(f"/login?next=%2Fconsole%2Ftickets%2F{ticket['ticket_id']}")
    log_in(page, text, SUPERVISOR, DEMO_PASSWORD)
    page.get_by_role("heading", name=re.compile(re.escape(ticket["title"]))).wait_for()
    title, enter, submit = STALE_FORMS[action]
    form = open_panel(page, text[title])
    if action == "merge":
        fill(form, text["console.merge.label"], kept["reference"])
        page.once("dialog", lambda dialog: dialog.accept())
    else:
        enter(form, text, agent_id)

    remark = f"Colleague: urgent ({uuid.uuid4().hex[:4]})."
    assert agent.call("POST", f"/api/v1/tickets/{ticket['ticket_id']}/notes", {"body": remark}).status_code == 200
    before = agent.call("GET", f"/api/v1/tickets/{ticket['ticket_id']}").json()
    form.get_by_role("button", name=text[submit]).click()
    alert = page.get_by_role("alert").filter(has_text=i18n.text("ticket_changed", {}, "en"))
    alert.wait_for()
    assert text["console.conflict.reloaded"] in alert.inner_text()
    history(page, text).get_by_text(remark).wait_for()  # drawn as it is now
    after = agent.call("GET", f"/api/v1/tickets/{ticket['ticket_id']}").json()
    assert (after["version"], after["assignee_id"], after["cc"], after["status"]) == (
        before["version"], None, [], "new")  # the stale write changed nothing


def test_a_resolved_ticket_is_reopened_with_the_reason_the_customer_gave_by_phone(system, portal):
    speaking(system, AGENT, "es")
    text = Text("es")
    ticket = open_ticket(system, f"Vuelve a fallar {uuid.uuid4().hex[:6]}")
    agent = taken(system, ticket)
    resolved = agent.call("POST", f"/api/v1/tickets/{ticket['ticket_id']}/resolve", {"solution": "Fuente cambiada."})
    assert resolved.status_code == 200, resolved.text
    page = workspace(portal, text, AGENT, ticket)
    page.get_by_text(text["console.resolved_note"]).wait_for()
    form = open_panel(page, text["console.reopen.title"])
    reason = "Ha llamado: el servidor se apaga otra vez."
    fill(form, text["console.reopen.label"], reason)
    form.get_by_role("button", name=text["console.reopen.submit"]).click()
    page.get_by_text(text["console.reopen.done"]).wait_for()
    page.locator(".facts").get_by_text(text["console.status.reopened"], exact=True).wait_for()
    history(page, text).get_by_text(reason).wait_for()
    assert page.locator("summary").filter(has_text=text["console.reopen.title"]).count() == 0  # reopened: no more
    seen = agent.call("GET", f"/api/v1/tickets/{ticket['ticket_id']}").json()
    assert (seen["status"], seen["history"][-1]["type"], seen["history"][-1]["body"]) == (
        "reopened", "TicketReopened", reason)


def test_work_is_started_the_urgency_changed_the_fault_flagged_and_the_ticket_moved_to_another_department(
        system, portal):
    """The remaining staff actions, one after another on one ticket, each answered in the page and
    in the API: start, urgency, provider's fault with a note, another department with the reason
    (the agent, no longer of its department, is sent back to their queue)."""
    speaking(system, AGENT, "en")
    text = Text("en")
    ticket = open_ticket(system, f"All the rest {uuid.uuid4().hex[:6]}")
    agent = taken(system, ticket)
    path = f"/api/v1/tickets/{ticket['ticket_id']}"
    page = workspace(portal, text, AGENT, ticket, language="en")

    page.get_by_role("button", name=text["console.start"], exact=True).click()
    page.get_by_text(text["console.started"]).wait_for()
    assert agent.call("GET", path).json()["status"] == "in_progress"

    form = open_panel(page, text["console.urgency.title"])
    form.get_by_role("combobox", name=text["ticket.urgency"]).select_option("high")
    form.get_by_role("button", name=text["console.urgency.submit"]).click()
    page.get_by_text(text["console.urgency.done"]).wait_for()
    assert agent.call("GET", path).json()["urgency"] == "high"

    form = open_panel(page, text["console.fault.title"])
    form.get_by_role("checkbox", name=text["console.fault.label"]).check()
    fill(form, text["console.fault.note"], "Our fibre splice failed.")
    form.get_by_role("button", name=text["console.fault.submit"]).click()
    page.get_by_text(text["console.fault.done"]).wait_for()
    seen = agent.call("GET", path).json()
    assert seen["provider_fault"] is True and seen["history"][-1]["type"] == "ProviderFaultMarked"
    page.locator(".facts").get_by_text(text["console.yes"], exact=True).wait_for()

    form = open_panel(page, text["console.reclassify.title"])
    form.get_by_role("combobox", name=text["console.reclassify.department"]).select_option("networks")
    fill(form, text["console.reclassify.reason"], "It is the access switch, not the server.")
    form.get_by_role("button", name=text["console.reclassify.submit"]).click()
    page.wait_for_url(re.compile(f"/console/queues/{DEPARTMENT}$"))  # no longer one of the agent's
    page.get_by_text(text("console.reclassify.done", department=text.department("networks"))).wait_for()
    seen = as_user(system, SUPERVISOR).call("GET", path).json()
    assert (seen["department"], seen["status"], seen["history"][-1]["type"]) == ("networks", "new", "TicketReclassified")
