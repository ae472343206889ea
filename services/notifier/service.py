"""Notifier entrypoints: events in, mails planned in the same transaction, then rendered and sent."""
import uuid

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.timer import timer

from helpdesk import errors, timezones
from helpdesk.events import utcnow
from helpdesk.linktokens import UNSUBSCRIBE, SignedLinks, unsubscribe_subject
from helpdesk.clock import Clock
from helpdesk.extensions import Database, Health, Inbox, rpc, subscribe

from . import contacts, plans
from .mail import MailOutbox, SmtpSender
from .render import Renderer


class Mailing(DependencyProvider):
    """The SMTP sender and the renderer, from config."""

    def setup(self):
        config = self.container.config
        smtp = config.get("SMTP") or {}
        self.sender = SmtpSender(
            smtp.get("host", "127.0.0.1"), smtp.get("port", 25),
            security=smtp.get("security") or "none",
            username=smtp.get("username"), password=smtp.get("password"),
        )
        self.renderer = Renderer(config["LINK_SECRET"], config["PUBLIC_URL"], smtp["sender"],
                                 config.get("INBOUND_DOMAIN"), clock=Clock(),
                                 default_time_zone=timezones.default_from(config))

    def get_dependency(self, worker_ctx):
        return self


class NotifierService(Health):
    name = "notifier"
    config = Config()
    db = Database()
    ticket_events = Inbox("tickets")
    identity_events = Inbox("identity")
    sla_events = Inbox("sla")
    mailing = Mailing()
    outbox = MailOutbox()

    @subscribe("tickets")
    def on_ticket_event(self, event):
        self.ticket_events.deliver(event, self._apply_ticket_event)
        self._send_due()

    @subscribe("identity")
    def on_identity_event(self, event):
        self.identity_events.deliver(event, self._apply_identity_event)
        self._send_due()

    @subscribe("sla")
    def on_sla_event(self, event):
        self.sla_events.deliver(event, self._plan_mails)
        self._send_due()

    @rpc(expected_exceptions=errors.EXPECTED)
    def unsubscribe(self, ticket_id, address, token):
        """A copied address's one-click opt-out (List-Unsubscribe) from one ticket's mail: the
        signature over (ticket, address) is the credential. Repeating it changes nothing."""
        try:
            ticket_id = uuid.UUID(str(ticket_id))
        except ValueError:
            raise errors.invalid("token", "unsubscribe_link_invalid")
        address = str(address or "").strip().lower()
        subject = unsubscribe_subject(ticket_id, address)
        if not address or not SignedLinks(self.config["LINK_SECRET"]).verify(token, UNSUBSCRIBE, subject, utcnow()):
            raise errors.invalid("token", "unsubscribe_link_invalid")
        with self.db.transaction() as cur:
            cur.execute("INSERT INTO notifier.mail_opt_outs (ticket_id, address, opted_out_at) VALUES (%s, %s, now())"
                        " ON CONFLICT DO NOTHING", (str(ticket_id), address))
        return {"ticket_id": str(ticket_id), "address": address}

    @timer(interval=1)
    def housekeeping(self):
        """Fills gaps older than the gap timeout, and sends mails whose retry is due."""
        self.ticket_events.heal(self._apply_ticket_event)
        self.identity_events.heal(self._apply_identity_event)
        self.sla_events.heal(self._plan_mails)
        self._send_due()

    def _apply_ticket_event(self, cur, event):
        contacts.project_ticket(cur, event)
        self._plan_mails(cur, event)

    def _apply_identity_event(self, cur, event):
        contacts.project(cur, event)
        self._plan_mails(cur, event)

    def _plan_mails(self, cur, event):
        for mail in plans.mails_for(event, contacts.Directory(cur)):
            self.outbox.add(cur, event.event_id, mail)

    def _send_due(self):
        self.outbox.send_due(self.db, self.mailing.sender, self.mailing.renderer)
