"""Composing and delivering mail. Composition is pure; `MailOutbox` and `SmtpSender` do the I/O."""
import contextlib
import email.policy
import hashlib
import logging
import re
import smtplib
import threading
import unicodedata
from email import charset as email_charset
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import psycopg2.extras
from psycopg2 import sql

log = logging.getLogger(__name__)

RETRY_DELAYS = (5, 30, 120, 600, 1800)  # seconds; then the mail is marked failed


SUBJECT_LIMIT = 150  # characters of a subject before it is cut (at a word) and "…" follows
NAME_LIMIT = 64  # characters of a display name in From / To


def header_text(text, limit=SUBJECT_LIMIT):
    """What text may enter a header, decided here and not left to the email package: one line of
    printable characters. Controls and format characters (C*: CR, LF, NUL, bidi overrides, …)
    and line or paragraph separators become spaces, whitespace runs one space; "=?" becomes
    "= ?", so nothing in it reads as an RFC 2047 encoded word: the email package decodes those
    in the values we set, and CPython 3.11.7 wrote a decoded "=0D=0AReply-To: …" out as real
    header lines. Longer text is cut at a word boundary, marked with "…"."""
    printable = "".join(" " if unicodedata.category(char)[0] == "C" or unicodedata.category(char) in ("Zl", "Zp")
                        else char for char in str(text))
    line = " ".join(printable.split()).replace("=?", "= ?")
    if len(line) <= limit:
        return line
    cut = line[:limit]
    if line[limit] != " " and " " in cut[limit // 2:]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…"


def mailbox(address, name=None):
    """A From / To value: the address, with `name` (user text) as a display name made safe."""
    name = header_text(name or "", NAME_LIMIT)
    return str(Address(display_name=name, addr_spec=address)) if name else address


class UnsafeMail(ValueError):
    """The serialized mail does not parse back to the headers it was built with: never sent."""


def serialized(message):
    """The bytes to send, once they are proven to parse back to exactly the message's own
    headers, each as often as it was set, with the same values (up to folding whitespace): the
    backstop behind `header_text`."""
    raw = message.as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    built = [(name.lower(), "".join(str(value).split())) for name, value in message.items()]
    found = [(name.lower(), "".join(str(value).split())) for name, value in parsed.items()]
    if built != found:
        raise UnsafeMail(f"headers {[n for n, _ in found]} parsed back from {[n for n, _ in built]}")
    return raw


def message_id(event_id, recipient, domain="helpdesk.local"):
    """Deterministic per (event, recipient), so a receiver can also spot a duplicate."""
    digest = hashlib.sha256(f"{event_id}:{recipient}".encode()).hexdigest()[:24]
    return f"<{event_id}.{digest}@{domain}>"


LINE_LENGTH = 78  # RFC 5322 2.1.1: lines SHOULD be at most 78 characters
_UTF8_Q = email_charset.Charset("utf-8")
_UTF8_Q.header_encoding = email_charset.QP  # readable in the raw source, unlike base64


def fold_subject(subject, linesep="\r\n"):
    """A Subject value, folded so that it unfolds to exactly `subject`.

    Python's own folder (email.policy, CPython gh-144156) may fold between two encoded words at
    the space that separates them, and decoders drop whitespace between encoded words: "más
    información: Pérdida" came out "información:Pérdida". It may also start the value on a line
    of its own, which parsers read as a leading space. So: non-ASCII text is encoded whole, with
    its spaces inside the encoded words; ASCII text is folded at spaces, never before its first
    word."""
    if not subject.isascii():
        return Header(subject, _UTF8_Q, maxlinelen=LINE_LENGTH, header_name="Subject").encode(linesep=linesep)
    lines, width = [], LINE_LENGTH - len("Subject: ")
    for word in subject.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
            width = LINE_LENGTH - 1  # continuation lines start with the folding space
    return (linesep + " ").join(lines)


def fold_url_list(value, linesep="\r\n"):
    """A List-Unsubscribe value (`<url>`, ASCII), folded before `?` and `&`: whitespace inside the
    angle brackets is ignored (RFC 2369), whereas Python's folder would turn a long URL into
    encoded words, which no mail program reads as a URL."""
    lines, width = [""], LINE_LENGTH - len("List-Unsubscribe: ")
    for part in re.split(r"(?=[?&])", value):
        if lines[-1] and len(lines[-1]) + len(part) > width:
            lines.append("")
            width = LINE_LENGTH - 1
        lines[-1] += part
    return (linesep + " ").join(lines)


class _MailPolicy(email.policy.EmailPolicy):
    """email.policy.SMTP, with the Subject folded by `fold_subject` and List-Unsubscribe by
    `fold_url_list`."""

    def fold(self, name, value):
        if name.lower() == "subject":
            return f"{name}: {fold_subject(str(value), self.linesep)}{self.linesep}"
        if name.lower() == "list-unsubscribe":
            return f"{name}: {fold_url_list(str(value), self.linesep)}{self.linesep}"
        return super().fold(name, value)

    def fold_binary(self, name, value):
        if name.lower() in ("subject", "list-unsubscribe"):
            return self.fold(name, value).encode("ascii")
        return super().fold_binary(name, value)


MAIL_POLICY = _MailPolicy(linesep="\r\n")


def compose(*, sender, recipient, subject, body, event_id, date):
    """`date`: when the mail is sent (RFC 5322 requires a Date); the caller's clock says.
    `sender` is "Name <address>" (configuration); `recipient`, a bare address."""
    msg = EmailMessage(policy=MAIL_POLICY)
    sender_name, sender_address = parseaddr(sender)
    msg["From"] = mailbox(sender_address, sender_name)
    msg["To"] = mailbox(recipient)
    msg["Date"] = format_datetime(date)
    msg["Subject"] = header_text(subject)
    msg["Message-ID"] = message_id(event_id, recipient)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    return msg


class SmtpSender:
    """Opens one SMTP connection per batch of due mails, lazily: none when nothing is due."""

    def __init__(self, host, port, security="none", username=None, password=None, timeout=30):
        self.host, self.port, self.security = host, int(port), security
        self.username, self.password, self.timeout = username, password, timeout

    @contextlib.contextmanager
    def session(self):
        batch = _SmtpBatch(self)
        try:
            yield batch
        finally:
            batch.close()

    def connect(self):
        smtp_class = smtplib.SMTP_SSL if self.security == "tls" else smtplib.SMTP
        smtp = smtp_class(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            smtp.starttls()
        if self.username:
            smtp.login(self.username, self.password)
        return smtp


class _SmtpBatch:
    def __init__(self, sender):
        self.sender, self.smtp = sender, None

    def send(self, message, recipient):
        raw = serialized(message)
        if self.smtp is None:
            self.smtp = self.sender.connect()
        try:
            self.smtp.sendmail(parseaddr(message["From"])[1], [recipient], raw)
        except (smtplib.SMTPServerDisconnected, OSError):
            self.close()  # the next mail reconnects
            raise

    def close(self):
        if self.smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):  # the server may be gone already
                self.smtp.quit()
            self.smtp = None


class _Turn:
    """Lets one caller at a time run `send`; a caller that finds it taken asks the one running
    to go round once more (so that the mail it just planned is not left for the timer) and
    returns 0 at once."""

    def __init__(self):
        self._lock = threading.Lock()
        self._again = False

    def take(self, send):
        sent = 0
        self._again = True
        while self._again:
            if not self._lock.acquire(blocking=False):
                return sent  # the sender at work will see `_again`
            try:
                while self._again:
                    self._again = False
                    sent += send()
            finally:
                self._lock.release()
        return sent


_TURNS = {}  # outbox schema -> its process-wide _Turn (the notifier and its inbound service share one)


class MailOutbox:
    """Planned mails: added inside the consumer's transaction, rendered and sent after it commits."""

    def __init__(self, schema="notifier"):
        self._turn = _TURNS.setdefault(schema, _Turn())
        table = sql.Identifier(schema, "mail_outbox")
        self._add_sql = sql.SQL(
            "INSERT INTO {} (event_id, recipient, template, language, context)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (event_id, recipient) DO NOTHING"
        ).format(table)
        self._next_sql = sql.SQL(
            "SELECT id, event_id, recipient, template, language, context, attempts FROM {}"
            " WHERE status = 'pending'"
            " AND next_attempt_at <= now() ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
        ).format(table)
        self._sent_sql = sql.SQL(
            "UPDATE {} SET status = 'sent', sent_at = now(), attempts = attempts + 1 WHERE id = %s"
        ).format(table)
        self._failed_sql = sql.SQL(
            "UPDATE {} SET status = %s, attempts = attempts + 1, last_error = %s,"
            " next_attempt_at = now() + make_interval(secs => %s) WHERE id = %s"
        ).format(table)

    def add(self, cur, event_id, mail):
        cur.execute(self._add_sql, (event_id, mail.recipient, mail.template, mail.language,
                                    psycopg2.extras.Json(mail.context)))

    def send_due(self, db, sender, renderer, limit=100):
        """Sends due mails one by one (row locked while sending) over one SMTP connection.
        Returns how many were sent.

        One caller of a process sends at a time (every event handler and the timer call this):
        the others leave their mails to it and return at once. So at most one mail is ever
        between the SMTP server's 250 and its commit, the one a crash or a database outage can
        send twice (same Message-ID). With every worker sending, each had one there: a database
        restart mailed several recipients twice (tests/e2e/test_fault_tolerance.py)."""
        return self._turn.take(lambda: self._send_session(db, sender, renderer, limit))

    def _send_session(self, db, sender, renderer, limit):
        with sender.session() as smtp:
            return self._send_due(db, smtp, renderer, limit)

    def _send_due(self, db, smtp, renderer, limit):
        sent = 0
        for _ in range(limit):
            with db.transaction() as cur:
                cur.execute(self._next_sql)
                row = cur.fetchone()
                if row is None:
                    break
                mail_id, event_id, recipient, template, language, context, attempts = row
                try:
                    message = renderer.render(template, language, context, recipient, event_id)
                    smtp.send(message, recipient)
                except UnsafeMail as exc:  # never sent; a retry would build the same mail
                    self._record_failure(cur, mail_id, attempts, repr(exc), permanent=True)
                    continue
                except smtplib.SMTPRecipientsRefused as exc:  # refused at RCPT: the code says for how long
                    code, reply = next(iter(exc.recipients.values()))
                    self._record_failure(cur, mail_id, attempts, f"{code} {reply!r}", 500 <= code < 600)
                    continue
                except smtplib.SMTPResponseException as exc:
                    permanent = 500 <= exc.smtp_code < 600
                    self._record_failure(cur, mail_id, attempts, f"{exc.smtp_code} {exc.smtp_error!r}", permanent)
                    continue
                except (smtplib.SMTPException, OSError) as exc:
                    self._record_failure(cur, mail_id, attempts, repr(exc), permanent=False)
                    continue
                cur.execute(self._sent_sql, (mail_id,))
                sent += 1
        return sent

    def _record_failure(self, cur, mail_id, attempts, error, permanent):
        exhausted = attempts + 1 > len(RETRY_DELAYS)
        status = "failed" if permanent or exhausted else "pending"
        delay = 0 if status == "failed" else RETRY_DELAYS[attempts]
        log.warning("mail %s %s: %s", mail_id, "failed" if status == "failed" else "will retry", error)
        cur.execute(self._failed_sql, (status, error[:1000], delay, mail_id))
