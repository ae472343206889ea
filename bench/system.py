"""The whole system under load: tickets opened over HTTP, as `make run` starts it.

A POST /api/v1/tickets is one HTTP request to the gateway, one nameko RPC to tickets (validate,
decide, append), then asynchronously: the relay publishes TicketOpened, routing, sla and notifier
consume it, and notifier sends the mail. The HTTP latency covers the first part; the mail latency
(from the 201 to the .eml file written by the dev SMTP server) covers the rest. CPU is read from
/proc per process, to show where the time of a ticket goes on a machine that has few cores.
"""
import os
import tempfile
import time
import uuid
from pathlib import Path

import psycopg2
import requests

from helpdesk import testing
from helpdesk.testing import RunningSystem

from .measure import percentile, print_table, run_load

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
    backends) and RabbitMQ (the broker's OS process), and by this benchmark's own process."""

    def __init__(self, system, database_url, rabbit):
        self.services = dict(zip(PROCESS_NAMES, (p.pid for p in system.processes)))
        conn = psycopg2.connect(database_url)
        with conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            backend = cur.fetchone()[0]
        stat = _stat(backend)
        conn.close()
        self.postmaster = stat[0] if stat else None
        try:
            nodes = requests.get(rabbit.api + "/api/nodes", auth=rabbit.auth, timeout=10).json()
            self.broker = int(nodes[0]["os_pid"])
        except (requests.RequestException, LookupError, ValueError):
            self.broker = None

    def read(self):
        used = {name: (_stat(pid) or (0, None))[1] for name, pid in self.services.items()}
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


# -- mail ------------------------------------------------------------------------------------
class MailWatch:
    """When the first mail to each address was written (file mtime), polling the mail dir."""

    def __init__(self, mail_dir):
        self.dir, self.seen, self.arrived = Path(mail_dir), set(), {}

    def poll(self):
        for path in self.dir.glob("*.eml") if self.dir.is_dir() else ():
            if path.name in self.seen:
                continue
            self.seen.add(path.name)
            for line in path.read_bytes()[:1024].decode(errors="replace").splitlines():
                if line.startswith("X-Envelope-To:"):
                    self.arrived.setdefault(line.split(":", 1)[1].strip(), path.stat().st_mtime)
                    break
        return self.arrived

    def wait_for(self, addresses, timeout):
        testing.wait_until(lambda: all(a in self.poll() for a in addresses), timeout, interval=0.2)
        return {a: self.arrived[a] for a in addresses if a in self.arrived}


# -- load ------------------------------------------------------------------------------------
def open_tickets(system, clients, seconds):
    """`clients` threads, each with its own requests.Session, POST tickets for `seconds`.
    Returns the Sample, {requester: wall time of the 201}, and the count of other answers."""
    opened, failures, sessions = {}, [], []
    url = system.url("/api/v1/tickets")

    def make_op(i):
        session = requests.Session()
        sessions.append(session)

        def open_one():
            requester = f"bench-{uuid.uuid4().hex[:12]}@example.com"
            response = session.post(url, json=dict(TICKET, requester_email=requester), timeout=30)
            if response.status_code == 201:
                opened[requester] = time.time()
            else:
                failures.append(response.status_code)

        return open_one

    try:
        return run_load(make_op, clients, seconds), opened, len(failures)
    finally:
        for session in sessions:
            session.close()


def run(database_url, rabbit, seconds, levels=(1, 4, 16), mail_timeout=120):
    with tempfile.TemporaryDirectory(prefix="helpdesk-bench-") as workdir:
        system = RunningSystem(database_url, rabbit, workdir)
        try:
            started = time.perf_counter()
            system.start()
            print(f"\nsystem started in {time.perf_counter() - started:.1f} s", flush=True)
            _measure(system, database_url, rabbit, seconds, levels, mail_timeout)
        finally:
            if hasattr(system, "vhost"):  # start() got as far as creating it, maybe no further
                system.stop()


def _measure(system, database_url, rabbit, seconds, levels, mail_timeout):
    mails, meter = MailWatch(system.mail_dir), CpuMeter(system, database_url, rabbit)
    _, warm, _ = open_tickets(system, 1, 1.0)  # connections, pools and caches, not measured
    mails.wait_for(warm, mail_timeout)
    http_rows, cpu_columns = [], []
    for clients in levels:
        cpu_before, busy_before = meter.read(), machine_busy()
        sample, opened, failed = open_tickets(system, clients, seconds)
        busy_after, load_ended = machine_busy(), time.time()
        arrived = mails.wait_for(opened, mail_timeout)
        cpu_after = meter.read()
        delays = [arrived[a] - opened[a] for a in arrived]
        busy = (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1])
        http_rows.append([
            clients, sample.ops, sample.rate, failed, sample.ms(50), sample.ms(95), sample.ms(99),
            f"{100 * busy:.0f}%", 1000 * percentile(delays, 50), 1000 * percentile(delays, 99),
            f"{len(arrived)}/{len(opened)}", max(arrived.values(), default=load_ended) - load_ended,
        ])
        cpu_columns.append({
            name: 1000 * (cpu_after[name] - cpu_before[name]) / max(1, len(opened))
            if cpu_after[name] is not None and cpu_before[name] is not None else None
            for name in cpu_after
        })
    print_table(
        f"Gateway: POST /api/v1/tickets, each client its own session ({seconds:g} s per row)",
        ["clients", "tickets", "opens/s", "non-201", "p50 ms", "p95 ms", "p99 ms", "machine CPU",
         "mail p50 ms", "mail p99 ms", "mails", "last mail s after load"],
        http_rows,
    )
    pids = dict(zip(PROCESS_NAMES, (p.pid for p in system.processes)))
    rows = [[name] + [column[name] for column in cpu_columns] + [rss_mb(pids[name]) if name in pids else None]
            for name in cpu_columns[0]]
    rows.append(["total"] + [sum(v for v in column.values() if v is not None) for column in cpu_columns]
                + [sum(rss_mb(pid) or 0 for pid in pids.values())])
    print_table(
        "CPU per ticket opened (until its mail was written), and memory of each service after the load",
        ["process"] + [f"CPU ms @{clients}" for clients in levels] + ["RSS MB"],
        rows,
    )
