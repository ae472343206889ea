"""The whole system as `make run` starts it: every service a `nameko run` process, the dev SMTP
server keeping mail as files, a database and a RabbitMQ vhost of its own."""
import email
import email.policy
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from helpdesk import testing
from helpdesk.migrate import declare_topology, migrate_all

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {"gateway": "GatewayService", "identity": "IdentityService", "tickets": "TicketsService",
            "routing": "RoutingService", "sla": "SlaService", "notifier": "NotifierService"}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class System:
    def __init__(self, base_url, mail_dir, logs):
        self.base_url, self.mail_dir, self.logs = base_url, mail_dir, logs

    def url(self, path):
        return self.base_url + path

    def mails(self):
        """Every mail received so far, oldest first, parsed."""
        files = sorted(p for p in self.mail_dir.glob("*.eml"))
        return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in files]

    def mails_to(self, address):
        return [m for m in self.mails() if m["X-Envelope-To"] == address]

    def log_tail(self, lines=40):
        out = []
        for path in sorted(self.logs.glob("*.log")):
            out.append(f"--- {path.name}")
            out += path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(out)


@pytest.fixture(scope="session")
def system(database_url, rabbit, tmp_path_factory):
    vhost, amqp_uri = rabbit.create("e2e")
    work = tmp_path_factory.mktemp("system")
    mail_dir, logs = work / "mail", work / "logs"
    logs.mkdir()
    port, smtp_port = free_port(), free_port()
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        AMQP_URI=amqp_uri,
        WEB_SERVER_ADDRESS=f"127.0.0.1:{port}",
        PUBLIC_URL=f"http://127.0.0.1:{port}",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        MAIL_DIR=str(mail_dir),
        CONSUMER_RETRY_DELAYS="[0.2, 0.5]",
        CONSUMER_GAP_TIMEOUT="1",
    )
    migrate_all(database_url)
    declare_topology(amqp_uri, [0.2, 0.5])
    bin_dir = Path(sys.executable).parent
    commands = {"smtp": [sys.executable, "-m", "helpdesk.devsmtp"]}
    for name, cls in SERVICES.items():
        commands[name] = [str(bin_dir / "nameko"), "run", "--config", "config.yaml",
                          f"services.{name}.service:{cls}"]
    processes = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=open(logs / f"{name}.log", "w"),
                         stderr=subprocess.STDOUT)
        for name, command in commands.items()
    ]
    system = System(f"http://127.0.0.1:{port}", mail_dir, logs)

    def healthy():
        if any(process.poll() is not None for process in processes):
            pytest.fail("a process of the system died:\n" + system.log_tail())
        try:
            return requests.get(system.url("/api/v1/health"), timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        if not testing.wait_until(healthy, timeout=60, interval=0.3):
            pytest.fail("the system did not become healthy:\n" + system.log_tail())
        yield system
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        rabbit.delete(vhost)
