"""The staff console in a real browser, in Spanish and English, on a desktop and a phone: an agent's
queue (arrival order, SLA state in words, "Take"), the ticket workspace (internal note, public
reply, the customer's page showing the reply and never the note), the keyboard alone, a write on
a stale version answered with the conflict and the ticket as it is now, and the live stream's
contract (GET /api/v1/live) played by the test: the queue and the workspace refetch when told,
keep what is being typed, and show who else is on the ticket."""
import json
import re
import uuid

import pytest
from playwright.sync_api import expect

from helpdesk import i18n, testing
from services.identity.seed import DEMO_PASSWORD

from ..conftest import as_user
from .browser import browser_log, check_page
from .test_journeys import VIEWS, choose, fill, log_in
from .texts import Text

DEPARTMENT = "datacenters"
AGENT = "agent-datacenters@helpdesk.example"
CUSTOMER = "cliente@demo.example"
QUEUE_PATH = f"/console/queues/{DEPARTMENT}"


def speaking(system, email, language):
    """The staff account's profile speaks `language` (the console, like the portal, follows it)."""
    user = as_user(system, email)
    assert user.call("PATCH", "/api/v1/me", {"language": language}).status_code == 200
    return user


_opened = []  # tickets this module opened, resolved after each test: the queue stays short


@pytest.fixture(autouse=True)
def resolved_afterwards(system):
    """Every console test module uses this one (imported): the tickets a test opened are resolved."""
    yield
    agent = as_user(system, AGENT)
    me = agent.call("GET", "/api/v1/me").json()["user_id"]
    while _opened:
        ticket_id = _opened.pop()
        ticket = agent.call("GET", f"/api/v1/tickets/{ticket_id}").json()
        if ticket.get("status") in ("resolved", "closed"):
            continue
        if ticket.get("status") in ("new", "reopened") or ticket.get("assignee_id") != me:
            agent.call("POST", f"/api/v1/tickets/{ticket_id}/assign", {})
        agent.call("POST", f"/api/v1/tickets/{ticket_id}/resolve", {"solution": "Resuelto al terminar la prueba."})


def open_ticket(system, title, description="El servidor no arranca desde esta mañana."):
    """A ticket the demo customer opens in the agent's department, through the API."""
    opened = as_user(system, CUSTOMER).call("POST", "/api/v1/tickets", {
        "department": DEPARTMENT, "title": title, "description": description})
    assert opened.status_code == 201, opened.text
    _opened.append(opened.json()["ticket_id"])
    return opened.json()


def with_sla(system, agent, ticket_id):
    """Waits for the SLA service to have started the ticket's clocks (it does when it hears the
    ticket opened), so that the queue shows them."""
    timed = testing.wait_until(lambda: agent.call("GET", f"/api/v1/tickets/{ticket_id}").json().get("sla"), timeout=15)
    assert timed, system.log_tail()


def queue_row(page, title):
    """The queue's row of the ticket titled `title`: the queue is oldest first, so later pages are
    followed (by their link's address) until it shows."""
    for _ in range(20):
        results = page.locator(".queue-results")
        results.wait_for()
        if results.get_by_role("link", name=title, exact=True).count():
            return results.locator("tr").filter(has=page.get_by_role("link", name=title, exact=True))
        more = page.locator(".queue-results a[rel=next]")
        assert more.count(), f"{title!r} is not in the queue"
        page.goto(more.get_attribute("href"))
    raise AssertionError(f"{title!r} is not in the first 20 pages of the queue")


def history(page, text):
    return page.get_by_role("region", name=text["ticket.tab.history"])


def tab_to(page, name, limit=200):
    """Presses Tab until the control labelled (or saying) `name` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => { const e = document.activeElement;
            const label = e.labels && e.labels[0] ? e.labels[0].textContent : e.textContent;
            return (label || '').replace(' *', '').trim(); }""")
        if focused == name:
            return
    raise AssertionError(f"{name!r} cannot be reached with Tab")


@pytest.mark.parametrize("language,view", VIEWS)
def test_an_agent_takes_a_new_ticket_from_the_queue_writes_a_note_and_replies(system, portal, language, view):
    agent = speaking(system, AGENT, language)
    text = Text(language)
    title = f"Servidor caído {uuid.uuid4().hex[:6]}"
    ticket = open_ticket(system, title)
    reference = ticket["reference"]
    with_sla(system, agent, ticket["ticket_id"])

    page = portal(language, view)
    page.goto("/console")  # a stranger logs in first, and comes back
    page.wait_for_url(re.compile(r"/login\?next=%2Fconsole$"))
    log_in(page, text, AGENT, DEMO_PASSWORD)
    page.wait_for_url(re.compile(f"{QUEUE_PATH}$"))  # /console opens the agent's first queue
    page.get_by_role("heading", name=text("console.queue.title", department=text.department(DEPARTMENT))).wait_for()
    page.get_by_text(text["console.queue.rule"]).wait_for()
    assert page.get_by_role("navigation", name=text["nav.label"]).get_by_role(
        "link", name=text["nav.console"]).is_visible()
    row = queue_row(page, title)
    row.get_by_text(text["console.assignee.none"], exact=True).wait_for()
    row.get_by_text(text["console.status.new"], exact=True).wait_for()
    row.locator(".sla-ok").filter(has_text=text["console.sla.first_response"]).wait_for()
    row.scroll_into_view_if_needed()  # a phone's picture is what the screen shows
    check_page(page, f"console-queue-{language}-{view}")

    row.get_by_role("button", name=f"{text['console.take']} {reference}").click()
    page.get_by_text(text("console.take.done", reference=reference)).wait_for()
    row.get_by_text(text["console.assignee.me"], exact=True).wait_for()
    assert row.get_by_role("button").count() == 0  # taken: no "Take" any more
    assert agent.call("GET", f"/api/v1/tickets/{ticket['ticket_id']}").json()["assignee_name"] == "Agente datacenters"

    page.get_by_role("link", name=text("console.take.open", reference=reference)).click()
    page.wait_for_url(re.compile(f"/console/tickets/{ticket['ticket_id']}$"))
    page.get_by_role("heading", name=re.compile(re.escape(title))).wait_for()
    page.get_by_text(text["console.assignee.me"], exact=True).wait_for()
    page.get_by_text("Ana Cliente").first.wait_for()
    facts = page.locator(".facts")
    facts.get_by_text("Demo S.L.", exact=True).wait_for()  # the requester's company and language, from identity
    customer_speaks = as_user(system, CUSTOMER).call("GET", "/api/v1/me").json()["language"]
    facts.get_by_text(text[f"language.{customer_speaks}"], exact=True).wait_for()

    note = f"Nota: revisar el SAI del rack {uuid.uuid4().hex[:4]}."
    fill(page, text["console.note.label"], note)
    page.get_by_role("button", name=text["console.note.submit"]).click()
    page.get_by_text(text["console.note.done"]).wait_for()
    entry = history(page, text).get_by_role("listitem").filter(has_text=note)
    entry.get_by_text(text["console.internal_note"], exact=True).wait_for()
    assert "internal" in entry.get_attribute("class")

    reply = "Hemos reiniciado el servidor. ¿Lo ve ya en marcha?"
    fill(page, text["console.reply.label"], reply)
    page.get_by_role("button", name=text["console.reply.submit"]).click()
    page.get_by_text(text["console.reply.done"]).wait_for()
    replied = history(page, text).get_by_role("listitem").filter(has_text=reply)
    replied.wait_for()
    assert replied.get_by_text(text["console.internal_note"], exact=True).count() == 0
    facts.get_by_text("Demo S.L.", exact=True).wait_for()  # still there: the actions' answers carry no contact card
    check_page(page, f"console-ticket-{language}-{view}")

    # the customer's page shows the reply, never the note
    customer_language = as_user(system, CUSTOMER).call("GET", "/api/v1/me").json()["language"]
    mine = portal(customer_language, view)
    mine.goto(f"/login?next=%2Ftickets%2F{ticket['ticket_id']}")
    log_in(mine, Text(customer_language), CUSTOMER, DEMO_PASSWORD)
    mine.wait_for_url(re.compile(f"/tickets/{ticket['ticket_id']}$"))
    mine.get_by_text(reply).wait_for()
    shown = mine.get_by_role("main").inner_text()
    assert note not in shown
    assert Text("es")["console.internal_note"] not in shown and Text("en")["console.internal_note"] not in shown


def test_taking_and_replying_with_the_keyboard_alone(system, portal):
    """Tab, letters and Enter only: the queue's "Take" is reached with Tab, the workspace's
    shortcuts (listed on the page) focus the reply and note boxes, and letters typed in a box are
    text, not shortcuts."""
    agent = speaking(system, AGENT, "es")
    text = Text("es")
    title = f"Sin teclado no hay ratón {uuid.uuid4().hex[:6]}"
    ticket = open_ticket(system, title)
    reference = ticket["reference"]
    page = portal("es", "desktop")
    keyboard = page.keyboard

    page.goto(f"/login?next={QUEUE_PATH.replace('/', '%2F')}")
    page.get_by_role("heading", name=text["login.title"]).wait_for()
    tab_to(page, text["login.email"])
    keyboard.type(AGENT)
    tab_to(page, text["login.password"])
    keyboard.type(DEMO_PASSWORD)
    keyboard.press("Enter")
    page.wait_for_url(re.compile(f"{QUEUE_PATH}$"))
    queue_row(page, title)

    tab_to(page, f"{text['console.take']} {reference}")
    keyboard.press("Enter")
    page.get_by_text(text("console.take.done", reference=reference)).wait_for()
    tab_to(page, text("console.take.open", reference=reference))
    keyboard.press("Enter")
    page.wait_for_url(re.compile(f"/console/tickets/{ticket['ticket_id']}$"))
    page.get_by_role("heading", name=re.compile(re.escape(title))).wait_for()
    shortcuts = page.get_by_role("region", name=text["console.shortcuts.title"])
    for key, description in (("r", "console.shortcuts.reply"), ("n", "console.shortcuts.note"),
                             ("t", "console.shortcuts.take")):
        shortcuts.get_by_text(text[description]).wait_for()
        assert shortcuts.locator("kbd", has_text=key).count() == 1

    keyboard.press("r")
    reply_box = page.get_by_role("textbox", name=text["console.reply.label"], exact=True)
    assert reply_box.evaluate("box => box === document.activeElement")
    reply = "Ya está: el servidor vuelve a arrancar, tras cambiar la fuente."  # r, n, t, i typed as text
    keyboard.type(reply)
    tab_to(page, text["console.reply.submit"])
    keyboard.press("Enter")
    page.get_by_text(text["console.reply.done"]).wait_for()
    history(page, text).get_by_text(reply).wait_for()

    keyboard.press("n")
    note = "Fuente cambiada en la caja 3; la antigua, a garantía."
    keyboard.type(note)
    tab_to(page, text["console.note.submit"])
    keyboard.press("Enter")
    page.get_by_text(text["console.note.done"]).wait_for()
    history(page, text).get_by_role("listitem").filter(has_text=note).get_by_text(
        text["console.internal_note"], exact=True).wait_for()

    seen = agent.call("GET", f"/api/v1/tickets/{ticket['ticket_id']}").json()
    assert seen["assignee_name"] == "Agente datacenters"
    said = {entry["type"]: entry.get("body") for entry in seen["history"]}
    assert said["StaffReplied"] == reply and said["InternalNoteAdded"] == note


def test_a_stale_write_shows_the_conflict_and_the_ticket_as_it_is_now(system, portal):
    """The page sends If-Match with the version it shows. A colleague changes the ticket before
    the live stream has told this page (held silent here, so that the page cannot learn it in
    time): the reply is refused with the API's message, the page shows the current state and
    keeps the text, and sending again works."""
    speaking(system, AGENT, "en")
    text = Text("en")
    title = f"Rack 7 sin corriente {uuid.uuid4().hex[:6]}"
    ticket = open_ticket(system, title)
    ticket_id = ticket["ticket_id"]
    page = portal("en", "desktop", allow_errors=[r"status of 409"])  # the refused write
    page.route(re.compile(r"/api/v1/live\?"), lambda route: route.fulfill(
        status=200, headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"},
        body="retry: 600000\n\n"))

    page.goto(f"/login?next=%2Fconsole%2Ftickets%2F{ticket_id}")
    log_in(page, text, AGENT, DEMO_PASSWORD)
    page.wait_for_url(re.compile(f"/console/tickets/{ticket_id}$"))
    page.get_by_role("heading", name=re.compile(re.escape(title))).wait_for()
    page.keyboard.press("t")  # take it, by its shortcut
    page.get_by_text(text["console.taken"]).wait_for()
    reply = "We are sending a technician to rack 7."
    fill(page, text["console.reply.label"], reply)

    colleague = as_user(system, "supervisor@helpdesk.example")
    remark = f"Supervisor: the customer called, it is urgent ({uuid.uuid4().hex[:4]})."
    assert colleague.call("POST", f"/api/v1/tickets/{ticket_id}/notes", {"body": remark}).status_code == 200
    assert colleague.call("POST", f"/api/v1/tickets/{ticket_id}/urgency", {"urgency": "high"}).status_code == 200

    page.get_by_role("button", name=text["console.reply.submit"]).click()
    alert = page.get_by_role("alert").filter(has_text=i18n.text("ticket_changed", {}, "en"))
    alert.wait_for()
    assert text["console.conflict.reloaded"] in alert.inner_text()
    history(page, text).get_by_text(remark).wait_for()  # the state as it is now
    urgency = next(u["name"]["en"] for u in text.catalog["urgencies"] if u["code"] == "high")
    page.locator(".facts").get_by_text(urgency, exact=True).wait_for()
    box = page.get_by_role("textbox", name=text["console.reply.label"], exact=True)
    assert box.input_value() == reply  # what was typed is still there
    check_page(page, "console-ticket-conflict-en-desktop")

    page.get_by_role("button", name=text["console.reply.submit"]).click()
    page.get_by_text(text["console.reply.done"]).wait_for()
    history(page, text).get_by_text(reply).wait_for()
    seen = colleague.call("GET", f"/api/v1/tickets/{ticket_id}").json()
    assert [entry["body"] for entry in seen["history"] if entry["type"] == "StaffReplied"] == [reply]


@pytest.mark.parametrize("language", ["es", "en"])
def test_the_console_is_for_staff_only(system, portal, language):
    ticket = open_ticket(system, f"Solo para el personal {uuid.uuid4().hex[:6]}")
    page = portal(language, "phone")
    page.goto(QUEUE_PATH)  # strangers log in first
    page.wait_for_url(re.compile(r"/login\?next=%2Fconsole%2Fqueues%2Fdatacenters$"))
    log_in(page, Text(language), CUSTOMER, DEMO_PASSWORD)
    text = Text(as_user(system, CUSTOMER).call("GET", "/api/v1/me").json()["language"])
    page.wait_for_url(re.compile(r"/tickets$"))  # customers are sent to their own tickets
    page.get_by_role("heading", name=text["list.title"]).wait_for()
    assert page.get_by_role("link", name=text["nav.console"]).count() == 0
    page.goto(f"/console/tickets/{ticket['ticket_id']}")  # a console link: their own page of the ticket
    page.wait_for_url(re.compile(f"/tickets/{ticket['ticket_id']}$"))
    page.get_by_role("heading", name=re.compile("Solo para el personal")).wait_for()


def test_a_supervisor_sees_every_queue_filters_one_and_takes_nothing(system, portal):
    text = Text("es")
    speaking(system, "supervisor@helpdesk.example", "es")
    title = f"Para la supervisión {uuid.uuid4().hex[:6]}"
    open_ticket(system, title)
    open_ticket(system, f"Otro para la supervisión {uuid.uuid4().hex[:6]}")  # what the search leaves out
    page = portal("es", "desktop")
    page.goto("/login?next=%2Fconsole")
    log_in(page, text, "supervisor@helpdesk.example", DEMO_PASSWORD)
    first = text.catalog["departments"][0]["code"]  # supervisors and admins: the catalogue's first
    page.wait_for_url(re.compile(f"/console/queues/{first}$"))
    queues = page.get_by_role("navigation", name=text["console.queues"])
    for department in text.catalog["departments"]:
        queues.get_by_role("link", name=department["name"]["es"], exact=True).wait_for()
    queues.get_by_role("link", name=text.department(DEPARTMENT), exact=True).click()
    page.wait_for_url(re.compile(f"{QUEUE_PATH}$"))
    page.get_by_role("heading", name=text("console.queue.title", department=text.department(DEPARTMENT))).wait_for()
    row = queue_row(page, title)
    assert row.get_by_role("button").count() == 0  # only an agent of the department takes a ticket

    page.get_by_role("searchbox", name=text["console.filter.search"]).fill(title)
    expect(page.locator(".queue-results tbody tr")).to_have_count(1)
    choose(page, text["console.col.assignee"], "none")
    expect(page.locator(".queue-results tbody tr")).to_have_count(1)
    choose(page, text["console.col.assignee"], "me")  # nobody gave the supervisor this one
    page.get_by_text(text["console.queue.none_matching"]).wait_for()
    assert re.search(r"[?&]assignee=me\b", page.url) and "text=" in page.url  # the filters stay in the address
    asked = [r.url for r in browser_log(page).requests if f"/api/v1/queues/{DEPARTMENT}?" in r.url]
    assert any("assignee=me" in url and "text=" in url for url in asked)  # and the API applies them


def test_sla_states_are_computed_and_said_in_words(system, portal):
    """Breached once the due time has passed (or the SLA service says so), warning in the last 20 %
    of the time from opening to the due time or in its last hour, else on time; paused or stopped
    clocks have no due time."""
    page = portal("en", "desktop")
    page.goto("/")
    page.get_by_role("heading", name=Text("en")["home.welcome"]).wait_for()
    states = page.evaluate("""async () => {
        const {slaState} = await import("/portal/js/staff.js");
        const hour = 3600 * 1000, now = Date.parse("2026-12-03T12:00:00Z");
        const at = (hours) => new Date(now + hours * hour).toISOString();
        return [
            slaState({due: at(-0.1), start: at(-8), now}),
            slaState({due: at(5), start: at(-1), now, breached: true}),
            slaState({due: at(0.5), start: at(-10), now}),
            slaState({due: at(5), start: at(-100), now}),
            slaState({due: at(5), start: at(-10), now}),
            slaState({due: null, start: at(-10), now, paused: true}),
            slaState({due: null, start: at(-10), now}),
        ];
    }""")
    assert states == ["breached", "breached", "warning", "warning", "ok", "paused", "stopped"]


def live_request(page, streams, needle):
    """The page's live stream whose address has `needle`, held by the test (page.route)."""
    for _ in range(150):
        found = [route for route in streams if needle in route.request.url]
        if found:
            streams.remove(found[-1])
            return found[-1]
        page.wait_for_timeout(100)
    raise AssertionError(f"the page opened no live stream with {needle!r}")


def tell(route, *events):
    """Answers a held live stream with these server-sent events (it then ends; the page would
    reconnect after `retry`, which is long here)."""
    body = "retry: 600000\n\n" + "".join(f"event: {kind}\ndata: {json.dumps(data)}\n\n" for kind, data in events)
    route.fulfill(status=200, headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}, body=body)


def test_the_queue_and_the_workspace_follow_the_live_stream(system, portal):
    """The stream's contract as the gateway documents it (services/gateway/live.py), played by the
    test so that it says what it must when it must."""
    agent = speaking(system, AGENT, "es")
    me = agent.call("GET", "/api/v1/me").json()
    text = Text("es")
    streams = []
    page = portal("es", "desktop")
    page.route(re.compile(r"/api/v1/live\?"), lambda route: streams.append(route))
    first = open_ticket(system, f"Ventilador ruidoso {uuid.uuid4().hex[:6]}")
    page.goto(f"/login?next={QUEUE_PATH.replace('/', '%2F')}")
    log_in(page, text, AGENT, DEMO_PASSWORD)
    page.wait_for_url(re.compile(f"{QUEUE_PATH}$"))
    queue_row(page, first["title"])
    queue_stream = live_request(page, streams, f"queue={DEPARTMENT}")

    second = open_ticket(system, f"Disco degradado {uuid.uuid4().hex[:6]}")  # the page is not told yet
    page.wait_for_timeout(500)
    assert page.get_by_role("link", name=second["title"], exact=True).count() == 0
    tell(queue_stream, ("ready", {}), ("ticket", {"ticket_id": second["ticket_id"], "version": 0,
                                                  "type": "TicketOpened", "department": DEPARTMENT}))
    page.get_by_role("link", name=second["title"], exact=True).wait_for()  # refetched

    def told(activity):
        return lambda request: (request.url.endswith(f"/tickets/{first['ticket_id']}/presence")
                                and request.method == "POST" and json.loads(request.post_data) == {"activity": activity})

    def presence_posts():
        return [json.loads(r.post_data)["activity"] for r in browser_log(page).requests if r.url.endswith("/presence")]

    page.get_by_role("link", name=first["title"], exact=True).click()
    page.wait_for_url(re.compile(f"/console/tickets/{first['ticket_id']}$"))
    ticket_stream = live_request(page, streams, f"ticket={first['ticket_id']}")
    box = page.get_by_role("textbox", name=text["console.reply.label"], exact=True)
    with page.expect_request(told("replying")):
        box.click()
        page.keyboard.type("Cambiamos el ventilador")
    page.keyboard.type(" esta tarde.")
    assert presence_posts() == ["replying"]  # at most once every 5 s; "viewing" waits for the stream to be ready

    colleague = as_user(system, "supervisor@helpdesk.example")
    remark = f"Supervisión: que lo cambie hoy ({uuid.uuid4().hex[:4]})."
    noted = colleague.call("POST", f"/api/v1/tickets/{first['ticket_id']}/notes", {"body": remark})
    assert noted.status_code == 200
    supervisor = colleague.call("GET", "/api/v1/me").json()
    with page.expect_request(told("viewing")):  # colleagues are told once they can answer
        tell(ticket_stream, ("ready", {}),
             ("presence", {"ticket_id": first["ticket_id"], "user_id": supervisor["user_id"], "name": supervisor["name"],
                           "activity": "replying", "expires_in": 2}),
             ("presence", {"ticket_id": first["ticket_id"], "user_id": me["user_id"], "name": me["name"],
                           "activity": "viewing", "expires_in": 15}),
             ("ticket", {"ticket_id": first["ticket_id"], "version": noted.json()["version"],
                         "type": "InternalNoteAdded", "department": DEPARTMENT}))
    history(page, text).get_by_text(remark).wait_for()  # refetched and redrawn...
    assert box.input_value() == "Cambiamos el ventilador esta tarde."  # ...keeping the text
    assert box.evaluate("box => box === document.activeElement")  # and the focus
    said = page.get_by_text(text("console.presence.replying", name=supervisor["name"]))
    said.wait_for()
    assert said.evaluate("line => line.closest('[aria-live=polite]') !== null")
    assert page.get_by_text(text("console.presence.viewing", name=me["name"])).count() == 0  # never oneself
    said.wait_for(state="detached", timeout=5000)  # gone when the notice expires
    assert presence_posts() == ["replying", "viewing"]  # the arrival heard with "ready": one notice for both
    with page.expect_request(told("left")):  # and when the agent goes elsewhere
        page.locator(".crumbs a").last.click()
    page.wait_for_url(re.compile(f"{QUEUE_PATH}$"))
