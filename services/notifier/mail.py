"""Composing and delivering mail. Composition is pure; `MailOutbox` and `SmtpSender` do the I/O."""
import binascii
import contextlib
import hashlib
import logging
import re
import smtplib
import threading
import time
import unicodedata
from email.utils import format_datetime

import eventlet
import psycopg2.extras
from psycopg2 import sql

from helpdesk import metrics
from helpdesk.db import after_commit, later_values

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


# -- the bytes of a mail, written here --------------------------------------------------------
#
# The email package took about 8 ms per mail (its header registry and folding policy, and then
# parsing every mail back as a backstop): three quarters of the notifier's CPU. Our mails always
# have one shape, so they are written directly: ASCII headers folded here, RFC 2047 encoded words
# (Q) for non-ASCII text, and a multipart/alternative of the text and the HTML, each
# quoted-printable. The backstop is structural (`checked`): every header value is printable
# ASCII whose only line breaks are our own folds (CRLF and a space), so no value can end its
# header or begin another, and the bodies cannot reach the header block or a boundary (they
# follow the blank line, and quoted-printable never writes the boundary's "=_").

LINE_LENGTH = 78  # RFC 5322 2.1.1: lines SHOULD be at most 78 characters
_Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")  # RFC 2047 5(3)
_VALUE = re.compile(r"[\x21-\x7e][\x20-\x7e]*(?:\r\n [\x20-\x7e]+)*")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_ADDRESS = re.compile(r"[\x21-\x7e]+@[\x21-\x7e]+")  # printable, no spaces: and no <>"(),:;\\ below
_NOT_IN_ADDRESS = set('<>"(),:;\\[]')


def encoded_words(text, first_width, width=LINE_LENGTH - 1):
    """`text` as RFC 2047 Q encoded words in UTF-8, safe in a phrase and in unstructured text,
    each fitted to its line (the first `first_width` characters wide, the next ones `width`).
    Spaces are encoded inside the words (decoders drop the whitespace between words), and no
    character's bytes are split between two words."""
    prefix, suffix = "=?utf-8?q?", "?="
    words, current, limit = [], "", first_width
    for char in text:
        piece = "_" if char == " " else "".join(chr(byte) if byte in _Q_SAFE else f"={byte:02X}"
                                                 for byte in char.encode())
        if current and len(prefix) + len(current) + len(piece) + len(suffix) > limit:
            words.append(prefix + current + suffix)
            current, limit = "", width
        current += piece
    words.append(prefix + current + suffix)
    return words


def fold_subject(subject, linesep="\r\n"):
    """A Subject value that unfolds to exactly `subject`: non-ASCII text encoded whole (its spaces
    inside the encoded words), ASCII text folded at spaces, never before its first word."""
    if not subject.isascii():
        return (linesep + " ").join(encoded_words(subject, LINE_LENGTH - len("Subject: ")))
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
    angle brackets is ignored (RFC 2369), and a URL must never become encoded words, which no
    mail program reads as a URL."""
    lines, width = [""], LINE_LENGTH - len("List-Unsubscribe: ")
    for part in re.split(r"(?=[?&])", value):
        if lines[-1] and len(lines[-1]) + len(part) > width:
            lines.append("")
            width = LINE_LENGTH - 1
        lines[-1] += part
    return (linesep + " ").join(lines)


def address_value(address):
    """An addr-spec as it may stand in a header; UnsafeMail for anything else (never sent)."""
    if not _ADDRESS.fullmatch(address or "") or _NOT_IN_ADDRESS & set(address):
        raise UnsafeMail(f"not an address we write: {address!r}")
    return address


def mailbox(address, name=None, header="From"):
    """A From / To value: the address, with `name` (user text, made one safe line by
    header_text) as a display name: quoted when ASCII, encoded words otherwise."""
    address, name = address_value(address), header_text(name or "", NAME_LIMIT)
    if not name:
        return address
    if name.isascii():
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + f'" <{address}>'
    words = encoded_words(name, LINE_LENGTH - len(header) - 2)
    return "\r\n ".join(words) + f"\r\n <{address}>"


class UnsafeMail(ValueError):
    """A header value we would not write (not one safe line, not an address): never sent."""


def checked(headers):
    """`headers` ((name, value) in order) once each value is proven to be one header: printable
    ASCII, folded only by CRLF and a space, no line over 998 octets, each name once."""
    names = [name.lower() for name, _ in headers]
    if len(set(names)) != len(names):
        raise UnsafeMail(f"a header twice: {names}")
    for name, value in headers:
        if not _NAME.fullmatch(name) or not _VALUE.fullmatch(value):
            raise UnsafeMail(f"header {name!r} is not one safe value")
        if any(len(line) > 990 for line in value.split("\r\n")):
            raise UnsafeMail(f"header {name!r} has an overlong line")
    return headers


def message_id(event_id, recipient, domain="helpdesk.local"):
    """Deterministic per (event, recipient), so a receiver can also spot a duplicate."""
    digest = hashlib.sha256(f"{event_id}:{recipient}".encode()).hexdigest()[:24]
    return f"<{event_id}.{digest}@{domain}>"


def _quoted_printable(text):
    data = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    return binascii.b2a_qp(data, istext=True).replace(b"\n", b"\r\n")


def compose(*, sender, recipient, subject, text, html, event_id, date, headers=()):
    """The bytes of a mail: `text` and `html` as alternatives, `headers` ((name, value), ASCII)
    after ours. `date`: when the mail is sent (the caller's clock). `sender` is "Name <address>"
    (configuration); `recipient`, a bare address."""
    sender_name, sender_address = split_sender(sender)
    boundary = "=_" + hashlib.sha256(f"boundary:{event_id}:{recipient}".encode()).hexdigest()[:32]
    head = checked([
        ("From", mailbox(sender_address, sender_name)),
        ("To", mailbox(recipient, header="To")),
        ("Date", format_datetime(date)),
        ("Subject", fold_subject(header_text(subject))),
        ("Message-ID", message_id(event_id, recipient)),
        ("Auto-Submitted", "auto-generated"),
        *headers,
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/alternative;\r\n boundary="{boundary}"'),
    ])
    out = [f"{name}: {value}\r\n" for name, value in head]
    out.append("\r\n")
    raw = "".join(out).encode("ascii")
    for subtype, body in (("plain", text), ("html", html)):
        raw += (f"--{boundary}\r\nContent-Type: text/{subtype}; charset=\"utf-8\"\r\n"
                f"Content-Transfer-Encoding: quoted-printable\r\n\r\n").encode("ascii")
        raw += _quoted_printable(body).rstrip(b"\r\n") + b"\r\n"
    return raw + f"--{boundary}--\r\n".encode("ascii")


def split_sender(sender):
    """(display name, address) of a configured "Name <address>" (or a bare address). Not
    email.utils.parseaddr, which takes an address out of an encoded word in the name."""
    found = re.fullmatch(r"\s*(.*?)\s*<([^<>]*)>\s*", sender or "")
    if found is None:
        return "", (sender or "").strip()
    return found.group(1).strip().strip('"'), found.group(2).strip()


def envelope_sender(sender):
    return split_sender(sender)[1]


class SmtpSender:
    """SMTP connections, opened lazily (none when nothing is due) and kept between batches for
    `keep_seconds`: the notifier sends one event's mails at a time, on up to four connections at
    the same time (a ticket's requester, group user and agent: one wait, not three), and a
    connection per batch cost a TCP handshake, an EHLO and a QUIT on both sides. One batch uses
    them at a time per sending lane (MailOutbox's turn), taking at most the four it can use, so
    that the lanes share the kept ones instead of one lane holding them all while the others open
    more. A kept connection the server closed meanwhile is noticed at its first command, before
    anything of the mail went, and replaced."""

    def __init__(self, host, port, security="none", username=None, password=None, timeout=30, keep_seconds=60.0):
        self.host, self.port, self.security = host, int(port), security
        self.username, self.password, self.timeout = username, password, timeout
        self.keep_seconds = keep_seconds
        self._kept = []  # (connection, opened at)
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def session(self):
        batch = _SmtpBatch(self, self._take_kept(_SmtpBatch.PARALLEL))
        try:
            yield batch
        finally:
            self._keep(batch)

    def _take_kept(self, most):
        with self._lock:
            kept, self._kept = self._kept[-most:], self._kept[:-most]
        fresh = []
        for smtp, opened_at in kept:
            if time.monotonic() - opened_at > self.keep_seconds:
                _quit(smtp)
            else:
                fresh.append((smtp, opened_at))
        return fresh

    def _keep(self, batch):
        with self._lock:
            self._kept += [(smtp, opened_at) for smtp, opened_at in batch.connections if smtp is not None]
        batch.connections = []

    def close(self):
        with self._lock:
            kept, self._kept = self._kept, []
        for smtp, _ in kept:
            _quit(smtp)

    def connect(self):
        smtp_class = smtplib.SMTP_SSL if self.security == "tls" else smtplib.SMTP
        smtp = smtp_class(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            smtp.starttls()
        if self.username:
            smtp.login(self.username, self.password)
        return smtp


def _quit(smtp):
    with contextlib.suppress(smtplib.SMTPException, OSError):  # the server may be gone already
        smtp.quit()


class _SmtpBatch:
    """The connections of one session: `connections`, [(connection or None, opened at)]."""

    PARALLEL = 4  # connections one event's mails share at the most (servers limit them per client)

    def __init__(self, sender, kept=()):
        self.sender, self.connections = sender, list(kept)

    def send_all(self, mails):
        """Sends (raw bytes, envelope sender, recipient) mails at the same time, up to PARALLEL
        connections, each carrying its share one after the other. Returns, in order, None for each
        mail the server took and the exception for each it did not."""
        lanes = min(len(mails), self.PARALLEL)
        while len(self.connections) < lanes:
            self.connections.append((None, 0.0))
        outcomes = [None] * len(mails)

        def send_share(index):
            for n in range(index, len(mails), lanes):
                outcomes[n] = self._send_on(index, mails[n])
        if lanes == 1:
            send_share(0)
        else:
            pool = eventlet.GreenPool(lanes)
            for index in range(lanes):
                pool.spawn_n(send_share, index)
            pool.waitall()
        return outcomes

    def _send_on(self, index, mail):
        raw, sender, recipient = mail
        smtp, opened_at = self.connections[index]
        try:
            if smtp is not None:
                try:
                    _begin(smtp, raw, sender)
                except (smtplib.SMTPServerDisconnected, OSError):  # closed while kept: nothing went yet
                    _quit(smtp)
                    smtp = None
            if smtp is None:
                smtp, opened_at = self.sender.connect(), time.monotonic()
                self.connections[index] = (smtp, opened_at)
                _begin(smtp, raw, sender)
            _finish(smtp, raw, recipient)
            return None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            if smtp is not None:
                _quit(smtp)
            self.connections[index] = (None, 0.0)  # the next mail reconnects
            return exc
        except smtplib.SMTPException as exc:
            return exc


def _begin(smtp, raw, sender):
    """EHLO if not yet, and MAIL FROM: smtplib's sendmail up to its first reply about the mail."""
    smtp.ehlo_or_helo_if_needed()
    options = [f"size={len(raw)}"] if smtp.does_esmtp and smtp.has_extn("size") else []
    code, reply = smtp.mail(sender, options)
    if code != 250:
        _abandon(smtp, code)
        raise smtplib.SMTPSenderRefused(code, reply, sender)


def _finish(smtp, raw, recipient):
    """RCPT TO and DATA, refusals raised as smtplib's sendmail raises them."""
    code, reply = smtp.rcpt(recipient)
    if code not in (250, 251):
        _abandon(smtp, code)
        raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
    code, reply = smtp.data(raw)
    if code != 250:
        _abandon(smtp, code)
        raise smtplib.SMTPDataError(code, reply)


def _abandon(smtp, code):
    """A refused mail: the transaction is reset for the next one, or the connection closed when
    the server is closing it (421)."""
    if code == 421:
        smtp.close()
    else:
        smtp.rset()


class _Turn:
    """Lets at most `lanes` callers at a time run `send` (each claims other events: SKIP LOCKED);
    a caller that finds every lane taken asks the ones running to go round once more (so that the
    mail it just planned is not left for the timer) and returns 0 at once."""

    MAX_LANES = 8

    def __init__(self):
        self._locks = [threading.Lock() for _ in range(self.MAX_LANES)]
        self._again = False

    def take(self, send, lanes=1):
        sent = 0
        self._again = True
        while self._again:
            lock = next((lock for lock in self._locks[:max(1, min(lanes, self.MAX_LANES))]
                         if lock.acquire(blocking=False)), None)
            if lock is None:
                return sent  # the senders at work will see `_again`
            try:
                while self._again:
                    self._again = False
                    sent += send()
            finally:
                lock.release()
        return sent


_TURNS = {}  # outbox schema -> its process-wide _Turn (the notifier and its inbound service share one)


def _failure(exc):
    """(what to record, whether it is for good) of a mail the SMTP server did not take."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):  # refused at RCPT: the code says for how long
        code, reply = next(iter(exc.recipients.values()))
        return f"{code} {reply!r}", 500 <= code < 600
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {exc.smtp_error!r}", 500 <= exc.smtp_code < 600
    return repr(exc), False


def sending_lanes(config):
    """NOTIFIER.sending_lanes of the settings (1 when unset): how many events' mails a notifier
    process has in flight at once (MailOutbox.send_due)."""
    return int((config.get("NOTIFIER") or {}).get("sending_lanes") or 1)


class MailOutbox:
    """Planned mails: added inside the consumer's transaction, rendered and sent after it commits."""

    def __init__(self, schema="notifier"):
        self._turn = _TURNS.setdefault(schema, _Turn())
        self._sent, self._retried, self._failed = (metrics.MAILS.labels(schema, outcome)
                                                   for outcome in ("sent", "retried", "failed"))
        table = sql.Identifier(schema, "mail_outbox")
        self._add_sql = sql.SQL(
            "INSERT INTO {} (event_id, recipient, template, language, context)"
            " VALUES %s ON CONFLICT (event_id, recipient) DO NOTHING"
        ).format(table)
        # The mails of one event (a ticket's requester, group users, copies, agent) are claimed,
        # sent over the session's SMTP connection and marked in one transaction, whose commit
        # does not wait for the WAL to reach the disk (synchronous_commit off, for this
        # transaction only): one commit and no flush wait per event instead of one per mail.
        # What that risks is what a crash between the SMTP server's 250 and the commit risks
        # anyway: that event's mails go again, under the same Message-IDs (a PostgreSQL crash,
        # not a clean restart, which flushes, can also forget the last fraction of a second of
        # marks).
        self._next_sql = sql.SQL(
            "SET LOCAL synchronous_commit TO OFF;"
            " SELECT id, event_id, recipient, template, language, context, attempts FROM {table}"
            " WHERE status = 'pending' AND next_attempt_at <= now() AND event_id = ("
            "   SELECT event_id FROM {table} WHERE status = 'pending' AND next_attempt_at <= now()"
            "   ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)"
            " ORDER BY id FOR UPDATE SKIP LOCKED"
        ).format(table=table)
        self._sent_sql = sql.SQL(
            "UPDATE {} SET status = 'sent', sent_at = now(), attempts = attempts + 1 WHERE id = ANY(%s)"
        ).format(table)
        # asked with the marks, so that the last event's batch needs no empty claim after it
        self._more_sql = sql.SQL(
            "SELECT EXISTS (SELECT 1 FROM {} WHERE status = 'pending' AND next_attempt_at <= now() AND id <> ALL(%s))"
        ).format(table)
        self._failed_sql = sql.SQL(
            "UPDATE {} SET status = %s, attempts = attempts + 1, last_error = %s,"
            " next_attempt_at = now() + make_interval(secs => %s) WHERE id = %s"
        ).format(table)

    def add(self, cur, event_id, *mails):
        """Plans `mails` of `event_id`, in one round trip; a mail planned before is kept as it was."""
        if mails:
            later_values(cur, self._add_sql, [
                (event_id, mail.recipient, mail.template, mail.language, psycopg2.extras.Json(mail.context))
                for mail in mails])

    def send_due(self, db, sender, renderer, limit=100, lanes=1):
        """Sends due mails, an event's mails per transaction (rows locked while sending), over one
        SMTP connection. Returns how many were sent.

        One caller of a process sends at a time (every event handler and the timer call this),
        or `lanes` of them (NOTIFIER.sending_lanes): the others leave their mails to them and
        return at once. So at most `lanes` events' mails are ever between the SMTP server's 250
        and their commit, what a crash or a database outage can send twice (same Message-IDs: one
        mail more per recipient). With every worker sending, each had mails there: a database
        restart mailed several recipients twice (tests/e2e/test_fault_tolerance.py). One lane
        sends an event at a time; more send more mail per second, for as many events repeated by
        a crash (config.yaml runs four: one or two could not keep up with two cores' worth of tickets)."""
        return self._turn.take(lambda: self._send_session(db, sender, renderer, limit), lanes)

    def _send_session(self, db, sender, renderer, limit):
        with sender.session() as smtp:
            return self._send_due(db, smtp, renderer, limit)

    def _send_due(self, db, smtp, renderer, limit):
        sent = 0
        while sent < limit:
            with db.transaction() as cur:
                cur.execute(self._next_sql)
                rows = cur.fetchall()
                if not rows:
                    break
                done = self._send_event(cur, smtp, renderer, rows)
                claimed = [row[0] for row in rows]
                cur.execute((self._sent_sql + sql.SQL("; ") + self._more_sql) if done else self._more_sql,
                            ((done, claimed) if done else (claimed,)))
                more = cur.fetchone()[0]
                sent += len(done)
            self._sent.inc(len(done))  # committed: marked sent
            if not more:
                break
        return sent

    def _send_event(self, cur, smtp, renderer, rows):
        """Sends one event's claimed mails at once; the ids of those the server took. Each
        failure is recorded (in `cur`, here, one after the other)."""
        rendered = []
        for mail_id, event_id, recipient, template, language, context, attempts in rows:
            try:
                rendered.append((mail_id, attempts, renderer.render_bytes(template, language, context, recipient,
                                                                          event_id), recipient))
            except UnsafeMail as exc:  # never sent; a retry would build the same mail
                self._record_failure(cur, mail_id, attempts, repr(exc), permanent=True)
        outcomes = smtp.send_all([(raw, renderer.envelope_from, recipient) for _, _, raw, recipient in rendered])
        done = []
        for (mail_id, attempts, _, _), outcome in zip(rendered, outcomes):
            if outcome is None:
                done.append(mail_id)
            else:
                self._record_failure(cur, mail_id, attempts, *_failure(outcome))
        return done

    def _record_failure(self, cur, mail_id, attempts, error, permanent):
        exhausted = attempts + 1 > len(RETRY_DELAYS)
        status = "failed" if permanent or exhausted else "pending"
        delay = 0 if status == "failed" else RETRY_DELAYS[attempts]
        log.warning("mail %s %s: %s", mail_id, "failed" if status == "failed" else "will retry", error)
        cur.execute(self._failed_sql, (status, error[:1000], delay, mail_id))
        after_commit(cur, (self._failed if status == "failed" else self._retried).inc)
