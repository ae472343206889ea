"""The whole system under load: tickets opened over HTTP, as `make run` starts it.

A POST /api/v1/tickets is one HTTP request to the gateway, one nameko RPC to tickets (validate,
decide, append), then asynchronously: the relay publishes TicketOpened, routing, sla and notifier
consume it, and notifier sends the mail. The HTTP latency covers the first part; the mail latency
(from the 201 to the .eml file written by the dev SMTP server) covers the rest. CPU is read from
/proc per process, to show where the time of a ticket goes on a machine that has few cores.
"""
import collections
import email.parser
import email.policy
import math
import os
import re
import time
from pathlib import Path

import psycopg2
import requests

from helpdesk import testing
from services.identity.seed import DEMO_PASSWORD

from .measure import open_load, percentile, print_table, running_system

DEMO_CUSTOMER = "cliente@demo.example"
TICKET = {
    "department": "networks",
    "title": "Sin conexión en la sede",
    "description": "Desde las 9:00 no hay tráfico en el enlace principal.",
}
# The order in which RunningSystem starts (and keeps) its processes.
PROCESS_NAMES = ["smtp", *testing.SERVICE_CLASSES]
TICK = os.sysconf("SC_CLK_TCK")


# -- /proc -----------------------------------------------------------------------------------
def _stat(pid):
    """(ppid, cpu seconds) of a process, or None when it is gone or not on this machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None


def machine_busy():
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    user, nice, system, idle, iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


class CpuMeter:
    """CPU seconds used so far by each service process, by PostgreSQL (postmaster and all its
    backends) and RabbitMQ (the broker's OS process), and by this benchmark's own process.

    `services` ({name: pid}) meters other processes than a RunningSystem's (bench/peer.py);
    a name in `trees` counts its process and all its children (a gunicorn master and its
    workers); `rabbit=None` leaves the broker out."""

    def __init__(self, system, database_url, rabbit, services=None, trees=()):
        self.services = services if services is not None else dict(
            zip(PROCESS_NAMES, (p.pid for p in system.processes)))
        self.trees = set(trees)
        conn = psycopg2.connect(database_url)
        with conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            backend = cur.fetchone()[0]
        stat = _stat(backend)
        conn.close()
        self.postmaster = stat[0] if stat else None
        self.broker = _broker_pid(rabbit) if rabbit is not None else None

    def read(self):
        used = {name: self._tree(pid) if name in self.trees else (_stat(pid) or (0, None))[1]
                for name, pid in self.services.items()}
        used["postgres"] = self._tree(self.postmaster)
        used["rabbitmq"] = (_stat(self.broker) or (0, None))[1] if self.broker else None
        times = os.times()
        used["bench client"] = times.user + times.system
        return used

    @staticmethod
    def _tree(root):
        if not root or not _stat(root):
            return None
        total = _stat(root)[1]
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                stat = _stat(entry.name)
                if stat and stat[0] == root:
                    total += stat[1]
        return total


def _broker_pid(rabbit):
    """The RabbitMQ node's OS process, from the management API; None if it cannot say."""
    try:
        nodes = requests.get(rabbit.api + "/api/nodes", auth=rabbit.auth, timeout=10).json()
        return int(nodes[0]["os_pid"])
    except (requests.RequestException, LookupError, ValueError):
        return None


# -- mail ------------------------------------------------------------------------------------
_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.default)


class MailCount:
    """Every mail the SMTP sink has written about each ticket, polling its directory:
    {reference: [(file mtime, envelope recipient), ...]}, the reference found by `pattern` (one
    group) in the decoded Subject (parsed, not grepped: a subject with any non-ASCII text is an
    RFC 2047 encoded-word). Only the header block of each file is read."""

    def __init__(self, mail_dir, pattern=r"\[Ticket ([^\]]+)\]"):
        self.dir, self.pattern, self.seen = Path(mail_dir), re.compile(pattern), set()
        self.mails = collections.defaultdict(list)

    def poll(self):
        for path in self.dir.glob("*.eml") if self.dir.is_dir() else ():
            if path.name in self.seen:
                continue
            self.seen.add(path.name)
            head = path.read_bytes()[:16384]
            end = min((i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i >= 0), default=len(head))
            headers = _HEADERS.parsebytes(head[:end])
            match = self.pattern.search(str(headers.get("Subject", "")))
            if match:
                self.mails[match.group(1)].append((path.stat().st_mtime, str(headers.get("X-Envelope-To", ""))))
        return self.mails

    def times(self, reference, recipient=None):
        """When the ticket's mails (to `recipient`, if given) were written, earliest first."""
        return sorted(at for at, to in self.mails.get(reference, ()) if recipient in (None, to))

    def wait_for(self, references, timeout, per_ticket=1, recipient=None):
        """Waits until each ticket has `per_ticket` mails (to `recipient`, if given), or `timeout`;
        {reference: when the last of those was written}."""
        def enough(reference):
            return len(self.times(reference, recipient)) >= per_ticket

        testing.wait_until(lambda: self.poll() is not None and all(enough(r) for r in references),
                           timeout, interval=0.2)
        return {r: self.times(r, recipient)[per_ticket - 1] for r in references if enough(r)}

    def wait_quiet(self, quiet=1.0, timeout=60):
        """Until no new mail for `quiet` seconds."""
        deadline, count, since = time.monotonic() + timeout, -1, time.monotonic()
        while time.monotonic() < deadline:
            now = sum(len(v) for v in self.poll().values())
            if now != count:
                count, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.2)


# -- load ------------------------------------------------------------------------------------
def demo_customer_session(system):
    """A requests.Session logged in as the demo customer (before the clock starts)."""
    session = requests.Session()
    login = session.post(system.url("/api/v1/auth/login"), timeout=30,
                         json={"email": DEMO_CUSTOMER, "password": DEMO_PASSWORD})
    login.raise_for_status()
    session.headers["Authorization"] = f"Bearer {login.json()['token']}"
    return session


def open_demo_ticket(system, session):
    """(the new ticket's reference, or None when refused; the answer)."""
    response = session.post(system.url("/api/v1/tickets"), json=TICKET, timeout=30)
    return (response.json()["reference"] if response.status_code == 201 else None), response


def open_tickets(system, clients, seconds, pause=0.0, rate=None):
    """`clients` demo customers POST tickets for `seconds` (at `rate` tickets/s in all, if
    given): the Sample, {reference: wall time of the 201}, the other answers, and the wall time
    the load began."""
    return open_load(lambda: demo_customer_session(system), lambda session: open_demo_ticket(system, session),
                     clients, seconds, pause, rate)


# (label, clients, pause after each request): first a paced client, to see the latencies of a
# system with spare CPU; then closed loops, each client sending its next request on the answer.
LOADS = [("1 paced", 1, 0.1), ("1", 1, 0.0), ("4", 4, 0.0), ("16", 16, 0.0)]
# Last, a row at this share of the best closed loop's tickets/s with their mail written, its
# arrivals scheduled by 8 clients: the mail delay of a busy system that is not overloaded (issue
# 11: p99 <= 1 s at 80% of the peak).
PEAK_SHARE, PEAK_SHARE_CLIENTS = 0.8, 8


def run(database_url, rabbit, seconds, loads=LOADS, mail_timeout=120):
    with running_system(database_url, rabbit) as system:
        _measure(system, database_url, rabbit, seconds, loads, mail_timeout)


def _measure(system, database_url, rabbit, seconds, loads, mail_timeout):
    mails, meter = MailCount(system.mail_dir), CpuMeter(system, database_url, rabbit)
    _, warm, _, _ = open_tickets(system, 1, 1.0)  # connections, pools and caches, not measured
    mails.wait_for(warm, mail_timeout, recipient=DEMO_CUSTOMER)
    http_rows, cpu_columns, refused, labels = [], [], None, []
    rows = [(label, clients, pause, None) for label, clients, pause in loads] + [None]
    for row in rows:
        if row is None:  # the paced row, once the closed loops found the peak
            if not any(r[3] for r in http_rows if r[0] != "1 paced"):
                break
            peak = max(r[3] for r in http_rows if r[0] != "1 paced")
            row = (f"{PEAK_SHARE:.0%} of {peak:.1f}/s", PEAK_SHARE_CLIENTS, 0.0, PEAK_SHARE * peak)
        label, clients, pause, rate = row
        labels.append(label)
        cpu_before, busy_before = meter.read(), machine_busy()
        sample, opened, failed, began = open_tickets(system, clients, seconds, pause, rate)
        busy_after = machine_busy()
        refused = refused or (failed and failed[0])
        arrived = mails.wait_for(opened, mail_timeout, recipient=DEMO_CUSTOMER)
        cpu_after = meter.read()
        delays = [arrived[a] - opened[a] for a in arrived]
        busy = (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1])
        written = len(arrived) / (max(arrived.values()) - began) if arrived else 0.0
        http_rows.append([
            label, sample.ops, len(opened) / sample.seconds, written, len(failed), sample.ms(50), sample.ms(95),
            sample.ms(99),
            f"{100 * busy:.0f}%", 1000 * percentile(delays, 50), 1000 * percentile(delays, 99),
            f"{len(arrived)}/{len(opened)}",
            max(arrived.values(), default=math.nan) - max(opened.values(), default=math.nan),
        ])
        cpu_columns.append({
            name: 1000 * (cpu_after[name] - cpu_before[name]) / len(opened)
            if opened and cpu_after[name] is not None and cpu_before[name] is not None else None
            for name in cpu_after
        })
    print_table(
        f"Gateway: POST /api/v1/tickets, each client its own session ({seconds:g} s per row)",
        ["clients", "requests", "opens/s", "tickets/s, mail written", "non-201", "p50 ms", "p95 ms", "p99 ms",
         "machine CPU",
         "mail p50 ms", "mail p99 ms", "mails", "last mail s after last 201"],
        http_rows,
    )
    if refused:  # latencies of refusals are no ticket opens: say so next to the figures
        print("the first answer other than 201: %s %s\n" % refused)
    pids = dict(zip(PROCESS_NAMES, (p.pid for p in system.processes)))
    rows = [[name] + [column[name] for column in cpu_columns] + [rss_mb(pids[name]) if name in pids else None]
            for name in cpu_columns[0]]
    rows.append(["total"] + [_sum(column.values()) for column in cpu_columns]
                + [_sum(rss_mb(pid) for pid in pids.values())])
    print_table(
        "CPU per ticket opened (until its mail was written), and memory of each service after the load",
        ["process"] + [f"CPU ms @{label}" for label in labels] + ["RSS MB"],
        rows,
    )


def _sum(values):
    known = [v for v in values if v is not None]
    return sum(known) if known else None
