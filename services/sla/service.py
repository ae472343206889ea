"""SLA entrypoints: ticket events in through the inbox (exactly once, in order), a timer for
alerts, the gateway's due-times and dashboard RPCs; the handlers (handlers.py) do the work."""
from nameko.dependency_providers import Config

from helpdesk import errors
from helpdesk.events import utcnow
from helpdesk.eventstore import PostgresEventStore
from helpdesk.extensions import (Application, EventStore, Health, Inbox, Metrics, StreamOwner, configured_timer, rpc,
                                 subscribe)

from .billing import BILLING_RELAY
from .bootstrap import bootstrap

ALERT_INTERVAL = 30  # seconds between two looks for due alerts, unless SLA_ALERT_INTERVAL says


def wire(config, database):
    return bootstrap(config, utcnow, PostgresEventStore(database, "sla"), database)


class SlaService(Health, StreamOwner):
    name = "sla"
    config = Config()
    metrics = Metrics()  # helpdesk.metrics: /metrics and /healthz on METRICS_PORT
    store = EventStore(relays=[BILLING_RELAY])
    app = Application(wire)
    ticket_events = Inbox("tickets")

    def _apply(self, cur, event):
        self.app.apply_ticket_event(self.app.uow.joined(cur), event)

    @subscribe("tickets")
    def on_ticket_event(self, event):
        self.ticket_events.deliver(event, self._apply)

    @configured_timer("SLA_ALERT_INTERVAL", ALERT_INTERVAL)
    def raise_alerts(self):
        """Heals gaps, then raises the warnings and breaches that fell due, each once."""
        self.ticket_events.heal(self._apply)
        self.app.raise_alerts()

    @rpc(expected_exceptions=errors.EXPECTED)
    def due_times(self, ticket_ids):
        return self.app.due_times(ticket_ids)

    @rpc(expected_exceptions=errors.EXPECTED)
    def dashboard(self, since=None, until=None):
        """The supervisors' dashboard (ISO dates, both included; the gateway checks the caller's role)."""
        return self.app.dashboard(since, until)
