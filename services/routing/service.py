"""Routing entrypoints: ticket and identity events in through the inbox (exactly once, in order),
the handlers (handlers.py) decide, and the commands they noted go to the tickets service after the
inbox's transaction committed."""
import logging

from nameko.dependency_providers import Config
from nameko.timer import timer

from helpdesk import catalog, errors
from helpdesk.clock import Clock
from helpdesk.extensions import (Application, Database, Health, Inbox, Metrics, RpcProxy, configured_timer, rpc,
                                 subscribe)

from .bootstrap import bootstrap

log = logging.getLogger(__name__)


def wire(config, database):
    return bootstrap(config, catalog.load(config), Clock(config.get("FAKE_NOW")), database=database)


class RoutingService(Health):
    name = "routing"
    config = Config()
    metrics = Metrics()  # helpdesk.metrics: /metrics and /healthz on METRICS_PORT
    db = Database()
    app = Application(wire)
    tickets = RpcProxy("tickets")
    ticket_events = Inbox("tickets")
    identity_events = Inbox("identity")

    noted = False  # this worker's event noted commands: send them after the commit

    def _on_ticket_event(self, cur, event):
        self.noted = self.app.apply_ticket_event(self.app.uow.joined(cur), event) or self.noted

    def _on_identity_event(self, cur, event):
        self.app.apply_identity_event(self.app.uow.joined(cur), event)

    def _send(self):
        """The noted commands, after the commit. A failure to send (tickets or the broker away)
        is not the event's: it was applied, its commands stay noted, and the resend timer sends them."""
        try:
            self.app.send_pending(self.tickets)
        except Exception as exc:  # noqa: BLE001 (any failure leaves the commands for the timer)
            log.warning("routing: commands left for the resend timer: %s: %s", type(exc).__name__, exc)

    @subscribe("tickets")
    def on_ticket_event(self, event):
        self.ticket_events.deliver(event, self._on_ticket_event)
        if self.noted:
            self._send()

    @subscribe("identity")
    def on_identity_event(self, event):
        self.identity_events.deliver(event, self._on_identity_event)

    @rpc(expected_exceptions=errors.EXPECTED)
    def rules(self, principal):
        return self.app.rules(principal)

    @rpc(expected_exceptions=errors.EXPECTED)
    def preview(self, query):
        return self.app.preview(query)

    @timer(interval=60)
    def assign_waiting(self):
        """Heals gaps, then offers waiting tickets (oldest first) to whoever is now on shift."""
        self.ticket_events.heal(self._on_ticket_event)
        self.identity_events.heal(self._on_identity_event)
        self.app.assign_waiting()
        self._send()

    @configured_timer("ROUTING_RESEND_INTERVAL", 5)
    def send_left_over(self):
        """Commands an outage left unsent go out once it is over."""
        self.app.send_pending(self.tickets)
