"""Announcements and the network status in a real browser (issue 13): an agent declares an
incident on "Conexión fibra" from the console, and the home page and Estado de red show it with
its timeline; a customer choosing Internet access in the ticket form is told of it, with a link,
and may still open the ticket; an announcement written and published in the console is on the
home page (latest, with "Ver todo") and in Anuncios, its Markdown drawn, its script only text;
the incident resolved from the console leaves the component operational. Each page: CSP, same
origin, weight, axe, a picture."""
import re
import uuid

from helpdesk import testing

from ..conftest import as_user
from .browser import check_page
from .test_console_supervisor import log_in_at, speaking
from .test_journeys import choose, fill
from .texts import Text

AGENT = "agent-networks@helpdesk.example"
CUSTOMER = "cliente@demo.example"


def component_row(page, code):
    return page.locator(f".component-list li[data-component={code}]")


def test_an_incident_and_an_announcement_from_the_console_reach_every_page_that_shows_them(system, portal):
    speaking(system, AGENT, "es")
    text = Text("es")
    tag = uuid.uuid4().hex[:6]
    staff = portal("es", "desktop")
    log_in_at(staff, "/console/content", AGENT, "es")
    staff.get_by_role("heading", name=text["publish.title_page"], level=1).wait_for()
    check_page(staff, "content-console-es-desktop")

    # the incident
    staff.locator("summary").filter(has_text=text["publish.incident.new"]).click()
    declare = staff.get_by_role("form", name=text["publish.incident.new"])
    title = f"Corte de fibra en Zaragoza {tag}"
    fill(declare, f"{text['publish.title']} ({text['language.es']})", title)
    declare.get_by_role("checkbox", name=re.compile("Conexión fibra$")).check()
    choose(declare, text["publish.incident.impact"], "major_outage")
    message = f"Una obra ha cortado **el cable** de fibra ({tag})."
    fill(declare, f"{text['publish.message']} ({text['language.es']})", message)
    declare.get_by_role("button", name=text["publish.incident.submit"]).click()
    declare.get_by_text(text["publish.incident.declared"]).wait_for()
    staff.locator("[data-incident]").filter(has_text=title).wait_for()

    anyone = portal("es", "phone")
    anyone.goto("/")
    home_status = anyone.locator(".home-status")
    home_status.get_by_text(text["content.network.overall.major_outage"]).wait_for()
    home_status.get_by_role("link", name=title).click()
    anyone.wait_for_url(re.compile(r"/network-status#incident-"))
    component_row(anyone, "fibre").get_by_text(text["content.network.state.major_outage"]).wait_for()
    component_row(anyone, "dsl").get_by_text(text["content.network.state.operational"]).wait_for()
    bars = component_row(anyone, "fibre").locator("svg.uptime-bars")
    assert bars.locator("rect").count() == 90 and bars.locator("rect.bar-major_outage").count() == 1  # today
    assert "90" in bars.get_attribute("aria-label")
    incident = anyone.locator("article.incident").filter(has_text=title)
    incident.locator(".markdown strong").get_by_text("el cable").wait_for()  # Markdown, drawn
    assert "**" not in incident.inner_text()
    check_page(anyone, "content-status-es-phone")

    # the customer's ticket form tells of it
    customer_language = as_user(system, CUSTOMER).call("GET", "/api/v1/me").json()["language"]
    mine = portal(customer_language, "desktop")
    log_in_at(mine, "/tickets/new", CUSTOMER, customer_language)
    words = Text(customer_language)
    mine.get_by_role("radio", name=words["new.how.itil"]).check()
    choose(mine, words["new.service"], "internet_access")
    suggestion = mine.locator(".known-incident")
    suggestion.get_by_text(re.compile(re.escape(title))).wait_for()
    assert suggestion.get_by_role("link", name=words["new.incident_follow"]).get_attribute("href").startswith(
        "/network-status#incident-")
    choose(mine, words["new.service"], "hosting")
    suggestion.get_by_text(re.compile(re.escape(title))).wait_for(state="detached")

    # the announcement
    staff.locator("summary").filter(has_text=text["publish.announcement.new"]).click()
    write = staff.get_by_role("form", name=text["publish.announcement.new"])
    headline = f"Nuevas tarifas {tag}"
    fill(write, f"{text['publish.title']} ({text['language.es']})", headline)
    fill(write, f"{text['publish.body']} ({text['language.es']})",
         "Desde *enero*: [ver tarifas](https://izarlink.example/tarifas). <script>alert(1)</script>")
    write.get_by_role("button", name=text["publish.announcement.submit"]).click()
    write.get_by_text(text["publish.announcement.done_published"]).wait_for()
    anyone.goto("/")
    latest = anyone.locator(".home-announcements")
    latest.get_by_role("heading", name=headline).wait_for()
    latest.get_by_role("link", name=text["content.announcements.all"]).click()
    anyone.wait_for_url(re.compile(r"/announcements$"))
    shown = anyone.locator("article.announcement").filter(has_text=headline)
    assert shown.get_by_role("link", name="ver tarifas").get_attribute("href") == "https://izarlink.example/tarifas"
    assert "<script>alert(1)</script>" in shown.inner_text() and anyone.locator("article script").count() == 0
    check_page(anyone, "content-announcements-es-phone")

    # resolved from the console: operational again
    update = staff.get_by_role("form", name=text("publish.incident.update_named", title=title))
    choose(update, text["publish.incident.status"], "resolved")
    fill(update, f"{text['publish.message']} ({text['language.es']})", "Cable reparado.")
    update.get_by_role("button", name=text["publish.incident.update"]).click()
    staff.get_by_text(text("publish.incident.updated", title=title)).wait_for()
    anyone.goto("/network-status")
    component_row(anyone, "fibre").get_by_text(text["content.network.state.operational"]).wait_for()
    resolved = anyone.locator("article.incident").filter(has_text=title)
    assert [item.inner_text().split(" · ")[0] for item in resolved.locator(".entry-meta strong").all()] == [
        text["content.network.incident.resolved"], text["content.network.incident.investigating"]]  # newest first


def incident_mails(system, address, title):
    return [m for m in system.mails_to(address) if title in str(m["Subject"])]


def test_three_linked_tickets_get_each_update_once_and_are_resolved_with_the_incident(system, portal):
    """The issue's journey: an incident on Conexión fibra; three tickets of three customers (one
    with a CC) linked from the console by their references; one update: exactly one mail to each
    requester and to the CC; resolved with "resolve the linked tickets": the three resolved with
    the message, awaiting the customers' approval."""
    speaking(system, AGENT, "es")
    text = Text("es")
    tag = uuid.uuid4().hex[:6]
    admin, agent = as_user(system, "admin@helpdesk.example"), as_user(system, AGENT)
    company = admin.call("POST", "/api/v1/admin/companies", {"name": f"Fibra Cliente {tag}"}).json()
    requesters, tickets = [], []
    for n in range(3):
        email = f"fibra{n}-{tag}@cliente.example"
        made = admin.call("POST", "/api/v1/admin/users", {"email": email, "name": f"Cliente {n}", "role": "customer",
                                                         "company_id": company["company_id"]})
        assert made.status_code == 201, made.text
        opened = agent.call("POST", "/api/v1/tickets", {
            "on_behalf_of": made.json()["user_id"], "channel": "phone", "department": "networks",
            "title": f"Sin fibra {n} {tag}", "description": "Llamó: no hay conexión.",
            "cc": [f"jefe-{tag}@cliente.example"] if n == 0 else []})
        assert opened.status_code == 201, opened.text
        assert agent.call("POST", f"/api/v1/tickets/{opened.json()['ticket_id']}/assign", {}).status_code == 200
        requesters.append(email)
        tickets.append(opened.json())
    title = f"Corte de fibra en el polígono {tag}"
    incident = agent.call("POST", "/api/v1/incidents", {"title": {"es": title}, "message": {"es": "Investigando."},
                                                        "components": ["fibre"], "impact": "major_outage"}).json()

    page = portal("es", "desktop")
    log_in_at(page, "/console/content", AGENT, "es")
    panel = page.locator(f"[data-incident='{incident['id']}']")
    link = panel.get_by_role("form", name=text("publish.incident.link_named", title=title))
    fill(link, text["publish.incident.references"], "#999999")  # not a ticket: said at the field
    link.get_by_role("button", name=text["publish.incident.link"]).click()
    link.get_by_text(text("publish.incident.no_ticket", reference="#999999")).first.wait_for()
    fill(link, text["publish.incident.references"], ", ".join(t["reference"] for t in tickets))
    link.get_by_role("button", name=text["publish.incident.link"]).click()
    page.get_by_text(text("publish.incident.linked", title=title, count=3)).wait_for()
    panel = page.locator(f"[data-incident='{incident['id']}']")
    for ticket in tickets:
        panel.get_by_role("link", name=ticket["reference"], exact=True).wait_for()

    update = panel.get_by_role("form", name=text("publish.incident.update_named", title=title))
    choose(update, text["publish.incident.status"], "identified")
    fill(update, f"{text['publish.message']} ({text['language.es']})", "Una excavadora cortó el cable.")
    update.get_by_role("button", name=text["publish.incident.update"]).click()
    page.get_by_text(text("publish.incident.updated", title=title)).wait_for()
    everyone = requesters + [f"jefe-{tag}@cliente.example"]
    for address in everyone:
        assert testing.wait_until(lambda: incident_mails(system, address, title)), f"no incident mail for {address}"
    page.wait_for_timeout(1500)  # anything more would have come by now
    assert {address: len(incident_mails(system, address, title)) for address in everyone} == {a: 1 for a in everyone}
    body = incident_mails(system, requesters[0], title)[0].get_body(("plain",)).get_content()
    assert tickets[0]["reference"] in body and "Una excavadora cortó el cable." in body

    panel = page.locator(f"[data-incident='{incident['id']}']")
    update = panel.get_by_role("form", name=text("publish.incident.update_named", title=title))
    choose(update, text["publish.incident.status"], "resolved")
    fill(update, f"{text['publish.message']} ({text['language.es']})", "Cable empalmado: servicio restablecido.")
    update.get_by_role("checkbox", name=text["publish.incident.resolve_tickets"]).check()
    update.get_by_role("button", name=text["publish.incident.update"]).click()
    page.get_by_text(text("publish.incident.updated", title=title)).wait_for()

    def all_resolved():
        seen = [agent.call("GET", f"/api/v1/tickets/{t['ticket_id']}").json() for t in tickets]
        return all(s["status"] == "resolved" for s in seen) and seen
    seen = testing.wait_until(all_resolved)
    assert seen, "the linked tickets were not resolved"
    assert {s["solution"] for s in seen} == {"Cable empalmado: servicio restablecido."}
    for address in requesters:  # each asked to approve the solution
        assert testing.wait_until(lambda: [m for m in system.mails_to(address) if "Resuelto" in str(m["Subject"])
                                     or "Resolved" in str(m["Subject"])])


def test_the_home_pages_search_finds_an_incident_by_other_forms_of_its_words_and_marks_them(system, portal):
    title = f"Corte de fibra en Teruel {uuid.uuid4().hex[:6]}"
    as_user(system, AGENT).call("POST", "/api/v1/incidents", {
        "title": {"es": title}, "message": {"es": "Una obra cortó la fibra óptica."}, "components": ["fibre"],
        "impact": "degraded"})
    text = Text("en")
    page = portal("en", "phone")
    page.goto("/")
    page.get_by_role("searchbox", name=text["search.label"]).fill("cortes fibra optica teruel")
    page.get_by_role("button", name=text["search.submit"], exact=True).click()
    page.wait_for_url(re.compile(r"/search\?q=cortes"))
    result = page.locator("ol.results li").filter(has_text=title)
    result.get_by_text(text["search.kind.incident"]).wait_for()
    assert {mark.inner_text() for mark in result.locator("mark").all()} >= {"cortó", "fibra", "óptica"}
    check_page(page, "content-search-en-phone")
    result.get_by_role("link", name=title).click()
    page.wait_for_url(re.compile(r"/network-status#incident-"))


def test_a_customer_subscribes_on_the_status_page_is_mailed_an_incident_and_stops_from_the_mail(system, portal):
    import requests

    language = "es"
    speaking(system, CUSTOMER, language)
    words = Text(language)
    page = portal(language, "desktop")
    log_in_at(page, "/network-status", CUSTOMER, language)
    form = page.get_by_role("form", name=words["content.subscribe.title"])
    form.get_by_role("checkbox", name=next(s["name"][language] for s in words.catalog["services"]
                                           if s["code"] == "email")).check()
    form.get_by_role("button", name=words["content.subscribe.save"]).click()
    form.get_by_text(words("content.subscribe.saved", count=1)).wait_for()
    check_page(page, "content-subscribe-es-desktop")
    assert as_user(system, CUSTOMER).call("GET", "/api/v1/status/subscription").json() == {"services": ["email"]}

    title = f"Correo lento {uuid.uuid4().hex[:6]}"
    as_user(system, AGENT).call("POST", "/api/v1/incidents", {
        "title": {"es": title, "en": title}, "message": {"es": "Investigamos.", "en": "Looking into it."},
        "components": ["mail_delivery"], "impact": "degraded"})
    mail = testing.wait_until(lambda: [m for m in system.mails_to(CUSTOMER) if title in str(m["Subject"])], timeout=15)
    assert mail and len(mail) == 1, system.log_tail()
    link = "".join(str(mail[0]["List-Unsubscribe"]).split())[1:-1]  # unfolded
    assert "scope=status" in link
    stopped = requests.post(link, data="List-Unsubscribe=One-Click", timeout=10)  # what a mail program does
    assert stopped.status_code == 200, stopped.text
    assert as_user(system, CUSTOMER).call("GET", "/api/v1/status/subscription").json() == {"services": []}
