"""The supervisors' dashboard (services/sla/dashboard.py): pure. Ticket events at chosen moments,
and the usage records and breaches the SLA service would append for them, folded into figures per
day (Europe/Madrid) and department; what the dashboard answers; the range it is asked for."""
import datetime as dt
import uuid
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from helpdesk import contracts
from helpdesk.events import RecordedEvent
from helpdesk.problems import field_problems
from services.sla import clocks, dashboard, usage
from services.sla.dashboard import Figures

from .test_sla import ALWAYS, MADRID, OFFICE, TARGETS  # the SLA rules' tests' calendars and targets
HOUR = 3600


def calendar_of(department):
    return ALWAYS if department == "support_24h" else OFFICE


def madrid(*args):
    return dt.datetime(*args, tzinfo=MADRID)


def day(*args):
    return dt.date(*args)


def recorded(type_, stream, position, at, data):
    return RecordedEvent(event_id=uuid.uuid4(), type=type_, schema_version=1, stream=stream,
                         stream_position=position, global_position=position + 1, occurred_at=at, data=data)


class Desk:
    """What the SLA service does with ticket events, for the dashboard: each event folded by
    `dashboard.Replay`, and the usage records `usage.apply` decides fed back as the service's own
    events (the service appends them in the same transaction)."""

    def __init__(self, targets=TARGETS):
        self.replay = dashboard.Replay(calendar_of, targets, MADRID)
        self.episodes, self.positions = {}, {}
        self.ticket_log, self.sla_log = [], []

    @property
    def figures(self):
        return self.replay.figures

    def ticket(self, ticket_id, type_, at, **data):
        position = self.positions[ticket_id] = self.positions.get(ticket_id, -1) + 1
        event = recorded(type_, f"ticket-{ticket_id}", position, at, {"ticket_id": ticket_id, **data})
        self.ticket_log.append(event)
        self.replay.ticket_event(event)
        self.episodes[ticket_id], records = usage.apply(self.episodes.get(ticket_id), event, ALWAYS)
        for record in records:
            self.sla(record.type, record.data, at, event_id=record.event_id)
        return event

    def sla(self, type_, data, at, event_id=None):
        position = len(self.sla_log)
        event = RecordedEvent(event_id=event_id or uuid.uuid4(), type=type_, schema_version=1,
                              stream=f"usage-{data['ticket_id']}", stream_position=position,
                              global_position=position + 1, occurred_at=at, data=data)
        self.sla_log.append(event)
        self.replay.sla_event(event)

    def open(self, at, department="networks", urgency="medium", **extra):
        ticket_id = str(uuid.uuid4())
        self.ticket(ticket_id, "TicketOpened", at, department=department, urgency=urgency, reference="#000001",
                    requester_id="u-1", requester_email="ana@example.com", company_id="c-1", **extra)
        return ticket_id


def only(figures, key):
    assert set(figures) == {key}, figures
    return figures[key]


# -- opened -------------------------------------------------------------------------------------

def test_a_ticket_counts_as_opened_on_its_day_in_madrid_in_its_department():
    desk = Desk()
    desk.open(madrid(2026, 11, 23, 0, 30))  # 22 Nov 23:30 UTC: Madrid's 23rd
    assert only(desk.figures, (day(2026, 11, 23), "networks")) == Figures(opened=1)


def test_an_itil_ticket_counts_where_routing_places_it_on_the_day_it_was_opened_and_only_there():
    desk = Desk()
    ticket = desk.open(madrid(2026, 11, 23, 23, 59), department=None)
    assert desk.figures == {}
    desk.ticket(ticket, "TicketRouted", madrid(2026, 11, 24, 0, 0, 2), department="datacenters", previous=None)
    desk.ticket(ticket, "TicketReclassified", madrid(2026, 11, 24, 9, 0), department="sales", previous="datacenters")
    assert only(desk.figures, (day(2026, 11, 23), "datacenters")) == Figures(opened=1)


def test_a_ticket_moved_to_another_department_stays_opened_where_it_arrived():
    desk = Desk()
    ticket = desk.open(madrid(2026, 11, 23, 9, 0))
    desk.ticket(ticket, "TicketReclassified", madrid(2026, 11, 23, 9, 30), department="sales", previous="networks")
    assert only(desk.figures, (day(2026, 11, 23), "networks")) == Figures(opened=1)


# -- first responses and resolutions ------------------------------------------------------------

def test_first_response_and_resolution_in_business_seconds_against_their_targets():
    desk = Desk()
    ticket = desk.open(madrid(2026, 11, 23, 9, 0))  # a Monday; medium: 120 and 960 minutes
    desk.ticket(ticket, "StaffReplied", madrid(2026, 11, 23, 11, 0), body="Lo miramos")
    desk.ticket(ticket, "StaffReplied", madrid(2026, 11, 23, 12, 0), body="Sigue")  # not a first response
    desk.ticket(ticket, "TicketResolved", madrid(2026, 11, 24, 10, 0), solution="Hecho")
    assert desk.figures == {
        (day(2026, 11, 23), "networks"): Figures(opened=1, first_responses=1, first_response_seconds=Decimal(2 * HOUR),
                                                 first_responses_targeted=1, first_responses_within_target=1),
        (day(2026, 11, 24), "networks"): Figures(resolved=1, resolution_seconds=Decimal(9 * HOUR),  # 8 h + 1 h
                                                 resolutions_targeted=1, resolutions_within_target=1),
    }


def test_a_target_missed_is_measured_and_not_within():
    desk = Desk()
    ticket = desk.open(madrid(2026, 11, 23, 9, 0))
    desk.ticket(ticket, "InformationRequested", madrid(2026, 11, 23, 11, 0, 1), body="¿Qué router?")
    figures = desk.figures[(day(2026, 11, 23), "networks")]
    assert (figures.first_responses, figures.first_response_seconds, figures.first_responses_targeted,
            figures.first_responses_within_target) == (1, Decimal(2 * HOUR + 1), 1, 0)


def test_waiting_for_the_customer_is_left_out_of_the_resolution_time():
    desk = Desk()
    ticket = desk.open(madrid(2026, 11, 23, 9, 0))
    desk.ticket(ticket, "InformationRequested", madrid(2026, 11, 23, 10, 0), body="¿?")
    desk.ticket(ticket, "CustomerCommented", madrid(2026, 11, 25, 9, 0), body="Este")
    desk.ticket(ticket, "TicketResolved", madrid(2026, 11, 25, 12, 0), solution="Hecho")
    assert desk.figures[(day(2026, 11, 25), "networks")].resolution_seconds == Decimal(4 * HOUR)


def test_a_resolution_before_any_reply_is_the_first_response_and_a_closure_is_none():
    desk = Desk()
    resolved = desk.open(madrid(2026, 11, 23, 9, 0), department="support_24h", urgency="high")
    desk.ticket(resolved, "TicketResolved", madrid(2026, 11, 23, 9, 20), solution="Reiniciado")
    closed = desk.open(madrid(2026, 11, 23, 9, 0), department="sales")
    desk.ticket(closed, "TicketClosed", madrid(2026, 11, 23, 9, 5))
    support = desk.figures[(day(2026, 11, 23), "support_24h")]
    assert (support.first_responses, support.first_response_seconds, support.resolved) == (1, Decimal(20 * 60), 1)
    assert desk.figures[(day(2026, 11, 23), "sales")] == Figures(opened=1)


def test_a_ticket_resolved_again_after_a_refusal_counts_again_with_its_whole_resolution_time():
    desk = Desk()
    ticket = desk.open(madrid(2026, 11, 23, 9, 0))
    desk.ticket(ticket, "TicketResolved", madrid(2026, 11, 23, 10, 0), solution="Hecho")
    desk.ticket(ticket, "SolutionRefused", madrid(2026, 11, 24, 9, 0), reason="Sigue igual")
    desk.ticket(ticket, "TicketResolved", madrid(2026, 11, 24, 11, 0), solution="Ahora sí")
    first, second = desk.figures[(day(2026, 11, 23), "networks")], desk.figures[(day(2026, 11, 24), "networks")]
    assert (first.resolved, first.resolution_seconds, first.first_responses) == (1, Decimal(HOUR), 1)
    assert (second.resolved, second.resolution_seconds, second.first_responses) == (1, Decimal(3 * HOUR), 0)


def test_a_clock_without_a_target_is_measured_but_not_counted_against_one():
    desk = Desk(clocks.Targets.from_config({"targets": {"support_24h": {"high": {"first_response": 30}}}}))
    ticket = desk.open(madrid(2026, 11, 23, 9, 0))  # networks has no target here
    desk.ticket(ticket, "StaffReplied", madrid(2026, 11, 23, 9, 30), body="Hola")
    figures = desk.figures[(day(2026, 11, 23), "networks")]
    assert (figures.first_responses, figures.first_response_seconds, figures.first_responses_targeted,
            figures.first_responses_within_target) == (1, Decimal(30 * 60), 0, 0)


def test_what_happens_before_a_ticket_has_a_department_is_counted_as_unplaced():
    desk = Desk()
    ticket = desk.open(madrid(2026, 11, 23, 9, 0), department=None)
    desk.ticket(ticket, "StaffReplied", madrid(2026, 11, 23, 9, 30), body="Hola")
    assert only(desk.figures, (day(2026, 11, 23), dashboard.UNPLACED)).first_responses == 1


# -- breaches and usage ---------------------------------------------------------------------------

def alert(clock, due, department="networks"):
    """An alert's data, as Sla._alert writes it."""
    return {"ticket_id": str(uuid.uuid4()), "reference": "#000001", "clock": clock,
            "due_at": due.isoformat() if due else None, "department": department, "urgency": "medium",
            "assignee_id": None}


def test_breaches_count_on_the_day_their_target_passed_and_warnings_not_at_all():
    desk = Desk()
    late_in_the_day = madrid(2026, 11, 23, 23, 50)  # due then, raised after midnight
    desk.sla("SlaBreached", alert(clocks.RESPONSE, late_in_the_day), madrid(2026, 11, 24, 0, 1))
    desk.sla("SlaBreached", alert(clocks.RESOLUTION, madrid(2026, 11, 24, 10, 0)), madrid(2026, 11, 24, 10, 0))
    desk.sla("SlaWarning", alert(clocks.RESOLUTION, madrid(2026, 11, 24, 10, 0)), madrid(2026, 11, 24, 9, 0))
    assert desk.figures == {(day(2026, 11, 23), "networks"): Figures(response_breaches=1),
                            (day(2026, 11, 24), "networks"): Figures(resolution_breaches=1)}


def test_the_usage_record_that_counts_is_the_latest_on_its_resolution_day():
    desk = Desk()
    ticket = desk.open(madrid(2026, 11, 23, 22, 0), department="support_24h", urgency="high")
    desk.ticket(ticket, "TicketResolved", madrid(2026, 11, 23, 23, 30), solution="Hecho")
    usage_of = lambda: desk.figures[(day(2026, 11, 23), "support_24h")]  # noqa: E731
    assert (usage_of().usage_billable, usage_of().usage_billable_minutes, usage_of().usage_not_billable) == (
        1, Decimal("90.00"), 0)
    desk.ticket(ticket, "ProviderFaultMarked", madrid(2026, 11, 25, 9, 0), provider_fault=True)  # a correction
    assert (usage_of().usage_billable, usage_of().usage_billable_minutes, usage_of().usage_not_billable,
            usage_of().usage_not_billable_minutes) == (0, Decimal(0), 1, Decimal("90.00"))
    desk.ticket(ticket, "SolutionRefused", madrid(2026, 11, 25, 10, 0), reason="No")  # not resolved: counts nowhere
    assert (usage_of().usage_billable, usage_of().usage_not_billable) == (0, 0)
    desk.ticket(ticket, "TicketResolved", madrid(2026, 11, 26, 0, 30), solution="Ahora sí")
    again = desk.figures[(day(2026, 11, 26), "support_24h")]
    # the record's minutes are from opening to resolution (usage.py): two days and two and a half hours
    assert (again.usage_not_billable, again.usage_not_billable_minutes, again.resolved) == (1, Decimal("3030.00"), 1)
    assert usage_of().resolved == 1 and usage_of().opened == 1


def test_tickets_outside_24_hour_support_have_no_usage():
    desk = Desk()
    ticket = desk.open(madrid(2026, 11, 23, 9, 0))
    desk.ticket(ticket, "TicketResolved", madrid(2026, 11, 23, 10, 0), solution="Hecho")
    figures = desk.figures[(day(2026, 11, 23), "networks")]
    assert (figures.usage_billable, figures.usage_not_billable) == (0, 0)


def test_what_an_event_adds_does_not_depend_on_how_the_two_logs_interleave():
    desk = Desk()
    ticket = desk.open(madrid(2026, 11, 23, 22, 0), department="support_24h", urgency="high")
    desk.ticket(ticket, "StaffReplied", madrid(2026, 11, 23, 22, 10), body="Miro")
    desk.ticket(ticket, "TicketResolved", madrid(2026, 11, 23, 23, 0), solution="Hecho")
    desk.ticket(ticket, "ProviderFaultMarked", madrid(2026, 11, 24, 9, 0), provider_fault=True)
    desk.sla("SlaBreached", alert(clocks.RESOLUTION, madrid(2026, 11, 24, 2, 0), "support_24h"),
             madrid(2026, 11, 24, 2, 0))
    assert [e.type for e in desk.sla_log] == [usage.RECORDED, usage.CORRECTED, "SlaBreached"]
    own_first, tickets_first = (dashboard.Replay(calendar_of, TARGETS, MADRID) for _ in range(2))
    for event in desk.sla_log:
        own_first.sla_event(event)
    for event in desk.ticket_log:
        own_first.ticket_event(event)
        tickets_first.ticket_event(event)
    for event in desk.sla_log:
        tickets_first.sla_event(event)
    assert own_first.figures == tickets_first.figures == desk.figures
    assert desk.figures[(day(2026, 11, 23), "support_24h")].usage_not_billable == 1


# -- the answer -----------------------------------------------------------------------------------

def test_the_answer_has_averages_in_business_hours_shares_and_totals_for_every_department():
    rows = [
        (day(2026, 11, 23), "networks", Figures(opened=2, first_responses=2, first_response_seconds=Decimal(3 * HOUR),
                                                first_responses_targeted=2, first_responses_within_target=1)),
        (day(2026, 11, 23), "support_24h", Figures(resolved=1, resolution_seconds=Decimal(1800), resolutions_targeted=1,
                                                   resolutions_within_target=1, usage_billable=1,
                                                   usage_billable_minutes=Decimal("30.5"))),
        (day(2026, 11, 24), "networks", Figures(resolved=1, resolution_seconds=Decimal(HOUR), resolution_breaches=1)),
        (day(2026, 11, 24), "sales", Figures()),  # a correction took back all it had: not shown
        (day(2026, 11, 24), dashboard.UNPLACED, Figures(response_breaches=1)),
    ]
    answer = dashboard.answer(rows, day(2026, 11, 1), day(2026, 11, 30), "Europe/Madrid",
                              ["networks", "sales", "support_24h"])
    assert (answer["since"], answer["until"], answer["time_zone"]) == ("2026-11-01", "2026-11-30", "Europe/Madrid")
    assert [(d["day"], d["department"]) for d in answer["days"]] == [
        ("2026-11-23", "networks"), ("2026-11-23", "support_24h"), ("2026-11-24", None), ("2026-11-24", "networks")]
    first = answer["days"][0]
    assert first["opened"] == 2 and first["first_response"] == {
        "count": 2, "business_seconds": 10800.0, "average_business_hours": 1.5, "with_target": 2, "within_target": 1,
        "share_within_target": 0.5}
    assert first["resolution"] == {"count": 0, "business_seconds": 0.0, "average_business_hours": None,
                                   "with_target": 0, "within_target": 0, "share_within_target": None}
    assert answer["days"][1]["support_24h_usage"] == {"billable": 1, "billable_business_minutes": 30.5,
                                                      "not_billable": 0, "not_billable_business_minutes": 0.0}
    assert [d["department"] for d in answer["departments"]] == ["networks", "sales", "support_24h", None]
    networks = answer["departments"][0]
    assert (networks["opened"], networks["resolved"], networks["resolution"]["average_business_hours"],
            networks["resolution"]["share_within_target"], networks["breaches"]) == (
        2, 1, 1.0, None, {"first_response": 0, "resolution": 1})
    assert answer["departments"][1]["opened"] == 0
    total = answer["total"]
    assert (total["opened"], total["resolved"], total["resolution"]["business_seconds"],
            total["resolution"]["average_business_hours"], total["breaches"]) == (
        2, 2, 5400.0, 0.75, {"first_response": 1, "resolution": 1})


# -- the range asked for --------------------------------------------------------------------------

def loaded(query, today=None):
    schema = contracts.DashboardQuerySchema(today=today)
    return contracts.dashboard_range(schema.load(query), today)


def refusal(query, today=None):
    with pytest.raises(ValidationError) as refused:
        contracts.DashboardQuerySchema(today=today).load(query)
    return {name: [p["code"] for p in problems] for name, problems in field_problems(refused.value.messages).items()}


def test_the_range_defaults_to_the_last_30_days_up_to_today_or_up_to_until():
    today = day(2026, 12, 3)
    assert loaded({}, today) == (day(2026, 11, 4), today)
    assert loaded({"until": "2026-02-10"}, today) == (day(2026, 1, 12), day(2026, 2, 10))
    assert loaded({"since": "2026-11-30"}, today) == (day(2026, 11, 30), today)
    assert loaded({"since": "2026-09-03", "until": "2026-12-03"}, today) == (day(2026, 9, 3), today)  # 92 days


def test_a_range_over_92_days_reversed_or_of_bad_dates_is_refused_naming_the_parameter():
    today = day(2026, 12, 3)
    assert refusal({"since": "2026-09-02", "until": "2026-12-03"}) == {"since": ["dashboard_range_too_long"]}
    assert refusal({"since": "2026-01-01"}, today) == {"since": ["dashboard_range_too_long"]}
    assert refusal({"since": "2026-12-04"}, today) == {"since": ["dashboard_since_after_until"]}
    assert refusal({"since": "2026-12-02", "until": "2026-12-01"}) == {"since": ["dashboard_since_after_until"]}
    assert refusal({"since": "2026-02-30"}) == {"since": ["invalid_date"]}
    assert refusal({"until": "3 Dec"}) == {"until": ["invalid_date"]}
    assert refusal({"day": "2026-12-01"}) == {"day": ["unknown_field"]}
    assert loaded({"since": "2026-01-01"}) == (day(2026, 1, 1), None)  # the gateway does not know today


def test_the_longest_range_names_its_earliest_start():
    with pytest.raises(ValidationError) as refused:
        contracts.DashboardQuerySchema().load({"since": "2026-01-01", "until": "2026-12-31"})
    (problem,) = field_problems(refused.value.messages)["since"]
    assert problem["params"] == {"max": 92, "earliest": "2026-10-01"}
