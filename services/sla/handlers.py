"""SLA's application layer: ticket events move the clocks and the 24-hour usage ledger (in the
delivering transaction); `raise_alerts` raises each warning and breach once, as events the
notifier mails; the gateway asks for due times. Plain code over a unit of work
(helpdesk.application), wired in bootstrap.py."""
import yaml

from helpdesk import calendars, catalog
from helpdesk.events import NewEvent, caused_by, stream_name

from . import clocks, usage


class SlaSettings:
    """Calendars, targets, and which calendar each department keeps (catalog.yaml)."""

    def __init__(self, config):
        path = config.get("SLA_CONFIG") or calendars.DEFAULT_PATH
        with open(path, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
        self.calendars = calendars.calendars_from(raw, path)
        self.targets = clocks.Targets.from_config(raw)
        self.departments = catalog.load(config).departments

    def calendar_of(self, department):
        """A department's calendar; a ticket without one yet (ITIL, not routed) keeps 8x5."""
        name = self.departments[department].calendar if department in self.departments else "8x5"
        return self.calendars[name]


class Sla:
    """`uow`: the unit of work (repositories.py); `settings`: SlaSettings; `clock()`: the real
    time now (clocks are measured from the events' real times)."""

    def __init__(self, uow, settings, clock):
        self.uow, self.settings, self.clock = uow, settings, clock

    def apply_ticket_event(self, work, event):
        ticket_id = event.data.get("ticket_id")
        if ticket_id is None:
            return
        settings = self.settings
        opening = event.type == "TicketOpened"  # starts both afresh: nothing to read first
        clock = clocks.apply(None if opening else work.clocks.load(ticket_id), event, settings.calendar_of,
                             settings.targets)
        if clock is not None:
            work.clocks.save(clock, settings.calendar_of(clock.department), settings.targets.warning_fraction)
        before = None if opening else work.episodes.load(ticket_id)
        episode, records = usage.apply(before, event, settings.calendar_of(usage.SUPPORT_24H))
        if episode is not None and episode != before:
            work.episodes.save(episode)
        if records:
            work.events.append(stream_name("usage", ticket_id), caused_by(records, event), None)

    def raise_alerts(self):
        """Raises the warnings and breaches that fell due, each once, one ticket per transaction."""
        now = self.clock()
        with self.uow() as work:
            due = work.clocks.alerting(now)
        for ticket_id in due:
            with self.uow() as work:
                self._alert(work, ticket_id, now)
        return len(due)

    def _alert(self, work, ticket_id, now):
        clock = work.clocks.load(ticket_id, lock=True)
        calendar = self.settings.calendar_of(clock.department)
        fraction = self.settings.targets.warning_fraction
        events = []
        for name, kind, due in clocks.alerts_due(clock, now, calendar, fraction):
            events.append(NewEvent(kind, {
                "ticket_id": clock.ticket_id, "reference": clock.reference, "clock": name,
                "due_at": due.isoformat() if due else None, "department": clock.department,
                "urgency": clock.urgency, "assignee_id": clock.assignee_id,
            }, actor="system:sla"))
            clock = clocks.mark_alert(clock, name, kind)
        if events:
            work.events.append(stream_name("sla_alert", ticket_id), events, None)
        work.clocks.save(clock, calendar, fraction)

    def due_times(self, ticket_ids):
        """{ticket_id: {first_response_due_at, resolution_due_at, paused, breached: [...]}}."""
        with self.uow() as work:
            rows = work.clocks.due_times([str(t) for t in ticket_ids][:200])
        answer = {}
        for ticket_id, clock, response_due, resolution_due in rows:
            resolution = clock.timers[clocks.RESOLUTION]
            answer[str(ticket_id)] = {
                "first_response_due_at": response_due.isoformat() if response_due else None,
                "resolution_due_at": resolution_due.isoformat() if resolution_due else None,
                "resolution_paused": not resolution.running and not resolution.done,
                "breached": [name for name, timer in clock.timers.items() if timer.breached],
            }
        return answer
