"""Rendering a planned mail into a MIME message: text plus an HTML alternative, links at the end.

Links with tokens are derived here, at send time, from the nonce in the plan's context; an
initial password likewise. What a customer typed is escaped in the HTML and kept to one line in
headers, so it can break neither.
"""
import datetime as dt
from pathlib import Path

import jinja2

from helpdesk.linktokens import LinkTokens

from .mail import compose

TEMPLATES = Path(__file__).with_name("templates")
_TEXT = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=False,
                           undefined=jinja2.StrictUndefined)
_HTML = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                           undefined=jinja2.StrictUndefined)


def _when(value, language):
    moment = dt.datetime.fromisoformat(value)
    return moment.strftime("%d/%m/%Y %H:%M UTC" if language == "es" else "%Y-%m-%d %H:%M UTC")


class Renderer:
    def __init__(self, link_secret, public_url, sender):
        self.tokens = LinkTokens(link_secret)
        self.public_url, self.sender = public_url.rstrip("/"), sender

    def context(self, template, language, context):
        """The template's variables: derived links, passwords and formatted dates added."""
        values = dict(context)
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
        for moment in ("expires_at", "due_at"):
            if values.get(moment):
                values[moment] = _when(values[moment], language)
        if "ticket_id" in values and not values.get("reference"):
            values["reference"] = values["ticket_id"][:8].upper()
        values["language"] = language
        return values

    def render(self, template, language, context, recipient, event_id):
        values = self.context(template, language, context)
        text = _TEXT.get_template(f"{language}/{template}.txt")
        blocks = text.new_context(values)
        subject = "".join(text.blocks["subject"](blocks)).strip()
        body = "".join(text.blocks["body"](blocks)).strip() + "\n"
        link_label = "".join(text.blocks["link_label"](blocks)).strip()
        paragraphs = [p for p in body.split("\n\n") if p.strip() and p.strip() != values["url"]]
        html = _HTML.get_template("base.html").render(
            language=language, subject=subject, paragraphs=paragraphs, url=values["url"],
            link_label=link_label)
        message = compose(sender=self.sender, recipient=recipient, subject=subject, body=body,
                          event_id=event_id)
        message.add_alternative(html, subtype="html")
        return message
