"""SLA clocks and the 24-hour usage ledger: pure, driven by ticket events at chosen times (the
fake clock is the events' own timestamps)."""
import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest

from helpdesk.calendars import BusinessCalendar
from helpdesk.contracts import REOPENING_TICKET_EVENTS
from helpdesk.events import RecordedEvent
from services.sla import clocks, usage

MADRID = ZoneInfo("Europe/Madrid")
OFFICE = BusinessCalendar("8x5")
ALWAYS = BusinessCalendar("24x7", always_open=True)
TARGETS = clocks.Targets.from_config({"warning_fraction": 0.8, "targets": {
    "default": {"high": {"first_response": 60, "resolution": 480},
                "medium": {"first_response": 120, "resolution": 960}},
    "support_24h": {"high": {"first_response": 30, "resolution": 240}}}})


def calendar_of(department):
    return ALWAYS if department == "support_24h" else OFFICE


def madrid(*args):
    return dt.datetime(*args, tzinfo=MADRID)


class Ticket:
    """Feeds a ticket's events, at chosen moments, into the clock and the ledger."""

    def __init__(self, department="networks", urgency="medium"):
        self.ticket_id, self.position = str(uuid.uuid4()), -1
        self.clock = self.episode = None
        self.records = []
        self.department, self.urgency = department, urgency

    def event(self, type_, at, **data):
        self.position += 1
        event = RecordedEvent(event_id=uuid.uuid4(), type=type_, schema_version=1, stream=f"ticket-{self.ticket_id}",
                              stream_position=self.position, global_position=self.position + 1, occurred_at=at,
                              data={"ticket_id": self.ticket_id, **data})
        self.clock = clocks.apply(self.clock, event, calendar_of, TARGETS)
        self.episode, records = usage.apply(self.episode, event, ALWAYS)
        self.records += records
        return self

    def open(self, at):
        return self.event("TicketOpened", at, department=self.department, urgency=self.urgency,
                          reference="#000001", requester_id="u-1", requester_email="ana@example.com",
                          company_id="c-1")

    def due(self, name):
        return clocks.due_at(self.clock.timers[name], calendar_of(self.clock.department))


def test_an_8x5_ticket_opened_friday_1630_with_a_2_hour_target_is_due_monday_1030():
    ticket = Ticket().open(madrid(2026, 11, 20, 16, 30))  # a Friday
    assert ticket.due(clocks.RESPONSE) == madrid(2026, 11, 23, 10, 30)


def test_unless_monday_is_a_holiday():
    # 7 Dec 2026 is a Monday; 8 Dec (Immaculate Conception) is a national holiday in Spain.
    ticket = Ticket().open(madrid(2026, 12, 4, 16, 30))
    assert ticket.due(clocks.RESPONSE) == madrid(2026, 12, 7, 10, 30)
    ticket = Ticket().open(madrid(2026, 12, 7, 16, 30))
    assert ticket.due(clocks.RESPONSE) == madrid(2026, 12, 9, 10, 30)


def test_waiting_for_the_customer_pauses_the_resolution_clock_and_the_answer_resumes_it():
    ticket = Ticket().open(madrid(2026, 11, 23, 9, 0))  # Monday; resolution target 960 min = 2 days
    assert ticket.due(clocks.RESOLUTION) == madrid(2026, 11, 24, 17, 0)
    ticket.event("InformationRequested", madrid(2026, 11, 23, 11, 0), body="¿Qué router?")
    assert ticket.due(clocks.RESOLUTION) is None  # paused
    assert ticket.due(clocks.RESPONSE) is None and ticket.clock.timers[clocks.RESPONSE].done
    ticket.event("CustomerCommented", madrid(2026, 11, 25, 9, 0), body="Este")  # two days later
    # 2 hours were spent before the pause: 14 remain from Wednesday 09:00
    assert ticket.due(clocks.RESOLUTION) == madrid(2026, 11, 26, 15, 0)


@pytest.mark.parametrize("reopening", sorted(REOPENING_TICKET_EVENTS))
def test_resolution_stops_the_clock_and_a_refusal_or_a_staff_reopening_resumes_it(reopening):
    ticket = Ticket().open(madrid(2026, 11, 23, 9, 0))
    ticket.event("StaffReplied", madrid(2026, 11, 23, 9, 30), body="Mirando")
    ticket.event("TicketResolved", madrid(2026, 11, 23, 12, 0), solution="Reiniciado")
    assert ticket.due(clocks.RESOLUTION) is None
    assert ticket.clock.timers[clocks.RESOLUTION].spent_seconds == 3 * 3600
    ticket.event(reopening, madrid(2026, 11, 23, 14, 0), reason="Sigue igual")
    # 13 h left from Monday 14:00: 3 h on Monday, 8 on Tuesday, 2 on Wednesday
    assert ticket.due(clocks.RESOLUTION) == madrid(2026, 11, 25, 11, 0)


def test_a_department_change_keeps_the_time_spent_and_takes_the_new_calendar_and_target():
    ticket = Ticket(department="networks", urgency="high").open(madrid(2026, 11, 21, 10, 0))  # Saturday
    ticket.event("TicketRouted", madrid(2026, 11, 21, 11, 0), department="support_24h", reason="urgent")
    # nothing was spent on the office calendar on a Saturday; 24x7 high: 30 minutes from 11:00
    assert ticket.due(clocks.RESPONSE) == madrid(2026, 11, 21, 11, 30)


@pytest.mark.parametrize("fraction_elapsed,expected", [(0.5, []), (0.85, ["SlaWarning"]), (1.01, ["SlaBreached"])])
def test_alerts_fall_due_at_the_warning_fraction_and_at_the_target(fraction_elapsed, expected):
    ticket = Ticket(department="support_24h", urgency="high").open(madrid(2026, 11, 21, 10, 0))
    now = madrid(2026, 11, 21, 10, 0) + dt.timedelta(minutes=30 * fraction_elapsed)
    alerts = clocks.alerts_due(ticket.clock, now, ALWAYS, TARGETS.warning_fraction)
    assert [kind for name, kind, _ in alerts if name == clocks.RESPONSE] == expected


def test_each_alert_is_raised_once():
    ticket = Ticket(department="support_24h", urgency="high").open(madrid(2026, 11, 21, 10, 0))
    clock = ticket.clock
    late = madrid(2026, 11, 21, 18, 0)
    for name, kind, _ in clocks.alerts_due(clock, late, ALWAYS, 0.8):
        clock = clocks.mark_alert(clock, name, kind)
    assert clocks.alerts_due(clock, late, ALWAYS, 0.8) == []
    assert clocks.from_json(clocks.to_json(clock)) == clock


# -- the 24-hour usage ledger --------------------------------------------------------------------

def support(urgency="high"):
    return Ticket(department="support_24h", urgency=urgency).open(madrid(2026, 11, 21, 2, 0))


def test_an_urgent_provider_fault_ticket_is_not_billable_and_a_non_fault_one_is():
    faulty = support().event("ProviderFaultMarked", madrid(2026, 11, 21, 2, 30), provider_fault=True)
    faulty.event("TicketResolved", madrid(2026, 11, 21, 4, 0), solution="Fibra reparada")
    (record,) = faulty.records
    assert record.type == usage.RECORDED and record.data["billable"] is False
    assert record.data["wall_minutes"] == 120 == record.data["business_minutes"]

    plain = support().event("TicketResolved", madrid(2026, 11, 21, 3, 0), solution="Configuración")
    (record,) = plain.records
    assert record.data["billable"] is True and record.data["provider_fault"] is False
    medium_fault = support("medium").event("ProviderFaultMarked", madrid(2026, 11, 21, 2, 5), provider_fault=True)
    medium_fault.event("TicketResolved", madrid(2026, 11, 21, 3, 0), solution="x")
    assert medium_fault.records[0].data["billable"] is True  # not urgent: billable


@pytest.mark.parametrize("reopening", sorted(REOPENING_TICKET_EVENTS))
def test_corrections_never_edit_they_add_a_record_that_points_at_the_previous_one(reopening):
    ticket = support().event("TicketResolved", madrid(2026, 11, 21, 3, 0), solution="x")
    ticket.event("ProviderFaultMarked", madrid(2026, 11, 22, 9, 0), provider_fault=True)  # after resolution
    ticket.event(reopening, madrid(2026, 11, 22, 10, 0), reason="no")
    ticket.event("TicketResolved", madrid(2026, 11, 22, 11, 0), solution="y")
    kinds = [(r.type, r.data["billable"]) for r in ticket.records]
    assert kinds == [(usage.RECORDED, True), (usage.CORRECTED, False), (usage.CORRECTED, False),
                     (usage.CORRECTED, False)]
    assert "reopened" in ticket.records[2].data["reason"]
    for previous, correction in zip(ticket.records, ticket.records[1:]):
        assert correction.data["corrects"] == str(previous.event_id)
        assert correction.data["usage_id"] == previous.data["usage_id"]
    assert ticket.records[-1].data["wall_minutes"] == 33 * 60  # opened 02:00 on the 21st, resolved 11:00 on the 22nd


def test_tickets_of_other_departments_are_not_in_the_ledger():
    ticket = Ticket(department="networks", urgency="high").open(madrid(2026, 11, 23, 9, 0))
    ticket.event("TicketResolved", madrid(2026, 11, 23, 10, 0), solution="x")
    assert ticket.records == []
