"""Composing and delivering mail. Composition is pure; `MailOutbox` and `SmtpSender` do the I/O."""
import email.policy
import hashlib
import logging
import smtplib
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from psycopg2 import sql

log = logging.getLogger(__name__)

RETRY_DELAYS = (5, 30, 120, 600, 1800)  # seconds; then the mail is marked failed


def one_line(text, limit=150):
    """Header-safe: no CR/LF can reach a header, whatever a customer typed."""
    return " ".join(str(text).split())[:limit]


def message_id(event_id, recipient, domain="helpdesk.local"):
    """Deterministic per (event, recipient), so a receiver can also spot a duplicate."""
    digest = hashlib.sha256(f"{event_id}:{recipient}".encode()).hexdigest()[:24]
    return f"<{event_id}.{digest}@{domain}>"


def compose(*, sender, recipient, subject, body, event_id):
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = one_line(subject)
    msg["Message-ID"] = message_id(event_id, recipient)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    return msg


def ticket_opened_mail(event, sender, public_url):
    data = event.data
    link = f"{public_url.rstrip('/')}/tickets/{data['ticket_id']}"
    reference = data["ticket_id"][:8].upper()
    body = (
        f"Hemos recibido su ticket «{data['title']}».\n\n"
        f"Referencia: {reference}\n"
        f"Estado: nuevo\n\n"
        f"Puede seguirlo y responder aquí:\n{link}\n"
    )
    return compose(
        sender=sender,
        recipient=data["requester_email"],
        subject=f"[Ticket {reference}] Ticket abierto: {data['title']}",
        body=body,
        event_id=event.event_id,
    )


class SmtpSender:
    def __init__(self, host, port, security="none", username=None, password=None, timeout=30):
        self.host, self.port, self.security = host, int(port), security
        self.username, self.password, self.timeout = username, password, timeout

    def send(self, raw_message, recipient):
        smtp_class = smtplib.SMTP_SSL if self.security == "tls" else smtplib.SMTP
        with smtp_class(self.host, self.port, timeout=self.timeout) as smtp:
            if self.security == "starttls":
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password)
            smtp.sendmail(self._envelope_sender(raw_message), [recipient], raw_message.encode())

    @staticmethod
    def _envelope_sender(raw_message):
        from email import message_from_string
        from email.utils import parseaddr

        return parseaddr(message_from_string(raw_message)["From"])[1]


class MailOutbox:
    """Queued mails: added inside the consumer's transaction, sent after it commits."""

    def __init__(self, schema="notifier"):
        table = sql.Identifier(schema, "mail_outbox")
        self._add_sql = sql.SQL(
            "INSERT INTO {} (event_id, recipient, message) VALUES (%s, %s, %s)"
            " ON CONFLICT (event_id, recipient) DO NOTHING"
        ).format(table)
        self._next_sql = sql.SQL(
            "SELECT id, recipient, message, attempts FROM {} WHERE status = 'pending'"
            " AND next_attempt_at <= now() ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
        ).format(table)
        self._sent_sql = sql.SQL(
            "UPDATE {} SET status = 'sent', sent_at = now(), attempts = attempts + 1 WHERE id = %s"
        ).format(table)
        self._failed_sql = sql.SQL(
            "UPDATE {} SET status = %s, attempts = attempts + 1, last_error = %s,"
            " next_attempt_at = now() + make_interval(secs => %s) WHERE id = %s"
        ).format(table)

    def add(self, cur, event_id, message):
        cur.execute(self._add_sql, (event_id, message["To"], message.as_string()))

    def send_due(self, db, sender, limit=100):
        """Sends due mails one by one (row locked while sending). Returns how many were sent."""
        sent = 0
        for _ in range(limit):
            with db.transaction() as cur:
                cur.execute(self._next_sql)
                row = cur.fetchone()
                if row is None:
                    break
                mail_id, recipient, message, attempts = row
                try:
                    sender.send(message, recipient)
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
