"""Notifier entrypoints: events in, mails queued in the same transaction, then sent."""
from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.timer import timer

from helpdesk.extensions import Database, Health, Inbox, subscribe

from .mail import MailOutbox, SmtpSender, ticket_opened_mail


class Smtp(DependencyProvider):
    def setup(self):
        settings = self.container.config.get("SMTP") or {}
        self.sender = SmtpSender(
            settings.get("host", "127.0.0.1"),
            settings.get("port", 25),
            security=settings.get("security") or "none",
            username=settings.get("username"),
            password=settings.get("password"),
        )

    def get_dependency(self, worker_ctx):
        return self.sender


class NotifierService(Health):
    name = "notifier"
    config = Config()
    db = Database()
    ticket_events = Inbox("tickets")
    smtp = Smtp()
    outbox = MailOutbox()

    @subscribe("tickets")
    def on_ticket_event(self, event):
        self.ticket_events.deliver(event, self._queue_mails)
        self.outbox.send_due(self.db, self.smtp)

    @timer(interval=1)
    def housekeeping(self):
        """Fills gaps older than the gap timeout, and sends mails whose retry is due."""
        self.ticket_events.heal(self._queue_mails)
        self.outbox.send_due(self.db, self.smtp)

    def _queue_mails(self, cur, event):
        if event.type == "TicketOpened":
            sender, public_url = self.config["SMTP"]["sender"], self.config["PUBLIC_URL"]
            message = ticket_opened_mail(event, sender, public_url)
            self.outbox.add(cur, event.event_id, message)
