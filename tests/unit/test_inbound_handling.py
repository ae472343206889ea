"""What the notifier does with an inbound mail (services/notifier/inbound_service.Handling), with
the tickets and identity services and the mail outbox faked: the paths the end-to-end tests do not
walk (sender not on the ticket, missing ticket, refused file, empty or over-long text, a closed
ticket the customer may not follow up, staff and English senders, a retried mail), and who is
trusted (finding 5 of issue 10: spoofed senders, forged, foreign, expired and replayed tokens,
deactivated accounts, backscatter)."""
import dataclasses
import datetime as dt
import types
import uuid

import pytest

from helpdesk import errors
from services.notifier import replies
from services.notifier.inbound_service import Handling

SECRET = "unit-test-link-secret"
DOMAIN = "replies.helpdesk.local"
TICKET = str(uuid.uuid4())
CUSTOMER = "cliente@demo.example"
CUSTOMER_PRINCIPAL = {"user_id": "u-1", "email": CUSTOMER, "role": "customer", "language": "es", "active": True}
MTA = "mx.test.example"  # the authserv-id the fake service trusts
RECEIVED = dt.datetime(2026, 11, 23, 10, tzinfo=dt.timezone.utc)
SENT = dt.date(2026, 11, 20)  # the day of the ticket mail being answered
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


class FakeService:
    domain, department = DOMAIN, "systems"
    trusted_authserv_id, token_days = MTA, 90

    def __init__(self, events=None, act=None, open_=None, people=None):
        self.config = {"LINK_SECRET": SECRET}
        self.events = events if events is not None else [opened_event()]
        self.act_result, self.open_result = act, open_
        self.people = people or {}
        self.acted, self.opened, self.mails = [], [], []
        self.tickets = types.SimpleNamespace(act_as_system=self._act, open_ticket_as_system=self._open)
        self.identity = types.SimpleNamespace(principal_by_email=self._person)
        self.outbox = types.SimpleNamespace(add=lambda cur, event_id, mail: self.mails.append((event_id, mail)))

    def call(self, method, *args):
        return method(*args)

    def ticket_events(self, ticket_id):
        return self.events

    def _act(self, service, ticket_id, action, command):
        self.acted.append((ticket_id, action, command))
        if isinstance(self.act_result, Exception):
            raise self.act_result
        return {}

    def _open(self, service, user_id, command):
        self.opened.append((user_id, command))
        result = self.open_result.pop(0) if isinstance(self.open_result, list) else self.open_result
        if isinstance(result, Exception):
            raise result
        return {"ticket_id": command["ticket_id"], "reference": "#000002"}

    def _person(self, address, include_deactivated=False):
        person = self.people.get(address.lower())
        if person is None or not (person.get("active", True) or include_deactivated):
            raise errors.NotFound("no_such_user")
        return person


def opened_event(**data):
    return types.SimpleNamespace(type="TicketOpened", stream_position=0,
                                 data={"ticket_id": TICKET, "reference": "#000001", **data})


def inbound(sender=CUSTOMER, to=None, text="Sigue sin funcionar.", attachments=(), message_id="<m1@example.org>",
            authenticated=None):
    """`authenticated`: None (no header from our MTA), True (dmarc=pass) or False (dmarc=fail)."""
    to = reply_to(sender) if to is None else to
    results = () if authenticated is None else (
        f"{MTA}; dmarc={'pass' if authenticated else 'fail'} header.from={sender.rpartition('@')[2]}",)
    return replies.InboundMail(sender=sender, envelope_from=sender, recipients=(to,), subject="Re: Sin conexión",
                               message_id=message_id, text=text, attachments=tuple(attachments), auto_generated=None,
                               authentication_results=results)


def reply_to(recipient, sent=SENT):
    return replies.reply_address(SECRET, TICKET, recipient, DOMAIN, sent)


def run(service, mail):
    queued = {"id": "q1", "received_at": RECEIVED}
    handling = Handling(service, mail, queued)
    handling.run(cur=None)
    return handling


def bounce(service):
    (event_id, mail), = service.mails
    return mail


def test_a_valid_reply_is_added_with_its_message_id_and_time_received():
    service = FakeService()
    run(service, inbound(attachments=[replies.Attachment("a.png", "image/png", PNG)]))
    ((ticket_id, action, command),) = service.acted
    assert (ticket_id, action) == (TICKET, "email-reply")
    assert command["sender"] == CUSTOMER and command["body"] == "Sigue sin funcionar."
    assert command["message_id"] == "<m1@example.org>"
    assert command["received_at"] == "2026-11-23T10:00:00+00:00"
    assert command["attachment"]["filename"] == "a.png"
    assert service.mails == [] and service.opened == []


def test_a_reply_already_on_the_ticket_is_not_added_again():
    earlier = types.SimpleNamespace(type="CustomerCommented", stream_position=1, data={
        "email": {"sender": CUSTOMER.upper(), "message_id": "<m1@example.org>"}})
    service = FakeService(events=[opened_event(), earlier])
    assert run(service, inbound()).outcomes == [f"already on ticket {TICKET}"]
    assert service.acted == [] and service.mails == []


def test_the_same_message_id_from_another_sender_is_another_mail():
    earlier = types.SimpleNamespace(type="CustomerCommented", stream_position=1, data={
        "email": {"sender": "otro@demo.example", "message_id": "<m1@example.org>"}})
    service = FakeService(events=[opened_event(), earlier])
    run(service, inbound())
    assert len(service.acted) == 1


def test_a_sender_no_longer_on_the_ticket_who_is_no_customer_gets_a_bounce():
    service = FakeService(act=errors.Forbidden("sender_not_on_ticket"))
    run(service, inbound())
    mail = bounce(service)
    assert (mail.recipient, mail.template, mail.language, mail.context["reason"]) == (
        CUSTOMER, "bounce", "es", "not_on_ticket")


def test_a_reply_to_a_closed_ticket_opens_one_that_follows_it_up_or_a_plain_one_if_it_may_not():
    service = FakeService(act=errors.Conflict("ticket_closed", code="ticket_closed", current_version=3),
                          open_=[errors.invalid("follows_up", "no_such_ticket_of_yours"), None],
                          people={CUSTOMER: CUSTOMER_PRINCIPAL})
    run(service, inbound())
    (first_user, first), (_, second) = service.opened
    assert first_user == "u-1" and first["follows_up"] == TICKET
    assert "follows_up" not in second and second["ticket_id"] == first["ticket_id"]
    assert (first["department"], first["title"], first["description"]) == ("systems", "Sin conexión",
                                                                          "Sigue sin funcionar.")
    assert service.mails == []


def test_a_ticket_opened_by_an_earlier_attempt_is_not_opened_again():
    service = FakeService(events=[], open_=errors.Conflict("ticket_exists"),
                          people={CUSTOMER: CUSTOMER_PRINCIPAL})
    handling = run(service, inbound())
    assert handling.outcomes == [f"ticket {service.opened[0][1]['ticket_id']} opened before"]
    assert service.mails == []


def test_a_busy_ticket_is_tried_again_later():
    service = FakeService(act=errors.Conflict("ticket_busy"))
    with pytest.raises(errors.Conflict):
        run(service, inbound())


def test_a_reply_to_a_missing_ticket_from_a_stranger_is_bounced():
    service = FakeService(events=[])
    run(service, inbound())
    assert bounce(service).context["reason"] == "missing" and service.acted == []


@pytest.mark.parametrize("mail, reason", [
    (inbound(text=""), "empty"),
    (inbound(text="x" * 20_001), "too_long"),
    (inbound(attachments=[replies.Attachment("big.pdf", "application/pdf", b"0" * (2 * 1024 * 1024 + 1))]),
     "too_large"),
])
def test_a_mail_that_cannot_be_taken_is_refused_before_asking_tickets(mail, reason):
    service = FakeService(people={CUSTOMER: CUSTOMER_PRINCIPAL})
    run(service, mail)
    sent = bounce(service)
    assert sent.context["reason"] == reason
    assert sent.context["reference"] == "#000001" and sent.context["path"] == f"/tickets/{TICKET}"
    assert service.acted == [] and service.opened == []


def test_a_refused_file_type_is_explained():
    service = FakeService(act=errors.invalid("attachment", "attachment_type_not_accepted",
                                             type="application/x-msdownload"))
    run(service, inbound(attachments=[replies.Attachment("setup.exe", "application/octet-stream", b"MZ")]))
    context = bounce(service).context
    assert context["reason"] == "refused_attachment" and context["filename"] == "setup.exe"
    assert context["detail"].startswith("No se admiten archivos de tipo application/x-msdownload")


def test_an_unexpected_refusal_is_not_the_senders_fault_and_is_retried():
    service = FakeService(act=errors.invalid("sender", "invalid_email", value="x@"))
    with pytest.raises(errors.InvalidInput):
        run(service, inbound())


@pytest.mark.parametrize("to", [f"reply@{DOMAIN}", reply_to("agente@helpdesk.example")])
def test_staff_writing_by_email_are_told_to_use_the_portal_in_their_language(to):
    agent = "agente@helpdesk.example"
    service = FakeService(act=errors.Forbidden("sender_not_on_ticket"),
                          people={agent: {"user_id": "u-2", "email": agent, "role": "agent", "language": "en"}})
    run(service, inbound(sender=agent, to=to, authenticated=True))
    mail = bounce(service)
    assert (mail.context["reason"], mail.language) == ("staff", "en")
    assert service.opened == []


def test_every_reason_renders_in_both_languages():
    from services.notifier.inbound_service import REASONS
    from services.notifier.render import Renderer

    renderer = Renderer(SECRET, "https://help.example", "Soporte <soporte@example.net>")
    service = FakeService(events=[])
    run(service, inbound())
    context = bounce(service).context
    for language in ("es", "en"):
        for reason in REASONS:
            message = renderer.render("bounce", language, dict(context, reason=reason, reference="#000001"),
                                      CUSTOMER, uuid.uuid4())
            text = message.get_body(("plain",)).get_content()
            assert "https://help.example/" in text, (language, reason)
            # nothing the sender wrote comes back (a bounce to a forged From would carry it to a victim)
            assert "Sin conexión" not in message["Subject"] + text, (language, reason)


def test_an_authenticated_customer_writing_without_a_token_gets_a_new_ticket():
    service = FakeService(people={CUSTOMER: CUSTOMER_PRINCIPAL}, open_=None)
    run(service, inbound(to=f"reply@{DOMAIN}", authenticated=True))
    ((user_id, command),) = service.opened
    assert user_id == "u-1" and "follows_up" not in command
    assert service.mails == []


def test_a_customer_writing_only_a_file_without_a_token_gets_a_bounce():
    service = FakeService(people={CUSTOMER: CUSTOMER_PRINCIPAL})
    run(service, inbound(to=f"reply@{DOMAIN}", text="", authenticated=True, attachments=[replies.Attachment("a.png", "image/png", PNG)]))
    assert bounce(service).context["reason"] == "no_token" and service.opened == []


def test_a_bounce_has_one_id_per_mail_so_a_retry_cannot_send_a_second():
    first, second = FakeService(events=[]), FakeService(events=[])
    run(first, inbound())
    run(second, inbound())
    assert bounce(first) == bounce(second)
    assert first.mails[0][0] == second.mails[0][0]
    third = FakeService(events=[])
    run(third, inbound(message_id="<m2@example.org>"))
    assert third.mails[0][0] != first.mails[0][0]


# -- who is trusted (issue 10, finding 5) --------------------------------------------------------

def test_a_spoofed_customer_without_a_token_opens_nothing_and_gets_no_answer():
    for authenticated in (None, False):  # no verdict from our MTA, or DMARC failed
        service = FakeService(people={CUSTOMER: CUSTOMER_PRINCIPAL})
        handling = run(service, inbound(to=f"reply@{DOMAIN}", authenticated=authenticated))
        assert service.opened == [] and service.acted == [] and service.mails == [], authenticated
        assert handling.outcomes[0].startswith("dropped")


def test_an_authentication_result_from_another_server_is_not_trusted():
    service = FakeService(people={CUSTOMER: CUSTOMER_PRINCIPAL})
    mail = dataclasses.replace(inbound(to=f"reply@{DOMAIN}"), authentication_results=(
        "mx.attacker.example; dmarc=pass header.from=demo.example",))
    run(service, mail)
    assert service.opened == [] and service.mails == []


def test_a_valid_token_with_a_failed_dmarc_adds_nothing():
    service = FakeService(people={CUSTOMER: CUSTOMER_PRINCIPAL})
    run(service, inbound(authenticated=False))
    assert service.acted == [] and service.opened == [] and service.mails == []


def test_a_valid_token_is_proof_enough_without_authentication():
    service = FakeService(people={CUSTOMER: CUSTOMER_PRINCIPAL})
    run(service, inbound(authenticated=None))
    assert len(service.acted) == 1


@pytest.mark.parametrize("to", [reply_to("otro@demo.example"),  # a foreign token
                                reply_to(CUSTOMER)[:-len(DOMAIN) - 3] + "zz@" + DOMAIN])  # a forged one
def test_a_forged_or_foreign_token_never_opens_a_ticket(to):
    unauthenticated = FakeService(people={CUSTOMER: CUSTOMER_PRINCIPAL})
    run(unauthenticated, inbound(to=to))
    assert unauthenticated.opened == [] and unauthenticated.acted == [] and unauthenticated.mails == []
    authenticated = FakeService(people={CUSTOMER: CUSTOMER_PRINCIPAL})
    run(authenticated, inbound(to=to, authenticated=True))
    assert authenticated.opened == [] and authenticated.acted == []
    assert bounce(authenticated).context["reason"] == "forged"


def test_an_expired_token_adds_nothing_unless_the_sender_is_authenticated():
    old = reply_to(CUSTOMER, sent=RECEIVED.date() - dt.timedelta(days=91))
    service = FakeService(people={CUSTOMER: CUSTOMER_PRINCIPAL})
    run(service, inbound(to=old))
    assert service.acted == [] and service.opened == []
    sent = bounce(service)  # to the address the token was made for: no backscatter
    assert (sent.recipient, sent.context["reason"], sent.context["reference"]) == (CUSTOMER, "expired", "#000001")
    authenticated = FakeService(people={CUSTOMER: CUSTOMER_PRINCIPAL})
    run(authenticated, inbound(to=old, authenticated=True))
    assert len(authenticated.acted) == 1 and authenticated.mails == []
    recent = FakeService(people={CUSTOMER: CUSTOMER_PRINCIPAL})
    run(recent, inbound(to=reply_to(CUSTOMER, sent=RECEIVED.date() - dt.timedelta(days=90))))
    assert len(recent.acted) == 1


def test_a_captured_reply_sent_again_under_a_new_message_id_is_not_added_again():
    earlier = types.SimpleNamespace(type="CustomerCommented", stream_position=1, data={
        "body": "Sigue sin funcionar.", "attachment": None,
        "email": {"sender": CUSTOMER, "message_id": "<m1@example.org>"}})
    service = FakeService(events=[opened_event(), earlier])
    assert run(service, inbound(message_id="<replayed@evil.example>")).outcomes == [f"already on ticket {TICKET}"]
    assert service.acted == []
    with_a_file = FakeService(events=[opened_event(), earlier])  # the same text, now with a file: new
    run(with_a_file, inbound(message_id="<m2@example.org>", attachments=[replies.Attachment("a.png", "image/png", PNG)]))
    assert len(with_a_file.acted) == 1


def test_a_deactivated_account_adds_nothing_by_mail():
    gone = dict(CUSTOMER_PRINCIPAL, active=False)
    service = FakeService(people={CUSTOMER: gone})
    run(service, inbound())  # a valid token
    assert service.acted == [] and service.opened == []
    assert bounce(service).context["reason"] == "inactive"
    unanswered = FakeService(people={CUSTOMER: gone})
    run(unanswered, inbound(to=f"reply@{DOMAIN}"))  # no token, not authenticated
    assert unanswered.acted == [] and unanswered.opened == [] and unanswered.mails == []


def test_only_an_authenticated_stranger_gets_a_bounce_and_it_echoes_nothing():
    stranger = "desconocido@elsewhere.example"
    spoofed = FakeService()
    run(spoofed, inbound(sender=stranger, to=f"reply@{DOMAIN}"))
    assert spoofed.mails == []  # no backscatter to whoever was named in From
    real = FakeService()
    run(real, inbound(sender=stranger, to=f"reply@{DOMAIN}", authenticated=True))
    sent = bounce(real)
    assert (sent.recipient, sent.context["reason"]) == (stranger, "unknown_sender")
    assert "subject" not in sent.context and "Sigue sin funcionar." not in str(sent.context)


# -- the SMTP endpoint (services/notifier/inbound.py) -------------------------------------------

class FakePublisher:
    def __init__(self, fail=False):
        self.fail, self.published, self.declared = fail, [], []

    def declare(self, *entities):
        self.declared += [entity.name for entity in entities]

    def publish(self, body, *, routing_key, message_id=None, **kwargs):
        if self.fail:
            raise ConnectionError("broker unreachable")
        self.published.append((routing_key, message_id, body))


def smtp_envelope(mail_from="cliente@demo.example", rcpt_tos=(), content=b"Subject: x\r\n\r\nhola\r\n"):
    return types.SimpleNamespace(mail_from=mail_from, rcpt_tos=list(rcpt_tos), rcpt_options=[], mail_options=[],
                                 original_content=content, content=content)


def test_the_endpoint_answers_250_only_once_the_broker_has_the_message():
    import asyncio
    import base64

    from services.notifier.inbound import QUEUE, InboundHandler

    publisher = FakePublisher()
    handler = InboundHandler(publisher, DOMAIN)
    envelope = smtp_envelope(rcpt_tos=[f"reply+x@{DOMAIN}"])
    answer = asyncio.run(handler.handle_DATA(None, None, envelope))
    ((routing_key, message_id, body),) = publisher.published
    assert answer == f"250 2.0.0 Queued as {message_id}"
    assert routing_key == QUEUE and publisher.declared == [QUEUE]  # declared before publishing
    assert body["mail_from"] == "cliente@demo.example" and body["rcpt_tos"] == [f"reply+x@{DOMAIN}"]
    assert base64.b64decode(body["data_base64"]) == envelope.original_content
    assert dt.datetime.fromisoformat(body["received_at"]).tzinfo is not None

    failing = InboundHandler(FakePublisher(fail=True), DOMAIN)
    assert asyncio.run(failing.handle_DATA(None, None, smtp_envelope())).startswith("451 ")


def test_the_endpoint_takes_only_reply_addresses_and_the_null_sender():
    import asyncio

    from services.notifier.inbound import InboundHandler

    handler = InboundHandler(FakePublisher(), DOMAIN)
    envelope = smtp_envelope(mail_from=None)
    assert asyncio.run(handler.handle_MAIL(None, None, envelope, "", [])) == "250 OK"
    assert envelope.mail_from == "<>"  # a bounce: taken, then dropped by the consumer without an answer
    assert asyncio.run(handler.handle_RCPT(None, None, envelope, f"reply+abc@{DOMAIN.upper()}", [])) == "250 OK"
    refused = asyncio.run(handler.handle_RCPT(None, None, envelope, "soporte@example.net", []))
    assert refused.startswith("550 ") and f"reply+...@{DOMAIN}" in refused
    assert envelope.rcpt_tos == [f"reply+abc@{DOMAIN.upper()}"]
