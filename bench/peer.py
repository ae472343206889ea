"""Our system and another helpdesk side by side: `python -m bench --peer django-helpdesk`.

Both run on this machine at the same time, loaded in turns (ABBA rounds: `run`), each on a
throwaway database of the same PostgreSQL server, each sending its mail over SMTP to the same development SMTP server
(helpdesk.devsmtp: one .eml per recipient), both loaded by the same client: `clients` threads,
each with its own requests.Session, opening tickets over HTTP in a closed loop for `seconds`
after a 1 s warm-up with as many clients (connections, pools, caches; not measured).

- ours: POST /api/v1/tickets as the demo customer (bench/system.py, as `make run` starts it);
- django-helpdesk 2.6.1: POST /api/tickets/ (bench/peers/django_helpdesk/).

A ticket counts as done only when every mail it makes has been written by the SMTP sink. How
many that is, is seen, not assumed: the usual count of mails per ticket in the warm-up (three
for both: requester, company's group user, department's agent). "tickets/s, every mail" is the
tickets done divided by the time from the start of the load until the last of their mails was
written (our mails are sent after the 201, by the notifier; django-helpdesk sends them inside
the request, before the 201). "mail p50/p99" is the time from a ticket's 201 to its last mail
(negative when the mail was written before the answer). CPU is read from /proc
(bench/system.py's CpuMeter) from the start of the load until the last mail, and divided by the
tickets opened: the app's processes, the SMTP sink, PostgreSQL (postmaster and all backends), the
broker (ours only) and the load client (this process).
"""
import collections
import contextlib
import math
import threading
import time


from .measure import open_load, percentile, print_table, running_system, scratch_database
from .system import CpuMeter, MailCount, demo_customer_session, machine_busy, open_demo_ticket

PEERS = ("django-helpdesk",)
ROUNDS = 4  # turns each system is loaded for (run)


class Subject:
    """One system under test: how to open a ticket, where its mail lands, what to meter."""

    def __init__(self, name, processes, make_session, open_one, mail_dir, pattern, meter, groups):
        self.name, self.processes, self.log_in, self.open_one = name, processes, make_session, open_one
        self.mail_dir, self.pattern, self.meter, self.groups = mail_dir, pattern, meter, groups
        self._sessions, self._handed, self._lock = [], 0, threading.Lock()

    def make_session(self):
        """A logged-in session, logged in once for the whole run: every load (`sessions_again`
        first) reuses the same ones (closing one only drops its connections), so that no round's
        CPU pays for logins (argon2id, with our system)."""
        with self._lock:
            index, self._handed = self._handed, self._handed + 1
            if index == len(self._sessions):
                self._sessions.append(self.log_in())
            return self._sessions[index]

    def sessions_again(self):
        with self._lock:
            self._handed = 0


def measure(subject, clients, seconds, mail_timeout=120):
    """One row: warm-up, the load, every mail awaited; figures as a dict."""
    mails = MailCount(subject.mail_dir, subject.pattern)
    subject.sessions_again()
    _, warm, _, _ = open_load(subject.make_session, subject.open_one, clients, 1.0)
    mails.wait_for(warm, mail_timeout)
    mails.wait_quiet()
    counts = collections.Counter(len(mails.mails.get(r, ())) for r in warm)
    per_ticket = counts.most_common(1)[0][0] if counts else 1
    cpu_before, busy_before = subject.meter.read(), machine_busy()
    subject.sessions_again()
    sample, opened, failed, began = open_load(subject.make_session, subject.open_one, clients, seconds)
    done = mails.wait_for(opened, mail_timeout, per_ticket)
    cpu_after, busy_after = subject.meter.read(), machine_busy()
    last_mail = max(done.values(), default=math.nan)
    span = max(last_mail, began + sample.seconds) - began
    delays = [done[r] - opened[r] for r in done]
    cpu = {}
    for group, names in subject.groups.items():
        used = [cpu_after[n] - cpu_before[n] for n in names if cpu_after.get(n) is not None
                and cpu_before.get(n) is not None]
        cpu[group] = 1000 * sum(used) / len(opened) if used and opened else None
    by_process = {n: 1000 * (cpu_after[n] - cpu_before[n]) / len(opened) for n in subject.groups["app"]
                  if opened and cpu_after.get(n) is not None and cpu_before.get(n) is not None}
    return {
        "span": span, "delays": delays, "latencies": sample.latencies,
        "system": subject.name, "processes": subject.processes, "clients": clients, "seconds": sample.seconds,
        "requests": sample.ops, "opened": len(opened), "failed": failed, "opens/s": len(opened) / sample.seconds,
        "per ticket": per_ticket, "warm counts": dict(counts), "done": len(done),
        "done/s": len(done) / span if span > 0 else math.nan,
        "p50": sample.ms(50), "p99": sample.ms(99),
        "mail p50": 1000 * percentile(delays, 50), "mail p99": 1000 * percentile(delays, 99),
        "busy": (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1]), "cpu": cpu,
        "by process": by_process,
    }


# -- the two systems -------------------------------------------------------------------------
GROUPS = ("app", "SMTP sink", "postgres", "rabbitmq", "load client")


@contextlib.contextmanager
def ours(database_url, rabbit, name="ours", root=None):
    """Our system; `root`: another checkout's (`against`)."""
    with running_system(database_url, rabbit, root) as system:
        named = {name: process.pid for name, process in system.named.items()}
        app = [name for name in named if name != "smtp"]
        meter = CpuMeter(system, database_url, rabbit, services=named)
        services = [name for name in app if name != "inbound"]
        yield Subject(name, f"{len(services)} nameko services + inbound SMTP, a process each",
                      lambda: demo_customer_session(system), lambda session: open_demo_ticket(system, session),
                      system.mail_dir, r"\[Ticket ([^\]]+)\]", meter,
                      {"app": app, "SMTP sink": ["smtp"], "postgres": ["postgres"], "rabbitmq": ["rabbitmq"],
                       "load client": ["bench client"]})


@contextlib.contextmanager
def django_helpdesk(database_url):
    from .peers import django_helpdesk as peer_module

    started = time.perf_counter()
    with peer_module.running(database_url) as peer:
        print(f"\n{peer_module.NAME} started in {time.perf_counter() - started:.1f} s ({peer.describe()})", flush=True)
        named = {name: process.pid for name, process in peer.processes.items()}
        meter = CpuMeter(None, database_url, None, services=named, trees={"gunicorn"})
        yield Subject(peer_module.NAME, peer.describe(), peer.session, peer.open_ticket, peer.mail_dir,
                      peer_module.SUBJECT_REFERENCE.pattern, meter,
                      {"app": ["gunicorn"], "SMTP sink": ["smtp"], "postgres": ["postgres"], "rabbitmq": [],
                       "load client": ["bench client"]})


def run(admin_url, rabbit, peer, clients, seconds, rounds=ROUNDS):
    """Both systems up at once, each on its own database, loaded in turns: `rounds` rounds of
    `seconds / rounds` each, in the order ours, peer, peer, ours, ours, ... (ABBA), so that a
    change in the machine's speed during the run (this one's moves by a fifth between minutes)
    falls on both alike. The idle one meanwhile costs next to nothing (our timers tick once a
    second) and is not metered. Figures are summed over the rounds; each round's ratio is printed
    too, to show the spread."""
    if peer not in PEERS:
        raise SystemExit(f"bench: unknown peer {peer!r} (known: {', '.join(PEERS)})")
    return in_turns(admin_url, [lambda database_url: ours(database_url, rabbit), django_helpdesk],
                    clients, seconds, rounds)


def against(admin_url, rabbit, revision, clients, seconds, rounds=2 * ROUNDS):
    """This checkout and an earlier revision of ours, side by side in turns as above: what a change
    bought, measured within one run (across runs the machine's speed moves more than a change
    does). The revision is checked out in a throwaway git worktree under var/, removed after; it
    runs on this checkout's virtualenv and migrations (compare revisions with the same schema)."""
    import subprocess
    import tempfile
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    commit = subprocess.run(["git", "rev-parse", "--short", revision], cwd=root, capture_output=True, text=True)
    if commit.returncode != 0:
        raise SystemExit(f"bench: {revision!r} is not a revision of this checkout")
    (root / "var").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-against-", dir=root / "var") as parent:
        tree = Path(parent) / commit.stdout.strip()
        subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(tree), revision], cwd=root, check=True)
        try:
            return in_turns(admin_url, [lambda url: ours(url, rabbit, f"at {commit.stdout.strip()}", root=tree),
                                        lambda url: ours(url, rabbit, "this checkout")], clients, seconds, rounds)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=root, capture_output=True)


def in_turns(admin_url, makers, clients, seconds, rounds):
    """Both subjects (`makers`: database URL -> Subject context) up at once, each on its own
    database, loaded in ABBA turns; prints the report, returns its rows."""
    with contextlib.ExitStack() as stack:
        subjects = [stack.enter_context(make(stack.enter_context(scratch_database(admin_url, "helpdesk_bench_peer"))))
                    for make in makers]
        segments = {subject.name: [] for subject in subjects}
        for n in range(rounds):
            for subject in (subjects if n % 2 == 0 else subjects[::-1]):
                segments[subject.name].append(measure(subject, clients, seconds / rounds))
    rows = [combine(parts) for parts in segments.values()]
    report(rows, seconds)
    return rows


def combine(parts):
    """One row from a system's rounds: tickets and CPU summed, spans summed, percentiles over all."""
    first = parts[0]
    opened = sum(p["opened"] for p in parts)
    delays = [d for p in parts for d in p["delays"]]
    row = {**first, "seconds": sum(p["seconds"] for p in parts), "requests": sum(p["requests"] for p in parts),
           "opened": opened, "failed": [f for p in parts for f in p["failed"]], "done": sum(p["done"] for p in parts),
           "opens/s": opened / sum(p["seconds"] for p in parts),
           "done/s": sum(p["done"] for p in parts) / sum(p["span"] for p in parts),
           "p50": percentile_of(parts, "latencies", 50), "p99": percentile_of(parts, "latencies", 99),
           "mail p50": 1000 * percentile(delays, 50), "mail p99": 1000 * percentile(delays, 99),
           "busy": sum(p["busy"] * p["span"] for p in parts) / sum(p["span"] for p in parts),
           "rounds": [p["done/s"] for p in parts]}
    row["cpu"] = {group: _weighted(parts, lambda p: p["cpu"][group]) for group in GROUPS}
    row["by process"] = {name: _weighted(parts, lambda p: p["by process"].get(name)) for name in first["by process"]}
    return row


def _weighted(parts, value):
    """A per-ticket figure over all rounds: each round's weighted by its tickets."""
    known = [(value(p), p["opened"]) for p in parts if value(p) is not None and p["opened"]]
    return sum(v * n for v, n in known) / sum(n for _, n in known) if known else None


def percentile_of(parts, key, q):
    return 1000 * percentile([v for p in parts for v in p[key]], q)


def _total(row):
    known = [v for v in row["cpu"].values() if v is not None]
    return sum(known) if known else None


def report(rows, seconds):
    print_table(
        f"Side by side: tickets opened over HTTP ({seconds:g} s per system in {len(rows[0]['rounds'])} turns, closed loop),"
        " every mail counted;"
        " CPU ms per ticket by process group",
        ["system", "clients", "tickets/s, every mail", "mail p50 ms", "mail p99 ms"]
        + [f"{g} ms" for g in GROUPS] + ["total ms"],
        [[r["system"], r["clients"], r["done/s"], r["mail p50"], r["mail p99"]]
         + [r["cpu"][g] for g in GROUPS] + [_total(r)] for r in rows],
    )
    print_table(
        "Side by side: details",
        ["system", "app processes", "requests", "non-201", "opens/s (201)", "HTTP p50 ms", "HTTP p99 ms",
         "mails/ticket", "tickets with every mail", "machine CPU"],
        [[r["system"], r["processes"], r["requests"], len(r["failed"]), r["opens/s"], r["p50"], r["p99"],
          r["per ticket"], f"{r['done']}/{r['opened']}", f"{100 * r['busy']:.0f}%"] for r in rows],
    )
    if len(rows) == 2 and all(r["rounds"] for r in rows):
        print(f"{rows[0]['system']} / {rows[1]['system']}, tickets/s with every mail, round by round: "
              + ", ".join(f"{a / b:.2f}x" for a, b in zip(rows[0]["rounds"], rows[1]["rounds"]))
              + f"; over the whole run {rows[0]['done/s'] / rows[1]['done/s']:.2f}x, CPU per ticket"
              f" {_total(rows[0]) / _total(rows[1]):.2f}x")
    for r in rows:
        if len(r["by process"]) > 1:
            print(f"{r['system']}: app ms per ticket by process: "
                  + ", ".join(f"{name} {ms:.2f}" for name, ms in sorted(r["by process"].items(), key=lambda kv: -kv[1])))
        if r["failed"]:
            print(f"{r['system']}: the first answer other than 201: %s %s" % r["failed"][0])
        if len(r["warm counts"]) > 1:
            print(f"{r['system']}: mails per warm-up ticket varied: {r['warm counts']} (counted {r['per ticket']})")
