"""The supervisors' dashboard, GET /api/v1/dashboard, through the system in one process: who may
read it, how a bad range is refused, and the figures after tickets are opened, answered and
resolved through the API (the SLA service's read model, equal to folding its logs again). Then
the SLA handlers alone, fed ticket events at chosen moments, for exact figures and breaches."""
import datetime as dt
import uuid
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from helpdesk import config
from helpdesk.events import RecordedEvent, utcnow
from helpdesk.eventstore import InMemoryEventStore
from services.gateway.schemas import DashboardSchema
from services.sla import clocks, dashboard, usage
from services.sla.bootstrap import bootstrap as sla_bootstrap

from .conftest import as_user

MADRID = ZoneInfo("Europe/Madrid")
TICKET = {"title": "Sin conexión", "description": "Desde las 9:00 no hay tráfico."}


def today():
    return utcnow().astimezone(MADRID).date()


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture(scope="module")
def supervisor(system):
    return as_user(system, "supervisor@helpdesk.example")


# -- who may read it, and what it may be asked ----------------------------------------------------

def test_supervisors_and_admins_read_the_dashboard_and_nobody_else(system, supervisor, api):
    assert ok(supervisor.call("GET", "/api/v1/dashboard"))["time_zone"] == "Europe/Madrid"
    assert ok(as_user(system, "admin@helpdesk.example").call("GET", "/api/v1/dashboard"))["days"] is not None
    for email in ("agent-networks@helpdesk.example", "agent-support-24h@helpdesk.example", "cliente@demo.example",
                  "soporte@demo.example"):
        refused = as_user(system, email).call("GET", "/api/v1/dashboard")
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden", (email, refused.text)
    assert api.call("GET", "/api/v1/dashboard").status_code == 401


def test_by_default_the_last_30_days_up_to_today_in_madrid(supervisor):
    before = today()
    answer = ok(supervisor.call("GET", "/api/v1/dashboard"))
    until = dt.date.fromisoformat(answer["until"])
    assert until in (before, today())
    assert dt.date.fromisoformat(answer["since"]) == until - dt.timedelta(days=29)
    assert [d["department"] for d in answer["departments"]][:6] == [
        "sales", "billing", "systems", "networks", "datacenters", "support_24h"]
    DashboardSchema().load(answer)  # every field documented (unknown fields would be refused), none missing


@pytest.mark.parametrize("query,field,code", [
    ("since=2026-13-01", "since", "invalid_date"),
    ("until=ayer", "until", "invalid_date"),
    ("since=", "since", "invalid_date"),
    ("since=2026-01-01&until=2026-04-03", "since", "dashboard_range_too_long"),  # 92 days and one
    ("since=2026-02-01&until=2026-01-31", "since", "dashboard_since_after_until"),
    ("since=2020-01-01", "since", "dashboard_range_too_long"),  # up to today: checked by the sla service
    ("since=2999-01-01", "since", "dashboard_since_after_until"),
    ("days=7", "days", "unknown_field"),
])
def test_a_bad_range_is_a_422_naming_the_parameter(supervisor, query, field, code):
    refused = supervisor.call("GET", f"/api/v1/dashboard?{query}")
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["error"] == "invalid_input" and body["field_codes"] == {field: [code]}, body
    assert body["fields"][field][0]


def test_the_refusal_is_worded_in_the_callers_language(system, supervisor):
    query = "/api/v1/dashboard?since=2026-01-01&until=2026-12-31"
    assert supervisor.call("GET", query).json()["fields"]["since"] == [
        "Como mucho 92 días: since debe ser 2026-10-01 o posterior."]
    admin = as_user(system, "admin@helpdesk.example")
    ok(admin.call("PATCH", "/api/v1/me", {"language": "en"}))
    try:
        english = as_user(system, "admin@helpdesk.example")  # a session of the profile as it is now
        assert english.call("GET", query).json()["fields"]["since"] == [
            "At most 92 days: since must be 2026-10-01 or later."]
    finally:
        ok(admin.call("PATCH", "/api/v1/me", {"language": "es"}))


def test_92_days_are_answered(supervisor):
    answer = ok(supervisor.call("GET", "/api/v1/dashboard?since=2026-01-01&until=2026-04-02"))
    assert (answer["since"], answer["until"]) == ("2026-01-01", "2026-04-02")


# -- the figures after work done through the API ----------------------------------------------------

def rows(answer):
    return {(d["day"], d["department"]): d for d in answer["days"]}


def difference(before, after, key, *path):
    def value(answer):
        found = rows(answer).get(key)
        for part in path:
            found = found[part] if found is not None else None
        return found or 0
    return value(after) - value(before)


def events_of(system, ticket_id):
    return system.stores["tickets"].read_stream(f"ticket-{ticket_id}")


def day_of(event):
    return event.occurred_at.astimezone(MADRID).date().isoformat()


def window():
    """A range that holds every due moment of the tickets opened now (5 business days ahead at most)."""
    return f"since={today() - dt.timedelta(days=30)}&until={today() + dt.timedelta(days=61)}"


def test_figures_follow_tickets_opened_answered_and_resolved_through_the_api(system, supervisor):
    customer = as_user(system, "cliente@demo.example")
    urgent_agent, networks_agent = (as_user(system, f"agent-{d}@helpdesk.example") for d in ("support-24h", "networks"))
    before = ok(supervisor.call("GET", f"/api/v1/dashboard?{window()}"))

    urgent = ok(customer.call("POST", "/api/v1/tickets", dict(TICKET, department="support_24h", urgency="high")), 201)
    act = lambda who, ticket, action, body: ok(who.call(  # noqa: E731
        "POST", f"/api/v1/tickets/{ticket['ticket_id']}/{action}", body))
    act(urgent_agent, urgent, "comments", {"body": "Lo miramos."})
    act(urgent_agent, urgent, "resolve", {"solution": "Reiniciado el enlace."})
    act(urgent_agent, urgent, "provider-fault", {"provider_fault": True})  # urgent and our fault: not billable

    network = ok(customer.call("POST", "/api/v1/tickets", dict(TICKET, department="networks")), 201)
    act(networks_agent, network, "information-requests", {"body": "¿Qué router tiene?"})
    act(customer, network, "comments", {"body": "Un Teltonika."})
    act(networks_agent, network, "resolve", {"solution": "Firmware actualizado."})
    act(customer, network, "refuse", {"reason": "Sigue igual."})
    act(networks_agent, network, "resolve", {"solution": "Cambiado el router."})

    itil = ok(customer.call("POST", "/api/v1/tickets", dict(TICKET, urgency="medium", itil={
        "type": "incident", "service": "internet_access", "category": "packet_loss"})), 201)
    assert itil["department"] is None
    after = ok(supervisor.call("GET", f"/api/v1/dashboard?{window()}"))

    expected = Counter()
    for ticket in (urgent, network, itil):
        events = events_of(system, ticket["ticket_id"])
        placed = next(e for e in events if e.data.get("department"))  # opened where it was first placed
        expected[(day_of(events[0]), placed.data["department"], "opened")] += 1
        first_response = next(e for e in events if e.type in ("StaffReplied", "InformationRequested")) \
            if ticket is not itil else None
        if first_response:
            expected[(day_of(first_response), placed.data["department"], "first_responses")] += 1
        for resolution in (e for e in events if e.type == "TicketResolved"):
            expected[(day_of(resolution), placed.data["department"], "resolved")] += 1
    assert events_of(system, itil["ticket_id"])[1].data["department"] == "networks"  # placed by routing
    found = Counter()
    for day, department, figure in expected:
        path = ("first_response", "count") if figure == "first_responses" else (figure,)
        found[(day, department, figure)] = difference(before, after, (day, department), *path)
    assert found == expected

    # the 24-hour ticket: its clocks' measures, within the targets, and its usage record no longer billable
    resolved_on = day_of(next(e for e in events_of(system, urgent["ticket_id"]) if e.type == "TicketResolved"))
    clock = system.sla.uow.repositories["clocks"].rows[urgent["ticket_id"]][0]
    key = (resolved_on, "support_24h")
    assert difference(before, after, key, "resolution", "business_seconds") == pytest.approx(
        clock.timers[clocks.RESOLUTION].spent_seconds, abs=0.001)
    assert difference(before, after, key, "resolution", "within_target") == 1
    assert difference(before, after, key, "support_24h_usage", "not_billable") == 1
    assert difference(before, after, key, "support_24h_usage", "billable") == 0
    assert after["total"]["resolved"] - before["total"]["resolved"] == 3


def test_breaches_are_the_alerts_the_sla_service_raised(system, supervisor):
    customer = as_user(system, "cliente@demo.example")
    ok(customer.call("POST", "/api/v1/tickets", dict(TICKET, department="support_24h", urgency="high")), 201)
    before = ok(supervisor.call("GET", f"/api/v1/dashboard?{window()}"))
    head = system.stores["sla"].head()
    real_clock = system.sla.clock
    system.sla.clock = lambda: real_clock() + dt.timedelta(days=30)  # every target has passed
    try:
        assert system.sla.raise_alerts() > 0
    finally:
        system.sla.clock = real_clock
    system.settle()
    raised = Counter()
    for event in system.stores["sla"].read_all(head, 100_000, ["sla_alert"]):
        if event.type == "SlaBreached":
            due = dt.datetime.fromisoformat(event.data["due_at"]).astimezone(MADRID).date().isoformat()
            raised[(due, event.data["department"], event.data["clock"])] += 1
    assert any(department == "support_24h" for _, department, _ in raised)
    after = ok(supervisor.call("GET", f"/api/v1/dashboard?{window()}"))
    counted = Counter({(day, department, clock): difference(before, after, (day, department), "breaches", clock)
                       for day, department, clock in raised})
    assert counted == raised
    assert after["total"]["breaches"]["first_response"] - before["total"]["breaches"]["first_response"] == sum(
        n for (_, _, clock), n in raised.items() if clock == clocks.RESPONSE)


def test_the_live_figures_are_what_folding_the_logs_again_gives(system):
    customer = as_user(system, "cliente@demo.example")
    ticket = ok(customer.call("POST", "/api/v1/tickets", dict(TICKET, department="support_24h", urgency="high")), 201)
    ok(as_user(system, "agent-support-24h@helpdesk.example").call(
        "POST", f"/api/v1/tickets/{ticket['ticket_id']}/resolve", {"solution": "Hecho."}))
    settings = system.sla.settings
    replay = dashboard.Replay(settings.calendar_of, settings.targets, settings.time_zone)
    for event in system.stores["tickets"].read_all(0, 1_000_000, ["ticket"]):
        replay.ticket_event(event)
    for event in system.stores["sla"].read_all(0, 1_000_000):
        replay.sla_event(event)
    live = system.sla.uow.repositories["dashboard"].rows
    assert live and replay.figures == live


# -- the SLA handlers alone, at chosen moments ------------------------------------------------------

def madrid(*args):
    return dt.datetime(*args, tzinfo=MADRID)


class Feed:
    """The SLA handlers in memory, given ticket events at chosen times, as its inbox delivers them."""

    def __init__(self, now):
        self.now = now
        self.sla = sla_bootstrap(config.load(), lambda: self.now, InMemoryEventStore("sla"))
        self.log, self.positions = [], {}

    def event(self, ticket_id, type_, at, **data):
        position = self.positions[ticket_id] = self.positions.get(ticket_id, -1) + 1
        event = RecordedEvent(event_id=uuid.uuid4(), type=type_, schema_version=1, stream=f"ticket-{ticket_id}",
                              stream_position=position, global_position=len(self.log) + 1, occurred_at=at,
                              data={"ticket_id": ticket_id, **data})
        self.log.append(event)
        with self.sla.uow() as work:
            self.sla.apply_ticket_event(work, event)

    def open(self, at, department, urgency):
        ticket_id = str(uuid.uuid4())
        self.event(ticket_id, "TicketOpened", at, department=department, urgency=urgency, reference="#000007",
                   requester_id=str(uuid.uuid4()), requester_email="ana@example.com", company_id=None)
        return ticket_id


def test_the_handlers_count_measures_usage_corrections_and_breaches_exactly():
    feed = Feed(now=madrid(2026, 11, 23, 12, 0))
    answered = feed.open(madrid(2026, 11, 23, 10, 0), "support_24h", "high")  # targets: 30 and 240 minutes
    feed.event(answered, "StaffReplied", madrid(2026, 11, 23, 10, 20), body="Lo miro")
    feed.event(answered, "TicketResolved", madrid(2026, 11, 23, 11, 0), solution="Hecho")
    feed.event(answered, "ProviderFaultMarked", madrid(2026, 11, 24, 9, 0), provider_fault=True)
    forgotten = feed.open(madrid(2026, 11, 23, 10, 0), "support_24h", "high")
    routed = feed.open(madrid(2026, 11, 23, 23, 59), None, "medium")
    feed.event(routed, "TicketRouted", madrid(2026, 11, 24, 0, 0, 1), department="networks", previous=None)
    assert feed.sla.raise_alerts() == 1  # the forgotten ticket's first response was due at 10:30
    feed.now = madrid(2026, 11, 23, 12, 30)
    assert feed.sla.raise_alerts() == 0  # each alert once

    answer = feed.sla.dashboard("2026-11-23", "2026-11-24")
    day = rows(answer)
    support = day[("2026-11-23", "support_24h")]
    assert (support["opened"], support["resolved"]) == (2, 1)
    assert support["first_response"] == {"count": 1, "business_seconds": 1200.0, "average_business_hours": 0.333,
                                         "with_target": 1, "within_target": 1, "share_within_target": 1.0}
    assert support["resolution"] == {"count": 1, "business_seconds": 3600.0, "average_business_hours": 1.0,
                                     "with_target": 1, "within_target": 1, "share_within_target": 1.0}
    assert support["breaches"] == {"first_response": 1, "resolution": 0}
    assert support["support_24h_usage"] == {"billable": 0, "billable_business_minutes": 0.0, "not_billable": 1,
                                            "not_billable_business_minutes": 60.0}
    assert day[("2026-11-23", "networks")]["opened"] == 1 and ("2026-11-24", "networks") not in day
    assert [(e.type, e.data["corrects"] is not None) for e in feed.sla.uow.store.read_all(0, 100, ["usage"])] == [
        (usage.RECORDED, False), (usage.CORRECTED, True)]

    replay = dashboard.Replay(feed.sla.settings.calendar_of, feed.sla.settings.targets, feed.sla.settings.time_zone)
    for event in feed.log:
        replay.ticket_event(event)
    for event in feed.sla.uow.store.read_all(0, 100):
        replay.sla_event(event)
    assert replay.figures == feed.sla.uow.repositories["dashboard"].rows
    assert forgotten in {e.data["ticket_id"] for e in feed.sla.uow.store.read_all(0, 100, ["sla_alert"])}


def test_the_handlers_refuse_a_bad_range_as_invalid_input():
    from helpdesk import errors

    feed = Feed(now=madrid(2026, 11, 23, 12, 0))
    with pytest.raises(errors.InvalidInput) as refused:
        feed.sla.dashboard("2026-08-01", None)
    assert refused.value.errors == {"since": [{"code": "dashboard_range_too_long",
                                               "params": {"max": 92, "earliest": "2026-08-24"}}]}
    assert feed.sla.dashboard(None, None)["since"] == "2026-10-25"


def test_alerts_and_usage_records_are_counted_once_each_for_the_metrics():
    from helpdesk import metrics

    def counted(metric, **labels):
        return metrics.REGISTRY.get_sample_value(metric, dict(service="sla", **labels)) or 0

    breach = {"kind": "breach", "clock": "first_response", "department": "support_24h"}
    before = (counted("helpdesk_sla_alerts_total", **breach), counted("helpdesk_usage_records_total", type="recorded"),
              counted("helpdesk_usage_records_total", type="corrected"))
    feed = Feed(now=madrid(2026, 11, 23, 12, 0))
    answered = feed.open(madrid(2026, 11, 23, 10, 0), "support_24h", "high")
    feed.event(answered, "StaffReplied", madrid(2026, 11, 23, 10, 20), body="Lo miro")
    feed.event(answered, "TicketResolved", madrid(2026, 11, 23, 11, 0), solution="Hecho")
    feed.event(answered, "ProviderFaultMarked", madrid(2026, 11, 24, 9, 0), provider_fault=True)
    feed.open(madrid(2026, 11, 23, 10, 0), "support_24h", "high")  # its first response was due at 10:30
    assert feed.sla.raise_alerts() == 1
    feed.now = madrid(2026, 11, 23, 12, 30)
    assert feed.sla.raise_alerts() == 0
    assert (counted("helpdesk_sla_alerts_total", **breach), counted("helpdesk_usage_records_total", type="recorded"),
            counted("helpdesk_usage_records_total", type="corrected")) == (before[0] + 1, before[1] + 1, before[2] + 1)
