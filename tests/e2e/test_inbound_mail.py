"""Email replies in (issue 6), through the running system and real SMTP: a mail to the inbound
endpoint (`system.inbound_port`) goes through the `notifier.inbound` queue to the notifier, which
adds it to its ticket, opens a new ticket, or answers with a bounce (mail to the sender).

Reply addresses are made as every ticket mail makes them: `reply_address(LINK_SECRET, ticket,
recipient, inbound_domain, day)`. The test system trusts `testing.TRUSTED_AUTHSERV_ID` as its MTA:
a mail stands for an authenticated sender when it carries that MTA's `Authentication-Results`
(`compose(..., verdict="pass")`), as the provider's mail server would add. A bounce never repeats
what the sender wrote: a test finds its own by the ticket's reference in the subject, or by a
sender address of its own.
"""
import datetime as dt
import email.policy
import re
import smtplib
import time
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from helpdesk import testing
from helpdesk.testing import wait_until
from services.notifier.replies import reply_address

from .conftest import as_user
from .test_identity import new_address, registered_and_verified
from .test_ticket_scenarios import PNG, get, marker, open_ticket, seeded, walk

CUSTOMER = "cliente@demo.example"
NETWORKS = "agent-networks@helpdesk.example"
NEW_TEXT = "Ya funciona desde las 11:00, gracias."
QUOTED_REPLY = f"""{NEW_TEXT}

-- 
Ana Cliente
Demo S.L. · Tel. 600 000 000

El lun, 23 nov 2026 a las 10:00, Soporte (<soporte@example.net>) escribió:

> Hemos reiniciado el puerto del switch.
> ¿Puede comprobarlo?
"""


@pytest.fixture(scope="module")
def customer(system):
    return seeded(system, CUSTOMER)


@pytest.fixture(scope="module")
def agent(system):
    return seeded(system, NETWORKS)


# -- helpers ------------------------------------------------------------------------------------

def address_for(system, ticket_id, recipient, sent=None):
    sent = sent or dt.datetime.now(dt.timezone.utc).date()
    return reply_address(testing.LINK_SECRET, ticket_id, recipient, system.inbound_domain, sent)


def compose(sender, to, subject, text, *, message_id=None, attachments=(), headers=None, verdict=None):
    """`verdict`: what the provider's MTA found for the sender's domain (dmarc=pass or fail), or
    None: no header from it (an unauthenticated mail)."""
    msg = EmailMessage(policy=email.policy.SMTP)
    if verdict is not None:
        domain = sender.rpartition("@")[2].strip(">")
        msg["Authentication-Results"] = f"{testing.TRUSTED_AUTHSERV_ID}; dmarc={verdict} header.from={domain}"
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="mail.example.org")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    for filename, maintype, subtype, content in attachments:
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def deliver(system, msg, envelope_from=None, envelope_to=None):
    """Delivers `msg` over SMTP to the inbound endpoint; returns the id it was queued under."""
    with smtplib.SMTP("127.0.0.1", system.inbound_port, timeout=30) as smtp:
        smtp.ehlo("mail.example.org")
        code, _ = smtp.mail(envelope_from if envelope_from is not None else msg["From"])
        assert code == 250
        for recipient in envelope_to or [msg["To"]]:
            code, reply = smtp.rcpt(recipient)
            assert code == 250, reply
        code, reply = smtp.data(msg.as_bytes())
    assert code == 250, reply
    return re.search(rb"Queued as (\w+)", reply).group(1).decode()


def handled(system, queued_id, timeout=20):
    """Waits until the notifier has handled the queued mail (it logs every outcome)."""
    log = system.logs / "notifier.log"
    done = wait_until(lambda: f"inbound mail {queued_id} handled" in log.read_text(errors="replace"),
                      timeout=timeout, interval=0.1)
    assert done, f"inbound mail {queued_id} was not handled:\n{system.log_tail()}"


BOUNCE_SUBJECT = re.compile(r"No hemos podido|Archivos no añadidos|We could not|Files not added")


def bounces(system, address, reference=""):
    """The answers (templates/*/bounce.txt) to `address`, about the ticket `reference` if given,
    not the ticket mails its mails cause."""
    return [m for m in system.mails_to(address)
            if reference in str(m["Subject"]) and BOUNCE_SUBJECT.search(str(m["Subject"]))]


def wait_for_bounce(system, address, reference="", timeout=15):
    found = wait_until(lambda: bounces(system, address, reference), timeout=timeout, interval=0.1)
    assert found, f"no bounce for {address} about {reference or 'anything'}:\n{system.log_tail()}"
    (mail,) = found
    assert mail["Auto-Submitted"] == "auto-generated"  # so that no auto-responder answers it
    return mail.get_body(("plain",)).get_content()


def stream(system, ticket_id):
    with ServiceRpcProxy("tickets", {"AMQP_URI": system.amqp_uri}) as tickets:
        return tickets.read_stream(f"ticket-{ticket_id}", 0)


def comments(viewer, ticket_id):
    return [e for e in get(viewer, ticket_id)["history"] if e["type"] == "CustomerCommented"]


def new_ticket(customer, word):
    opened = open_ticket(customer, department="networks", title=f"Sin conexión {word}",
                         description="Desde las 9:00 no hay tráfico.")
    return opened["ticket_id"]


def reference_of(viewer, ticket_id):
    return get(viewer, ticket_id)["reference"]


def settled():
    """Long enough for anything more (a mail, a comment) to have happened."""
    time.sleep(0.5)


# -- a reply with the right token -----------------------------------------------------------------

def test_a_reply_with_the_right_token_adds_a_follow_up_with_only_the_new_text(system, customer, agent):
    word = marker()
    tid = new_ticket(customer, word)
    msg = compose(CUSTOMER, address_for(system, tid, CUSTOMER), f"Re: [Ticket] Sin conexión {word}", QUOTED_REPLY)
    handled(system, deliver(system, msg))

    (comment,) = comments(agent, tid)  # as staff
    assert comment["body"] == NEW_TEXT  # no quoted history, no signature
    assert comment["by"]["role"] == "customer"
    assert [e["body"] for e in comments(customer, tid)] == [NEW_TEXT]
    recorded = stream(system, tid)[-1]
    assert recorded["type"] == "CustomerCommented" and recorded["channel"] == "email"
    assert recorded["data"]["email"]["message_id"] == msg["Message-ID"]
    assert recorded["data"]["email"]["sender"] == CUSTOMER
    assert get(customer, tid)["status"] == "new"
    settled()
    assert not bounces(system, CUSTOMER, reference_of(customer, tid))


def test_answering_the_ticket_mail_itself_adds_a_follow_up(system, customer, agent):
    """The whole loop: the outbound side's mail carries the reply address in Reply-To."""
    word = marker()
    tid = new_ticket(customer, word)
    mails = wait_until(lambda: [m for m in system.mails_to(CUSTOMER) if word in str(m["Subject"])
                                and m["Reply-To"]], timeout=15)
    assert mails, f"no ticket mail with a Reply-To for {word}:\n{system.log_tail()}"
    reply_to = str(mails[0]["Reply-To"])
    assert reply_to == address_for(system, tid, CUSTOMER)
    msg = compose(CUSTOMER, reply_to, f"Re: {mails[0]['Subject']}", QUOTED_REPLY)
    msg["In-Reply-To"] = mails[0]["Message-ID"]
    handled(system, deliver(system, msg))
    assert [c["body"] for c in comments(agent, tid)] == [NEW_TEXT]


def test_a_reply_with_an_attachment_adds_it_to_the_follow_up(system, customer, agent):
    word = marker()
    tid = new_ticket(customer, word)
    msg = compose(CUSTOMER, address_for(system, tid, CUSTOMER), f"Re: captura {word}", "Adjunto la captura.",
                  attachments=[("captura.png", "image", "png", PNG)])
    handled(system, deliver(system, msg))
    (comment,) = comments(agent, tid)
    assert comment["body"] == "Adjunto la captura."
    sent = comment["attachment"]
    assert (sent["name"], sent["type"], sent["size"]) == ("captura.png", "image/png", len(PNG))
    download = agent.call("GET", f"/api/v1/tickets/{tid}/attachments/{sent['id']}")
    assert download.status_code == 200 and download.content == PNG


def test_only_the_first_file_is_added_and_the_sender_hears_which_were_not(system, customer, agent):
    word = marker()
    tid = new_ticket(customer, word)
    msg = compose(CUSTOMER, address_for(system, tid, CUSTOMER), f"Re: dos archivos {word}", "Van dos capturas.",
                  attachments=[("uno.png", "image", "png", PNG), ("dos.png", "image", "png", PNG)])
    handled(system, deliver(system, msg))
    (comment,) = comments(agent, tid)
    assert comment["attachment"]["name"] == "uno.png"
    notice = wait_for_bounce(system, CUSTOMER, reference_of(customer, tid))
    assert "dos.png" in notice and "uno.png" in notice


def test_a_reply_is_routed_by_the_token_in_the_to_header_too(system, customer, agent):
    """Some servers forward with a rewritten envelope: the To header still carries the token."""
    word = marker()
    tid = new_ticket(customer, word)
    msg = compose(CUSTOMER, address_for(system, tid, CUSTOMER), f"Re: {word}", "Respuesta por cabecera.")
    handled(system, deliver(system, msg, envelope_to=[f"reply@{system.inbound_domain}"]))
    assert [c["body"] for c in comments(agent, tid)] == ["Respuesta por cabecera."]


# -- replies that cannot be added -----------------------------------------------------------------

def forge(address):
    local, domain = address.split("@")
    return f"{local[:-4]}{'aaaa' if not local.endswith('aaaa') else 'bbbb'}@{domain}"


def test_a_forged_token_adds_nothing_and_only_an_authenticated_sender_hears_of_it(system, customer, agent):
    word = marker()
    tid = new_ticket(customer, word)
    spoofed, real = new_address("extrano"), new_address("extrano")
    for sender, verdict in ((spoofed, None), (real, "pass")):
        forged = forge(address_for(system, tid, sender))
        handled(system, deliver(system, compose(sender, forged, f"Re: {word}", "Añadid esto al ticket.",
                                                verdict=verdict)))
    assert comments(agent, tid) == []
    text = wait_for_bounce(system, real)
    assert "no es válida" in text and word not in text  # nothing of what was sent comes back
    assert system.mails_to(spoofed) == []  # no backscatter to an address that may not have sent it
    log = (system.logs / "notifier.log").read_text()
    assert f"from {real}: reply token refused" in log
    assert forged.split("@")[0] not in log  # logged, never the token


def test_a_token_made_for_another_recipient_adds_nothing(system, customer, agent):
    """The requester's notice, forwarded to someone else who answers it: the token is foreign."""
    word = marker()
    tid = new_ticket(customer, word)
    other = new_address("reenviado")
    handled(system, deliver(system, compose(other, address_for(system, tid, CUSTOMER), f"Re: {word}", "Yo también.",
                                            verdict="pass")))
    assert comments(agent, tid) == []
    assert "no es válida" in wait_for_bounce(system, other)


def test_a_forged_token_from_a_known_customer_opens_nothing(system, customer, agent):
    """Finding 5: it used to open a new ticket in the customer's account, whoever wrote it."""
    word = marker()
    tid = new_ticket(customer, word)
    forged = forge(address_for(system, tid, CUSTOMER))
    for verdict in (None, "pass"):
        handled(system, deliver(system, compose(CUSTOMER, forged, f"Re: {word}", "Texto con token alterado.",
                                                verdict=verdict)))
    assert comments(agent, tid) == []
    listed, _ = walk(customer, "/api/v1/tickets", scope="mine", text=word)
    assert [t["ticket_id"] for t in listed] == [tid]


def test_a_spoofed_customer_opens_no_ticket_and_an_authenticated_one_does(system, customer):
    """Finding 5: a mail with a customer's From and no token opened a ticket in their account."""
    for verdict in (None, "fail", "pass"):
        word = marker()
        handled(system, deliver(system, compose(CUSTOMER, f"reply@{system.inbound_domain}", f"Consulta {word}",
                                                "¿Me dais de alta la fibra?", verdict=verdict)))
        listed, _ = walk(customer, "/api/v1/tickets", scope="mine", text=word)
        if verdict == "pass":
            (opened,) = listed
            assert opened["channel"] == "email"
        else:
            assert listed == [], verdict


def test_an_expired_reply_address_adds_nothing_and_says_to_answer_the_latest_mail(system, customer, agent):
    word = marker()
    tid = new_ticket(customer, word)
    old = address_for(system, tid, CUSTOMER, sent=dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=91))
    handled(system, deliver(system, compose(CUSTOMER, old, f"Re: {word}", "Respondo a un aviso antiguo.")))
    assert comments(agent, tid) == []
    assert "último aviso" in wait_for_bounce(system, CUSTOMER, reference_of(customer, tid))


def test_a_captured_reply_sent_again_under_a_new_message_id_is_one_comment(system, customer, agent):
    """Finding 5: a reply captured on the way, re-sent with a new Message-ID, was a second comment."""
    word = marker()
    tid = new_ticket(customer, word)
    for _ in range(2):
        msg = compose(CUSTOMER, address_for(system, tid, CUSTOMER), f"Re: {word}", "Por favor, cancelad el servicio.")
        handled(system, deliver(system, msg))  # compose makes a new Message-ID each time
    assert [c["body"] for c in comments(agent, tid)] == ["Por favor, cancelad el servicio."]


def test_a_deactivated_account_comments_nothing_by_mail(system, agent):
    email = new_address("baja")
    registered_and_verified(system, email)
    leaver = as_user(system, email, "a perfectly fine secret")
    tid = new_ticket(leaver, marker())
    admin = as_user(system, "admin@helpdesk.example")
    user_id = leaver.call("GET", "/api/v1/me").json()["user_id"]
    off = admin.call("PATCH", f"/api/v1/admin/users/{user_id}", {"active": False})
    assert off.status_code == 200, off.text
    handled(system, deliver(system, compose(email, address_for(system, tid, email), "Re: sigo aquí", "Hola")))
    assert comments(agent, tid) == []
    assert "desactivada" in wait_for_bounce(system, email)


def test_a_reply_with_a_3_mb_attachment_is_refused_with_a_bounce_explaining_the_2_mb_limit(system, customer, agent):
    word = marker()
    tid = new_ticket(customer, word)
    big = b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024)
    msg = compose(CUSTOMER, address_for(system, tid, CUSTOMER), f"Re: informe {word}", "Adjunto el informe.",
                  attachments=[("informe.pdf", "application", "pdf", big)])
    handled(system, deliver(system, msg))
    assert comments(agent, tid) == []
    text = wait_for_bounce(system, CUSTOMER, reference_of(customer, tid))
    assert "informe.pdf" in text and "2 MB" in text and "3,0 MB" in text
    assert "Helpdesk" in text  # what to do: upload it in the portal
    listed, _ = walk(customer, "/api/v1/tickets", scope="mine", text=word)
    assert [t["ticket_id"] for t in listed] == [tid]  # and no new ticket either


def test_a_reply_to_a_closed_ticket_opens_a_new_ticket_that_follows_it_up(system, customer, agent):
    word = marker()
    tid = new_ticket(customer, word)
    closed = customer.call("POST", f"/api/v1/tickets/{tid}/close", {"reason": "Resuelto"})
    assert closed.status_code == 200, closed.text
    msg = compose(CUSTOMER, address_for(system, tid, CUSTOMER), f"Re: [Ticket] Sin conexión {word}",
                  "Vuelve a fallar el enlace.\n\n> Cerrado.\n> Gracias.\n> Soporte\n")
    handled(system, deliver(system, msg))
    assert comments(agent, tid) == []
    listed, _ = walk(customer, "/api/v1/tickets", scope="mine", text=word)
    (follow_up,) = [t for t in listed if t["ticket_id"] != tid]
    ticket = get(customer, follow_up["ticket_id"])
    assert ticket["follows_up"] == tid
    assert ticket["channel"] == "email"
    assert ticket["title"] == f"[Ticket] Sin conexión {word}"
    assert ticket["description"] == "Vuelve a fallar el enlace."
    (opened,) = ticket["history"]
    assert opened["summary"].endswith("(por correo)"), opened["summary"]
    settled()
    assert not bounces(system, CUSTOMER, reference_of(customer, tid))


def test_only_an_authenticated_unknown_sender_gets_a_bounce(system):
    word = marker()
    spoofed, real = new_address("desconocido"), new_address("desconocido")
    for sender, verdict in ((spoofed, None), (real, "pass")):
        handled(system, deliver(system, compose(sender, f"reply@{system.inbound_domain}", f"Consulta {word}",
                                                "¿Tienen fibra en mi calle?", verdict=verdict)))
    text = wait_for_bounce(system, real)
    assert "no corresponde a ningún cliente registrado" in text
    assert system.base_url in text  # where to go instead
    assert word not in text and "fibra" not in text  # nothing of theirs is sent back
    settled()
    assert system.mails_to(spoofed) == []


def test_the_same_message_delivered_twice_counts_once(system, customer, agent):
    word = marker()
    tid = new_ticket(customer, word)
    msg = compose(CUSTOMER, address_for(system, tid, CUSTOMER), f"Re: {word}", "Solo una vez, por favor.")
    first, second = deliver(system, msg), deliver(system, msg)
    handled(system, first)
    handled(system, second)
    assert [c["body"] for c in comments(agent, tid)] == ["Solo una vez, por favor."]

    stranger = new_address("repetido")
    bounced = compose(stranger, f"reply@{system.inbound_domain}", f"Consulta {word}", "Hola", verdict="pass")
    first, second = deliver(system, bounced), deliver(system, bounced)
    handled(system, first)
    handled(system, second)
    wait_for_bounce(system, stranger)
    time.sleep(1)
    assert len(bounces(system, stranger)) == 1


def test_auto_generated_mail_is_never_answered(system):
    word = marker()
    robot = new_address("robot")
    queued = [
        deliver(system, compose(robot, f"reply@{system.inbound_domain}", f"Fuera de la oficina {word}", "Vuelvo el lunes.",
                                headers={"Auto-Submitted": "auto-replied"}, verdict="pass")),
        deliver(system, compose(robot, f"reply@{system.inbound_domain}", f"Boletín {word}", "Ofertas",
                                headers={"Precedence": "bulk"}, verdict="pass")),
        deliver(system, compose(robot, f"reply@{system.inbound_domain}", f"Undelivered {word}", "DSN", verdict="pass"),
                envelope_from=""),
    ]
    for queued_id in queued:
        handled(system, queued_id)
    time.sleep(1)
    assert system.mails_to(robot) == []


def test_the_endpoint_takes_mail_only_for_reply_addresses(system):
    with smtplib.SMTP("127.0.0.1", system.inbound_port, timeout=30) as smtp:
        smtp.ehlo("mail.example.org")
        smtp.mail("alguien@example.org")
        code, reply = smtp.rcpt("soporte@example.net")
        assert code == 550 and b"reply+" in reply
        code, _ = smtp.rcpt(f"postmaster@{system.inbound_domain}")
        assert code == 550
        code, _ = smtp.rcpt(f"reply+cualquiercosa@{system.inbound_domain.upper()}")
        assert code == 250


def test_health_covers_the_inbound_endpoint(system):
    """Finding 4: the endpoint could refuse every mail while /api/v1/health stayed green."""
    import signal

    import requests

    def inbound_status():
        response = requests.get(system.url("/api/v1/health"), timeout=10)
        return response.status_code, response.json()["services"]["inbound_smtp"]

    assert inbound_status() == (200, "ok")
    system.signal("inbound", signal.SIGKILL)
    try:
        assert inbound_status() == (503, "down")
    finally:
        system.restart("inbound")
    assert inbound_status() == (200, "ok")
    word = marker()
    handled(system, deliver(system, compose(new_address("vuelta"), f"reply@{system.inbound_domain}", word, "Hola",
                                            verdict="pass")))
