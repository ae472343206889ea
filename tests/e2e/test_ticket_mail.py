"""A whole ticket life, and exactly the mails each person gets: how many, which subjects, in their
language, each ending with a link that works; the solution approved from the mail's own link."""
import datetime as dt
import email.utils
import re
import uuid
import zoneinfo
from urllib.parse import parse_qs, urlparse

import requests

from helpdesk import testing

from .conftest import Api, as_user
from .test_authorization import staff_made


def ticket_mails(system, address):
    return [m for m in system.mails_to(address) if m["Subject"].startswith("[Ticket #")]


def subjects(system, address):
    """Ticket mail subjects without the reference (whitespace folded: long encoded subjects unfold
    with a doubled space in Python's parser)."""
    return [" ".join(re.sub(r"^\[Ticket #\d+\] ", "", m["Subject"]).split()) for m in ticket_mails(system, address)]


def test_a_ticket_life_mails_everyone_concerned_once_in_their_language(system):
    run = uuid.uuid4().hex[:6]
    admin = as_user(system, "admin@helpdesk.example")
    company = admin.call("POST", "/api/v1/admin/companies", {"name": f"Mail Co {run}"}).json()["company_id"]
    requester = staff_made(system, admin, f"req-{run}@example.com", role="customer", company_id=company,
                           language="en")
    staff_made(system, admin, f"group-{run}@example.com", role="customer", company_id=company, is_group=True)
    copied = f"copia-{run}@example.org"
    agent = as_user(system, "agent-networks@helpdesk.example")

    title = f"Sin conexión {run}"
    opened = requester.call("POST", "/api/v1/tickets", {"department": "networks", "title": title,
                                                        "description": "No hay servicio", "cc": copied})
    assert opened.status_code == 201, opened.text
    ticket_id = opened.json()["ticket_id"]
    steps = [
        (agent, "assign", {}), (agent, "comments", {"body": "Estamos revisando el enlace"}),
        (agent, "notes", {"body": "secreto interno"}),
        (agent, "information-requests", {"body": "¿Qué luces tiene el router?"}),
        (requester, "comments", {"body": "Luz roja fija"}),
        (agent, "resolve", {"solution": "Sustituimos el transceptor"}),
    ]
    for who, action, body in steps:
        response = who.call("POST", f"/api/v1/tickets/{ticket_id}/{action}", body)
        assert response.status_code == 200, (action, response.text)

    group, requester_email = f"group-{run}@example.com", f"req-{run}@example.com"
    expected = {
        requester_email: ["Ticket opened: " + title, "Assigned: " + title, "New reply: " + title,
                          "We need more information: " + title,
                          "Resolved, please approve the solution: " + title],
        group: ["Ticket abierto: " + title, "Asignado: " + title, "Nueva respuesta: " + title,
                "Necesitamos más información: " + title, "Nuevo comentario: " + title,
                "Resuelto, apruebe la solución: " + title],
        copied: ["Ticket abierto: " + title, "Asignado: " + title, "Nueva respuesta: " + title,
                 "Necesitamos más información: " + title, "Nuevo comentario: " + title,
                 "Resuelto, apruebe la solución: " + title],
    }
    everyone = lambda: all(len(ticket_mails(system, a)) >= len(s) for a, s in expected.items())  # noqa: E731
    assert testing.wait_until(everyone, timeout=20), {a: subjects(system, a) for a in expected}
    testing.wait_until(lambda: False, timeout=1.0)  # anything extra would have arrived by now
    for address, wanted in expected.items():
        assert sorted(subjects(system, address)) == sorted(wanted), address
    for address in expected:
        for mail in ticket_mails(system, address):
            body = mail.get_body(("plain",)).get_content()
            assert "secreto interno" not in body
            link = body.strip().splitlines()[-1]
            assert link == f"{system.base_url}/tickets/{ticket_id}"
            assert requests.get(link, timeout=10).status_code == 200
            assert mail["Reply-To"] and mail["Reply-To"].startswith("reply+")

    # the agent heard of the ticket in their queue, and of the customer's answer
    agent_mail = subjects(system, "agent-networks@helpdesk.example")
    assert "Nuevo en la cola de Redes: " + title in agent_mail
    assert "El cliente ha respondido: " + title in agent_mail

    # approving from the requester's own mail: the link lands on the portal's confirmation page
    (resolved,) = [m for m in ticket_mails(system, requester_email) if "Resolved" in m["Subject"]]
    approve = next(line for line in resolved.get_body(("plain",)).get_content().splitlines()
                   if "decision=approve" in line)
    assert requests.get(approve.split("#")[0], timeout=10).status_code == 200
    link = {k: v[0] for k, v in parse_qs(urlparse(approve).fragment).items()}
    decision = {"ticket_id": link["ticket"], "recipient": link["recipient"], "resolution": int(link["resolution"]),
                "decision": "approve", "token": link["token"], "text": "Todo bien"}
    anonymous = Api(system)
    done = anonymous.call("POST", "/api/v1/solution-decisions", decision)
    assert done.status_code == 200 and done.json()["status"] == "closed", done.text
    again = anonymous.call("POST", "/api/v1/solution-decisions", decision)
    assert again.status_code == 409
    forged = anonymous.call("POST", "/api/v1/solution-decisions", dict(decision, recipient=copied))
    assert forged.status_code == 422 and "token" in forged.json()["fields"]
    closing = lambda: any("Solution approved" in s for s in subjects(system, requester_email))  # noqa: E731
    assert testing.wait_until(closing, timeout=15)


def _text(mail):
    return mail.get_body(("plain",)).get_content()


def test_an_information_request_is_dated_offers_the_portal_first_and_writes_times_in_madrid(system):
    run = uuid.uuid4().hex[:6]
    admin = as_user(system, "admin@helpdesk.example")
    company = admin.call("POST", "/api/v1/admin/companies", {"name": f"Zone Co {run}"}).json()["company_id"]
    address = f"zona-{run}@example.com"
    customer = staff_made(system, admin, address, role="customer", company_id=company)  # no zone: the default
    assert customer.call("GET", "/api/v1/me").json()["time_zone"] == "Europe/Madrid"
    agent = as_user(system, "agent-networks@helpdesk.example")
    title = f"Pérdida de paquetes en la conexión de fibra óptica de la sede central {run}"
    opened = customer.call("POST", "/api/v1/tickets", {"department": "networks", "title": title,
                                                       "description": "Se pierde el 20 %"})
    assert opened.status_code == 201, opened.text
    ticket_id = opened.json()["ticket_id"]
    for action, body in (("assign", {}), ("information-requests", {"body": "¿Qué router tiene?"})):
        assert agent.call("POST", f"/api/v1/tickets/{ticket_id}/{action}", body).status_code == 200
    asked = lambda: [m for m in ticket_mails(system, address) if "más información" in m["Subject"]]  # noqa: E731
    assert testing.wait_until(asked, timeout=20), subjects(system, address)
    (mail,) = asked()
    assert mail["Subject"].endswith(f"Necesitamos más información: {title}")  # the space survives folding
    sent = email.utils.parsedate_to_datetime(mail["Date"])
    assert abs((dt.datetime.now(dt.timezone.utc) - sent).total_seconds()) < 120
    text = _text(mail)
    portal = f"Responda desde el portal: {system.base_url}/tickets/{ticket_id}"
    assert portal in text and "responder a este correo" in text
    assert text.index(portal) < text.index("responder a este correo")
    history = customer.call("GET", f"/api/v1/tickets/{ticket_id}").json()["history"]
    asked_at = dt.datetime.fromisoformat(history[-1]["at"]).astimezone(zoneinfo.ZoneInfo("Europe/Madrid"))
    assert f"se la pedimos el {asked_at:%d/%m/%Y %H:%M} (hora de Madrid)" in text
    assert "UTC" not in text
    assert all(entry["channel"] in ("portal", "system") for entry in history)


def test_an_english_profile_in_new_york_gets_new_york_times_in_a_reset_mail(system):
    run = uuid.uuid4().hex[:6]
    admin = as_user(system, "admin@helpdesk.example")
    company = admin.call("POST", "/api/v1/admin/companies", {"name": f"NY Co {run}"}).json()["company_id"]
    address = f"ny-{run}@example.com"
    user = staff_made(system, admin, address, role="customer", company_id=company, language="en")
    refused = user.call("PATCH", "/api/v1/me", {"time_zone": "America/Nueva_York"})
    assert refused.status_code == 422 and "time_zone" in refused.json()["fields"]
    changed = user.call("PATCH", "/api/v1/me", {"time_zone": "America/New_York"})
    assert changed.status_code == 200 and changed.json()["time_zone"] == "America/New_York", changed.text
    before = len(system.mails_to(address))
    asked_at = dt.datetime.now(dt.timezone.utc)
    assert Api(system).call("POST", "/api/v1/auth/forgot-password", {"email": address}).status_code == 202
    resets = lambda: [m for m in system.mails_to(address)[before:] if "Reset" in m["Subject"]]  # noqa: E731
    assert testing.wait_until(resets, timeout=20), [m["Subject"] for m in system.mails_to(address)]
    text = _text(resets()[0])
    match = re.search(r"expires on (\d{4}-\d\d-\d\d \d\d:\d\d) \(New York time\)", text)
    assert match, text
    expires = dt.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    assert abs((expires - (asked_at + dt.timedelta(minutes=30))).total_seconds()) < 120
    assert "UTC" not in text and "caduca" not in text
