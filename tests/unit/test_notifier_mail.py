"""Planning and rendering mail: pure. What a customer types cannot break headers or HTML, and
links carry tokens derived at render time from the event's nonce."""
import datetime as dt
import email
import email.policy
import uuid

import pytest

from helpdesk.events import RecordedEvent
from helpdesk.linktokens import LinkTokens, digest
from services.notifier.mail import message_id
from services.notifier.plans import mails_for
from services.notifier.render import Renderer

SECRET = "unit-test-link-secret"
RENDERER = Renderer(SECRET, "https://help.example/", "Soporte <s@example.net>")
CONTACTS = {"u-en": {"language": "en", "name": "Eve", "email": "eve@example.com"},
            "u-es": {"language": "es", "name": "Ana", "email": "ana@example.com"}}


class Directory:
    def contact(self, user_id):
        return CONTACTS.get(user_id)

    def supervisors(self):
        return [{"email": "boss@example.com", "name": "Boss", "language": "en"}]


DIRECTORY = Directory()


def event(type_, **data):
    return RecordedEvent(event_id=uuid.uuid4(), type=type_, schema_version=1, stream="x-1",
                         stream_position=0, global_position=1,
                         occurred_at=dt.datetime.now(dt.timezone.utc), data=data)


def rendered(evt):
    (mail,) = mails_for(evt, DIRECTORY)
    msg = RENDERER.render(mail.template, mail.language, mail.context, mail.recipient, evt.event_id)
    return email.message_from_string(msg.as_string(), policy=email.policy.default)


def ticket_opened(title):
    return event("TicketOpened", ticket_id=str(uuid.uuid4()), requester_id="u-es",
                 requester_email="ana@example.com", title=title)


def test_header_injection_in_a_title_stays_in_the_subject():
    parsed = rendered(ticket_opened("Hola\r\nBcc: victim@example.org\r\nX-Evil: 1"))
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert "Bcc: victim@example.org" in parsed["Subject"]
    assert parsed["To"] == "ana@example.com"


def test_html_in_a_title_is_escaped_in_the_html_part_and_plain_in_the_text_part():
    parsed = rendered(ticket_opened('<script>alert(1)</script><a href="http://evil">x</a>'))
    html = parsed.get_body(("html",)).get_content()
    text = parsed.get_body(("plain",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="http://evil"' not in html
    assert "<script>alert(1)</script>" in text


def test_ticket_mail_links_to_the_ticket_at_the_end_in_the_recipients_language():
    evt = ticket_opened("Sin conexión")
    parsed = rendered(evt)
    text = parsed.get_body(("plain",)).get_content().strip()
    assert text.endswith(f"https://help.example/tickets/{evt.data['ticket_id']}")
    assert "Ticket abierto" in parsed["Subject"]
    english = event("TicketOpened", ticket_id=str(uuid.uuid4()), requester_id="u-en",
                    requester_email="eve@example.com", title="Down")
    assert "Ticket opened" in rendered(english)["Subject"]


def test_verification_link_token_is_derived_and_matches_what_identity_stores():
    nonce = "abcdefghijklmnop"
    evt = event("EmailVerificationRequested", user_id="u-en", email="eve@example.com", nonce=nonce,
                expires_at="2030-01-01T00:00:00+00:00")
    text = rendered(evt).get_body(("plain",)).get_content()
    token = LinkTokens(SECRET).derive("verify-email", "u-en", nonce)
    assert f"https://help.example/verify-email#token={token}" in text
    # the plan itself (what the outbox stores) holds no usable token
    (mail,) = mails_for(evt, DIRECTORY)
    assert token not in repr(mail) and digest(token) not in repr(mail)


def test_credentials_mail_carries_the_derived_initial_password():
    evt = event("InitialCredentialsIssued", user_id="u-es", email="ana@example.com", nonce="n0nce-n0nce")
    text = rendered(evt).get_body(("plain",)).get_content()
    assert LinkTokens(SECRET).initial_password("u-es", "n0nce-n0nce") in text


@pytest.mark.parametrize("type_,data,recipients", [
    ("EmailChanged", {"user_id": "u-es", "old_email": "a@x.es", "new_email": "b@x.es"}, ["a@x.es", "b@x.es"]),
    ("RegistrationRepeated", {"user_id": "u-es", "email": "a@x.es"}, ["a@x.es"]),
    ("PasswordChanged", {"user_id": "u-es", "email": "a@x.es", "reason": "reset"}, ["a@x.es"]),
    ("EmailVerified", {"user_id": "u-es", "email": "a@x.es"}, []),
])
def test_who_is_mailed_for_identity_events(type_, data, recipients):
    assert [m.recipient for m in mails_for(event(type_, **data), DIRECTORY)] == recipients


def test_message_ids_are_stable_per_event_and_recipient():
    event_id = uuid.uuid4()
    assert message_id(event_id, "a@x.es") == message_id(event_id, "a@x.es")
    assert message_id(event_id, "a@x.es") != message_id(event_id, "b@x.es")


@pytest.mark.parametrize("kind,words", [("SlaWarning", "Aviso"), ("SlaBreached", "incumplido")])
def test_sla_alerts_go_to_the_assignee_and_the_supervisors(kind, words):
    evt = event(kind, ticket_id=str(uuid.uuid4()), reference="#000042", clock="first_response",
                due_at="2026-11-23T10:30:00+01:00", department="networks", urgency="high", assignee_id="u-es")
    mails = mails_for(evt, DIRECTORY)
    assert [(m.recipient, m.language) for m in mails] == [("ana@example.com", "es"), ("boss@example.com", "en")]
    msg = RENDERER.render(mails[0].template, mails[0].language, mails[0].context, mails[0].recipient, evt.event_id)
    assert words in msg["Subject"] and "#000042" in msg["Subject"]
