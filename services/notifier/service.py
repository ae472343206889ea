"""Notifier entrypoints: events in through the inbox (tickets, identity, SLA, content), mails planned by the handlers (handlers.py)
in the same transaction, then rendered and sent after it committed."""
import threading

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.timer import timer

from helpdesk import db as dbmod, errors, timezones
from helpdesk.clock import Clock
from helpdesk.events import utcnow
from helpdesk.extensions import Application, Database, Health, Inbox, Metrics, rpc, subscribe

from .bootstrap import bootstrap
from .mail import MailOutbox, SmtpSender, sending_lanes
from .render import Renderer


def wire(config, database):
    return bootstrap(config, utcnow, database=database)


class Mailing(DependencyProvider):
    """The SMTP sender, the renderer, how many events' mails may be in flight at once
    (NOTIFIER.sending_lanes, 4 in config.yaml: see MailOutbox.send_due), from config, and the
    lanes' own connections: a lane holds one while its mails are in flight, which would otherwise
    leave the consumers a pool of DB_POOL_SIZE minus the lanes."""

    def setup(self):
        config = self.container.config
        smtp = config.get("SMTP") or {}
        self.lanes = sending_lanes(config)
        self._database, self._lock = None, threading.Lock()
        self.sender = SmtpSender(
            smtp.get("host", "127.0.0.1"), smtp.get("port", 25),
            security=smtp.get("security") or "none",
            username=smtp.get("username"), password=smtp.get("password"),
        )
        self.renderer = Renderer(config["LINK_SECRET"], config["PUBLIC_URL"], smtp["sender"],
                                 config.get("INBOUND_DOMAIN"), clock=Clock(),
                                 default_time_zone=timezones.default_from(config))

    @property
    def database(self):
        """Opened at the first mail to send (a process may have none to send)."""
        with self._lock:
            if self._database is None:
                self._database = dbmod.Database(self.container.config["DATABASE_URL"], size=self.lanes)
            return self._database

    def stop(self):
        self.sender.close()
        if self._database is not None:
            self._database.close()

    def get_dependency(self, worker_ctx):
        return self


class NotifierService(Health):
    name = "notifier"
    config = Config()
    metrics = Metrics()  # helpdesk.metrics: /metrics and /healthz on METRICS_PORT
    db = Database()
    ticket_events = Inbox("tickets")
    identity_events = Inbox("identity")
    sla_events = Inbox("sla")
    content_events = Inbox("content")
    mailing = Mailing()
    outbox = MailOutbox()
    app = Application(wire)

    planned = 0  # mails this worker's event planned: sent after the commit (the timer sends the rest)

    @subscribe("tickets")
    def on_ticket_event(self, event):
        self.ticket_events.deliver(event, self._apply_ticket_event)
        self._send_planned()

    @subscribe("identity")
    def on_identity_event(self, event):
        self.identity_events.deliver(event, self._apply_identity_event)
        self._send_planned()

    @subscribe("sla")
    def on_sla_event(self, event):
        self.sla_events.deliver(event, self._plan_mails)
        self._send_planned()

    @subscribe("content")
    def on_content_event(self, event):
        self.content_events.deliver(event, self._plan_mails)
        self._send_planned()

    @rpc(expected_exceptions=errors.EXPECTED)
    def subscribe_status(self, principal, services, known_services):
        return self.app.subscribe_status(principal, services, known_services)

    @rpc(expected_exceptions=errors.EXPECTED)
    def status_subscription(self, principal):
        return self.app.status_subscription(principal)

    @rpc(expected_exceptions=errors.EXPECTED)
    def unsubscribe(self, ticket_id, address, token):
        return self.app.unsubscribe(ticket_id, address, token)

    @timer(interval=1)
    def housekeeping(self):
        """Fills gaps older than the gap timeout, and sends mails whose retry is due."""
        self.ticket_events.heal(self._apply_ticket_event)
        self.identity_events.heal(self._apply_identity_event)
        self.sla_events.heal(self._plan_mails)
        self.content_events.heal(self._plan_mails)
        self._send_due()

    def _apply_ticket_event(self, cur, event):
        self.planned += self.app.apply_ticket_event(self.app.uow.joined(cur), event)

    def _apply_identity_event(self, cur, event):
        self.planned += self.app.apply_identity_event(self.app.uow.joined(cur), event)

    def _plan_mails(self, cur, event):
        self.planned += self.app.plan_mails(self.app.uow.joined(cur), event)

    def _send_planned(self):
        if self.planned:
            self._send_due()

    def _send_due(self):
        self.outbox.send_due(self.mailing.database, self.mailing.sender, self.mailing.renderer, lanes=self.mailing.lanes)
