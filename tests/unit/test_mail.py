"""Mail composition is pure: what a customer types cannot break the headers."""
import email
import email.policy
import uuid

from helpdesk.events import RecordedEvent
from services.notifier.mail import message_id, ticket_opened_mail


def opened(title, requester="ana@example.com"):
    import datetime as dt

    ticket_id = str(uuid.uuid4())
    return RecordedEvent(
        event_id=uuid.uuid4(), type="TicketOpened", schema_version=1, stream=f"ticket-{ticket_id}",
        stream_position=0, global_position=1, occurred_at=dt.datetime.now(dt.timezone.utc),
        data={"ticket_id": ticket_id, "requester_email": requester, "title": title})


def test_header_injection_in_a_title_stays_in_the_subject():
    event = opened("Hola\r\nBcc: victim@example.org\r\nX-Evil: 1")
    raw = ticket_opened_mail(event, "Soporte <s@example.net>", "https://h.example").as_string()
    parsed = email.message_from_string(raw, policy=email.policy.default)
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert "Bcc: victim@example.org" in parsed["Subject"]
    assert parsed["To"] == "ana@example.com"


def test_the_mail_links_to_the_ticket_and_has_a_stable_message_id():
    event = opened("Sin conexión")
    msg = ticket_opened_mail(event, "Soporte <s@example.net>", "https://h.example/")
    assert f"https://h.example/tickets/{event.data['ticket_id']}" in msg.get_content()
    assert msg["Message-ID"] == message_id(event.event_id, "ana@example.com")
    assert message_id(event.event_id, "ana@example.com") != message_id(event.event_id, "b@example.com")
