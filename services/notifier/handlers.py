"""The notifier's application layer: ticket, identity and SLA events in; the projections of who
people are and who is on a ticket updated, and the mails each event causes planned (plans.py), in
the delivering transaction. Sending is the adapter's (mail.MailOutbox.send_due, after the commit).
Plain code over a unit of work (helpdesk.application), wired in bootstrap.py."""
import uuid

from helpdesk import errors
from helpdesk.linktokens import UNSUBSCRIBE, SignedLinks, unsubscribe_subject

from . import plans
from .render import STATUS_SCOPE


class Notifier:
    """`uow`: the unit of work (repositories.py); `link_secret`: what signs the mails' links;
    `clock()`: the time now, aware."""

    def __init__(self, uow, link_secret, clock):
        self.uow, self.link_secret, self.clock = uow, link_secret, clock

    # -- the network status's mails, asked for by customers --
    def subscribe_status(self, principal, services, known_services):
        """A logged-in customer's choice of the services whose status changes they are mailed
        (none: no more); `known_services`: the catalogue's codes. Their current choice back."""
        if (principal or {}).get("role") != "customer":
            raise errors.Forbidden("only_customers_subscribe")
        unknown = sorted(set(services) - set(known_services))
        if unknown:
            raise errors.invalid("services", "unknown_services", services=", ".join(unknown))
        with self.uow() as work:
            work.directory.subscribe_status(principal["user_id"], principal["email"], sorted(set(services)))
            return {"services": work.directory.status_subscription(principal["user_id"])}

    def status_subscription(self, principal):
        with self.uow() as work:
            return {"services": work.directory.status_subscription(principal["user_id"])}

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
        """A copied address's one-click opt-out (List-Unsubscribe) from one ticket's mail, or (with
        `ticket_id` "status") a subscriber's from the network status's: the signature over (ticket
        or "status", address) is the credential. Repeating it changes nothing."""
        if ticket_id == STATUS_SCOPE:
            address = str(address or "").strip().lower()
            if not address or not SignedLinks(self.link_secret).verify(
                    token, UNSUBSCRIBE, unsubscribe_subject(STATUS_SCOPE, address), self.clock()):
                raise errors.invalid("token", "unsubscribe_link_invalid")
            with self.uow() as work:
                work.directory.unsubscribe_status(address)
            return {"ticket_id": None, "scope": STATUS_SCOPE, "address": address}
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
