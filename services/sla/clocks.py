"""SLA clocks: pure. A ticket's two clocks (first response, resolution) move only with the ticket's
events, at the times those events occurred, so replaying the log reproduces them exactly.

- Both start when the ticket is opened, in the business time of its department's calendar.
- First response stops at the first public message from staff (a reply or a request for
  information).
- Resolution pauses while the ticket waits for the customer, resumes when they answer, stops at
  resolution (or closure), and resumes when a refused solution reopens the ticket: the clock
  measures the whole time the provider had the ticket.
- A department or urgency change changes the target and the calendar from then on; the time
  already spent is kept.
Alerts (warning at a fraction of the target, breach at the target) are raised once each per clock
by the service's timer; `alerts_due` says which are due at a given moment.
"""
import dataclasses
import datetime as dt

from helpdesk.contracts import REOPENING_TICKET_EVENTS

RESPONSE, RESOLUTION = "first_response", "resolution"
CLOCKS = (RESPONSE, RESOLUTION)
DEFAULT_TARGET = "default"


@dataclasses.dataclass(frozen=True)
class Targets:
    """Business minutes per (department, urgency, clock), read from sla.yaml `targets`."""

    table: dict
    warning_fraction: float = 0.8

    @classmethod
    def from_config(cls, raw):
        table = {}
        for department, by_urgency in (raw.get("targets") or {}).items():
            for urgency, clocks in by_urgency.items():
                for clock, minutes in clocks.items():
                    if clock not in CLOCKS or float(minutes) <= 0:
                        raise ValueError(f"sla targets: {department}.{urgency}.{clock}: {minutes!r}")
                    table[(department, urgency, clock)] = float(minutes)
        fraction = float(raw.get("warning_fraction", 0.8))
        if not 0 < fraction < 1:
            raise ValueError("sla warning_fraction must be between 0 and 1")
        return cls(table, fraction)

    def minutes(self, department, urgency, clock):
        for key in ((department, urgency or "medium", clock), (DEFAULT_TARGET, urgency or "medium", clock)):
            if key in self.table:
                return self.table[key]
        return None


@dataclasses.dataclass(frozen=True)
class Timer:
    target_seconds: float | None
    spent_seconds: float = 0.0          # business seconds before `running_since`
    running_since: dt.datetime | None = None
    done: bool = False
    warned: bool = False
    breached: bool = False

    @property
    def running(self):
        return self.running_since is not None


@dataclasses.dataclass(frozen=True)
class TicketClock:
    ticket_id: str
    reference: str
    department: str | None
    urgency: str | None
    assignee_id: str | None
    version: int                        # stream position of the last ticket event applied
    timers: dict                        # clock name -> Timer


def _stop(timer, at, calendar, done):
    if not timer.running:
        return dataclasses.replace(timer, done=timer.done or done)
    spent = timer.spent_seconds + calendar.seconds_between(timer.running_since, at)
    return dataclasses.replace(timer, spent_seconds=spent, running_since=None, done=done)


def _start(timer, at):
    if timer.running or timer.done:
        return timer
    return dataclasses.replace(timer, running_since=at)


def _retarget(clock, department, urgency, at, calendars_of, targets):
    """Spent time is measured up to `at` on the old calendar, then the clock runs on the new one."""
    old = calendars_of(clock.department)
    timers = {}
    for name, timer in clock.timers.items():
        was_running = timer.running
        timer = _stop(timer, at, old, timer.done)
        timer = dataclasses.replace(timer, target_seconds=_seconds(targets.minutes(department, urgency, name)))
        timers[name] = _start(timer, at) if was_running else timer
    return dataclasses.replace(clock, department=department, urgency=urgency, timers=timers)


def _seconds(minutes):
    return None if minutes is None else minutes * 60


def apply(clock, event, calendars_of, targets):
    """The clock after one ticket event. `calendars_of(department)` → its BusinessCalendar."""
    data, at = event.data, event.occurred_at
    if event.type == "TicketOpened":
        department, urgency = data.get("department"), data.get("urgency")
        return TicketClock(
            ticket_id=data["ticket_id"], reference=data.get("reference", ""), department=department,
            urgency=urgency, assignee_id=None, version=event.stream_position,
            timers={name: Timer(_seconds(targets.minutes(department, urgency, name)), running_since=at)
                    for name in CLOCKS})
    if clock is None:
        return None
    calendar = calendars_of(clock.department)
    timers = dict(clock.timers)
    changes = {}
    if event.type in ("StaffReplied", "InformationRequested"):
        timers[RESPONSE] = _stop(timers[RESPONSE], at, calendar, done=True)
    if event.type == "InformationRequested":
        timers[RESOLUTION] = _stop(timers[RESOLUTION], at, calendar, done=False)
    elif event.type == "CustomerCommented":
        timers[RESOLUTION] = _start(timers[RESOLUTION], at)
    elif event.type in ("TicketResolved", "SolutionApproved", "TicketClosed", "TicketMerged"):
        timers = {name: _stop(timer, at, calendar, done=True) for name, timer in timers.items()}
    elif event.type in REOPENING_TICKET_EVENTS:
        timers[RESOLUTION] = _start(dataclasses.replace(timers[RESOLUTION], done=False), at)
    elif event.type == "TicketAssigned":
        changes["assignee_id"] = data["agent_id"]
    clock = dataclasses.replace(clock, timers=timers, version=event.stream_position, **changes)
    if event.type in ("TicketRouted", "TicketReclassified"):
        clock = _retarget(clock, data["department"], clock.urgency, at, calendars_of, targets)
        clock = dataclasses.replace(clock, assignee_id=None)
    elif event.type == "UrgencyChanged":
        clock = _retarget(clock, clock.department, data["urgency"], at, calendars_of, targets)
    return clock


def due_at(timer, calendar, fraction=1.0):
    """When the timer reaches `fraction` of its target (None when stopped, paused or untargeted)."""
    if not timer.running or timer.target_seconds is None:
        return None
    remaining = timer.target_seconds * fraction - timer.spent_seconds
    return calendar.add_seconds(timer.running_since, max(0.0, remaining))


def alerts_due(clock, now, calendar, fraction):
    """[(clock name, "SlaWarning" | "SlaBreached", due moment)] not yet raised and due at `now`."""
    alerts = []
    for name, timer in clock.timers.items():
        breach = due_at(timer, calendar)
        if breach is not None and now >= breach and not timer.breached:
            alerts.append((name, "SlaBreached", breach))
            continue
        warning = due_at(timer, calendar, fraction)
        if warning is not None and now >= warning and not timer.warned and not timer.breached:
            alerts.append((name, "SlaWarning", breach))
    return alerts


def mark_alert(clock, name, kind):
    flag = "breached" if kind == "SlaBreached" else "warned"
    timers = dict(clock.timers)
    timers[name] = dataclasses.replace(timers[name], **{flag: True, "warned": True})
    return dataclasses.replace(clock, timers=timers)


def next_alert_at(clock, calendar, fraction):
    """The earliest moment an alert of this clock can fall due (for the timer's query)."""
    moments = []
    for timer in clock.timers.values():
        if timer.breached:
            continue
        moment = due_at(timer, calendar, 1.0 if timer.warned else fraction)
        if moment is not None:
            moments.append(moment)
    return min(moments) if moments else None


# -- (de)serialisation of the state kept in sla.clocks ------------------------------------------

def to_json(clock):
    """Fields copied one level deep (`dataclasses.asdict` deep-copies every value: a tenth of
    the SLA service's CPU per delivery, issue 11)."""
    def timer_json(timer):
        values = dict(vars(timer))
        values["running_since"] = timer.running_since.isoformat() if timer.running_since else None
        return values

    values = dict(vars(clock))
    values["timers"] = {name: timer_json(timer) for name, timer in clock.timers.items()}
    return values


def from_json(values):
    def timer_from(raw):
        raw = dict(raw)
        raw["running_since"] = dt.datetime.fromisoformat(raw["running_since"]) if raw["running_since"] else None
        return Timer(**raw)

    values = dict(values)
    values["timers"] = {name: timer_from(raw) for name, raw in values["timers"].items()}
    return TicketClock(**values)
