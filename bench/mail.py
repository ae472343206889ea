"""Mail throughput of the notifier: how fast it drains a backlog into a local SMTP server.

The notifier is frozen (SIGSTOP) while N tickets are opened (each mailing its requester, its CC
addresses, the company's group user and the department's agent), then thawed: the time until the
last mail is written gives mails/s, from the inbox through planning, rendering and SMTP."""
import signal
import time
from pathlib import Path

import requests

from services.identity.seed import DEMO_PASSWORD

from .measure import print_table, running_system

CC = ",".join(f"copia{n}@example.org" for n in range(4))
MAILS_PER_TICKET = 1 + 4 + 1 + 1  # requester, copies, group user, the department's agent


def _open(session, url, count):
    for n in range(count):
        response = session.post(url, json={"department": "sales", "title": f"Carga {n}", "description": "x",
                                           "cc": CC}, timeout=30)
        response.raise_for_status()


def run(database_url, rabbit, tickets=100):
    with running_system(database_url, rabbit) as system:
        session = requests.Session()
        login = session.post(system.url("/api/v1/auth/login"), timeout=30,
                             json={"email": "cliente@demo.example", "password": DEMO_PASSWORD})
        session.headers["Authorization"] = f"Bearer {login.json()['token']}"
        mail_dir = Path(system.mail_dir)
        before = len(list(mail_dir.glob("*.eml")))
        notifier = system.named["notifier"]
        notifier.send_signal(signal.SIGSTOP)
        try:
            _open(session, system.url("/api/v1/tickets"), tickets)
            time.sleep(1.0)  # the relay has published everything: the backlog waits in the queue
        finally:
            notifier.send_signal(signal.SIGCONT)
        expected, start = before + tickets * MAILS_PER_TICKET, time.monotonic()
        while len(list(mail_dir.glob("*.eml"))) < expected and time.monotonic() - start < 300:
            time.sleep(0.05)
        elapsed = time.monotonic() - start
        written = len(list(mail_dir.glob("*.eml"))) - before
    print_table("Notifier: a backlog drained to the local SMTP server",
                ["backlog (tickets)", "mails", "written", "seconds", "mails/s"],
                [[tickets, tickets * MAILS_PER_TICKET, written, round(elapsed, 1), round(written / elapsed)]])
