"""Our system and another helpdesk side by side: `python -m bench --peer django-helpdesk`.

Both run on this machine, one after the other, each on a throwaway database of the same
PostgreSQL server, each sending its mail over SMTP to the same development SMTP server
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
import math
import time

from helpdesk import testing

from .measure import open_load, percentile, print_table, running_system
from .system import CpuMeter, MailCount, demo_customer_session, machine_busy, open_demo_ticket

PEERS = ("django-helpdesk",)


class Subject:
    """One system under test: how to open a ticket, where its mail lands, what to meter."""

    def __init__(self, name, processes, make_session, open_one, mail_dir, pattern, meter, groups):
        self.name, self.processes, self.make_session, self.open_one = name, processes, make_session, open_one
        self.mail_dir, self.pattern, self.meter, self.groups = mail_dir, pattern, meter, groups


def measure(subject, clients, seconds, mail_timeout=120):
    """One row: warm-up, the load, every mail awaited; figures as a dict."""
    mails = MailCount(subject.mail_dir, subject.pattern)
    _, warm, _, _ = open_load(subject.make_session, subject.open_one, clients, 1.0)
    mails.wait_for(warm, mail_timeout)
    mails.wait_quiet()
    counts = collections.Counter(len(mails.mails.get(r, ())) for r in warm)
    per_ticket = counts.most_common(1)[0][0] if counts else 1
    cpu_before, busy_before = subject.meter.read(), machine_busy()
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
    return {
        "system": subject.name, "processes": subject.processes, "clients": clients, "seconds": sample.seconds,
        "requests": sample.ops, "opened": len(opened), "failed": failed, "opens/s": len(opened) / sample.seconds,
        "per ticket": per_ticket, "warm counts": dict(counts), "done": len(done),
        "done/s": len(done) / span if span > 0 else math.nan,
        "p50": sample.ms(50), "p99": sample.ms(99),
        "mail p50": 1000 * percentile(delays, 50), "mail p99": 1000 * percentile(delays, 99),
        "busy": (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1]), "cpu": cpu,
    }


# -- the two systems -------------------------------------------------------------------------
GROUPS = ("app", "SMTP sink", "postgres", "rabbitmq", "load client")


def ours(database_url, rabbit, clients, seconds):
    with running_system(database_url, rabbit) as system:
        named = {name: process.pid for name, process in system.named.items()}
        app = [name for name in named if name != "smtp"]
        meter = CpuMeter(system, database_url, rabbit, services=named)

        services = [name for name in app if name != "inbound"]
        subject = Subject("ours", f"{len(services)} nameko services + inbound SMTP, a process each",
                          lambda: demo_customer_session(system), lambda session: open_demo_ticket(system, session),
                          system.mail_dir, r"\[Ticket ([^\]]+)\]", meter,
                          {"app": app, "SMTP sink": ["smtp"], "postgres": ["postgres"], "rabbitmq": ["rabbitmq"],
                           "load client": ["bench client"]})
        return measure(subject, clients, seconds)


def django_helpdesk(database_url, clients, seconds):
    from .peers import django_helpdesk as peer_module

    started = time.perf_counter()
    with peer_module.running(database_url) as peer:
        print(f"\n{peer_module.NAME} started in {time.perf_counter() - started:.1f} s ({peer.describe()})", flush=True)
        named = {name: process.pid for name, process in peer.processes.items()}
        meter = CpuMeter(None, database_url, None, services=named, trees={"gunicorn"})
        subject = Subject(peer_module.NAME, peer.describe(), peer.session, peer.open_ticket, peer.mail_dir,
                          peer_module.SUBJECT_REFERENCE.pattern, meter,
                          {"app": ["gunicorn"], "SMTP sink": ["smtp"], "postgres": ["postgres"], "rabbitmq": [],
                           "load client": ["bench client"]})
        return measure(subject, clients, seconds)


def run(admin_url, rabbit, peer, clients, seconds):
    if peer not in PEERS:
        raise SystemExit(f"bench: unknown peer {peer!r} (known: {', '.join(PEERS)})")
    rows = []
    for name in ("ours", peer):
        database_url = testing.create_database(admin_url, prefix="helpdesk_bench_peer")
        try:
            rows.append(ours(database_url, rabbit, clients, seconds) if name == "ours"
                        else django_helpdesk(database_url, clients, seconds))
        finally:
            testing.drop_database(admin_url, database_url)
    report(rows, seconds)
    return rows


def report(rows, seconds):
    def total(row):
        known = [v for v in row["cpu"].values() if v is not None]
        return sum(known) if known else None

    print_table(
        f"Side by side: tickets opened over HTTP ({seconds:g} s, closed loop), every mail counted;"
        " CPU ms per ticket by process group",
        ["system", "clients", "tickets/s, every mail", "mail p50 ms", "mail p99 ms"]
        + [f"{g} ms" for g in GROUPS] + ["total ms"],
        [[r["system"], r["clients"], r["done/s"], r["mail p50"], r["mail p99"]]
         + [r["cpu"][g] for g in GROUPS] + [total(r)] for r in rows],
    )
    print_table(
        "Side by side: details",
        ["system", "app processes", "requests", "non-201", "opens/s (201)", "HTTP p50 ms", "HTTP p99 ms",
         "mails/ticket", "tickets with every mail", "machine CPU"],
        [[r["system"], r["processes"], r["requests"], len(r["failed"]), r["opens/s"], r["p50"], r["p99"],
          r["per ticket"], f"{r['done']}/{r['opened']}", f"{100 * r['busy']:.0f}%"] for r in rows],
    )
    for r in rows:
        if r["failed"]:
            print(f"{r['system']}: the first answer other than 201: %s %s" % r["failed"][0])
        if len(r["warm counts"]) > 1:
            print(f"{r['system']}: mails per warm-up ticket varied: {r['warm counts']} (counted {r['per ticket']})")
