"""Rendering a planned mail into a MIME message: text plus an HTML alternative, links at the end.

Links with tokens are derived here, at send time, from the nonce in the plan's context; an
initial password likewise. What a customer typed is escaped in the HTML and kept to one line in
headers, so it can break neither.
"""
import datetime as dt
import email
import email.policy
from pathlib import Path

import jinja2

from urllib.parse import urlencode

from helpdesk import catalog, timezones
from helpdesk.clock import Clock
from helpdesk.linktokens import (APPROVE_SOLUTION, REFUSE_SOLUTION, UNSUBSCRIBE, LinkTokens, SignedLinks,
                                 decision_subject, unsubscribe_subject)

from .mail import address_value, compose, envelope_sender, fold_url_list
from .replies import reply_address

TEMPLATES = Path(__file__).with_name("templates")
# Templates change with a release, not while a process runs: no stat of the file on every mail.
_TEXT = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=False,
                           undefined=jinja2.StrictUndefined, auto_reload=False)
_HTML = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                           undefined=jinja2.StrictUndefined, auto_reload=False)


# What ticket templates may mention but an event may not carry: named, so StrictUndefined still
# catches a misspelt variable.
OPTIONAL = dict.fromkeys(("at", "department", "reason", "body", "comment", "urgency", "agent_name", "into_reference",
                          "duplicate_reference", "solution", "approve_url", "refuse_url", "decision_expires_at"))
OPTIONAL["cc"] = []
UNSUBSCRIBE_DAYS = 365  # how long a copied address's List-Unsubscribe link works
# the first paragraph of a copied address's mail (the body ends with the ticket's link)
UNSUBSCRIBE_LINE = {"es": "Recibe este correo porque está en copia de este ticket. ¿No quiere recibir más? Use"
                          " «Cancelar suscripción» en su programa de correo.",
                    "en": "You get this mail because you are copied on this ticket. Rather not get more? Use"
                          " Unsubscribe in your mail program."}
STATUS_SCOPE = "status"  # an unsubscribe link of the network status's mails, not of a ticket's
STATUS_UNSUBSCRIBE_LINE = {
    "es": "Recibe este correo porque pidió avisos del estado de red. Para no recibir más, use «Cancelar suscripción»"
          " en su programa de correo o este enlace: {url}",
    "en": "You get this mail because you asked for network status notices. To get no more, use Unsubscribe in your"
          " mail program or this link: {url}"}


class Renderer:
    """`clock` dates the mails it renders (at send time); `default_time_zone` is the zone of
    recipients whose plan names none (copied addresses with no account, older plans)."""

    def __init__(self, link_secret, public_url, sender, inbound_domain=None, *, clock=None,
                 default_time_zone=timezones.FALLBACK):
        self.secret, self.inbound_domain = link_secret, inbound_domain
        self.clock, self.default_time_zone = clock or Clock(), default_time_zone
        self.tokens, self.signed = LinkTokens(link_secret), SignedLinks(link_secret)
        self.public_url, self.sender = public_url.rstrip("/"), sender
        self.envelope_from = envelope_sender(sender)  # the MAIL FROM of every mail it renders
        self.departments = catalog.load().departments

    def context(self, template, language, context):
        """The template's variables: derived links, passwords and formatted dates added."""
        values = {key: value.get(language, value.get("es")) if isinstance(value, dict) and "es" in value else value
                  for key, value in context.items()}  # text given in each language: the reader's
        zone = values.pop("time_zone", None) or self.default_time_zone
        link = values.pop("link", None)
        if link:
            token = self.tokens.derive(link["purpose"], link["subject"], link["nonce"])
            # In the fragment: browsers never send it to the server, so no access log records it.
            values["url"] = f"{self.public_url}{link['path']}#token={token}"
        else:
            values["url"] = self.public_url + values.get("path", "/")
        initial = values.get("initial_password")
        if isinstance(initial, dict):
            values["initial_password"] = self.tokens.initial_password(initial["subject"], initial["nonce"])
        for moment in ("at", "expires_at", "due_at"):
            if values.get(moment):
                values[moment] = timezones.local_time(values[moment], zone, language)
        if "ticket_id" in values and not values.get("reference"):
            values["reference"] = values["ticket_id"][:8].upper()
        if values.get("department") in self.departments:
            values["department"] = self.departments[values["department"]].names.get(language, values["department"])
        unsubscribe = values.pop("unsubscribe", None)
        values["unsubscribe_url"] = self._unsubscribe_url(unsubscribe) if unsubscribe else None
        decision = values.pop("decision", None)
        if decision:
            values.update(self._decision_links(decision, language, zone))
        values["language"] = language
        return {**OPTIONAL, **values}

    def _unsubscribe_url(self, unsubscribe):
        """The one-click (RFC 8058) opt-out of a copied address from a ticket's mail, signed for
        (ticket, address): the signature is the credential, so it is in the URL a mail program posts to."""
        subject = unsubscribe_subject(unsubscribe["ticket_id"], unsubscribe["recipient"])
        expires_at = self.clock.now() + dt.timedelta(days=UNSUBSCRIBE_DAYS)
        scope = "scope" if unsubscribe["ticket_id"] == STATUS_SCOPE else "ticket"
        query = urlencode({scope: unsubscribe["ticket_id"], "address": unsubscribe["recipient"],
                           "token": self.signed.sign(UNSUBSCRIBE, subject, expires_at)})
        return f"{self.public_url}/api/v1/unsubscribe?{query}"

    def _decision_links(self, decision, language, zone):
        """One-click approve / refuse links: to the portal's confirmation page, token in the fragment."""
        expires_at = dt.datetime.fromisoformat(decision["expires_at"])
        subject = decision_subject(decision["ticket_id"], decision["recipient"], decision["resolution"])
        links = {}
        for name, purpose in (("approve", APPROVE_SOLUTION), ("refuse", REFUSE_SOLUTION)):
            fragment = urlencode({"ticket": decision["ticket_id"], "recipient": decision["recipient"],
                                  "resolution": decision["resolution"], "decision": name,
                                  "token": self.signed.sign(purpose, subject, expires_at)})
            links[f"{name}_url"] = f"{self.public_url}/solution#{fragment}"
        links["decision_expires_at"] = timezones.local_time(expires_at, zone, language)
        return links

    def render_bytes(self, template, language, context, recipient, event_id):
        """The mail's bytes, as they are sent (mail.compose)."""
        values = self.context(template, language, context)
        text = _TEXT.get_template(f"{language}/{template}.txt")
        blocks = text.new_context(values)
        subject = "".join(text.blocks["subject"](blocks)).strip()
        body = "".join(text.blocks["body"](blocks)).strip() + "\n"
        if values["unsubscribe_url"] and (context.get("unsubscribe") or {}).get("ticket_id") == STATUS_SCOPE:
            body = body + "\n\n" + STATUS_UNSUBSCRIBE_LINE[language].format(url=values["unsubscribe_url"])
        elif values["unsubscribe_url"]:
            body = UNSUBSCRIBE_LINE[language] + "\n\n" + body
        link_label = "".join(text.blocks["link_label"](blocks)).strip()
        paragraphs = [p for p in body.split("\n\n") if p.strip() and p.strip() != values["url"]]
        html = _HTML.get_template("base.html").render(
            language=language, subject=subject, paragraphs=paragraphs, url=values["url"],
            link_label=link_label)
        now = self.clock.now()
        headers = []
        if self.inbound_domain and values.get("ticket_id"):
            # replying to a ticket mail adds a follow-up: the address carries this ticket and
            # recipient, and the day it was sent (it expires: services.notifier.replies)
            headers.append(("Reply-To", address_value(reply_address(
                self.secret, values["ticket_id"], recipient, self.inbound_domain,
                now.astimezone(dt.timezone.utc).date()))))
        if values["unsubscribe_url"]:  # RFC 2369 and RFC 8058: the mail program's own Unsubscribe button
            headers.append(("List-Unsubscribe", fold_url_list(f"<{values['unsubscribe_url']}>")))
            headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
        return compose(sender=self.sender, recipient=recipient, subject=subject, text=body, html=html,
                       event_id=event_id, date=now, headers=headers)

    def render(self, template, language, context, recipient, event_id):
        """The same mail parsed back as an EmailMessage, for tests and tools that read it."""
        raw = self.render_bytes(template, language, context, recipient, event_id)
        return email.message_from_bytes(raw, policy=email.policy.default)
