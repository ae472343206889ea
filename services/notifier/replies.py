"""Replies by email, pure: the reply addresses that carry a ticket's token, and what an inbound
mail says (who sent it, to which token, its new text, its files), with no I/O.

**Reply addresses.** Every ticket mail to a recipient says
`Reply-To: reply+<ticket>.<day>.<mac>@<domain>`: `<ticket>` is the ticket's UUID in 26 base32
digits, `<day>` the day the mail was sent (days since 2000-01-01, 4 base32 digits), `<mac>` the
first 25 characters of HMAC-SHA256(secret, "reply\0<ticket uuid>\0<day>\0<recipient, lowercased>")
in base32. All lowercase: email local parts are case-insensitive in practice, so the address is
read lowercased. The local part is 63 octets, under the 64 of RFC 5321 (4.5.3.1.1) that some mail
systems enforce.

The MAC binds the recipient, and a reply is checked against its *sender*: a token copied into
somebody else's mail (a forwarded notice, a "foreign" token) does not verify, just like a forged
one. The day lets a token expire (`ReplyToken.expired`): a captured mail stops being a way in, and
every new mail about the ticket carries a fresh one. `match_reply` answers a `ReplyToken`, `None`
for an address with no token, and raises `ForgedToken` for a token that does not verify (callers
log it, never the token itself).

**Reading a reply** (`parse`): the sender (From, else the envelope sender), the candidates for a
reply address (envelope recipients, To and Cc), whether the mail is auto-generated (never answered:
that would make mail loops), the new text with the quoted history and the signature removed, and
the attached files (parts with a filename, or marked as attachments; inline images without a file
name, e.g. signature logos, are not attachments).

Quoted history is found by `quotequail` (Close's library: "On … wrote:", "El … escribió:" and
other languages, lines wrapped by the mail client, Outlook header blocks, "Original Message"
separators, blocks of "> " lines). It does not know signatures, so those are cut here, only by
the unambiguous conventions: the RFC 3676 "-- " line, and a last "Sent from my …" / "Enviado
desde mi …" line. A closing like "Un saludo, Ana" is kept: cutting at words like "Gracias,"
(as some parsers do) loses what customers write after them.
"""
import base64
import binascii
import dataclasses
import datetime as dt
import email
import email.policy
import hashlib
import hmac
import html.parser
import mimetypes
import re
import uuid
from email.utils import getaddresses, parseaddr

import quotequail

LOCAL_PREFIX = "reply"
MAC_CHARS = 25
DAY_CHARS = 4
EPOCH = dt.date(2000, 1, 1)  # day 0 of a token's date
_TAG = re.compile(r"^([a-z2-7]{26})\.([a-z2-7]{%d})\.([a-z2-7]{%d})$" % (DAY_CHARS, MAC_CHARS))
_B32 = "abcdefghijklmnopqrstuvwxyz234567"


class ForgedToken(Exception):
    """A reply address whose token is malformed or does not verify for the sender: forged, or
    made for another recipient. `ticket_id` is the ticket it claims (None if malformed)."""

    def __init__(self, reason, ticket_id=None):
        super().__init__(reason)
        self.reason, self.ticket_id = reason, ticket_id


@dataclasses.dataclass(frozen=True)
class ReplyToken:
    """A verified token: the ticket it opens and the day its mail was sent."""

    ticket_id: str
    issued_on: dt.date

    def expired(self, today, valid_days):
        """Older than `valid_days` on `today` (a date: the caller's clock, never a hidden one)."""
        return (today - self.issued_on).days > valid_days


def _mac(secret, ticket_id, day, recipient):
    key = secret.encode() if isinstance(secret, str) else secret
    message = f"reply\x00{ticket_id}\x00{day}\x00{recipient.strip().lower()}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:MAC_CHARS]


def _day_digits(day):
    digits = ""
    for _ in range(DAY_CHARS):
        day, rest = divmod(day, 32)
        digits = _B32[rest] + digits
    return digits


def _day_of(digits):
    day = 0
    for char in digits:
        day = day * 32 + _B32.index(char)
    return day


def reply_address(secret, ticket_id, recipient, domain, issued_on):
    """The address `recipient` answers to about `ticket_id`, in a mail sent on `issued_on` (a date):
    `reply+<ticket>.<day>.<mac>@<domain>`."""
    ticket = uuid.UUID(str(ticket_id))
    day = (issued_on - EPOCH).days
    ticket_digits = base64.b32encode(ticket.bytes).decode().lower().rstrip("=")
    mac = _mac(secret, str(ticket), day, recipient)
    return f"{LOCAL_PREFIX}+{ticket_digits}.{_day_digits(day)}.{mac}@{domain.lower()}"


def split_address(address):
    """(local part, domain) of an address, both lowercased; ("", "") when it has no @."""
    address = parseaddr(address or "")[1] or (address or "")
    local, at, domain = address.strip().strip("<>").rpartition("@")
    return (local.lower(), domain.lower()) if at else ("", "")


def is_reply_address(address, domain=None):
    """An address of the inbound endpoint: `reply` or `reply+<anything>` (at `domain`, if given).
    The bare form is accepted too: some mail systems strip "+tags"."""
    local, at_domain = split_address(address)
    if domain is not None and at_domain != domain.lower():
        return False
    return local == LOCAL_PREFIX or local.startswith(LOCAL_PREFIX + "+")


def match_reply(secret, address, sender, domain=None):
    """The ReplyToken that `address` carries for `sender`; None when `address` carries no token
    (not a reply address, or the bare `reply@`); raises ForgedToken when it carries one that is
    malformed, forged, or made for another recipient. Expiry is the caller's to judge."""
    if not is_reply_address(address, domain):
        return None
    local, _ = split_address(address)
    tag = local[len(LOCAL_PREFIX) + 1:] if local.startswith(LOCAL_PREFIX + "+") else ""
    if not tag:
        return None
    found = _TAG.match(tag)
    if not found:
        raise ForgedToken("malformed token")
    try:
        ticket_id = str(uuid.UUID(bytes=base64.b32decode(found.group(1).upper() + "======")))
    except (ValueError, binascii.Error):
        raise ForgedToken("malformed token") from None
    day = _day_of(found.group(2))
    sender = parseaddr(sender or "")[1]
    if not sender or not hmac.compare_digest(found.group(3), _mac(secret, ticket_id, day, sender)):
        raise ForgedToken("token not valid for the sender", ticket_id)
    return ReplyToken(ticket_id, EPOCH + dt.timedelta(days=day))


# -- reading an inbound mail --------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes

    def as_upload(self):
        """The tickets service's upload form: {"filename", "content_base64"}."""
        return {"filename": self.filename, "content_base64": base64.b64encode(self.content).decode()}


@dataclasses.dataclass(frozen=True)
class InboundMail:
    sender: str               # the From address (else the envelope sender); "" if none
    envelope_from: str        # "" for the null sender <> (bounces, DSNs)
    recipients: tuple         # envelope recipients, then To and Cc: where a reply token may be
    subject: str
    message_id: str | None    # as sent, angle brackets included; None when the mail has none
    text: str                 # the new text: quoted history and signature removed
    attachments: tuple        # Attachment, in the order of the mail
    auto_generated: str | None  # why the mail must not be answered, or None
    authentication_results: tuple = ()  # the Authentication-Results header values, topmost first


AUTO_PRECEDENCE = frozenset({"bulk", "list", "junk"})


def auto_generated(msg, envelope_from):
    """Why `msg` must not be answered (RFC 3834), or None."""
    if not envelope_from or envelope_from == "<>":
        return "empty envelope sender"
    submitted = str(msg.get("Auto-Submitted", "") or "").split(";")[0].strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted}"
    precedence = str(msg.get("Precedence", "") or "").strip().lower()
    if precedence in AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    return None


def parse(raw, envelope_from="", envelope_to=()):
    """An InboundMail from the raw bytes of a message and its SMTP envelope."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    sender = _address(_header(msg, "From")) or _address(envelope_from)
    recipients = [address for address in envelope_to if address]
    for name in ("To", "Cc"):
        try:
            headers = [_text_of(header) for header in msg.get_all(name, []) or []]
        except Exception:  # too broken to decode: the envelope still says where the mail went
            headers = []
        recipients += [address for _, address in getaddresses(headers) if address]
    message_id = _header(msg, "Message-ID").strip() or None
    return InboundMail(
        sender=sender,
        envelope_from="" if envelope_from in (None, "", "<>") else envelope_from,
        recipients=tuple(dict.fromkeys(recipients)),
        subject=" ".join(_header(msg, "Subject").split()),
        message_id=message_id[:998] if message_id else None,
        text=_new_text(msg),
        attachments=tuple(_attachments(msg)),
        auto_generated=auto_generated(msg, envelope_from),
        authentication_results=tuple(_all_headers(msg, "Authentication-Results")),
    )


def _text_of(value):
    return str(value) if value is not None else ""


def _header(msg, name):
    try:
        return _text_of(msg.get(name))
    except Exception:  # a header too broken to decode is as good as absent
        return ""


def _all_headers(msg, name):
    try:
        return [_text_of(value) for value in msg.get_all(name, []) or []]
    except Exception:  # too broken to decode: as good as absent
        return []


def _address(value):
    return parseaddr(value or "")[1].strip()


def _new_text(msg):
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
    except (KeyError, ValueError):
        part = None
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, KeyError, ValueError):  # an unknown charset: read it as UTF-8
        content = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        return reply_text_from_html(content)
    return reply_text(content)


def reply_text(text):
    """The new text of a plain-text reply: quoted history and signature removed."""
    text = clean(text)
    unwrapped = quotequail.unwrap(text)
    if unwrapped is not None:
        text = unwrapped.get("text_top", "")
    return strip_signature(text).strip()


def reply_text_from_html(markup):
    """The same for an HTML-only reply: quotequail finds the quote in the markup (blockquotes,
    Gmail and Outlook containers), and the rest becomes plain text."""
    markup = clean(markup)
    try:
        unwrapped = quotequail.unwrap_html(markup)
    except Exception:  # markup lxml cannot read at all: fall back to its text
        unwrapped = None
    if unwrapped is not None:
        markup = unwrapped.get("html_top", "")
    return reply_text(html_to_text(markup))


def clean(text):
    """Text that can be stored: line ends normalised, NUL and lone surrogates gone."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8") if re.search("[\ud800-\udfff]", text) else text


_SIGNATURE_DASHES = re.compile(r"^-- ?$")
_DEVICE_LINE = re.compile(
    r"^(sent from my|enviado desde mi|get outlook for|obtener outlook para|descargar outlook para)\b.{0,60}$",
    re.IGNORECASE)


def strip_signature(text):
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if _SIGNATURE_DASHES.match(line.rstrip("\n")):
            lines = lines[:index]
            break
    while lines and not lines[-1].strip():
        lines.pop()
    if lines and _DEVICE_LINE.match(lines[-1].strip()):
        lines.pop()
    return "\n".join(lines)


class _TextOf(html.parser.HTMLParser):
    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
                        "pre", "table", "ul", "ol"})
    SKIP = frozenset({"style", "script", "head", "title"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skipping = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS and tag != "br":
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(" ".join(data.split()) if data.strip() else (" " if data else ""))


def html_to_text(markup):
    parser = _TextOf()
    parser.feed(markup)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _attachments(msg, parent="mixed"):
    """Files the sender attached: parts marked as attachments or carrying a file name (Apple Mail
    marks attached photos inline), but not the images embedded in an HTML body (multipart/related
    parts with a Content-ID: logos of signatures), nor the body itself."""
    if msg.is_multipart():
        for part in msg.iter_parts():
            yield from _attachments(part, msg.get_content_subtype())
        return
    disposition = (msg.get_content_disposition() or "").lower()
    filename = msg.get_filename()
    embedded = parent == "related" and msg.get("Content-ID")
    if embedded or not (disposition == "attachment" or filename):
        return
    try:
        content = msg.get_payload(decode=True) or b""
    except Exception:  # a part too broken to decode is no file
        return
    content_type = msg.get_content_type()
    if not filename:
        filename = "adjunto" + (mimetypes.guess_extension(content_type) or ".bin")
    yield Attachment(" ".join(filename.split())[:255], content_type, content)
