"""Planning and rendering mail: pure. What a customer types cannot break headers or HTML, and
links carry tokens derived at render time from the event's nonce."""
import dataclasses
import datetime as dt
import email
import email.policy
import re
import email.utils
import uuid

import pytest

from helpdesk.events import RecordedEvent
from helpdesk.linktokens import LinkTokens, digest
from services.notifier.mail import message_id
from services.notifier.plans import mails_for
from services.notifier.render import Renderer

SECRET = "unit-test-link-secret"
SENT_AT = dt.datetime(2026, 12, 3, 16, 50, 7, tzinfo=dt.timezone.utc)


class FixedClock:
    def now(self):
        return SENT_AT


RENDERER = Renderer(SECRET, "https://help.example/", "Soporte <s@example.net>", clock=FixedClock())
CONTACTS = {"u-en": {"user_id": "u-en", "language": "en", "name": "Eve", "email": "eve@example.com",
                     "time_zone": "America/New_York"},
            "u-es": {"user_id": "u-es", "language": "es", "name": "Ana", "email": "ana@example.com"}}


TICKETS = {}
OPTED_OUT = {}  # ticket id -> addresses that unsubscribed from it
GROUP = {"user_id": "u-group", "email": "soporte@empresa.es", "name": "Soporte", "language": "es"}
AGENT = {"user_id": "u-agent", "email": "agente@helpdesk.es", "name": "Agente", "language": "en"}


class Directory:
    """The notifier's projections, as a fake: people and tickets the planner may ask about."""

    def contact(self, user_id):
        return {**CONTACTS, "u-group": GROUP, "u-agent": AGENT}.get(user_id)

    def contact_by_email(self, email):
        return next((c for c in (*CONTACTS.values(), GROUP, AGENT) if c["email"] == email.lower()), None)

    def supervisors(self):
        return [{"email": "boss@example.com", "name": "Boss", "language": "en"}]

    def agents_of(self, department):
        return [AGENT] if department == "networks" else []

    def group_users(self, company_id):
        return [GROUP] if company_id == "c-1" else []

    def ticket(self, ticket_id):
        return TICKETS.get(ticket_id)

    def opted_out(self, ticket_id):
        return OPTED_OUT.get(ticket_id, set())

    def status_subscribers(self, services):
        """eve@example.com asked for the status of email."""
        return [("eve@example.com", "u-en")] if "email" in services else []


DIRECTORY = Directory()


def event(type_, **data):
    return RecordedEvent(event_id=uuid.uuid4(), type=type_, schema_version=1, stream="x-1",
                         stream_position=0, global_position=1,
                         occurred_at=dt.datetime.now(dt.timezone.utc), data=data)


def rendered(evt):
    (mail,) = mails_for(evt, DIRECTORY)
    msg = RENDERER.render(mail.template, mail.language, mail.context, mail.recipient, evt.event_id)
    return email.message_from_string(msg.as_string(), policy=email.policy.default)


def ticket_opened(title, requester="u-es", cc=(), company_id=None, department=None):
    ticket_id = str(uuid.uuid4())
    email = CONTACTS[requester]["email"]
    TICKETS[ticket_id] = {"ticket_id": ticket_id, "reference": "#000007", "title": title, "requester_id": requester,
                          "requester_email": email, "company_id": company_id, "cc": list(cc),
                          "department": department, "assignee_id": "u-agent"}
    return event("TicketOpened", ticket_id=ticket_id, requester_id=requester, requester_email=email, title=title,
                 reference="#000007", department=department, company_id=company_id)


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
    assert "Ticket abierto" in parsed["Subject"] and "#000007" in parsed["Subject"]
    assert "Ticket opened" in rendered(ticket_opened("Down", requester="u-en"))["Subject"]


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


def render_all(mails, evt):
    return {m.recipient: email.message_from_string(
        RENDERER.render(m.template, m.language, m.context, m.recipient, evt.event_id).as_string(),
        policy=email.policy.default) for m in mails}


def follow_up(opening, type_, **data):
    return event(type_, ticket_id=opening.data["ticket_id"], by={"user_id": "u-agent", "name": "Agente", "role": "agent"},
                 **data)


CUSTOMER_VISIBLE = [
    ("TicketRouted", {"department": "networks", "reason": {"es": "por la red", "en": "network"}}, "Redes"),
    ("TicketAssigned", {"agent_id": "u-agent", "agent_name": "Agente"}, "Asignado"),
    ("WorkStarted", {}, "En curso"),
    ("StaffReplied", {"body": "Reiniciamos el router"}, "Nueva respuesta"),
    ("InformationRequested", {"body": "¿Qué modelo?"}, "más información"),
    ("UrgencyChanged", {"urgency": "high", "previous": "medium"}, "Urgencia"),
    ("SolutionApproved", {"comment": "Gracias"}, "aprobada"),
    ("SolutionRefused", {"reason": "Sigue igual"}, "Reabierto"),
    ("TicketReopened", {"reason": "Llamó: sigue igual"}, "Reabierto"),
    ("TicketClosed", {"reason": ""}, "Cerrado"),
    ("TicketMerged", {"into": "x", "into_reference": "#000001"}, "Fusionado"),
]


@pytest.mark.parametrize("type_,data,subject", CUSTOMER_VISIBLE, ids=[c[0] for c in CUSTOMER_VISIBLE])
def test_every_customer_visible_event_mails_the_requester_the_copies_and_the_group_users(type_, data, subject):
    opening = ticket_opened("Sin conexión", cc=["jefe@empresa.es"], company_id="c-1")
    evt = follow_up(opening, type_, **data)
    mails = mails_for(evt, DIRECTORY)
    customers = sorted(m.recipient for m in mails if m.template != "staff_ticket")
    assert customers == sorted(["ana@example.com", "jefe@empresa.es", "soporte@empresa.es"])
    for recipient, msg in render_all(mails, evt).items():
        if recipient != AGENT["email"]:
            assert subject in msg["Subject"] and "#000007" in msg["Subject"]
            assert msg.get_body(("plain",)).get_content().strip().endswith(f"/tickets/{opening.data['ticket_id']}")


@pytest.mark.parametrize("type_", ["InternalNoteAdded", "ProviderFaultMarked"])
def test_internal_events_are_never_mailed(type_):
    opening = ticket_opened("x", cc=["jefe@empresa.es"], company_id="c-1")
    assert mails_for(follow_up(opening, type_, body="solo para el equipo", provider_fault=True), DIRECTORY) == []


def test_a_customer_comment_is_not_mailed_back_to_its_author_and_tells_the_assignee():
    opening = ticket_opened("x", cc=["jefe@empresa.es"])
    evt = event("CustomerCommented", ticket_id=opening.data["ticket_id"], body="Más datos",
                by={"user_id": "u-es", "name": "Ana", "role": "customer"})
    mails = mails_for(evt, DIRECTORY)
    assert sorted((m.recipient, m.template) for m in mails) == [
        ("agente@helpdesk.es", "staff_ticket"), ("jefe@empresa.es", "ticket_update")]
    assert "The customer replied" in render_all(mails, evt)["agente@helpdesk.es"]["Subject"]


def test_a_ticket_in_a_queue_is_announced_to_the_departments_agents():
    opening = ticket_opened("Caída", department="networks")
    assert "agente@helpdesk.es" in [m.recipient for m in mails_for(opening, DIRECTORY) if m.template == "staff_ticket"]


def test_a_resolution_carries_decision_links_for_those_who_may_decide_and_they_verify():
    import datetime as dt
    from urllib.parse import parse_qs, urlparse

    from helpdesk.linktokens import APPROVE_SOLUTION, SignedLinks, decision_subject

    opening = ticket_opened("x", cc=["jefe@empresa.es"], company_id="c-1")
    evt = follow_up(opening, "TicketResolved", solution="Cambiamos la fibra")
    rendered_mails = render_all(mails_for(evt, DIRECTORY), evt)
    assert "/solution#" not in rendered_mails["jefe@empresa.es"].get_body(("plain",)).get_content()  # CC: no links
    text = rendered_mails["ana@example.com"].get_body(("plain",)).get_content()
    assert "Cambiamos la fibra" in text
    approve = next(line for line in text.splitlines() if "decision=approve" in line)
    fragment = {k: v[0] for k, v in parse_qs(urlparse(approve).fragment).items()}
    subject = decision_subject(fragment["ticket"], fragment["recipient"], fragment["resolution"])
    now = dt.datetime.now(dt.timezone.utc)
    links = SignedLinks(SECRET)
    assert fragment["recipient"] == "ana@example.com" and int(fragment["resolution"]) == evt.stream_position
    assert links.verify(fragment["token"], APPROVE_SOLUTION, subject, now)
    assert not links.verify(fragment["token"], APPROVE_SOLUTION, subject.replace("ana@", "eve@"), now)
    assert not links.verify(fragment["token"], "refuse-solution", subject, now)
    assert not links.verify(fragment["token"], APPROVE_SOLUTION, subject, now + dt.timedelta(days=30))


@pytest.mark.parametrize("type_,data,_", CUSTOMER_VISIBLE + [("TicketResolved", {"solution": "<b>x</b>"}, "")])
def test_what_people_typed_cannot_break_any_ticket_mail(type_, data, _):
    hostile = 'Hola\r\nBcc: victim@example.org <script>alert(1)</script>'
    opening = ticket_opened(hostile)
    evt = follow_up(opening, type_, **{k: (hostile if isinstance(v, str) and k != "department" else v)
                                       for k, v in data.items()})
    for msg in render_all(mails_for(evt, DIRECTORY), evt).values():
        assert msg["Bcc"] is None
        assert "<script>" not in msg.get_body(("html",)).get_content()


@pytest.mark.parametrize("type_,data", [
    ("EmailVerificationRequested", {"email": "x@example.com", "nonce": "n" * 16, "expires_at": "2030-01-01T00:00:00+00:00"}),
    ("PasswordResetRequested", {"email": "x@example.com", "nonce": "n" * 16, "expires_at": "2030-01-01T00:00:00+00:00"}),
    ("RegistrationRepeated", {"email": "x@example.com"}),
    ("PasswordChanged", {"email": "x@example.com", "reason": "user"}),
    ("InitialCredentialsIssued", {"email": "x@example.com", "nonce": "n" * 16}),
])
def test_a_hostile_name_cannot_break_any_account_mail(type_, data):
    hostile = {"user_id": "u-evil", "language": "es", "email": "x@example.com",
               "name": 'Eve\r\nBcc: victim@example.org <script>alert(1)</script>'}

    class Hostile(Directory):
        def contact(self, user_id):
            return hostile if user_id == "u-evil" else super().contact(user_id)

    evt = event(type_, user_id="u-evil", **data)
    mails = mails_for(evt, Hostile())
    assert mails
    for mail in mails:
        msg = email.message_from_string(
            RENDERER.render(mail.template, mail.language, mail.context, mail.recipient, evt.event_id).as_string(),
            policy=email.policy.default)
        assert msg["Bcc"] is None and "<script>" not in msg.get_body(("html",)).get_content()


# -- headers, times and how to answer: what a customer meets in the mail itself ----------------

LONG_TITLES = [
    "Pérdida de paquetes en la conexión de fibra óptica de la sede central de Cartagena",
    "Interrupción total: el enlace principal y el de respaldo están caídos desde las 9:00 en Mérida",
    "Lentitud extrema en la navegación — ¿podrían revisar la configuración del encaminador?",
    "Á" * 40 + " información " + "ñ" * 40,
]


def every_ticket_mail(title):
    """(event, opening) for every ticket mail template and kind, on a ticket with `title`."""
    opening = ticket_opened(title, cc=["jefe@empresa.es"], company_id="c-1", department="networks")
    yield opening
    for type_, data, _ in CUSTOMER_VISIBLE + [("TicketResolved", {"solution": "Cambiada la fibra"}, "")]:
        yield follow_up(opening, type_, **data)
    yield event("CustomerCommented", ticket_id=opening.data["ticket_id"], body="Más datos",
                by={"user_id": "u-es", "name": "Ana", "role": "customer"})
    yield event("SlaWarning", ticket_id=opening.data["ticket_id"], reference="#000007", clock="resolution",
                due_at="2026-12-03T17:50:00+00:00", department="networks", urgency="high", assignee_id="u-agent")


@pytest.mark.parametrize("title", LONG_TITLES)
def test_long_accented_subjects_unfold_to_exactly_what_was_written_in_every_template(title):
    """Python's folder lost the space between two encoded words ("información:Pérdida") and could
    start the value on a line of its own (a leading space)."""
    templates = set()
    for evt in every_ticket_mail(title):
        for mail in mails_for(evt, DIRECTORY):
            templates.add(mail.template)
            message = RENDERER.render(mail.template, mail.language, mail.context, mail.recipient, evt.event_id)
            raw = message.as_bytes()
            head = raw.split(b"\r\n\r\n")[0]
            assert all(len(line) <= 78 for line in head.split(b"\r\n") if line.startswith((b"Subject", b" =?")))
            written = " ".join(message["Subject"].split())
            for parsed in (email.message_from_bytes(raw, policy=email.policy.default),
                           email.message_from_string(message.as_string(), policy=email.policy.default)):
                assert parsed["Subject"] == written, (mail.template, parsed["Subject"])
                assert not parsed["Subject"].startswith(" ")
            if mail.template != "sla_alert":
                assert title[:30] in written
    assert templates == {"ticket_opened", "ticket_update", "ticket_resolved", "staff_ticket", "sla_alert"}


def test_a_long_ascii_subject_is_folded_at_spaces_and_never_starts_on_a_line_of_its_own():
    title = "Router " + "x" * 90 + " down again after the maintenance window of last night at the main office"
    parsed = rendered(ticket_opened(title))
    assert parsed["Subject"] == f"[Ticket #000007] Ticket abierto: {title}"[:147] + "…"  # cut after "after"


def test_every_mail_is_dated_when_it_is_sent_by_the_renderers_clock():
    for evt in (ticket_opened("Sin conexión"), event("RegistrationRepeated", user_id="u-en", email="eve@example.com")):
        parsed = rendered(evt)
        assert email.utils.parsedate_to_datetime(parsed["Date"]) == SENT_AT.replace(microsecond=0)


@pytest.mark.parametrize("type_", ["PasswordResetRequested", "EmailVerificationRequested"])
def test_link_expiry_is_written_in_the_recipients_zone_never_in_utc(type_):
    def expiry_text(user_id):
        evt = event(type_, user_id=user_id, email=CONTACTS[user_id]["email"], nonce="n" * 16,
                    expires_at="2026-12-03T17:50:00+00:00")
        return rendered(evt).get_body(("plain",)).get_content()

    spanish, english = expiry_text("u-es"), expiry_text("u-en")  # Ana has no zone: the default, Madrid
    assert "caduca el 03/12/2026 18:50 (hora de Madrid)" in spanish
    assert "expires on 2026-12-03 12:50 (New York time)" in english
    assert "UTC" not in spanish + english


def test_times_in_ticket_mails_follow_each_recipient_and_copies_without_account_get_the_default():
    opening = ticket_opened("Sin conexión", requester="u-en", cc=["jefe@empresa.es"])
    evt = follow_up(opening, "TicketResolved", solution="Cambiada la fibra")
    evt = dataclasses.replace(evt, occurred_at=dt.datetime(2026, 7, 1, 10, 0, tzinfo=dt.timezone.utc))
    mails = render_all(mails_for(evt, DIRECTORY), evt)
    assert "The links expire on 2026-07-15 06:00 (New York time)." in mails["eve@example.com"].get_body(
        ("plain",)).get_content()
    alert = event("SlaBreached", ticket_id=opening.data["ticket_id"], reference="#000007", clock="resolution",
                  due_at="2026-07-01T10:00:00+00:00", department="networks", urgency="high", assignee_id="u-es")
    to_ana = render_all(mails_for(alert, DIRECTORY), alert)["ana@example.com"].get_body(("plain",)).get_content()
    assert "vence el 01/07/2026 12:00 (hora de Madrid)" in to_ana  # summer time


def test_a_renderer_without_a_zone_for_the_recipient_uses_the_configured_default():
    renderer = Renderer(SECRET, "https://help.example/", "s@example.net", clock=FixedClock(),
                        default_time_zone="Atlantic/Canary")
    evt = event("PasswordResetRequested", user_id="u-es", email="ana@example.com", nonce="n" * 16,
                expires_at="2026-12-03T17:50:00+00:00")
    (mail,) = mails_for(evt, DIRECTORY)
    text = renderer.render(mail.template, mail.language, mail.context, mail.recipient, evt.event_id)
    assert "17:50 (hora de Canarias)" in text.get_body(("plain",)).get_content()


@pytest.mark.parametrize("requester,portal,by_mail", [
    ("u-es", "Responda desde el portal: https://help.example/tickets/", "responder a este correo"),
    ("u-en", "Answer in the portal: https://help.example/tickets/", "reply to this email"),
])
@pytest.mark.parametrize("type_", ["InformationRequested", "StaffReplied"])
def test_mails_that_ask_for_an_answer_offer_the_portal_first_then_replying(type_, requester, portal, by_mail):
    """Manual 000, 2.2: updates through the helpdesk are handled first; replying by mail works too."""
    opening = ticket_opened("Sin conexión", requester=requester)
    text = rendered(follow_up(opening, type_, body="¿Qué luces ve?")).get_body(("plain",)).get_content()
    assert portal + opening.data["ticket_id"] in text and by_mail in text
    assert text.index(portal) < text.index(by_mail)


def test_an_information_request_says_when_it_was_asked_in_the_recipients_zone():
    opening = ticket_opened("Sin conexión", requester="u-en", cc=["jefe@empresa.es"])
    evt = dataclasses.replace(follow_up(opening, "InformationRequested", body="¿Qué luces ve?"),
                              occurred_at=dt.datetime(2026, 12, 3, 17, 50, tzinfo=dt.timezone.utc))
    mails = render_all(mails_for(evt, DIRECTORY), evt)
    assert "we asked on 2026-12-03 12:50 (New York time):" in mails["eve@example.com"].get_body(("plain",)).get_content()
    assert "se la pedimos el 03/12/2026 18:50 (hora de Madrid):" in mails["jefe@empresa.es"].get_body(
        ("plain",)).get_content()


# -- headers that user text cannot break (issue 10, finding 1) ---------------------------------
# Every template, with hostile text wherever user text reaches a header (ticket titles in
# subjects, account names in To, the subject of a bounced mail), on the interpreter make picks.

import base64  # noqa: E402

from services.notifier.mail import UnsafeMail, checked, compose, header_text, mailbox  # noqa: E402

ENCODED_WORD_INJECTION = ("=?utf-8?q?=0D=0AReply-To:_x@evil.example=0D=0AContent-Type:_text/html=0D=0A=0D=0A"
                          "<h1>x</h1>?=")
HOSTILE_TEXTS = {
    "encoded_word": ENCODED_WORD_INJECTION,
    "encoded_word_base64": "=?utf-8?b?" + base64.b64encode(b"\r\nBcc: x@evil.example\r\n\r\nbody").decode() + "?=",
    "encoded_word_in_words": "Hola =?UTF-8?Q?=0ABcc:_x@evil.example?= y ==?utf-8?q?=0A?=",
    "crlf": "Hola\r\nBcc: victim@example.org\r\nX-Evil: 1\n\nbody",
    "nul": "Hola\x00Bcc: victim@example.org\x00",
    "bidi": "\u202eBcc: victim@example.org\u202c \u2066x\u2069 \u200f\u061c",
    "separators": "Hola\u2028Bcc: victim@example.org\u2029X-Evil: 1\x85\x0b\x0c",
    "overlong": "palabra " * 120 + "Ñ" * 300,
}
OUR_HEADERS = {"from", "to", "date", "subject", "message-id", "auto-submitted", "mime-version", "content-type"}
MAYBE_OURS = {"reply-to", "list-unsubscribe", "list-unsubscribe-post"}  # ticket mails; copies
TICKET_TEMPLATES = {"ticket_opened", "ticket_update", "ticket_resolved", "staff_ticket", "sla_alert"}
HOSTILE_RENDERER = Renderer(SECRET, "https://help.example/", "Soporte <s@example.net>", "replies.example.net",
                            clock=FixedClock())


class HostileDirectory(Directory):
    """Everyone is called `name`: their names go into To headers."""

    def __init__(self, name):
        self.name = name

    def contact(self, user_id):
        found = super().contact(user_id)
        return found and {**found, "name": self.name}

    def contact_by_email(self, email):
        found = super().contact_by_email(email)
        return found and {**found, "name": self.name}

    def supervisors(self):
        return [{**person, "name": self.name} for person in super().supervisors()]

    def agents_of(self, department):
        return [{**person, "name": self.name} for person in super().agents_of(department)]

    def group_users(self, company_id):
        return [{**person, "name": self.name} for person in super().group_users(company_id)]


def every_mail(text):
    """(template, mail, event id) for every template, with `text` in every place user text goes."""
    directory = HostileDirectory(text)
    events = list(every_ticket_mail(text))
    events.append(event("SlaBreached", ticket_id=events[0].data["ticket_id"], reference="#000007",
                        clock="first_response", due_at="2026-12-03T17:50:00+00:00", department="networks",
                        urgency="high", assignee_id="u-agent"))
    account = {"user_id": "u-es", "email": "ana@example.com"}
    for type_, data in [
        ("EmailVerificationRequested", {"nonce": "n" * 16, "expires_at": "2030-01-01T00:00:00+00:00"}),
        ("PasswordResetRequested", {"nonce": "n" * 16, "expires_at": "2030-01-01T00:00:00+00:00"}),
        ("RegistrationRepeated", {}),
        ("PasswordChanged", {"reason": "user"}),
        ("InitialCredentialsIssued", {"nonce": "n" * 16}),
        ("EmailChanged", {"old_email": "ana@example.com", "new_email": "ana@example.org"}),
    ]:
        events.append(event(type_, **account, **data))
    for evt in events:
        for mail in mails_for(evt, directory):
            yield mail, evt.event_id
    for language in ("es", "en"):
        for reason in ("no_token", "unknown_sender", "extra_attachments"):
            context = {"reason": reason, "subject": text, "sender": "ana@example.com", "reference": "#000007",
                       "filename": text, "size_mb": 3, "limit_mb": 2, "detail": text, "others": [text],
                       "known": True, "path": "/tickets", "time_zone": None}
            from services.notifier.plans import Mail
            yield Mail("ana@example.com", language, "bounce", context), uuid.uuid4()


@pytest.mark.parametrize("text", HOSTILE_TEXTS.values(), ids=HOSTILE_TEXTS.keys())
def test_user_text_cannot_add_change_or_repeat_a_header_in_any_template(text):
    templates = set()
    for mail, event_id in every_mail(text):
        templates.add(mail.template)
        raw = HOSTILE_RENDERER.render_bytes(mail.template, mail.language, mail.context, mail.recipient, event_id)
        head = raw.split(b"\r\n\r\n")[0]
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        expected = OUR_HEADERS | ({"reply-to"} if "ticket_id" in mail.context else set())
        names = [name.lower() for name in parsed.keys()]
        assert len(names) == len(set(names)) and expected <= set(names) <= expected | MAYBE_OURS, (mail.template, names)
        assert b"\x00" not in head and all(line.isascii() for line in head.split(b"\r\n"))
        assert [a.addr_spec for a in parsed["To"].addresses] == [mail.recipient]
        assert [a.addr_spec for a in parsed["From"].addresses] == ["s@example.net"]
        if "reply-to" in expected:
            assert parsed["Reply-To"].addresses[0].domain == "replies.example.net"
        assert parsed.get_content_type() == "multipart/alternative"
        assert [part.get_content_type() for part in parsed.iter_parts()] == ["text/plain", "text/html"]
        for name in ("Subject", "To"):
            value = str(parsed[name])
            assert "=?" not in value and "\x00" not in value and "\r" not in value and "\n" not in value
            assert not any(char in value for char in "\u202e\u202c\u2066\u2069\u200f\u061c\u2028\u2029\x85")
        assert len(str(parsed["Subject"])) <= 151
    assert templates >= TICKET_TEMPLATES | {"verify_email", "reset_password", "account_exists", "password_changed",
                                            "credentials", "email_changed", "bounce"}


def test_header_text_keeps_one_line_of_printable_text_with_no_encoded_word():
    assert header_text("a\r\nb\x00c\u202ed\u2028e\t\tf") == "a b c d e f"
    assert header_text("x =?utf-8?q?=0A?= y") == "x = ?utf-8?q?=0A?= y"
    assert "=?" not in header_text("==?=?") and header_text("ok: ¿qué tal?") == "ok: ¿qué tal?"


def test_header_text_cuts_overlong_text_at_a_word_and_says_so():
    cut = header_text("palabra " * 40)
    assert cut.endswith("palabra…") and len(cut) <= 151
    assert header_text("x" * 400) == "x" * 150 + "…"


def test_only_one_safe_line_per_header_is_ever_written():
    """The backstop behind header_text: a value that could end its header or start another, a
    second header of one name, or something that is not an address is refused (never sent)."""
    for value in ("Hola\r\nBcc: x@evil.example", "Hola\nBcc: x", "Hola\rX", "Hola\x00", "ñ", " leading",
                  "fold\r\nwithout a space", "x" * 995):
        with pytest.raises(UnsafeMail):
            checked([("Subject", value)])
    with pytest.raises(UnsafeMail):
        checked([("Subject", "a"), ("subject", "b")])
    with pytest.raises(UnsafeMail):
        checked([("Bad Name", "a")])
    assert checked([("Subject", "folded\r\n line")]) == [("Subject", "folded\r\n line")]
    for address in ("a@x.es\r\nBcc: v@x.es", "Ana <a@x.es>", "a b@x.es", "no-at-sign", 'a"@x.es', ""):
        with pytest.raises(UnsafeMail):
            mailbox(address)


def test_a_display_name_cannot_carry_a_header_in_any_form():
    raw = compose(sender="=?utf-8?q?S=0D=0ABcc:_v@x.es?= <s@example.net>", recipient="a@x.es",
                  subject=ENCODED_WORD_INJECTION, text="b", html="<p>b</p>", event_id=uuid.uuid4(), date=SENT_AT)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Bcc"] is None and parsed["Reply-To"] is None
    assert [a.addr_spec for a in parsed["From"].addresses] == ["s@example.net"]
    for name in ('Ana "la jefa" \\ Pérez', "Ana \"la jefa\" \\ Perez"):  # encoded words; a quoted string
        value = mailbox("s@example.net", name)
        reparsed = email.message_from_string(f"From: {value}\r\n\r\n", policy=email.policy.default)
        assert reparsed["From"].addresses[0].display_name == name
        assert reparsed["From"].addresses[0].addr_spec == "s@example.net"


def test_bodies_are_quoted_printable_and_come_back_exactly():
    text = "Línea uno = igual\n\n.punto al principio\n" + "larga " * 40 + "\nfin con espacios   \n"
    raw = compose(sender="S <s@example.net>", recipient="a@x.es", subject="Asunto ñ", text=text,
                  html="<p>¿qué?</p>", event_id=uuid.uuid4(), date=SENT_AT)
    head, _, bodies = raw.partition(b"\r\n\r\n")
    assert all(len(line) <= 78 for line in bodies.split(b"\r\n")) and raw.isascii()
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")  # every line ends CRLF
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "Asunto ñ"
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n").rstrip("\n") == text.rstrip("\n")
    assert parsed.get_body(("html",)).get_content().strip() == "<p>¿qué?</p>"



def test_an_incident_update_is_mailed_in_each_readers_language_naming_their_tickets():
    first = ticket_opened("Sin fibra", requester="u-es", cc=["jefe@empresa.es"])
    second = ticket_opened("Sin fibra otra vez", requester="u-es")
    english = ticket_opened("No fibre", requester="u-en")
    update = event("IncidentUpdated", incident_id="i-1", status="identified",
                   title={"es": "Corte de fibra"}, message={"es": "Cable cortado.", "en": "Cable cut."},
                   tickets=[first.data["ticket_id"], second.data["ticket_id"], english.data["ticket_id"]],
                   resolve_tickets=False, by={"user_id": "u-agent", "name": "Agente", "role": "agent"},
                   services=["email"])  # eve subscribed too: she gets the one mail, as a linked ticket's
    mails = mails_for(update, DIRECTORY)
    assert sorted(m.recipient for m in mails) == ["ana@example.com", "eve@example.com", "jefe@empresa.es"]
    messages = render_all(mails, update)
    spanish, english_mail = messages["ana@example.com"], messages["eve@example.com"]
    assert spanish["Subject"] == "[Estado de red] Causa identificada: Corte de fibra"
    assert english_mail["Subject"] == "[Network status] Identified: Corte de fibra"  # written in es only
    body = spanish.get_body(("plain",)).get_content()
    assert "sus tickets #000007, #000007" in body and "Cable cortado." in body
    assert english_mail.get_body(("plain",)).get_content().count("Cable cut.") == 1
    assert body.strip().endswith("/network-status#incident-i-1")


def test_a_status_change_mail_ends_with_its_signed_one_click_unsubscribe_link():
    context = {"incident_id": "i-2", "status": "investigating", "title": {"es": "Correo lento", "en": "Slow mail"},
               "message": {"es": "Investigamos.", "en": "Looking into it."}, "declared": True,
               "path": "/network-status#incident-i-2",
               "unsubscribe": {"ticket_id": "status", "recipient": "ana@example.com"}}
    message = email.message_from_string(RENDERER.render("status_change", "en", context, "ana@example.com",
                                                        uuid.uuid4()).as_string(), policy=email.policy.default)
    assert message["Subject"] == "[Network status] New incident: Slow mail"
    link = re.search(r"<(https://help\.example/api/v1/unsubscribe\?[^>]+)>", str(message["List-Unsubscribe"])).group(1)
    assert "scope=status" in link and "ticket=" not in link and message["List-Unsubscribe-Post"]
    body = message.get_body(("plain",)).get_content()
    assert "Looking into it." in body and "asked for network status notices" in body


def test_a_subscriber_is_mailed_an_incident_of_their_service_and_only_once_when_also_linked():
    declared = event("IncidentDeclared", incident_id="i-3", status="investigating", title={"en": "Slow mail"},
                     message={"en": "Looking."}, components=["mail_delivery"], services=["email"], impact="degraded",
                     started_at="2026-12-03T10:00:00+00:00", by={"user_id": "u-agent", "name": "A", "role": "agent"})
    (mail,) = mails_for(declared, DIRECTORY)
    assert (mail.recipient, mail.template, mail.context["declared"]) == ("eve@example.com", "status_change", True)
    assert mails_for(event("IncidentDeclared", **dict(declared.data, services=["hosting"])), DIRECTORY) == []
