"""The supervisors' part of the staff console in a real browser: the dashboard (GET /api/v1/dashboard
drawn as charts with tables of the same figures, equal to the API's answer; a bad range refused at
its field), the agents' page (GET /api/v1/agents), the bulk reassignment from a queue (each ticket
sent with the version it had when chosen: one changed meanwhile is refused and named, the others
reassigned), breaches and warnings first, and the pages kept from agents and customers."""
import re
import uuid

import pytest
from playwright.sync_api import expect

from helpdesk import testing
from services.identity.seed import DEMO_PASSWORD

from ..conftest import as_user
from .browser import check_page
from .test_console import AGENT, CUSTOMER, DEPARTMENT, QUEUE_PATH, _opened, resolved_afterwards  # noqa: F401
from .test_journeys import CROSSED_VIEWS, log_in
from .texts import Text

SUPERVISOR = "supervisor@helpdesk.example"


def agent_id(user):
    return user.call("GET", "/api/v1/me").json()["user_id"]


def speaking(system, email, language):
    user = as_user(system, email)
    assert user.call("PATCH", "/api/v1/me", {"language": language}).status_code == 200
    return user


def open_ticket(system, title):
    opened = as_user(system, CUSTOMER).call("POST", "/api/v1/tickets", {
        "department": DEPARTMENT, "title": title, "description": "El servidor no arranca desde esta mañana."})
    assert opened.status_code == 201, opened.text
    _opened.append(opened.json()["ticket_id"])
    return opened.json()


def datacenters(answer):
    return next(item for item in answer["departments"] if item["department"] == DEPARTMENT)


def digits(cell):
    return int(re.sub(r"\D", "", cell))


def department_row(page):
    """The per-department table's figures of datacenters, as the page shows them."""
    row = page.locator(f"table.per-department tbody tr[data-department={DEPARTMENT}]")
    row.wait_for()
    cells = row.locator("td").all_inner_texts()
    return {"opened": digits(cells[0]), "resolved": digits(cells[1]),
            "breaches": [digits(part) for part in cells[6].split("/")]}


def log_in_at(page, path, email, language):
    page.goto(f"/login?next={path.replace('/', '%2F')}")
    log_in(page, Text(language), email, DEMO_PASSWORD)


@pytest.mark.parametrize("language,view", CROSSED_VIEWS)
def test_the_dashboard_shows_todays_figures_as_the_api_answers_them(system, portal, language, view):
    supervisor = speaking(system, SUPERVISOR, language)
    text = Text(language)
    before = datacenters(supervisor.call("GET", "/api/v1/dashboard").json())
    tag = uuid.uuid4().hex[:6]
    first = open_ticket(system, f"Panel: SAI en alarma {tag}")
    open_ticket(system, f"Panel: rack sin red {tag}")
    agent = as_user(system, AGENT)
    assert agent.call("POST", f"/api/v1/tickets/{first['ticket_id']}/assign", {}).status_code == 200
    assert agent.call("POST", f"/api/v1/tickets/{first['ticket_id']}/resolve",
                      {"solution": "SAI cambiado."}).status_code == 200
    counted = testing.wait_until(lambda: (lambda now: now["opened"] >= before["opened"] + 2
                                          and now["resolved"] >= before["resolved"] + 1)(
        datacenters(supervisor.call("GET", "/api/v1/dashboard").json())), timeout=20)
    assert counted, system.log_tail()

    page = portal(language, view)
    log_in_at(page, "/console/dashboard", SUPERVISOR, language)
    page.wait_for_url(re.compile(r"/console/dashboard$"))
    page.get_by_role("heading", name=text["dashboard.title"], level=1).wait_for()
    nav = page.get_by_role("navigation", name=text["nav.label"])
    for name in ("nav.console", "nav.dashboard", "nav.agents"):
        nav.get_by_role("link", name=text[name], exact=True).wait_for()
    for caption in ("dashboard.daily.caption", "dashboard.departments.caption", "dashboard.usage.caption"):
        page.get_by_role("table", name=text[caption]).wait_for()  # every chart has its table
    charts = page.locator("svg.chart[role=img]")
    expect(charts).to_have_count(3)
    for label in charts.evaluate_all("svgs => svgs.map((svg) => svg.getAttribute('aria-label'))"):
        assert label and "{" not in label
    assert page.locator("svg [style], svg[style]").count() == 0

    for _ in range(10):  # the figures move only when tickets do: read the page between two equal answers
        asked = datacenters(supervisor.call("GET", "/api/v1/dashboard").json())
        shown = department_row(page)
        again = datacenters(supervisor.call("GET", "/api/v1/dashboard").json())
        if asked == again and shown == {"opened": asked["opened"], "resolved": asked["resolved"],
                                        "breaches": [asked["breaches"]["first_response"],
                                                     asked["breaches"]["resolution"]]}:
            break
        page.reload()
    else:
        raise AssertionError(f"the page shows {shown}, the API answers {asked}")
    assert shown["opened"] >= 2 and shown["resolved"] >= 1

    answer = supervisor.call("GET", "/api/v1/dashboard").json()
    today = answer["until"]
    opened_today = sum(row["opened"] for row in answer["days"] if row["day"] == today)
    today_row = page.locator(f"table.daily tbody tr:has(time[datetime='{today}'])")
    assert digits(today_row.locator("td").first.inner_text()) == opened_today >= 2
    check_page(page, f"console-dashboard-{language}-{view}")


def test_a_bad_range_is_shown_at_its_field(system, portal):
    speaking(system, SUPERVISOR, "en")
    text = Text("en")
    page = portal("en", "desktop", allow_errors=[r"status of 422"])  # the refused range
    log_in_at(page, "/console/dashboard", SUPERVISOR, "en")
    page.get_by_role("table", name=text["dashboard.departments.caption"]).wait_for()
    page.get_by_label(text["dashboard.since"], exact=True).fill("2026-02-10")
    page.get_by_label(text["dashboard.until"], exact=True).fill("2026-02-01")
    page.get_by_role("button", name=text["dashboard.submit"]).click()
    since = page.get_by_label(text["dashboard.since"], exact=True)
    expect(since).to_have_attribute("aria-invalid", "true")
    error = page.locator(f"#{since.get_attribute('aria-describedby').split()[-1]}")
    expect(error).to_be_visible()
    assert error.inner_text().strip()
    page.locator(".error-summary").wait_for()
    assert "since=2026-02-10" not in page.url  # the address keeps the range shown, not the refused one

    page.get_by_label(text["dashboard.since"], exact=True).fill("2026-02-01")
    page.get_by_label(text["dashboard.until"], exact=True).fill("2026-02-10")
    page.get_by_role("button", name=text["dashboard.submit"]).click()
    page.wait_for_url(re.compile(r"since=2026-02-01&until=2026-02-10"))
    expect(page.get_by_label(text["dashboard.since"], exact=True)).not_to_have_attribute("aria-invalid", "true")


@pytest.mark.parametrize("view", ["desktop", "phone"])
def test_the_agents_page_lists_the_staff_with_their_open_tickets(system, portal, view):
    supervisor = speaking(system, SUPERVISOR, "es")
    text = Text("es")
    open_ticket(system, f"Carga del agente {uuid.uuid4().hex[:6]}")
    page = portal("es", view)
    log_in_at(page, "/console/agents", SUPERVISOR, "es")
    page.wait_for_url(re.compile(r"/console/agents$"))
    page.get_by_role("heading", name=text["agents.title"], level=1).wait_for()
    for _ in range(10):
        answer = supervisor.call("GET", "/api/v1/agents").json()
        expected = next(person for person in answer["agents"] if person["email"] == AGENT)
        row = page.locator(f"table.staff tbody tr[data-email='{AGENT}']")
        row.wait_for()
        cells = row.locator("td").all_inner_texts()
        if digits(cells[-1]) == expected["open_tickets"] and answer == supervisor.call("GET", "/api/v1/agents").json():
            break
        page.reload()
    else:
        raise AssertionError(f"the page shows {cells}, the API answers {expected}")
    assert cells[0] == AGENT and text.department(DEPARTMENT) in cells[2]
    unassigned = page.get_by_role("table", name=text["agents.unassigned.caption"])
    department_line = unassigned.locator("tr").filter(has_text=text.department(DEPARTMENT))
    assert digits(department_line.locator("td").inner_text()) == answer["unassigned"][DEPARTMENT] >= 1
    check_page(page, f"console-agents-es-{view}")


def test_a_supervisor_reassigns_selected_tickets_and_is_told_which_were_refused(system, portal):
    supervisor = speaking(system, SUPERVISOR, "en")
    text = Text("en")
    agent = as_user(system, AGENT)
    agent_user = agent_id(agent)
    tag = uuid.uuid4().hex[:6]
    calm = open_ticket(system, f"Reassign {tag} calm")
    changed = open_ticket(system, f"Reassign {tag} changed")
    page = portal("en", "desktop", allow_errors=[r"status of (409|412)"])  # the refused reassignment
    log_in_at(page, f"{QUEUE_PATH}?text={tag}", SUPERVISOR, "en")
    page.wait_for_url(re.compile(f"{QUEUE_PATH}\\?text={tag}$"))
    expect(page.locator(".queue-results tbody tr")).to_have_count(2)

    for ticket in (calm, changed):
        page.get_by_role("checkbox", name=text("console.bulk.select", reference=ticket["reference"])).check()
    page.get_by_text(text("console.bulk.selected", count=2)).wait_for()  # both versions read
    # a colleague changes one of them after it was chosen
    assert supervisor.call("POST", f"/api/v1/tickets/{changed['ticket_id']}/urgency",
                           {"urgency": "high"}).status_code == 200
    page.get_by_role("combobox", name=text["console.bulk.agent"], exact=True).select_option(agent_user)
    page.get_by_role("button", name=text["console.bulk.submit"]).click()
    report = page.get_by_role("alert").filter(has_text=text("console.bulk.done", name="Agente datacenters",
                                                            done=1, total=2))
    report.wait_for()
    assert text["console.bulk.refused"] in report.inner_text()
    refused = report.get_by_role("listitem")
    expect(refused).to_have_count(1)
    assert changed["reference"] in refused.inner_text() and calm["reference"] not in refused.inner_text()
    assert agent.call("GET", f"/api/v1/tickets/{calm['ticket_id']}").json()["assignee_id"] == agent_user
    assert agent.call("GET", f"/api/v1/tickets/{changed['ticket_id']}").json()["assignee_id"] is None
    check_page(page, "console-reassign-en-desktop")

    # chosen again, it goes with its current version
    box = page.get_by_role("checkbox", name=text("console.bulk.select", reference=changed["reference"]))
    expect(box).not_to_be_checked()
    box.check()
    page.get_by_text(text("console.bulk.selected", count=1)).wait_for()
    page.get_by_role("combobox", name=text["console.bulk.agent"], exact=True).select_option(agent_user)
    page.get_by_role("button", name=text["console.bulk.submit"]).click()
    page.get_by_role("alert").filter(has_text=text("console.bulk.done", name="Agente datacenters",
                                                   done=1, total=1)).wait_for()
    for ticket in (calm, changed):
        assert agent.call("GET", f"/api/v1/tickets/{ticket['ticket_id']}").json()["assignee_id"] == agent_user


def test_supervisors_see_breaches_and_warnings_first_unless_they_choose_arrival_order(system, portal):
    speaking(system, SUPERVISOR, "es")
    text = Text("es")
    open_ticket(system, f"Orden de la cola {uuid.uuid4().hex[:6]}")
    page = portal("es", "desktop")
    log_in_at(page, QUEUE_PATH, SUPERVISOR, "es")
    page.wait_for_url(re.compile(f"{QUEUE_PATH}$"))
    rule = page.locator("p.rule")
    expect(rule).to_contain_text(text["console.queue.rule_sla_first"])
    order = page.get_by_role("checkbox", name=text["console.queue.sla_first"], exact=True)
    expect(order).to_be_checked()
    order.uncheck()
    expect(rule).not_to_contain_text(text["console.queue.rule_sla_first"])
    assert "order=arrival" in page.url
    page.reload()
    expect(page.get_by_role("checkbox", name=text["console.queue.sla_first"], exact=True)).not_to_be_checked()

    ranked = page.evaluate("""async () => {
        const {slaFirst} = await import("/portal/js/staff.js");
        const hour = 3600 * 1000, now = Date.parse("2026-12-03T12:00:00Z");
        const at = (hours) => new Date(now + hours * hour).toISOString();
        const item = (id, due, breached = []) => ({ticket_id: id, opened_at: at(-10),
            sla: {first_response_due_at: due, resolution_due_at: at(40), breached}});
        return slaFirst([item("ok-1", at(20)), item("warn-1", at(0.5)), item("late-1", at(-1)),
                         item("ok-2", at(30)), item("late-2", at(5), ["resolution"]), item("warn-2", at(0.2)),
                         {ticket_id: "none", opened_at: at(-1), sla: null}], now).map((i) => i.ticket_id);
    }""")
    assert ranked == ["late-1", "late-2", "warn-1", "warn-2", "ok-1", "ok-2", "none"]

    agent_page = portal("es", "desktop")  # agents have no such option: arrival order only
    speaking(system, AGENT, "es")
    log_in_at(agent_page, QUEUE_PATH, AGENT, "es")
    agent_page.wait_for_url(re.compile(f"{QUEUE_PATH}$"))
    agent_page.locator(".queue-results").wait_for()
    assert agent_page.get_by_role("checkbox", name=text["console.queue.sla_first"]).count() == 0
    assert agent_page.locator(".bulk").count() == 0
    expect(agent_page.locator("p.rule")).not_to_contain_text(text["console.queue.rule_sla_first"])


@pytest.mark.parametrize("path", ["/console/dashboard", "/console/agents"])
def test_agents_and_customers_do_not_see_the_supervisors_pages(system, portal, path):
    speaking(system, AGENT, "es")
    text = Text("es")
    page = portal("es", "desktop")
    log_in_at(page, path, AGENT, "es")
    page.get_by_role("heading", name=text["notfound.title"]).wait_for()
    assert page.locator("table, svg.chart").count() == 0
    nav = page.get_by_role("navigation", name=text["nav.label"])
    nav.get_by_role("link", name=text["nav.console"], exact=True).wait_for()
    assert nav.get_by_role("link", name=text["nav.dashboard"]).count() == 0

    customer = portal("es", "phone")
    log_in_at(customer, path, CUSTOMER, "es")
    customer.wait_for_url(re.compile(r"/tickets$"))
    customer_text = Text(as_user(system, CUSTOMER).call("GET", "/api/v1/me").json()["language"])
    customer.get_by_role("heading", name=customer_text["list.title"]).wait_for()
    assert customer.locator("svg.chart").count() == 0
