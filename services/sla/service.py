"""SLA entrypoints: ticket events move the clocks and the 24-hour usage ledger (in the inbox's
transaction); a timer raises each warning and breach once, as events the notifier mails; the
gateway asks for due times."""

import yaml
from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider

from helpdesk import calendars, catalog, errors
from helpdesk.events import NewEvent, caused_by, stream_name, utcnow
from helpdesk.extensions import EventStore, Health, Inbox, StreamOwner, configured_timer, rpc, subscribe

from . import clocks, store, usage
from .billing import BILLING_RELAY

ALERT_INTERVAL = 30  # seconds between two looks for due alerts, unless SLA_ALERT_INTERVAL says


class SlaSettings(DependencyProvider):
    """Calendars, targets, and which calendar each department keeps (catalog.yaml)."""

    def setup(self):
        self.configure(self.container.config)

    def configure(self, config):
        path = config.get("SLA_CONFIG") or calendars.DEFAULT_PATH
        with open(path, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
        self.calendars = calendars.load_calendars(path)
        self.targets = clocks.Targets.from_config(raw)
        self.departments = catalog.load(config).departments
        return self

    @classmethod
    def standalone(cls, config):
        """The same settings outside a service (the recompute command, tests)."""
        return cls.__new__(cls).configure(config)

    def calendar_of(self, department):
        """A department's calendar; a ticket without one yet (ITIL, not routed) keeps 8x5."""
        name = self.departments[department].calendar if department in self.departments else "8x5"
        return self.calendars[name]

    def get_dependency(self, worker_ctx):
        return self


class SlaService(Health, StreamOwner):
    name = "sla"
    config = Config()
    store = EventStore(relays=[BILLING_RELAY])
    settings = SlaSettings()
    ticket_events = Inbox("tickets")

    @subscribe("tickets")
    def on_ticket_event(self, event):
        self.ticket_events.deliver(event, self._apply)

    def _apply(self, cur, event):
        ticket_id = event.data.get("ticket_id")
        if ticket_id is None:
            return
        settings = self.settings
        clock = clocks.apply(store.load_clock(cur, ticket_id), event, settings.calendar_of, settings.targets)
        if clock is not None:
            store.save_clock(cur, clock, settings.calendar_of(clock.department), settings.targets.warning_fraction)
        episode, records = usage.apply(store.load_episode(cur, ticket_id), event,
                                       settings.calendar_of(usage.SUPPORT_24H))
        if episode is not None:
            store.save_episode(cur, episode)
        if records:
            self.store.append(stream_name("usage", ticket_id), caused_by(records, event), cursor=cur)

    @configured_timer("SLA_ALERT_INTERVAL", ALERT_INTERVAL)
    def raise_alerts(self):
        """Heals gaps, then raises the warnings and breaches that fell due, each once."""
        self.ticket_events.heal(self._apply)
        now = utcnow()  # the real time: clocks are measured from the events' real times
        with self.store.db.transaction() as cur:
            due = store.alerting(cur, now)
        for ticket_id in due:
            with self.store.db.transaction() as cur:
                self._alert(cur, ticket_id, now)

    def _alert(self, cur, ticket_id, now):
        clock = store.load_clock(cur, ticket_id, lock=True)
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
            self.store.append(stream_name("sla_alert", ticket_id), events, cursor=cur)
        store.save_clock(cur, clock, calendar, fraction)

    @rpc(expected_exceptions=errors.EXPECTED)
    def due_times(self, ticket_ids):
        """{ticket_id: {first_response_due_at, resolution_due_at, paused, breached: [...]}}."""
        with self.store.db.transaction() as cur:
            rows = store.due_times(cur, [str(t) for t in ticket_ids][:200])
        answer = {}
        for ticket_id, state, response_due, resolution_due in rows:
            clock = clocks.from_json(state)
            resolution = clock.timers[clocks.RESOLUTION]
            answer[str(ticket_id)] = {
                "first_response_due_at": response_due.isoformat() if response_due else None,
                "resolution_due_at": resolution_due.isoformat() if resolution_due else None,
                "resolution_paused": not resolution.running and not resolution.done,
                "breached": [name for name, timer in clock.timers.items() if timer.breached],
            }
        return answer
