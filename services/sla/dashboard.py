"""The supervisors' dashboard: pure. Figures per day (in the provider's time zone,
DEFAULT_TIME_ZONE) and department, each what some event added to it:

- opened: a ticket on the day it was opened, in the first department it was placed in (an ITIL
  ticket is counted when routing places it, on the day it was opened);
- first responses: the first public message from staff (a reply, a request for information, or
  a resolution, whichever came first), on its day, in the ticket's department then, with the
  business seconds its first-response clock measured, whether the clock had a target and whether
  it stayed within it. A ticket closed or merged before anyone answered has no first response;
- resolved (and resolution times): every resolution, on its day, in the ticket's department
  then, with the business seconds its resolution clock measured (the clock of services/sla/
  clocks.py: waits for the customer left out). A ticket resolved again after a refused solution
  counts again, on its new day, with its whole resolution time;
- breaches: the SlaBreached alerts the service raised, on the day the target passed, in the
  department the alert names;
- 24-hour support usage: the usage record that counts (the latest per usage_id), on the day its
  ticket was resolved, billable or not, with its business minutes. A correction takes back what
  the record it corrects had added; a reopened ticket's record (resolved_at null) counts nowhere
  until it is resolved again.

A ticket without a department yet is counted under UNPLACED. `ticket_changes` and `sla_changes`
say what one event adds, `apply` adds it up; `Replay` folds both logs as the live service does,
which is what the rebuild (projection.py) runs. Seconds and minutes are Decimals (numeric in
PostgreSQL), so sums do not depend on the order in which they were added.
"""
import dataclasses
import datetime as dt
from decimal import Decimal

from . import clocks, usage

UNPLACED = ""  # the department of a ticket not placed in one yet (an ITIL ticket before routing)
SECONDS, MINUTES = Decimal("0.001"), Decimal("0.01")
FIRST_RESPONSES = frozenset({"StaffReplied", "InformationRequested", "TicketResolved"})
ZERO = Decimal(0)


@dataclasses.dataclass(frozen=True)
class Figures:
    opened: int = 0
    resolved: int = 0
    first_responses: int = 0
    first_response_seconds: Decimal = ZERO
    first_responses_targeted: int = 0
    first_responses_within_target: int = 0
    resolution_seconds: Decimal = ZERO
    resolutions_targeted: int = 0
    resolutions_within_target: int = 0
    response_breaches: int = 0
    resolution_breaches: int = 0
    usage_billable: int = 0
    usage_billable_minutes: Decimal = ZERO
    usage_not_billable: int = 0
    usage_not_billable_minutes: Decimal = ZERO

    def values(self):
        return tuple(getattr(self, name) for name in FIELDS)

    def __add__(self, other):
        return Figures(*(mine + theirs for mine, theirs in zip(self.values(), other.values())))

    def __neg__(self):
        return Figures(*(-value for value in self.values()))

    def __sub__(self, other):
        return self + -other

    def __bool__(self):
        return any(self.values())


FIELDS = tuple(field.name for field in dataclasses.fields(Figures))


def day_of(moment, zone):
    return moment.astimezone(zone).date()


def _changes(*entries):
    """{(day, department): Figures} of (day, department, Figures) entries, summed, without empty ones."""
    changes = {}
    for day, department, figures in entries:
        key = (day, department or UNPLACED)
        changes[key] = changes.get(key, Figures()) + figures
    return {key: figures for key, figures in changes.items() if figures}


def apply(figures, changes):
    """`figures` ({(day, department): Figures}) with `changes` added, as a new dict."""
    result = dict(figures)
    for key, change in changes.items():
        result[key] = result.get(key, Figures()) + change
    return result


def _measure(timer):
    """(business seconds, has a target, within it) of a stopped clock."""
    targeted = timer.target_seconds is not None
    return (Decimal(timer.spent_seconds).quantize(SECONDS), int(targeted),
            int(targeted and timer.spent_seconds <= timer.target_seconds))


def ticket_changes(event, before, after, opened_at, zone):
    """What one ticket event adds. `before`/`after`: the ticket's clock (clocks.TicketClock)
    before and after the event (None before TicketOpened); `opened_at`: when the ticket was
    opened (the usage episode's opened_at; the event's own time for TicketOpened)."""
    if after is None:
        return {}
    day = day_of(event.occurred_at, zone)
    entries = []
    if event.type == "TicketOpened":
        if after.department is not None:
            entries.append((day, after.department, Figures(opened=1)))
    elif (event.type in ("TicketRouted", "TicketReclassified") and before is not None and before.department is None
          and opened_at is not None):
        entries.append((day_of(opened_at, zone), after.department, Figures(opened=1)))
    if before is not None and event.type in FIRST_RESPONSES and not before.timers[clocks.RESPONSE].done \
            and after.timers[clocks.RESPONSE].done:
        seconds, targeted, within = _measure(after.timers[clocks.RESPONSE])
        entries.append((day, after.department, Figures(
            first_responses=1, first_response_seconds=seconds, first_responses_targeted=targeted,
            first_responses_within_target=within)))
    if event.type == "TicketResolved":
        seconds, targeted, within = _measure(after.timers[clocks.RESOLUTION])
        entries.append((day, after.department, Figures(
            resolved=1, resolution_seconds=seconds, resolutions_targeted=targeted, resolutions_within_target=within)))
    return _changes(*entries)


def _usage(record, zone):
    """What a usage record adds while it is the one that counts."""
    if not record or not record.get("resolved_at"):
        return []
    minutes = Decimal(str(record["business_minutes"])).quantize(MINUTES)
    figures = (Figures(usage_billable=1, usage_billable_minutes=minutes) if record["billable"]
               else Figures(usage_not_billable=1, usage_not_billable_minutes=minutes))
    return [(day_of(dt.datetime.fromisoformat(record["resolved_at"]), zone), usage.SUPPORT_24H, figures)]


def sla_changes(event, corrected, zone):
    """What one of the SLA service's own events adds: a breach, or a usage record (`corrected`:
    the data of the record it corrects, None for a first record)."""
    data = event.data
    if event.type == "SlaBreached":
        at = dt.datetime.fromisoformat(data["due_at"]) if data.get("due_at") else event.occurred_at
        field = "response_breaches" if data["clock"] == clocks.RESPONSE else "resolution_breaches"
        return _changes((day_of(at, zone), data.get("department"), Figures(**{field: 1})))
    if event.type in (usage.RECORDED, usage.CORRECTED):
        taken_back = [(day, department, -figures) for day, department, figures in _usage(corrected, zone)]
        return _changes(*_usage(data, zone), *taken_back)
    return {}


class Replay:
    """The figures folded from the logs as the live service derived them: the ticket events it
    applied (each stream in order) and its own alert and usage events (in log order). The two logs
    may be given in any interleaving: what each event adds does not depend on the other log."""

    def __init__(self, calendar_of, targets, zone):
        self.calendar_of, self.targets, self.zone = calendar_of, targets, zone
        self.clocks, self.episodes, self.records, self.figures = {}, {}, {}, {}

    def ticket_event(self, event):
        ticket_id = event.data.get("ticket_id")
        if ticket_id is None:
            return
        opening = event.type == "TicketOpened"
        before = None if opening else self.clocks.get(ticket_id)
        after = clocks.apply(before, event, self.calendar_of, self.targets)
        episode = None if opening else self.episodes.get(ticket_id)
        opened_at = event.occurred_at if opening else (episode.opened_at if episode else None)
        self.figures = apply(self.figures, ticket_changes(event, before, after, opened_at, self.zone))
        if after is not None:
            self.clocks[ticket_id] = after
        episode, _ = usage.apply(episode, event, self.calendar_of(usage.SUPPORT_24H))
        if episode is not None:
            self.episodes[ticket_id] = episode

    def sla_event(self, event):
        corrected = self.records.get(event.data.get("corrects")) if event.type == usage.CORRECTED else None
        if event.type in (usage.RECORDED, usage.CORRECTED):
            self.records[str(event.event_id)] = event.data
        self.figures = apply(self.figures, sla_changes(event, corrected, self.zone))


# -- what the dashboard answers -------------------------------------------------------------------

def _rate(part, whole, digits):
    return round(part / whole, digits) if whole else None


def _measured(count, seconds, targeted, within):
    return {"count": count, "business_seconds": float(seconds),
            "average_business_hours": _rate(float(seconds) / 3600, count, 3),
            "with_target": targeted, "within_target": within, "share_within_target": _rate(within, targeted, 4)}


def shown(figures):
    """Figures as the dashboard answers them, with averages (business hours) and shares."""
    f = figures
    return {
        "opened": f.opened,
        "resolved": f.resolved,
        "first_response": _measured(f.first_responses, f.first_response_seconds, f.first_responses_targeted,
                                    f.first_responses_within_target),
        "resolution": _measured(f.resolved, f.resolution_seconds, f.resolutions_targeted,
                                f.resolutions_within_target),
        "breaches": {"first_response": f.response_breaches, "resolution": f.resolution_breaches},
        "support_24h_usage": {"billable": f.usage_billable,
                              "billable_business_minutes": float(f.usage_billable_minutes),
                              "not_billable": f.usage_not_billable,
                              "not_billable_business_minutes": float(f.usage_not_billable_minutes)},
    }


def answer(rows, since, until, time_zone, departments):
    """The answer for days `since`..`until`: `rows` [(day, department, Figures)] of those days;
    `departments` the catalogue's codes, in its order (each gets totals, zero or not)."""
    totals = {department: Figures() for department in departments}
    days, overall = [], Figures()
    for day, department, figures in sorted(rows, key=lambda row: (row[0], row[1])):
        if not figures:
            continue
        days.append({"day": day.isoformat(), "department": department or None, **shown(figures)})
        totals[department] = totals.get(department, Figures()) + figures
        overall += figures
    known = [d for d in departments] + sorted(d for d in totals if d not in departments)
    return {"since": since.isoformat(), "until": until.isoformat(), "time_zone": time_zone, "days": days,
            "departments": [{"department": d or None, **shown(totals[d])} for d in known],
            "total": shown(overall)}
