"""The console live, with three browsers at once (issue 12's journey): an agent takes a ticket
from the live queue and a colleague's queue shows it taken without reloading; the agent asks for
information while the colleague, on the same ticket, sees that the agent is replying; the
customer, on the portal, sees the request appear, answers, and the agent's workspace shows the
answer; the agent resolves, the customer's page shows the solution by itself, the customer
approves; the supervisors' dashboard counts the ticket. Every update here comes over
GET /api/v1/live: no page is reloaded after it was first opened (each carries a marker that a
reload would drop)."""
import datetime as dt
import re
import uuid
import zoneinfo

from services.identity.seed import DEMO_PASSWORD

from ..conftest import as_user
from .test_console import AGENT, CUSTOMER, DEPARTMENT, QUEUE_PATH, _opened, resolved_afterwards  # noqa: F401
from .test_journeys import log_in
from .texts import Text

SUPERVISOR = "supervisor@helpdesk.example"


def logged_in(portal, language, email, path):
    page = portal(language, "desktop")
    page.goto(f"/login?next={path.replace('/', '%2F')}")
    log_in(page, Text(language), email, DEMO_PASSWORD)
    page.wait_for_url(re.compile(f"{re.escape(path)}$"))
    page.evaluate("() => { window.__notReloaded = true; }")
    return page


def not_reloaded(page):
    return page.evaluate("() => window.__notReloaded === true")


def speaking(system, email, language):
    assert as_user(system, email).call("PATCH", "/api/v1/me", {"language": language}).status_code == 200


def today_in_madrid():
    return dt.datetime.now(zoneinfo.ZoneInfo("Europe/Madrid")).date().isoformat()


def test_three_browsers_follow_one_ticket_live_from_the_queue_to_the_approved_solution(system, portal):
    for email, language in ((AGENT, "es"), (SUPERVISOR, "en"), (CUSTOMER, "es")):
        speaking(system, email, language)
    es, en = Text("es"), Text("en")
    boss = as_user(system, SUPERVISOR)
    before = boss.call("GET", f"/api/v1/dashboard?since={today_in_madrid()}&until={today_in_madrid()}").json()
    agent_page = logged_in(portal, "es", AGENT, QUEUE_PATH)
    colleague_page = logged_in(portal, "en", SUPERVISOR, QUEUE_PATH)
    agent_page.get_by_role("heading", name=es("console.queue.title", department=es.department(DEPARTMENT))).wait_for()
    colleague_page.get_by_role("heading", name=en("console.queue.title", department=en.department(DEPARTMENT))).wait_for()

    # a customer opens a ticket: both open queues show it, without reloading
    title = f"Sin corriente en el rack {uuid.uuid4().hex[:6]}"
    opened = as_user(system, CUSTOMER).call("POST", "/api/v1/tickets", {
        "department": DEPARTMENT, "title": title, "description": "El rack 4 se ha quedado sin corriente."})
    assert opened.status_code == 201, opened.text
    ticket = opened.json()
    _opened.append(ticket["ticket_id"])
    agent_row = agent_page.locator(".queue-results tr").filter(has=agent_page.get_by_role("link", name=title, exact=True))
    colleague_row = colleague_page.locator(".queue-results tr").filter(
        has=colleague_page.get_by_role("link", name=title, exact=True))
    agent_row.wait_for()
    colleague_row.wait_for()
    colleague_row.get_by_text(en["console.assignee.none"], exact=True).wait_for()

    # the agent takes it: the colleague's queue shows it taken
    agent_row.get_by_role("button", name=f"{es['console.take']} {ticket['reference']}").click()
    agent_page.get_by_text(es("console.take.done", reference=ticket["reference"])).wait_for()
    colleague_row.get_by_text(en["console.assignee.none"], exact=True).wait_for(state="detached")
    assert not_reloaded(colleague_page)

    # both open the ticket; the colleague sees the agent replying
    agent_page.get_by_role("link", name=es("console.take.open", reference=ticket["reference"])).click()
    agent_page.wait_for_url(re.compile(f"/console/tickets/{ticket['ticket_id']}$"))
    agent_page.evaluate("() => { window.__notReloaded = true; }")  # a page of its own: marked afresh
    colleague_row.get_by_role("link", name=title, exact=True).click()
    colleague_page.wait_for_url(re.compile(f"/console/tickets/{ticket['ticket_id']}$"))
    colleague_page.evaluate("() => { window.__notReloaded = true; }")
    colleague_page.get_by_role("heading", name=re.compile(re.escape(title))).wait_for()
    agent_page.get_by_role("heading", name=re.compile(re.escape(title))).wait_for()
    # each sees the other on it, whoever came first
    colleague_page.get_by_text(en("console.presence.viewing", name="Agente datacenters")).wait_for()
    agent_page.get_by_text(es("console.presence.viewing", name="Supervisión")).wait_for()
    question = "¿Qué indica el piloto del SAI del rack 4?"
    agent_page.keyboard.press("r")  # the reply box: typing in it says "replying"
    agent_page.keyboard.type("Estamos en ello")
    colleague_page.get_by_text(en("console.presence.replying", name="Agente datacenters")).wait_for()
    agent_page.get_by_role("textbox", name=es["console.reply.label"], exact=True).fill("")
    agent_page.get_by_role("heading", name=re.compile(re.escape(title))).click()  # out of the box: shortcuts again
    agent_page.keyboard.press("i")  # the shortcut opens the request's panel and focuses its box
    agent_page.get_by_role("textbox", name=es["console.info.label"], exact=True).fill(question)
    agent_page.get_by_role("button", name=es["console.info.submit"]).click()
    agent_page.get_by_text(es["console.info.done"]).wait_for()
    colleague_page.get_by_text(question).first.wait_for()  # the colleague's workspace follows

    # the customer, on the portal, sees the request appear and answers it
    customer_page = logged_in(portal, "es", CUSTOMER, f"/tickets/{ticket['ticket_id']}")
    box = customer_page.get_by_role("region", name=es["ticket.info.title"])
    box.get_by_text(question).wait_for()
    answer = "Parpadea en rojo desde las 8:00."
    box.get_by_role("textbox", name=es["ticket.info.answer"], exact=True).fill(answer)
    box.get_by_role("button", name=es["ticket.info.submit"]).click()
    customer_page.get_by_text(es["ticket.info.done"]).wait_for()
    agent_page.get_by_text(answer).first.wait_for()  # the agent's workspace, live

    # the agent resolves: the customer's page offers the decision by itself, and the customer approves
    solution = "Cambiamos el SAI del rack 4; vuelve a tener corriente."
    agent_page.get_by_text(es["console.resolve.title"], exact=True).click()  # its panel
    agent_page.get_by_role("textbox", name=es["console.resolve.label"], exact=True).fill(solution)
    agent_page.get_by_role("button", name=es["console.resolve.submit"]).click()
    agent_page.get_by_text(es["console.resolve.done"]).wait_for()
    decision = customer_page.get_by_role("region", name=es["solution.title"])
    decision.get_by_text(solution).wait_for()
    assert not_reloaded(customer_page)
    decision.get_by_role("button", name=es["solution.approve"]).click()
    customer_page.get_by_text(es["solution.approved"]).wait_for()
    assert as_user(system, AGENT).call("GET", f"/api/v1/tickets/{ticket['ticket_id']}").json()["status"] == "closed"
    assert not_reloaded(agent_page) and not_reloaded(colleague_page)

    # the supervisors' dashboard counts it: opened and resolved today in its department
    def figures(answer):
        return next((row for row in answer["departments"] if row["department"] == DEPARTMENT), {})
    after = boss.call("GET", f"/api/v1/dashboard?since={today_in_madrid()}&until={today_in_madrid()}").json()
    assert figures(after)["opened"] == figures(before).get("opened", 0) + 1
    assert figures(after)["resolved"] == figures(before).get("resolved", 0) + 1
    assert figures(after)["first_response"]["count"] == figures(before)["first_response"]["count"] + 1
