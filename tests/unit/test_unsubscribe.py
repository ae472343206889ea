"""Copied addresses can stop a ticket's mail (issue 10, finding 9): their mails carry a signed
one-click List-Unsubscribe (RFC 2369, RFC 8058), and once they used it they get none for it."""
import email
import email.policy
import urllib.parse

from helpdesk.linktokens import UNSUBSCRIBE, SignedLinks, unsubscribe_subject
from services.notifier.mail import fold_url_list
from services.notifier.plans import mails_for

from .test_notifier_mail import DIRECTORY, OPTED_OUT, RENDERER, SECRET, SENT_AT, follow_up, ticket_opened


def rendered(mail, evt):
    msg = RENDERER.render(mail.template, mail.language, mail.context, mail.recipient, evt.event_id)
    return email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)


def test_a_copied_address_gets_a_signed_one_click_list_unsubscribe_and_others_do_not():
    opening = ticket_opened("Sin conexión", cc=["jefe@empresa.es"])
    ticket_id = opening.data["ticket_id"]
    by_recipient = {m.recipient: rendered(m, opening) for m in mails_for(opening, DIRECTORY)}
    copied, requester = by_recipient["jefe@empresa.es"], by_recipient["ana@example.com"]
    assert requester["List-Unsubscribe"] is None
    assert copied["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    value = "".join(str(copied["List-Unsubscribe"]).split())  # whitespace inside <> is ignored (RFC 2369)
    assert value.startswith("<https://help.example/api/v1/unsubscribe?") and value.endswith(">")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(value[1:-1]).query)
    assert query["ticket"] == [ticket_id] and query["address"] == ["jefe@empresa.es"]
    assert SignedLinks(SECRET).verify(query["token"][0], UNSUBSCRIBE, unsubscribe_subject(ticket_id, "jefe@empresa.es"),
                                      SENT_AT)
    assert not SignedLinks(SECRET).verify(query["token"][0], UNSUBSCRIBE,
                                          unsubscribe_subject(ticket_id, "otro@empresa.es"), SENT_AT)
    assert "Cancelar suscripción" in copied.get_body(("plain",)).get_content()


def test_the_header_is_a_plain_url_folded_at_query_separators_never_encoded_words():
    url = "<https://help.example/api/v1/unsubscribe?ticket=" + "a" * 36 + "&address=x%40y.example&token=" + "b" * 50 + ">"
    folded = fold_url_list(url)
    assert "=?" not in folded and "".join(folded.split()) == url
    assert all(len(line) <= 78 for line in folded.split("\r\n"))


def test_after_opting_out_an_address_gets_no_more_mail_of_that_ticket_but_the_requester_does():
    opening = ticket_opened("Sin conexión", cc=["Jefe@empresa.es"])
    OPTED_OUT[opening.data["ticket_id"]] = {"jefe@empresa.es"}
    update = follow_up(opening, "StaffReplied", body="Lo miramos")
    recipients = {m.recipient for m in mails_for(update, DIRECTORY)}
    assert "ana@example.com" in recipients and "Jefe@empresa.es" not in recipients
