"""SLA's application layer: ticket events move the clocks, the 24-hour usage ledger and the
supervisors' dashboard (in the delivering transaction); `raise_alerts` raises each warning and
breach once, as events the notifier mails, and counts the breaches in the dashboard; the gateway
asks for due times and the dashboard. Plain code over a unit of work (helpdesk.application),
wired in bootstrap.py.

Every transaction that writes the dashboard takes its lock first (`work.dashboard.hold()`,
before any clock is read or locked): an alert's transaction and a batch of ticket events would
otherwise each hold a clock row or a day's figures the other waits for.

Alerts raised and usage records written are counted once their transaction committed
(helpdesk_sla_alerts_total, helpdesk_usage_records_total)."""
import zoneinfo

import yaml

from helpdesk import calendars, catalog, contracts, metrics, timezones
from helpdesk.events import NewEvent, caused_by, stream_name

from . import clocks, dashboard, usage


ALERT_KINDS = {"SlaWarning": "warning", "SlaBreached": "breach"}  # helpdesk_sla_alerts_total's `kind`
USAGE_RECORD_KINDS = {usage.RECORDED: "recorded", usage.CORRECTED: "corrected"}


class SlaSettings:
    """Calendars, targets, and which calendar each department keeps (catalog.yaml)."""

    def __init__(self, config):
        path = config.get("SLA_CONFIG") or calendars.DEFAULT_PATH
        with open(path, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
        self.calendars = calendars.calendars_from(raw, path)
        self.targets = clocks.Targets.from_config(raw)
        self.departments = catalog.load(config).departments
        self.time_zone_name = timezones.default_from(config)  # the dashboard's days are the provider's
        self.time_zone = zoneinfo.ZoneInfo(self.time_zone_name)

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
        work.dashboard.hold()
        opening = event.type == "TicketOpened"  # starts both afresh: nothing to read first
        old_clock = None if opening else work.clocks.load(ticket_id)
        clock = clocks.apply(old_clock, event, settings.calendar_of, settings.targets)
        if clock is not None:
            work.clocks.save(clock, settings.calendar_of(clock.department), settings.targets.warning_fraction)
        before = None if opening else work.episodes.load(ticket_id)
        episode, records = usage.apply(before, event, settings.calendar_of(usage.SUPPORT_24H))
        if episode is not None and episode != before:
            work.episodes.save(episode)
        opened_at = event.occurred_at if opening else (before.opened_at if before else None)
        changes = dashboard.ticket_changes(event, old_clock, clock, opened_at, settings.time_zone)
        if records:
            changes = dashboard.apply(changes, self._record_usage(work, ticket_id, records, event))
        work.dashboard.add(changes)

    def _record_usage(self, work, ticket_id, records, cause):
        """Appends the usage records; returns what they add to the dashboard (a correction takes
        back what the record it corrects had added: read from the ticket's usage stream)."""
        stream = stream_name("usage", ticket_id)
        corrects = {record.data["corrects"] for record in records} - {None}
        corrected = {str(e.event_id): e.data for e in work.events.read_stream(stream)
                     if str(e.event_id) in corrects} if corrects else {}
        changes = {}
        for recorded in work.events.append(stream, caused_by(records, cause), None):
            changes = dashboard.apply(changes, dashboard.sla_changes(
                recorded, corrected.get(recorded.data["corrects"]), self.settings.time_zone))
            work.after_commit(metrics.USAGE_RECORDS.labels("sla", USAGE_RECORD_KINDS[recorded.type]).inc)
        return changes

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
        work.dashboard.hold()
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
            changes = {}
            for recorded in work.events.append(stream_name("sla_alert", ticket_id), events, None):
                changes = dashboard.apply(changes, dashboard.sla_changes(recorded, None, self.settings.time_zone))
                work.after_commit(metrics.SLA_ALERTS.labels(
                    "sla", ALERT_KINDS[recorded.type], recorded.data["clock"], recorded.data["department"] or "").inc)
            work.dashboard.add(changes)
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

    def dashboard(self, since=None, until=None):
        """The supervisors' dashboard for the days `since`..`until` (ISO dates, both included; by
        default the last 30 days up to today, in the provider's time zone): figures per day and
        department, with averages and shares, and totals per department (dashboard.answer)."""
        zone = self.settings.time_zone
        today = self.clock().astimezone(zone).date()
        given = {name: value for name, value in (("since", since), ("until", until)) if value is not None}
        query = contracts.load(contracts.DashboardQuerySchema(today=today), given)
        since, until = contracts.dashboard_range(query, today)
        with self.uow() as work:
            rows = work.dashboard.between(since, until)
        return dashboard.answer(rows, since, until, self.settings.time_zone_name, list(self.settings.departments))
