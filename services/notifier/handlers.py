"""The notifier's application layer: ticket, identity and SLA events in; the projections of who
people are and who is on a ticket updated, and the mails each event causes planned (plans.py), in
the delivering transaction. Sending is the adapter's (mail.MailOutbox.send_due, after the commit).
Plain code over a unit of work (helpdesk.application), wired in bootstrap.py."""
import uuid

from helpdesk import errors
from helpdesk.linktokens import UNSUBSCRIBE, SignedLinks, unsubscribe_subject

from . import plans


class Notifier:
    """`uow`: the unit of work (repositories.py); `link_secret`: what signs the mails' links;
    `clock()`: the time now, aware."""

    def __init__(self, uow, link_secret, clock):
        self.uow, self.link_secret, self.clock = uow, link_secret, clock

    def apply_ticket_event(self, work, event):
        """Applies one ticket event; how many mails it planned (as for the others below)."""
        work.directory.project_ticket(event)
        return self.plan_mails(work, event)

    def apply_identity_event(self, work, event):
        work.directory.project(event)
        return self.plan_mails(work, event)

    def plan_mails(self, work, event):
        mails = plans.mails_for(event, work.directory)
        work.outbox.add(event.event_id, *mails)
        return len(mails)

    def unsubscribe(self, ticket_id, address, token):
        """A copied address's one-click opt-out (List-Unsubscribe) from one ticket's mail: the
        signature over (ticket, address) is the credential. Repeating it changes nothing."""
        try:
            ticket_id = uuid.UUID(str(ticket_id))
        except ValueError:
            raise errors.invalid("token", "unsubscribe_link_invalid")
        address = str(address or "").strip().lower()
        subject = unsubscribe_subject(ticket_id, address)
        if not address or not SignedLinks(self.link_secret).verify(token, UNSUBSCRIBE, subject, self.clock()):
            raise errors.invalid("token", "unsubscribe_link_invalid")
        with self.uow() as work:
            work.directory.opt_out(ticket_id, address)
        return {"ticket_id": str(ticket_id), "address": address}
