"""Replies by email, pure: reply addresses and their tokens, and reading an inbound mail (new text
without quoted history or signature, attachments, auto-generated mail)."""
import datetime as dt
import re
import uuid
from email.message import EmailMessage

import pytest

from services.notifier import replies
from services.notifier.inbound_service import title_of
from services.notifier.replies import ForgedToken, ReplyToken, match_reply, reply_address

SECRET = "unit-test-link-secret"
DOMAIN = "replies.helpdesk.local"
TICKET = "3f2b6a1e-8c1d-4b7e-9a55-0c6d2e4f7a10"
CUSTOMER = "cliente@demo.example"
SENT = dt.date(2026, 11, 23)


def address_for(recipient=CUSTOMER, ticket=TICKET, domain=DOMAIN, sent=SENT, secret=SECRET):
    return reply_address(secret, ticket, recipient, domain, sent)


# -- reply addresses ----------------------------------------------------------------------------

def test_a_reply_address_opens_its_ticket_for_its_recipient_and_says_when_it_was_sent():
    address = address_for()
    local, domain = address.split("@")
    assert domain == DOMAIN
    assert local.startswith("reply+") and local.count(".") == 2
    assert len(local) <= 64  # RFC 5321's limit for a local part
    assert local == local.lower()
    assert match_reply(SECRET, address, CUSTOMER) == ReplyToken(TICKET, SENT)
    assert match_reply(SECRET, f"Soporte <{address}>", f"Ana Cliente <{CUSTOMER}>", DOMAIN).ticket_id == TICKET


@pytest.mark.parametrize("sent", [dt.date(2000, 1, 1), dt.date(2026, 12, 31), dt.date(2999, 12, 31)])
def test_the_day_survives_the_address(sent):
    assert match_reply(SECRET, address_for(sent=sent), CUSTOMER, DOMAIN).issued_on == sent


def test_the_ticket_may_be_given_as_a_uuid_and_the_address_is_deterministic():
    assert address_for(ticket=uuid.UUID(TICKET)) == address_for()
    assert address_for() != address_for(recipient="otro@demo.example")
    assert address_for() != address_for(sent=SENT + dt.timedelta(days=1))


def test_addresses_are_case_insensitive():
    address = address_for(recipient=CUSTOMER.upper(), domain=DOMAIN.upper())
    assert address == address_for()
    assert match_reply(SECRET, address.upper(), CUSTOMER, DOMAIN).ticket_id == TICKET
    assert match_reply(SECRET, address, "Cliente@Demo.Example", DOMAIN).ticket_id == TICKET


def test_a_token_copied_into_someone_elses_mail_is_refused():
    with pytest.raises(ForgedToken) as refused:
        match_reply(SECRET, address_for(), "colega@demo.example", DOMAIN)
    assert refused.value.ticket_id == TICKET
    assert "sender" in refused.value.reason


def test_a_forged_token_is_refused():
    address = address_for()
    local, domain = address.split("@")
    tampered = local[:-1] + ("a" if local[-1] != "a" else "b")
    with pytest.raises(ForgedToken):
        match_reply(SECRET, f"{tampered}@{domain}", CUSTOMER, DOMAIN)
    prefix, ticket, day, mac = re.match(r"^(reply\+)([a-z2-7]{26})\.([a-z2-7]{4})\.([a-z2-7]{25})$", local).groups()
    other_ticket = address_for(ticket=uuid.uuid4()).split(".")[0]
    with pytest.raises(ForgedToken):  # another ticket's id under this MAC
        match_reply(SECRET, f"{other_ticket}.{day}.{mac}@{domain}", CUSTOMER, DOMAIN)
    younger = address_for(sent=SENT + dt.timedelta(days=400)).split(".")[1]
    with pytest.raises(ForgedToken):  # a later day under this MAC: a token cannot be made younger
        match_reply(SECRET, f"{prefix}{ticket}.{younger}.{mac}@{domain}", CUSTOMER, DOMAIN)
    with pytest.raises(ForgedToken):  # made with another secret
        match_reply(SECRET, address_for(secret="another-secret-entirely"), CUSTOMER, DOMAIN)
    with pytest.raises(ForgedToken):  # no sender to check against
        match_reply(SECRET, address, "", DOMAIN)


def test_a_token_expires_after_the_days_it_is_valid():
    token = match_reply(SECRET, address_for(), CUSTOMER, DOMAIN)
    assert not token.expired(SENT, 90)
    assert not token.expired(SENT + dt.timedelta(days=90), 90)
    assert token.expired(SENT + dt.timedelta(days=91), 90)


@pytest.mark.parametrize("address", [
    "reply+abc@replies.helpdesk.local",
    "reply+" + "a" * 26 + "@replies.helpdesk.local",
    "reply+" + "0" * 32 + "." + "a" * 25 + "@replies.helpdesk.local",  # the old, undated form
    "reply+" + "a" * 26 + "." + "a" * 4 + "." + "a" * 24 + "@replies.helpdesk.local",
    "reply+" + "a" * 26 + "." + "a" * 4 + "." + "a" * 26 + "@replies.helpdesk.local",
    "reply+" + "a" * 26 + "." + "a" * 3 + "." + "a" * 25 + "@replies.helpdesk.local",
    "reply+" + "a" * 26 + "." + "a" * 4 + "." + "1" * 25 + "@replies.helpdesk.local",  # not base32
])
def test_a_malformed_token_is_refused_as_forged(address):
    with pytest.raises(ForgedToken) as refused:
        match_reply(SECRET, address, CUSTOMER, DOMAIN)
    assert refused.value.reason == "malformed token"


@pytest.mark.parametrize("address", [
    "", "not an address", "reply@replies.helpdesk.local", "reply+@replies.helpdesk.local",
    "soporte@replies.helpdesk.local", "cliente@demo.example", "replies+x@replies.helpdesk.local",
])
def test_an_address_without_a_token_is_no_token(address):
    assert match_reply(SECRET, address, CUSTOMER, DOMAIN) is None


def test_a_reply_address_of_another_domain_carries_no_token_here():
    address = address_for(domain="elsewhere.example")
    assert match_reply(SECRET, address, CUSTOMER, DOMAIN) is None
    assert match_reply(SECRET, address, CUSTOMER).ticket_id == TICKET  # no domain given: any


def test_which_addresses_the_inbound_endpoint_takes():
    assert replies.is_reply_address("reply+anything@replies.helpdesk.local", DOMAIN)
    assert replies.is_reply_address("REPLY@Replies.Helpdesk.Local", DOMAIN)  # "+tag" stripped on the way
    assert not replies.is_reply_address("postmaster@replies.helpdesk.local", DOMAIN)
    assert not replies.is_reply_address("reply+x@other.example", DOMAIN)


# -- the new text of a reply --------------------------------------------------------------------

GMAIL_ES = """Ya funciona, gracias.

Un saludo,
Ana

El lun, 23 nov 2026 a las 10:00, Soporte (<soporte@example.net>) escribió:

> Hemos reiniciado el router.
> ¿Puede comprobarlo?
"""

GMAIL_ES_WRAPPED = """Sigue sin funcionar.

El lun, 23 nov 2026 a las 10:00, Soporte Técnico de Cartagon (<
soporte@example.net>) escribió:

> Hemos reiniciado el router.
"""

OUTLOOK_ES = """Adjunto la captura que pedían.

________________________________
De: Soporte <soporte@example.net>
Enviado: lunes, 23 de noviembre de 2026 10:00
Para: Ana Cliente <cliente@demo.example>
Asunto: [Ticket #000001] Sin conexión

¿Puede enviarnos una captura del router?
"""

OUTLOOK_ES_NO_LINE = """Adjunto la captura que pedían.

De: Soporte <soporte@example.net>
Enviado el: lunes, 23 de noviembre de 2026 10:00
Para: Ana Cliente <cliente@demo.example>
Asunto: [Ticket #000001] Sin conexión

¿Puede enviarnos una captura del router?
"""

GMAIL_EN = """It works now, thanks.

--
Ana Cliente
Demo S.L. | +34 600 000 000

On Mon, Nov 23, 2026 at 10:00 AM Support <support@example.net> wrote:

> We restarted the router.
> Can you check?
"""

OUTLOOK_EN = """Still down since 12:00.

Sent from my iPhone

From: Support <support@example.net>
Sent: Monday, November 23, 2026 10:00 AM
To: Ana <cliente@demo.example>
Subject: RE: [Ticket #000001] Down

We restarted the router.
"""


@pytest.mark.parametrize("text, expected", [
    (GMAIL_ES, "Ya funciona, gracias.\n\nUn saludo,\nAna"),
    (GMAIL_ES_WRAPPED, "Sigue sin funcionar."),
    (OUTLOOK_ES, "Adjunto la captura que pedían."),
    (OUTLOOK_ES_NO_LINE, "Adjunto la captura que pedían."),
    (GMAIL_EN, "It works now, thanks."),
    (OUTLOOK_EN, "Still down since 12:00."),
    ("Thanks\n\n> old\n> older\n> oldest\n", "Thanks"),
    ("Nothing quoted.\r\nSecond line.\r\n", "Nothing quoted.\nSecond line."),
    ("Hola,\nGracias, pero el problema sigue.\nSaludos,\nAna", "Hola,\nGracias, pero el problema sigue.\nSaludos,\nAna"),
    ("Respuesta.\n\n-- \nAna\nDemo S.L.", "Respuesta."),
    ("Respuesta.\n\nEnviado desde mi Android", "Respuesta."),
    ("El lun, 23 nov 2026 a las 10:00, Soporte escribió:\n\n> todo citado\n", ""),
])
def test_quoted_history_and_signatures_are_removed(text, expected):
    assert replies.reply_text(text) == expected


def test_an_html_only_reply_is_read_without_its_quote():
    html = ("<html><body><div dir='ltr'>Ya funciona,<br>gracias.</div><br>"
            "<div class='gmail_quote'><div class='gmail_attr'>El lun, 23 nov 2026 a las 10:00, Soporte "
            "(&lt;soporte@example.net&gt;) escribió:<br></div><blockquote class='gmail_quote'>"
            "Hemos reiniciado el router.</blockquote></div></body></html>")
    assert replies.reply_text_from_html(html) == "Ya funciona,\ngracias."


# -- reading a whole mail -----------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


def message(**headers):
    msg = EmailMessage()
    msg["From"] = headers.pop("From", f"Ana Cliente <{CUSTOMER}>")
    msg["To"] = headers.pop("To", address_for())
    msg["Subject"] = headers.pop("Subject", "Re: [Ticket #000001] Sin conexión")
    msg["Message-ID"] = headers.pop("Message_ID", "<abc@mail.demo.example>")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(GMAIL_ES)
    return msg


def test_a_reply_is_read_with_its_sender_recipients_text_and_files():
    msg = message(Cc="Otro <otro@demo.example>")
    msg.add_alternative("<p>Ya funciona, gracias.</p><img src='cid:logo'>", subtype="html")
    html = msg.get_payload()[1]
    html.add_related(PNG, "image", "png", cid="<logo>", filename="logo.png", disposition="inline")  # a logo
    msg.add_attachment(PNG, maintype="image", subtype="png", filename="captura.png")
    msg.add_attachment(b"%PDF-1.4\n", maintype="application", subtype="pdf", filename="informe.pdf")
    mail = replies.parse(msg.as_bytes(), "bounces+x@demo.example", ["reply@replies.helpdesk.local"])
    assert mail.sender == CUSTOMER
    assert mail.envelope_from == "bounces+x@demo.example"
    assert mail.recipients == ("reply@replies.helpdesk.local", address_for(),
                               "otro@demo.example")
    assert mail.subject == "Re: [Ticket #000001] Sin conexión"
    assert mail.message_id == "<abc@mail.demo.example>"
    assert mail.text == "Ya funciona, gracias.\n\nUn saludo,\nAna"
    assert [(a.filename, a.content_type) for a in mail.attachments] == [
        ("captura.png", "image/png"), ("informe.pdf", "application/pdf")]
    assert mail.attachments[0].content == PNG
    assert mail.attachments[0].as_upload()["filename"] == "captura.png"
    assert mail.auto_generated is None


def test_a_photo_attached_inline_is_an_attachment():
    """Apple Mail marks the photos a person attaches as inline, with a file name."""
    msg = message()
    msg.add_attachment(PNG, maintype="image", subtype="png", filename="IMG_0001.png", disposition="inline")
    (photo,) = replies.parse(msg.as_bytes(), CUSTOMER, []).attachments
    assert photo.filename == "IMG_0001.png"


def test_the_sender_falls_back_to_the_envelope_and_the_message_id_may_be_missing():
    msg = message()
    del msg["From"], msg["Message-ID"]
    mail = replies.parse(msg.as_bytes(), CUSTOMER, [])
    assert mail.sender == CUSTOMER and mail.message_id is None


@pytest.mark.parametrize("headers, envelope_from, why", [
    ({"Auto_Submitted": "auto-replied"}, CUSTOMER, "Auto-Submitted: auto-replied"),
    ({"Auto_Submitted": "auto-generated; owner-email=x@y"}, CUSTOMER, "Auto-Submitted: auto-generated"),
    ({"Precedence": "bulk"}, CUSTOMER, "Precedence: bulk"),
    ({"Precedence": "List"}, CUSTOMER, "Precedence: list"),
    ({}, "", "empty envelope sender"),
    ({}, "<>", "empty envelope sender"),
])
def test_auto_generated_mail_is_recognised(headers, envelope_from, why):
    assert replies.parse(message(**headers).as_bytes(), envelope_from, []).auto_generated == why


def test_a_person_writing_is_not_auto_generated():
    assert replies.parse(message(Auto_Submitted="no", Precedence="normal").as_bytes(), CUSTOMER, []).auto_generated is None


def test_a_ticket_title_from_a_subject():
    assert title_of("Re: RE: Fwd: [Ticket #000001] Sin conexión") == "[Ticket #000001] Sin conexión"
    assert title_of("RV: Factura") == "Factura"
    assert title_of("") == "Email"
    assert title_of("Re:   ") == "Email"
    assert len(title_of("x" * 500)) == 200
