"""Development SMTP server: accepts every mail and keeps it as an .eml file under MAIL_DIR.

    python -m helpdesk.devsmtp     # 127.0.0.1:${SMTP_PORT:-2525} -> ${MAIL_DIR:-var/mail}/
"""
import datetime as dt
import os
import uuid
from pathlib import Path

from .smtpserver import serve


class MaildirHandler:
    """Writes each accepted message atomically (tmp file, then rename), one file per recipient."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%f")
        for recipient in envelope.rcpt_tos:
            name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
            header = f"X-Envelope-From: {envelope.mail_from}\r\nX-Envelope-To: {recipient}\r\n"
            tmp = self.directory / f".{name}.tmp"
            tmp.write_bytes(header.encode() + envelope.original_content)
            tmp.rename(self.directory / name)
        return "250 Message accepted for delivery"


def main():
    host = os.environ.get("SMTP_HOST", "127.0.0.1")
    port = int(os.environ.get("SMTP_PORT", "2525"))
    directory = os.environ.get("MAIL_DIR", "var/mail")
    serve(MaildirHandler(directory), host, port, f"development SMTP server on {host}:{port}, mail kept in {directory}/")


if __name__ == "__main__":
    main()
