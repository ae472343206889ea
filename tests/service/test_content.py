"""The content service through the API (services/content): announcements written by staff and
read by anyone once published, their Markdown given as safe trees; the network status computed
from incidents and maintenance windows; and what only staff may do."""
import datetime as dt

import pytest

from .conftest import as_user, client

ANNOUNCEMENT = {"title": {"es": "Nuevas tarifas de fibra", "en": "New fibre prices"},
                "body": {"es": "Desde **enero**: [ver tarifas](https://izarlink.example/tarifas).\n\n"
                               "<script>alert(1)</script> [no](javascript:alert(1))"}}
INCIDENT = {"title": {"es": "Corte de fibra en Zaragoza", "en": "Fibre outage in Zaragoza"},
            "message": {"es": "Investigamos un **corte** de fibra."}, "components": ["fibre"], "impact": "major_outage"}


def later(**delta):
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(**delta)).isoformat()


def test_an_announcement_is_read_by_anyone_only_once_published_and_its_markdown_is_a_safe_tree(system):
    staff = as_user(system, "agent-networks@helpdesk.example")
    drafted = staff.call("POST", "/api/v1/announcements", ANNOUNCEMENT)
    assert drafted.status_code == 201, drafted.text
    announcement = drafted.json()
    assert announcement["status"] == "draft" and announcement["audience"] is None
    anyone = client(system)
    shown = lambda: [item["id"] for item in anyone.call("GET", "/api/v1/announcements").json()["items"]]  # noqa: E731
    assert announcement["id"] not in shown()
    assert anyone.call("GET", f"/api/v1/announcements/{announcement['id']}").status_code == 404

    published = staff.call("POST", f"/api/v1/announcements/{announcement['id']}/publish", {})
    assert published.status_code == 200, published.text
    assert announcement["id"] in shown()
    read = anyone.call("GET", f"/api/v1/announcements/{announcement['id']}").json()
    assert "audience" not in read and read["title"] == ANNOUNCEMENT["title"]
    tree = read["body_tree"]["es"]
    assert tree[0] == {"t": "p", "c": ["Desde ", {"t": "strong", "c": ["enero"]}, ": ",
                                       {"t": "a", "href": "https://izarlink.example/tarifas", "c": ["ver tarifas"]}, "."]}
    assert tree[1] == {"t": "p", "c": ["<script>alert(1)</script> [no](javascript:alert(1))"]}  # text, never markup

    pinned = staff.call("PATCH", f"/api/v1/announcements/{announcement['id']}", {"pinned": True}).json()
    assert pinned["pinned"] is True and shown()[0] == announcement["id"]  # pinned first
    assert staff.call("POST", f"/api/v1/announcements/{announcement['id']}/archive").json()["status"] == "archived"
    assert announcement["id"] not in shown()
    refused = staff.call("PATCH", f"/api/v1/announcements/{announcement['id']}", {"pinned": False})
    assert refused.status_code == 409 and refused.json()["message"]
    archived = staff.call("GET", "/api/v1/announcements?status=archived").json()["items"]
    assert announcement["id"] in [item["id"] for item in archived]


def test_an_announcement_published_for_later_is_shown_from_then_on(system):
    staff = as_user(system, "supervisor@helpdesk.example")
    announcement = staff.call("POST", "/api/v1/announcements", ANNOUNCEMENT).json()
    scheduled = staff.call("POST", f"/api/v1/announcements/{announcement['id']}/publish", {"publish_at": later(hours=2)})
    assert scheduled.status_code == 200 and scheduled.json()["status"] == "published"
    public = client(system).call("GET", "/api/v1/announcements").json()["items"]
    assert announcement["id"] not in [item["id"] for item in public]
    published = staff.call("GET", "/api/v1/announcements?status=published").json()["items"]
    assert announcement["id"] in [item["id"] for item in published]  # staff see it coming


@pytest.mark.parametrize("body,field", [
    ({"title": {"es": " ", "en": ""}, "body": {"es": "x"}}, "title"),
    ({"title": {"es": "x" * 201}, "body": {"es": "x"}}, "title.es"),
    ({"title": {"es": "x"}, "body": {"es": "x"}, "audience": ["fibre_to_the_moon"]}, "audience"),
    ({"title": {"es": "x"}, "body": {"fr": "x"}}, "body.fr"),
    ({"title": {"es": "x"}}, "body"),
])
def test_a_bad_announcement_is_refused_naming_the_field(system, body, field):
    answer = as_user(system, "agent-networks@helpdesk.example").call("POST", "/api/v1/announcements", body)
    assert answer.status_code == 422 and field in answer.json()["fields"], answer.text


def test_customers_and_strangers_may_not_write_content(system):
    customer = as_user(system, "cliente@demo.example")
    for path, body in (("/api/v1/announcements", ANNOUNCEMENT), ("/api/v1/incidents", INCIDENT)):
        assert customer.call("POST", path, body).status_code == 403
        assert client(system).call("POST", path, body).status_code == 401
    assert customer.call("GET", "/api/v1/announcements?status=draft").status_code == 403


def component(status, code):
    return next(c for service in status["services"] for c in service["components"] if c["code"] == code)


def test_an_incident_sets_its_components_state_until_it_is_resolved(system):
    staff = as_user(system, "agent-networks@helpdesk.example")
    anyone = client(system)
    before = anyone.call("GET", "/api/v1/status").json()
    assert component(before, "fibre")["state"] == "operational"
    declared = staff.call("POST", "/api/v1/incidents", INCIDENT)
    assert declared.status_code == 201, declared.text
    incident = declared.json()
    assert incident["status"] == "investigating" and incident["updates"][0]["message_tree"]["es"][0]["c"][1] == {
        "t": "strong", "c": ["corte"]}
    now = anyone.call("GET", "/api/v1/status").json()
    assert component(now, "fibre")["state"] == "major_outage" and now["overall"] == "major_outage"
    assert component(now, "dsl")["state"] == "operational"
    assert incident["id"] in [item["id"] for item in now["incidents"]]
    suggested = anyone.call("GET", "/api/v1/status/incidents?service=internet_access").json()["items"]
    assert [item["id"] for item in suggested] == [incident["id"]]
    assert anyone.call("GET", "/api/v1/status/incidents?service=hosting").json()["items"] == []
    assert anyone.call("GET", "/api/v1/status/incidents?service=moon").status_code == 422

    path = f"/api/v1/incidents/{incident['id']}/updates"
    identified = staff.call("POST", path, {"status": "identified", "message": {"es": "Cable cortado por una obra."},
                                           "impact": "partial_outage"})
    assert identified.status_code == 200, identified.text
    assert component(anyone.call("GET", "/api/v1/status").json(), "fibre")["state"] == "partial_outage"
    resolved = staff.call("POST", path, {"status": "resolved", "message": {"es": "Reparado.", "en": "Fixed."}})
    assert resolved.json()["ended_at"] and [u["status"] for u in resolved.json()["updates"]] == [
        "investigating", "identified", "resolved"]
    after = anyone.call("GET", "/api/v1/status").json()
    assert component(after, "fibre")["state"] == "operational"
    assert incident["id"] in [item["id"] for item in after["incidents"]]  # resolved this week: still listed
    assert anyone.call("GET", "/api/v1/status/incidents?service=internet_access").json()["items"] == []
    again = staff.call("POST", path, {"status": "monitoring", "message": {"es": "¿?"}})
    assert again.status_code == 409 and again.json()["message"]


@pytest.mark.parametrize("body,field", [
    (dict(INCIDENT, components=[]), "components"),
    (dict(INCIDENT, components=["teleport"]), "components"),
    (dict(INCIDENT, impact="apocalypse"), "impact"),
    (dict(INCIDENT, status="resolved"), "status"),
    (dict(INCIDENT, started_at=later(hours=1)), "started_at"),
    (dict(INCIDENT, started_at="yesterday"), "started_at"),
])
def test_a_bad_incident_is_refused_naming_the_field(system, body, field):
    answer = as_user(system, "agent-networks@helpdesk.example").call("POST", "/api/v1/incidents", body)
    assert answer.status_code == 422 and field in answer.json()["fields"], answer.text


def test_a_maintenance_window_shows_while_it_is_on_and_an_incident_outranks_it(system):
    staff = as_user(system, "agent-systems@helpdesk.example")
    window = {"title": {"es": "Actualización del webmail"}, "components": ["webmail"],
              "starts_at": later(minutes=-5), "ends_at": later(hours=1)}
    scheduled = staff.call("POST", "/api/v1/maintenances", window)
    assert scheduled.status_code == 201, scheduled.text
    status = client(system).call("GET", "/api/v1/status").json()
    assert component(status, "webmail")["state"] == "maintenance"
    assert scheduled.json()["id"] in [item["id"] for item in status["maintenances"]]
    incident = staff.call("POST", "/api/v1/incidents", dict(INCIDENT, components=["webmail"], impact="degraded")).json()
    assert component(client(system).call("GET", "/api/v1/status").json(), "webmail")["state"] == "degraded"
    staff.call("POST", f"/api/v1/incidents/{incident['id']}/updates", {"status": "resolved", "message": {"es": "Ok"}})
    cancelled = staff.call("POST", f"/api/v1/maintenances/{scheduled.json()['id']}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    assert component(client(system).call("GET", "/api/v1/status").json(), "webmail")["state"] == "operational"
    backwards = dict(window, starts_at=later(hours=2), ends_at=later(hours=1))
    assert staff.call("POST", "/api/v1/maintenances", backwards).json()["fields"].keys() == {"ends_at"}


ATOM = "{http://www.w3.org/2005/Atom}"


def test_the_status_in_statuspages_summary_shape_for_status_page_clients(system):
    staff = as_user(system, "agent-networks@helpdesk.example")
    incident = staff.call("POST", "/api/v1/incidents", dict(INCIDENT, components=["dns"], impact="partial_outage")).json()
    staff.call("POST", f"/api/v1/incidents/{incident['id']}/updates",
               {"status": "identified", "message": {"es": "Un servidor **DNS** caído.", "en": "A DNS server down."}})
    summary = client(system).call("GET", "/api/v1/status/summary.json?lang=en").json()
    assert set(summary) == {"page", "status", "components", "incidents", "scheduled_maintenances"}
    assert summary["page"]["name"] and summary["page"]["url"].startswith("http")
    assert summary["status"]["indicator"] in ("major", "critical")  # this incident, or a worse one of another test
    dns = next(c for c in summary["components"] if c["id"] == "dns")
    assert dns["status"] in ("partial_outage", "major_outage") and dns["name"] == "DNS"
    assert {c["status"] for c in summary["components"]} <= {
        "operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"}
    listed = next(i for i in summary["incidents"] if i["id"] == incident["id"])
    assert listed["name"] == "Fibre outage in Zaragoza" and listed["impact"] == "major" and listed["status"] == "identified"
    assert [u["status"] for u in listed["incident_updates"]] == ["identified", "investigating"]  # newest first
    assert listed["incident_updates"][0]["body"] == "A DNS server down."
    assert listed["shortlink"].endswith(f"/network-status#incident-{incident['id']}")
    spanish = client(system).call("GET", "/api/v1/status/summary.json?lang=es").json()
    update = next(i for i in spanish["incidents"] if i["id"] == incident["id"])["incident_updates"][0]
    assert update["body"] == "Un servidor DNS caído."  # Markdown as plain text


def test_atom_feeds_of_the_announcements_and_the_status_are_valid_and_escaped(system):
    import xml.etree.ElementTree as ET

    staff = as_user(system, "supervisor@helpdesk.example")
    hostile = {"es": "Mantenimiento <b>&</b> \"avisos\""}
    announcement = staff.call("POST", "/api/v1/announcements", {"title": hostile, "body": {"es": "Texto & más"}}).json()
    staff.call("POST", f"/api/v1/announcements/{announcement['id']}/publish", {})
    answer = client(system).call("GET", "/feeds/announcements.atom")
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(answer.content)
    entry = next(e for e in feed.findall(f"{ATOM}entry") if e.find(f"{ATOM}id").text == f"urn:uuid:{announcement['id']}")
    assert entry.find(f"{ATOM}title").text == hostile["es"] and entry.find(f"{ATOM}content").text == "Texto & más"
    assert entry.find(f"{ATOM}link").get("href").endswith(f"/announcements#announcement-{announcement['id']}")
    status = ET.fromstring(client(system).call("GET", "/feeds/status.atom?lang=en").content)
    assert status.find(f"{ATOM}title").text.endswith("network status") and status.find(f"{ATOM}updated").text
    assert client(system).call("GET", "/feeds/tickets.atom").status_code == 404


def test_each_update_of_an_incident_is_mailed_once_to_every_customer_of_its_linked_open_tickets(system):
    """Three tickets linked (two of one customer, one with a CC), one update: one mail to each
    address, naming that address's tickets; a closed ticket's customer gets none; then resolving
    with resolve_tickets resolves the linked tickets someone was working on, with the message."""
    admin = as_user(system, "admin@helpdesk.example")
    company = admin.call("POST", "/api/v1/admin/companies", {"name": "Otra Empresa"}).json()
    made = admin.call("POST", "/api/v1/admin/users", {"email": "otra@cliente.example", "name": "Otra Cliente",
                                                     "role": "customer", "language": "en",
                                                     "company_id": company["company_id"]})
    assert made.status_code == 201, made.text
    ana = as_user(system, "cliente@demo.example")
    agent = as_user(system, "agent-networks@helpdesk.example")
    first = ana.call("POST", "/api/v1/tickets", {"department": "networks", "title": "Sin fibra", "description": "x",
                                                  "cc": ["jefe@demo.example"]}).json()
    second = ana.call("POST", "/api/v1/tickets", {"department": "networks", "title": "Sin fibra 2", "description": "x"}).json()
    third = agent.call("POST", "/api/v1/tickets", {"department": "networks", "title": "Llamó: sin fibra",
                                                    "description": "x", "on_behalf_of": made.json()["user_id"],
                                                    "channel": "phone"}).json()
    closed = ana.call("POST", "/api/v1/tickets", {"department": "networks", "title": "Ya no", "description": "x"}).json()
    assert ana.call("POST", f"/api/v1/tickets/{closed['ticket_id']}/close", {}).status_code == 200
    for ticket in (first, third):
        assert agent.call("POST", f"/api/v1/tickets/{ticket['ticket_id']}/assign", {}).status_code == 200
    incident = agent.call("POST", "/api/v1/incidents", INCIDENT).json()
    path = f"/api/v1/incidents/{incident['id']}"
    ids = [first["ticket_id"], second["ticket_id"], third["ticket_id"], closed["ticket_id"], first["ticket_id"]]
    linked = agent.call("POST", f"{path}/tickets", {"tickets": ids})
    assert linked.status_code == 200, linked.text
    assert [t["reference"] for t in linked.json()["tickets"]] == [
        first["reference"], second["reference"], third["reference"], closed["reference"]]  # each once
    assert "tickets" not in client(system).call("GET", path).json()  # customers' business: staff only
    assert len(agent.call("GET", path).json()["tickets"]) == 4

    before = len(system.mails())
    assert agent.call("POST", f"{path}/updates", {"status": "identified",
                                                  "message": {"es": "Obra en la calle: cable cortado."}}).status_code == 200
    mails = [m for m in system.mails()[before:] if m.template == "incident_update"]
    by_address = {m.recipient: m for m in mails}
    assert len(by_address) == len(mails)  # once each
    assert set(by_address) >= {"cliente@demo.example", "jefe@demo.example", "otra@cliente.example"}
    assert set(by_address) - {"cliente@demo.example", "jefe@demo.example", "otra@cliente.example",
                              "soporte@demo.example"} == set()  # (and the demo company's group user)
    assert sorted(by_address["cliente@demo.example"].context["references"]) == sorted(
        [first["reference"], second["reference"]])
    assert by_address["jefe@demo.example"].context["references"] == [first["reference"]]
    assert by_address["otra@cliente.example"].language == "en"
    assert by_address["otra@cliente.example"].context["message"] == {"es": "Obra en la calle: cable cortado.",
                                                                    "en": "Obra en la calle: cable cortado."}

    resolved = agent.call("POST", f"{path}/updates", {"status": "resolved", "resolve_tickets": True,
                                                      "message": {"es": "Cable empalmado: servicio restablecido."}})
    assert resolved.status_code == 200, resolved.text
    states = {t["ticket_id"]: agent.call("GET", f"/api/v1/tickets/{t['ticket_id']}").json() for t in (first, second, third)}
    assert states[first["ticket_id"]]["status"] == states[third["ticket_id"]]["status"] == "resolved"
    assert states[first["ticket_id"]]["solution"] == "Cable empalmado: servicio restablecido."
    assert states[second["ticket_id"]]["status"] == "new"  # nobody took it: it stays in the queue
    refused = agent.call("POST", f"{path}/tickets", {"tickets": [second["ticket_id"]]})
    assert refused.status_code == 409  # a resolved incident takes no more tickets
    hidden = agent.call("POST", f"/api/v1/incidents/{agent.call('POST', '/api/v1/incidents', INCIDENT).json()['id']}/tickets",
                        {"tickets": ["5d7c2e1e-0000-4000-8000-000000000000"]})
    assert hidden.status_code == 404


def test_resolve_tickets_is_only_for_a_resolution(system):
    staff = as_user(system, "agent-networks@helpdesk.example")
    incident = staff.call("POST", "/api/v1/incidents", INCIDENT).json()
    answer = staff.call("POST", f"/api/v1/incidents/{incident['id']}/updates",
                        {"status": "monitoring", "message": {"es": "Vigilando"}, "resolve_tickets": True})
    assert answer.status_code == 422 and "resolve_tickets" in answer.json()["fields"]


def test_search_finds_content_by_stem_without_accents_and_a_customers_own_tickets(system):
    staff = as_user(system, "agent-networks@helpdesk.example")
    incident = staff.call("POST", "/api/v1/incidents", {
        "title": {"es": "Corte de fibra en Huesca"}, "message": {"es": "Una obra cortó el cable de fibra."},
        "components": ["fibre"], "impact": "major_outage"}).json()
    anyone = client(system)
    found = anyone.call("GET", "/api/v1/search?q=cortes%20f%C3%ADbra").json()["items"]
    hit = next(item for item in found if item["id"] == incident["id"])
    assert hit["kind"] == "incident" and hit["path"] == f"/network-status#incident-{incident['id']}"
    assert [text for text, marked in hit["snippet"] if marked][:2] == ["cortó", "fibra"]  # words of the query, marked
    assert "".join(text for text, _ in hit["snippet"]) == "Una obra cortó el cable de fibra."
    customer = as_user(system, "cliente@demo.example")
    mine = customer.call("POST", "/api/v1/tickets", {"department": "networks", "title": "Sin fibra en Huesca",
                                                      "description": "x"}).json()
    items = customer.call("GET", "/api/v1/search?q=Huesca").json()["items"]
    assert items[0] == {"kind": "ticket", "id": mine["ticket_id"], "reference": mine["reference"],
                        "title": "Sin fibra en Huesca", "status": mine["status"], "at": items[0]["at"],
                        "path": f"/tickets/{mine['ticket_id']}"}
    assert incident["id"] in [item["id"] for item in items]
    assert all(item["kind"] != "ticket" for item in anyone.call("GET", "/api/v1/search?q=Huesca").json()["items"])
    for query in ("", "q=", "q=" + "x" * 201, "q=a&limit=0"):
        assert anyone.call("GET", f"/api/v1/search?{query}").status_code == 422, query


def test_the_history_counts_each_components_incidents_into_its_days_and_uptime(system):
    staff = as_user(system, "agent-networks@helpdesk.example")
    incident = staff.call("POST", "/api/v1/incidents", dict(INCIDENT, components=["registrations"])).json()
    staff.call("POST", f"/api/v1/incidents/{incident['id']}/updates", {"status": "resolved", "message": {"es": "Ok"}})
    history = client(system).call("GET", "/api/v1/status/history").json()
    assert history["days"] == 90 and history["since"] < history["until"]
    registrations = history["components"]["registrations"]
    assert list(registrations["days"].values())[0]["worst"] == "major_outage" and registrations["uptime"] < 1
    assert history["components"]["datacenter_power"]["days"] == {}
    week = client(system).call("GET", "/api/v1/status/history?days=7").json()
    assert week["days"] == 7
    for bad in ("days=0", "days=91", "days=x"):
        assert client(system).call("GET", f"/api/v1/status/history?{bad}").status_code == 422


def test_a_customer_subscribed_to_a_service_is_mailed_its_incidents_until_the_mails_link_stops_it(system):
    from helpdesk.linktokens import UNSUBSCRIBE, SignedLinks, unsubscribe_subject
    customer = as_user(system, "cliente@demo.example")
    assert customer.call("GET", "/api/v1/status/subscription").json() == {"services": []}
    chosen = customer.call("PUT", "/api/v1/status/subscription", {"services": ["domains", "email"]})
    assert chosen.status_code == 200 and chosen.json() == {"services": ["domains", "email"]}
    for bad, field in (({"services": ["moon"]}, "services"), ({"services": "email"}, "services"), ({}, "services")):
        answer = customer.call("PUT", "/api/v1/status/subscription", bad)
        assert answer.status_code == 422 and field in answer.json()["fields"], answer.text
    assert as_user(system, "agent-networks@helpdesk.example").call("GET", "/api/v1/status/subscription").status_code == 403
    assert client(system).call("PUT", "/api/v1/status/subscription", {"services": []}).status_code == 401

    staff = as_user(system, "agent-networks@helpdesk.example")
    before = len(system.mails("cliente@demo.example"))
    mail_incident = staff.call("POST", "/api/v1/incidents", dict(INCIDENT, components=["mail_delivery"])).json()
    staff.call("POST", "/api/v1/incidents", dict(INCIDENT, components=["web_servers"]))  # hosting: not theirs
    told = [m for m in system.mails("cliente@demo.example")[before:] if m.template == "status_change"]
    assert [m.context["incident_id"] for m in told] == [mail_incident["id"]] and told[0].context["declared"]
    assert told[0].context["unsubscribe"] == {"ticket_id": "status", "recipient": "cliente@demo.example"}

    signed = SignedLinks(system.config["LINK_SECRET"]).sign(
        UNSUBSCRIBE, unsubscribe_subject("status", "cliente@demo.example"),
        dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1))
    forged = client(system).call("POST", "/api/v1/unsubscribe?scope=status&address=cliente@demo.example&token=x")
    assert forged.status_code == 422
    stopped = client(system).call("POST", f"/api/v1/unsubscribe?scope=status&address=cliente@demo.example&token={signed}")
    assert stopped.status_code == 200, stopped.text
    assert customer.call("GET", "/api/v1/status/subscription").json() == {"services": []}
    before = len(system.mails("cliente@demo.example"))
    staff.call("POST", f"/api/v1/incidents/{mail_incident['id']}/updates", {"status": "resolved", "message": {"es": "Ok"}})
    assert [m for m in system.mails("cliente@demo.example")[before:] if m.template == "status_change"] == []
