"""django-helpdesk 2.6.1 as a peer of ours in `python -m bench --peer django-helpdesk`.

`running(database_url)` sets it up (setup.py: the venv, migrate, seed), starts the same
development SMTP server our system sends to (helpdesk.devsmtp, one .eml per recipient) and
gunicorn, and yields a `Peer`: where to post tickets, the token, the processes to meter.

How a ticket is opened: POST /api/tickets/ (django-helpdesk's REST API, Django REST framework)
with JSON {queue, title, description, submitter_email, priority}, answered 201 with the ticket.
The API is staff only, so the clients post as a staff API user (a DRF token each request, as our
clients send a bearer token) and name the customer cliente@demo.example as the submitter. The
API runs the same TicketForm.save() as the staff form: ticket + "Ticket Opened" follow-up, then,
inside the request, the mails of a new ticket (TicketForm._send_messages): the submitter's
(`newticket_submitter`) and the queue's new-ticket CC (`newticket_cc`, one message to the
queue's two CC addresses: the company's group user and the department's agent). So a ticket makes
three recipient files in the SMTP sink, as ours does; the subjects carry `[networks-<id>]`.
"""
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import requests

from helpdesk import testing

from . import setup

NAME = "django-helpdesk 2.6.1"
# gunicorn, gthread workers: one worker process per core (2 here), as our system is one process
# per service and the machine is CPU-bound long before it is short of processes; 4 threads each,
# so 8 clients have 8 requests in flight (the request waits for PostgreSQL's commit flush and
# the SMTP round trips, which threads overlap, as our services' green threads do), and HTTP
# keep-alive works (sync workers close the connection after every request, our gateway does not).
WORKERS = os.cpu_count() or 2
THREADS = 4
SUBJECT_REFERENCE = re.compile(r"\[([a-z0-9_-]+-\d+)\]")
TICKET = {
    "title": "Sin conexión en la sede",
    "description": "Desde las 9:00 no hay tráfico en el enlace principal.",
    "submitter_email": "cliente@demo.example",
    "priority": 3,
}


@dataclass
class Peer:
    base_url: str
    token: str
    queue: int
    queue_slug: str
    mail_dir: Path
    processes: dict = field(default_factory=dict)  # name -> Popen
    workers: int = WORKERS
    threads: int = THREADS

    def url(self, path):
        return self.base_url + path

    def session(self):
        session = requests.Session()
        session.headers["Authorization"] = f"Token {self.token}"
        return session

    def open_ticket(self, session):
        """(ticket reference as in its mails' subjects, or None, the response)."""
        response = session.post(self.url("/api/tickets/"), json={**TICKET, "queue": self.queue}, timeout=30)
        if response.status_code == 201:
            return f"{self.queue_slug}-{response.json()['id']}", response
        return None, response

    def describe(self):
        return f"gunicorn {self.workers} gthread workers x {self.threads} threads (+ its master)"


@contextlib.contextmanager
def running(database_url, workers=WORKERS, threads=THREADS, timeout=60):
    """django-helpdesk on `database_url` (an empty database), with its SMTP sink; all stopped after."""
    python = setup.install()
    with tempfile.TemporaryDirectory(prefix="helpdesk-bench-peer-") as workdir:
        workdir = Path(workdir)
        logs = workdir / "logs"
        logs.mkdir()
        processes = {}
        try:
            smtp_port, http_port = testing.free_port(), testing.free_port()
            with open(logs / "smtp.log", "w") as log:
                processes["smtp"] = subprocess.Popen(
                    [sys.executable, "-m", "helpdesk.devsmtp"], cwd=setup.ROOT, stdout=log, stderr=subprocess.STDOUT,
                    env=dict(os.environ, SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_port), MAIL_DIR=str(workdir / "mail")))
            seeded = json.loads(setup.prepare(database_url, smtp_port, workdir / "state"))
            env = setup.environment(database_url, smtp_port, workdir / "state")
            with open(logs / "gunicorn.log", "w") as log:
                processes["gunicorn"] = subprocess.Popen(
                    [str(python.parent / "gunicorn"), "peer_site.wsgi:application", "--bind", f"127.0.0.1:{http_port}",
                     "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
                     "--no-control-socket", "--worker-tmp-dir", str(workdir), "--graceful-timeout", "10"],
                    cwd=setup.PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT)
            peer = Peer(f"http://127.0.0.1:{http_port}", seeded["token"], seeded["queue"], seeded["queue_slug"],
                        workdir / "mail", processes, workers, threads)
            if not testing.wait_until(lambda: _ready(peer, logs), timeout=timeout, interval=0.3):
                raise RuntimeError("django-helpdesk did not answer:\n" + _tail(logs))
            yield peer
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes.values():
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _ready(peer, logs):
    for name, process in peer.processes.items():
        if process.poll() is not None:
            raise RuntimeError(f"{name} of django-helpdesk died:\n" + _tail(logs))
    try:
        with peer.session() as session:
            return session.get(peer.url("/api/tickets/?page_size=1"), timeout=5).status_code == 200
    except (requests.ConnectionError, requests.Timeout):
        return False


def _tail(logs, lines=30):
    out = []
    for path in sorted(logs.glob("*.log")):
        out.append(f"--- {path.name}")
        out += path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(out)

