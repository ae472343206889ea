"""What journeys read and write, taken from the same catalogues the portal speaks from, so a test
names a control the way its user sees it in either language."""
import re

from helpdesk import catalog, testing
from services.gateway import portal

# A small real PDF (the server checks the type by content, not by name).
PDF = {"name": "traceroute.pdf", "mimeType": "application/pdf",
       "buffer": b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"}


class Text:
    def __init__(self, language):
        self.language = language
        self.messages = portal.messages(language)
        self.catalog = catalog.public_view()

    def __getitem__(self, key):
        return self.messages[key]

    def __call__(self, key, **params):
        return re.sub(r"\{(\w+)\}", lambda m: str(params.get(m.group(1), m.group(0))), self.messages[key])

    def status(self, code):
        return self.messages[f"status.{code}"]

    def department(self, code):
        return next(d["name"][self.language] for d in self.catalog["departments"] if d["code"] == code)

    def service(self, code):
        return next(s["name"][self.language] for s in self.catalog["services"] if s["code"] == code)


def mail_with(system, address, needle, timeout=15):
    """The first mail to `address` whose subject or text contains `needle`."""
    def found():
        for mail in system.mails_to(address):
            if needle in mail["Subject"] or needle in mail.get_body(("plain",)).get_content():
                return mail
        return None
    mail = testing.wait_until(found, timeout=timeout)
    assert mail, f"no mail to {address} with {needle!r}:\n{system.log_tail()}"
    return mail
