"""Email replies in: the consumer of `notifier.inbound` (filled by `services.notifier.inbound`,
the SMTP endpoint), run in the notifier's process as the nameko service `notifier_inbound`.

For each queued mail (`replies.parse` reads it):
- auto-generated mail (Auto-Submitted other than "no", Precedence bulk/list/junk, the null
  envelope sender) and mail from our own addresses is logged and dropped: answering it would
  make mail loops;
- what the mail proves about its sender decides the rest (docs/security.md, finding 5): the
  provider MTA's `Authentication-Results` (`mail_trust.verdict`: pass, fail or none) and the reply
  token, which is mailed only to its recipient, so a verified, unexpired one proves the sender
  reads that address. A mail is *proven* when authenticated or carrying such a token, and
  *answerable* (it may get a bounce) when proven or carrying a verified token however old: a
  bounce then goes only to an address we mailed ourselves, never to a forged one (backscatter).
  Everything else is dropped with a log line, unanswered;
- a DMARC failure is dropped, token or not (a spoofed From with a captured token);
- a deactivated account's mail adds nothing (answered, when answerable, that it is deactivated);
- a reply whose token verifies for its sender (`replies.match_reply`) and has not expired
  (INBOUND_REPLY_TOKEN_DAYS), or an expired one from an authenticated sender, becomes a
  follow-up: `tickets.act_as_system(..., "email-reply", ...)`, a CustomerCommented with channel
  email, with its first attached file. Further files are not added; the sender is told which;
- an authenticated customer without a usable token, or a proven one whose ticket is closed, gets
  a new ticket (channel email; following up the closed ticket when that was the reason); a
  forged or foreign token never opens one; staff are told to use the portal; an authenticated
  stranger gets a bounce saying what to do. Bounces never echo the mail's subject or text;
- a file over 2 MB, a refused file type, an empty or over-long text: the mail is refused as a
  whole with a bounce explaining the limit and how to send it (the portal).

**Exactly once.** A mail is handled under a transaction-scoped advisory lock on its key (sender +
Message-ID), so two deliveries of one message take turns. A follow-up is not added again when
the ticket's stream already has a CustomerCommented with the same sender and Message-ID; a new
ticket's id is derived from the key, so a second attempt meets "already exists"; a bounce goes
into the mail outbox in the locked transaction under an id derived from the key, and the
outbox is unique on (event id, recipient). The message is acked only after that transaction
committed; a failure (a service down, an RPC timeout) sends it through the retry queues to
`notifier.inbound.dlq`, as helpdesk.extensions.EventSubscriber does for events.

**Queued behind portal updates** (manual 000, 3.1): replies by email reach the ticket through
this queue, after whatever was typed in the portal meanwhile, and carry when they were received.
"""
import base64
import binascii
import functools
import hashlib
import logging
import re
import uuid

import eventlet
import kombu
from marshmallow import Schema, ValidationError, fields
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.dependency_providers import Config
from nameko.messaging import Consumer

from helpdesk import errors, i18n
from helpdesk.contracts import DESCRIPTION_MAX, TITLE_MAX
from helpdesk.events import ENVELOPE
from helpdesk.extensions import Database, EventSubscriber, Health, Metrics, RpcProxy, consumer_settings
from helpdesk.messaging import Publisher, declare_queues, queue_type

from . import mail_trust, replies
from .inbound import DEFAULT_DOMAIN, inbound_queues
from .mail import MailOutbox, envelope_sender
from .plans import DEFAULT_LANGUAGE, Mail
from .service import Mailing

log = logging.getLogger(__name__)

# uuid5 namespace of everything derived from an inbound mail's key (bounce ids, new ticket ids)
NAMESPACE = uuid.UUID("6f1d0c56-5a43-4f4e-9a43-2f6b1f0b6a11")
MAX_ATTACHMENT_BYTES = 2 * 1024 * 1024  # the tickets service's limit (manuals: 2 MB); it checks again
RPC_TIMEOUT = 30  # seconds; past it the mail is retried later
DEFAULT_DEPARTMENT = "systems"
SERVICE = "notifier"  # the system actor tickets records: system:notifier
DEFAULT_TOKEN_DAYS = 90  # how long a reply address works (INBOUND_REPLY_TOKEN_DAYS)
# What a bounce can say (templates/{es,en}/bounce.txt)
REASONS = ("no_token", "unknown_sender", "forged", "expired", "inactive", "not_on_ticket", "closed", "missing",
           "staff", "too_large", "refused_attachment", "empty", "too_long", "extra_attachments")
CONTENT_REASONS = frozenset({"too_large", "refused_attachment", "empty", "too_long"})  # whatever it answers
STAFF = frozenset({"agent", "supervisor", "admin"})
_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|rv|aw|wg|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


class RpcTimeout(Exception):
    """Another service did not answer in time: the mail is retried later."""


class QueuedMailSchema(Schema):
    """What the SMTP endpoint queues."""

    id = fields.String(required=True)
    mail_from = fields.String(load_default="")
    rcpt_tos = fields.List(fields.String(), load_default=list)
    received_at = fields.AwareDateTime(required=True)
    data_base64 = fields.String(required=True)


QUEUED_MAIL = QueuedMailSchema()


def load_queued(body):
    queued = QUEUED_MAIL.load(body)
    try:
        queued["raw"] = base64.b64decode(queued.pop("data_base64"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError({"data_base64": [str(exc)]})
    return queued


class InboundMailConsumer(EventSubscriber):
    """Consumes `notifier.inbound`. The subscriber's ack-after-commit, retry queues and
    dead-lettering (EventSubscriber.handle_result / _forward) are reused as they are; only the
    queues and the decoding of a message differ."""

    def __init__(self, **kwargs):
        super().__init__(source="inbound", **kwargs)

    def setup(self):
        config = self.container.config
        self.retry_delays = consumer_settings(config)["retry_delays"]
        self.queue, self.retry_queues, self.dlq = inbound_queues(self.retry_delays, queue_type(config))
        with kombu.Connection(config[AMQP_URI_CONFIG_KEY]) as connection:
            declare_queues(connection, (self.queue, *self.retry_queues, self.dlq))
        self.publisher = Publisher(config[AMQP_URI_CONFIG_KEY])
        Consumer.setup(self)

    def handle_message(self, body, message):
        try:
            queued = load_queued(body)
        except (ValidationError, TypeError) as exc:
            self._forward(message, self.dlq.name, f"malformed inbound message: {exc}", retries=0)
            return
        try:
            self.container.spawn_worker(
                self, (queued,), {},
                context_data=self.unpack_message_headers(message),
                handle_result=functools.partial(self.handle_result, message),
            )
        except Exception:  # container being killed: give the message back
            self.queue_consumer.requeue_message(message)


inbound_mail = InboundMailConsumer.decorator


class InboundMailService(Health):
    name = "notifier_inbound"
    config = Config()
    metrics = Metrics()  # helpdesk.metrics: /metrics and /healthz on METRICS_PORT
    db = Database()
    mailing = Mailing()
    outbox = MailOutbox()
    tickets = RpcProxy("tickets")
    identity = RpcProxy("identity")

    @inbound_mail()
    def on_inbound_mail(self, queued):
        """Every mail ends in one log line, "inbound mail <queued id> handled: <outcome>", written
        once the outcome is committed."""
        mail = replies.parse(queued["raw"], queued["mail_from"], queued["rcpt_tos"])
        if mail.auto_generated:
            log.info("inbound mail %s handled: dropped, auto-generated (%s)", queued["id"], mail.auto_generated)
            return
        if not mail.sender or "@" not in mail.sender:
            log.warning("inbound mail %s handled: dropped, no sender address to answer", queued["id"])
            return
        if self._ours(mail.sender):
            log.warning("inbound mail %s handled: dropped, from the helpdesk's own address %s",
                        queued["id"], mail.sender)
            return
        handling = Handling(self, mail, queued)
        with self.db.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"notifier inbound {handling.key}",))
            handling.run(cur)
        log.info("inbound mail %s handled: from %s, %s", queued["id"], mail.sender, "; ".join(handling.outcomes))
        self.outbox.send_due(self.mailing.database, self.mailing.sender, self.mailing.renderer, lanes=self.mailing.lanes)

    # -- settings -----------------------------------------------------------------------------
    @property
    def domain(self):
        return (self.config.get("INBOUND_DOMAIN") or DEFAULT_DOMAIN).lower()

    @property
    def trusted_authserv_id(self):
        return self.config.get("INBOUND_TRUSTED_AUTHSERV_ID") or None

    @property
    def token_days(self):
        return int(self.config.get("INBOUND_REPLY_TOKEN_DAYS") or DEFAULT_TOKEN_DAYS)

    @property
    def department(self):
        return self.config.get("INBOUND_DEFAULT_DEPARTMENT") or DEFAULT_DEPARTMENT

    def _ours(self, address):
        address = address.lower()
        own = envelope_sender((self.config.get("SMTP") or {}).get("sender") or "").lower()
        return address == own or address.endswith("@" + self.domain)

    # -- calls to other services --------------------------------------------------------------
    def call(self, method, *args):
        with eventlet.Timeout(RPC_TIMEOUT, RpcTimeout(f"no answer in {RPC_TIMEOUT} s")):
            return method(*args)

    def ticket_events(self, ticket_id):
        events, position = [], 0
        while True:
            page = self.call(self.tickets.read_stream, f"ticket-{ticket_id}", position)
            events += [ENVELOPE.load(envelope) for envelope in page]
            if len(page) < 1000:
                return events
            position = events[-1].stream_position + 1


class Handling:
    """One inbound mail, in the locked transaction `run(cur)` is given."""

    def __init__(self, service, mail, queued):
        self.service, self.mail, self.queued = service, mail, queued
        message_id = "".join(char for char in (mail.message_id or "") if char.isprintable()).strip()
        self.message_id = message_id or f"<{queued['id']}@{service.domain}>"
        # one mail's identity: its sender and Message-ID (so another's Message-ID cannot mask it)
        self.key = hashlib.sha256(f"{mail.sender.lower()}\n{self.message_id}".encode()).hexdigest()
        self.received_at = queued["received_at"].isoformat()
        self.trust = mail_trust.verdict(mail.authentication_results, mail.sender, service.trusted_authserv_id)
        self.answerable = self.trust.authenticated  # a verified token makes it so too (run)
        self._person = None
        self.outcomes = []  # what was done, for the log

    def run(self, cur):
        self.cur = cur
        if self.trust.failed:
            return self.drop(f"sender refused by DMARC ({self.trust.because})")
        token, refusal = self.token()
        fresh = token is not None and not token.expired(self.queued["received_at"].date(), self.service.token_days)
        self.answerable = self.answerable or token is not None
        proven = self.trust.authenticated or fresh
        person = self.person()
        if person and not person.get("active", True):
            return self.bounce("inactive") if self.answerable else self.drop("deactivated account")
        if token is not None:
            if not proven:
                return self.bounce("expired", **self.ticket_of(token.ticket_id))
            refusal = self.follow_up(token.ticket_id)
            if refusal is None:
                return
        reason, details = refusal
        if not self.answerable:
            return self.drop(f"unauthenticated sender ({self.trust.because}), {reason}")
        if reason in CONTENT_REASONS:
            return self.bounce(reason, **details)  # the mail itself cannot be taken, whatever it answers
        role = person["role"] if person else None
        if role == "customer" and self.mail.text and proven and reason != "forged":
            refusal = self.open_ticket(person, follows_up=token.ticket_id if reason == "closed" else None)
            if refusal is None:
                return
            reason, details = refusal
        elif role in STAFF:
            reason = "staff"  # staff work in the portal; mails are for customers
        elif reason == "no_token" and person is None:
            reason = "unknown_sender"
        self.bounce(reason, **details)

    def drop(self, why):
        """Nothing added, nothing answered: all that is left is the log line."""
        log.warning("inbound mail %s from %s: dropped, %s", self.queued["id"], self.mail.sender, why)
        self.outcomes.append(f"dropped ({why})")

    # -- the token ----------------------------------------------------------------------------
    def token(self):
        """(ReplyToken, None) for a token that verifies for the sender, else (None, refusal)."""
        secret, forged = self.service.config["LINK_SECRET"], None
        for address in self.mail.recipients:
            try:
                token = replies.match_reply(secret, address, self.mail.sender, self.service.domain)
            except replies.ForgedToken as exc:
                forged = forged or exc
                continue
            if token is not None:
                return token, None
        if forged is not None:
            log.warning("inbound mail %s from %s: reply token refused (%s)", self.queued["id"],
                        self.mail.sender, forged.reason)
            return None, ("forged", {})
        return None, ("no_token", {})

    def ticket_of(self, ticket_id):
        """The reference and page of a ticket the sender's token names, for a bounce."""
        return _ticket_details(ticket_id, self.service.ticket_events(ticket_id))

    # -- a follow-up --------------------------------------------------------------------------
    def follow_up(self, ticket_id):
        """None once the reply is on the ticket (now or before), else (reason, bounce details)."""
        mail = self.mail
        files = list(mail.attachments)
        first = files[0] if files else None
        refused = self.check_content(first)
        events = self.service.ticket_events(ticket_id)
        if not events:
            return "missing", {}
        ticket = _ticket_details(ticket_id, events)
        if refused:
            return refused[0], {**refused[1], **ticket}
        if self.already_added(events):
            self.outcomes.append(f"already on ticket {ticket_id}")
        else:
            refused = self.add(ticket_id, first, ticket)
            if refused:
                return refused
        if len(files) > 1:  # (again, if a retry: the outbox keeps one)
            self.bounce("extra_attachments", event="notice", filename=first.filename,
                        others=[f.filename for f in files[1:]], **ticket)
        return None

    def add(self, ticket_id, first, ticket):
        command = {"sender": self.mail.sender, "body": self.mail.text, "message_id": self.message_id,
                   "received_at": self.received_at}
        if first is not None:
            command["attachment"] = first.as_upload()
        try:
            self.service.call(self.service.tickets.act_as_system, SERVICE, ticket_id, "email-reply", command)
        except errors.Forbidden:
            return "not_on_ticket", {}
        except errors.NotFound:
            return "missing", {}
        except errors.Conflict as exc:
            if exc.code != "ticket_closed":
                raise  # too busy: try again later
            return "closed", ticket
        except errors.PayloadTooLarge:
            return "too_large", {**self.file_details(first), **ticket}
        except errors.InvalidInput as exc:
            return self.invalid(exc, first, ticket)
        self.outcomes.append(f"added to ticket {ticket_id}")
        return None

    def already_added(self, events):
        """This mail is on the ticket: the same Message-ID from the sender, or the same text and
        file from the sender by email (a captured reply sent again under a new Message-ID)."""
        sender = self.mail.sender.lower()
        first = self.mail.attachments[0] if self.mail.attachments else None
        digest = hashlib.sha256(first.content).hexdigest() if first is not None else None
        for event in events:
            email = (event.data.get("email") or {}) if event.type == "CustomerCommented" else {}
            if (email.get("sender") or "").lower() != sender:
                continue
            if email.get("message_id") == self.message_id:
                return True
            attachment = event.data.get("attachment") or {}
            if ((event.data.get("body") or "").strip() == self.mail.text.strip()
                    and attachment.get("sha256") == digest):
                return True
        return False

    def check_content(self, first):
        """A refusal the tickets service would give, found before calling it; or None."""
        if first is not None and len(first.content) > MAX_ATTACHMENT_BYTES:
            return "too_large", self.file_details(first)
        if len(self.mail.text) > DESCRIPTION_MAX:
            return "too_long", {}
        if not self.mail.text and first is None:
            return "empty", {}
        return None

    @staticmethod
    def file_details(attachment):
        if attachment is None:
            return {}
        return {"filename": attachment.filename, "size_mb": round(len(attachment.content) / 1024 / 1024, 1)}

    def invalid(self, exc, attachment, ticket):
        problems = exc.errors if isinstance(exc.errors, dict) else {}
        if "attachment" in problems:
            language = (self.person() or {}).get("language") or DEFAULT_LANGUAGE
            detail = " ".join(i18n.text(p["code"], p["params"], language) for p in problems["attachment"])
            return "refused_attachment", {**self.file_details(attachment), **ticket, "detail": detail}
        if "body" in problems or "description" in problems:
            return ("too_long" if len(self.mail.text) > DESCRIPTION_MAX else "empty"), ticket
        raise exc  # not the mail's fault: retried, then dead-lettered where it can be seen

    # -- a new ticket -------------------------------------------------------------------------
    def open_ticket(self, customer, follows_up=None):
        """None once the customer has a ticket with this mail (now or before), else a refusal."""
        first = self.mail.attachments[0] if self.mail.attachments else None
        refused = self.check_content(first)
        if refused:
            return refused
        command = {
            "ticket_id": str(uuid.uuid5(NAMESPACE, f"ticket:{self.key}")),
            "department": self.service.department,
            "title": title_of(self.mail.subject),
            "description": self.mail.text,
        }
        if first is not None:
            command["attachment"] = first.as_upload()
        if follows_up:
            command["follows_up"] = follows_up
        try:
            opened = self.service.call(self.service.tickets.open_ticket_as_system, SERVICE,
                                       customer["user_id"], command)
        except errors.Conflict:
            self.outcomes.append(f"ticket {command['ticket_id']} opened before")
            return None
        except errors.PayloadTooLarge:
            return "too_large", self.file_details(first)
        except errors.InvalidInput as exc:
            problems = exc.errors if isinstance(exc.errors, dict) else {}
            if follows_up and "follows_up" in problems:  # not one the customer may see: a plain new ticket
                return self.open_ticket(customer)
            return self.invalid(exc, first, {})
        self.outcomes.append(f"opened ticket {opened['ticket_id']} for user {customer['user_id']}")
        if len(self.mail.attachments) > 1:
            self.bounce("extra_attachments", event="notice", filename=first.filename,
                        others=[f.filename for f in self.mail.attachments[1:]],
                        reference=opened.get("reference") or "", path=f"/tickets/{opened['ticket_id']}")
        return None

    # -- answers ------------------------------------------------------------------------------
    def person(self):
        """The sender's account (any role, deactivated too: `active` says), or None; asked once."""
        if self._person is None:
            try:
                self._person = self.service.call(self.service.identity.principal_by_email, self.mail.sender, True)
            except errors.NotFound:
                self._person = {}
        return self._person or None

    def bounce(self, reason, event="bounce", **details):
        """Queues the answer to the sender in the outbox: once per mail (its id comes from the key).
        It never repeats the mail's subject or text: a bounce must carry nothing a stranger wrote."""
        assert reason in REASONS, reason
        assert self.answerable, "only answerable mail gets an answer"
        person = self.person()
        language = (person or {}).get("language") or DEFAULT_LANGUAGE
        context = {"reason": reason, "sender": self.mail.sender,
                   "reference": "", "filename": "", "size_mb": 0, "limit_mb": MAX_ATTACHMENT_BYTES // (1024 * 1024),
                   "detail": "", "others": [], "path": "/", "known": bool(person), **details}
        event_id = uuid.uuid5(NAMESPACE, f"{event}:{self.key}")
        self.service.outbox.add(self.cur, event_id, Mail(self.mail.sender, language, "bounce", context))
        self.outcomes.append(f"answered ({reason})")


def _ticket_details(ticket_id, events):
    """What a bounce may say of a ticket (its reference and portal page); nothing if it is missing."""
    if not events:
        return {}
    return {"reference": events[0].data.get("reference") or "", "path": f"/tickets/{ticket_id}"}


def title_of(subject):
    """A ticket title from a mail's subject: without "Re:"-like prefixes, at most TITLE_MAX."""
    title = _REPLY_PREFIX.sub("", subject or "").strip()
    return (title or "Email")[:TITLE_MAX].strip() or "Email"
