"""A copied address stops a ticket's mail with its mail program's one-click Unsubscribe (issue 10,
finding 9; RFC 2369, RFC 8058): its mail carries List-Unsubscribe; after the one-click POST, the
next update of that ticket mails the requester but not that address."""
import uuid

import requests

from helpdesk import testing

from .conftest import as_user, wait_for_mail


def test_one_click_unsubscribe_stops_that_tickets_mail_to_that_copied_address(system):
    copied = f"copia-{uuid.uuid4().hex[:8]}@externo.example"
    customer = as_user(system, "cliente@demo.example")
    opened = customer.call("POST", "/api/v1/tickets", {"department": "systems", "title": "Copia y baja",
                                                       "description": "Con alguien en copia", "cc": copied})
    assert opened.status_code == 201, opened.text
    ticket = opened.json()
    (first,) = wait_for_mail(system, copied)
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = "".join(str(first["List-Unsubscribe"]).split())[1:-1]
    assert url.startswith(system.url("/api/v1/unsubscribe?"))

    forged = requests.post(url.replace("token=", "token=0"), data="List-Unsubscribe=One-Click", timeout=10,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert forged.status_code == 422, forged.text
    # what a mail program does (RFC 8058): a form POST of List-Unsubscribe=One-Click, no session
    done = requests.post(url, data="List-Unsubscribe=One-Click", timeout=10,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert done.status_code == 200, done.text

    requester = "cliente@demo.example"
    before = len(system.mails_to(requester))
    agent = as_user(system, "supervisor@helpdesk.example")
    replied = agent.call("POST", f"/api/v1/tickets/{ticket['ticket_id']}/comments", {"body": "Lo estamos mirando"})
    assert replied.status_code == 200, replied.text
    wait_for_mail(system, requester, count=before + 1)
    testing.wait_until(lambda: False, timeout=2)  # the notifier has planned that event's every mail by now
    assert len(system.mails_to(copied)) == 1, [m["Subject"] for m in system.mails_to(copied)]
