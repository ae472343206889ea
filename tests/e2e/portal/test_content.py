"""Announcements and the network status in a real browser (issue 13): an agent declares an
incident on "Conexión fibra" from the console, and the home page and Estado de red show it with
its timeline; a customer choosing Internet access in the ticket form is told of it, with a link,
and may still open the ticket; an announcement written and published in the console is on the
home page (latest, with "Ver todo") and in Anuncios, its Markdown drawn, its script only text;
the incident resolved from the console leaves the component operational. Each page: CSP, same
origin, weight, axe, a picture."""
import re
import uuid

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
