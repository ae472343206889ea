"""Live updates to many open consoles (issue 12): `python -m bench --only live`.

`CONSOLES` staff consoles hold a live stream open on the networks queue (helpdesk.testing.
EventStream, a thread and a socket each, as a browser's EventSource). Then, `CHANGES` times, the
demo customer opens a ticket in that queue and an agent takes it; for every console the time from
the API's answer (the 201, the 200) to the `ticket` event reaching it is one delivery. Printed:
deliveries, their p50 / p95 / max, and what the open consoles cost while nothing happens: CPU of
the gateway and the broker per second over `IDLE_SECONDS`, with no console open and with all of
them (a console is never polled; it costs a comment line every PING_SECONDS).
"""
import time

import requests

from helpdesk.testing import EventStream
from services.gateway.live import PING_SECONDS

from .measure import percentile, print_table, running_system
from .system import TICKET, CpuMeter, demo_customer_session

CONSOLES = 50
CHANGES = 20
IDLE_SECONDS = 10.0
STAFF = ("agent-networks@helpdesk.example", "supervisor@helpdesk.example")


class Console:
    """What EventStream needs of a client: the system, a token, a client address."""

    def __init__(self, system, email, n):
        from services.identity.seed import DEMO_PASSWORD

        self.system, self.ip = system, f"10.9.{n // 250}.{n % 250 + 1}"
        login = requests.post(system.url("/api/v1/auth/login"), json={"email": email, "password": DEMO_PASSWORD},
                              headers={"X-Forwarded-For": self.ip}, timeout=30)
        login.raise_for_status()
        self.token = login.json()["token"]


def run(database_url, rabbit, consoles=CONSOLES, changes=CHANGES, idle_seconds=IDLE_SECONDS):
    with running_system(database_url, rabbit) as system:
        named = {name: process.pid for name, process in system.named.items()}
        meter = CpuMeter(system, database_url, rabbit, services=named)
        logins = [Console(system, STAFF[n % len(STAFF)], n) for n in range(consoles)]
        quiet = _idle_cpu(meter, idle_seconds)  # nobody watching
        streams = [EventStream(login, "queue=networks") for login in logins]
        for stream in streams:
            assert stream.next() == ("ready", {})
        idle = _idle_cpu(meter, idle_seconds)  # every console open, nothing happening
        customer = demo_customer_session(system)
        agent = requests.Session()
        agent.headers["Authorization"] = f"Bearer {Console(system, STAFF[0], 999).token}"
        delays, missing = [], 0
        for _ in range(changes):
            opened = customer.post(system.url("/api/v1/tickets"), json=TICKET, timeout=30)
            answered = time.monotonic()
            opened.raise_for_status()
            ticket_id = opened.json()["ticket_id"]
            found, lost = _deliveries(streams, ticket_id, "TicketOpened", answered)
            taken = agent.post(system.url(f"/api/v1/tickets/{ticket_id}/assign"), json={}, timeout=30)
            answered = time.monotonic()
            taken.raise_for_status()
            more, also_lost = _deliveries(streams, ticket_id, "TicketAssigned", answered)
            delays += found + more
            missing += lost + also_lost
            time.sleep(0.2)
        for stream in streams:
            stream.close()
    print_table(
        f"Live updates: {consoles} consoles on one queue, {changes} tickets opened and taken"
        f" (a ticket event to every console each time)",
        ["consoles", "deliveries", "missing", "p50 ms", "p95 ms", "max ms",
         "idle gateway CPU ms/s, none open", f"with {consoles} open", "idle rabbitmq ms/s, none open",
         f"with {consoles} open", "ping every s"],
        [[consoles, len(delays), missing, 1000 * percentile(delays, 50), 1000 * percentile(delays, 95),
          1000 * max(delays, default=float("nan")), quiet.get("gateway"), idle.get("gateway"), quiet.get("rabbitmq"),
          idle.get("rabbitmq"), PING_SECONDS]],
    )


def _idle_cpu(meter, seconds):
    """CPU ms per second of the gateway and the broker over `seconds` of nothing happening."""
    before = meter.read()
    time.sleep(seconds)
    after = meter.read()
    return {name: 1000 * (after[name] - before[name]) / seconds for name in ("gateway", "rabbitmq")
            if after.get(name) is not None and before.get(name) is not None}


def _deliveries(streams, ticket_id, kind, answered, timeout=10):
    """Seconds from `answered` to each stream's event of that kind about that ticket; and how many
    streams never got it within `timeout` (a delivery may come before the answer: negative)."""
    found, lost = [], 0
    for stream in streams:
        deadline = time.monotonic() + timeout
        while True:
            try:
                event_kind, data, at = stream.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except Exception:  # queue.Empty: never came
                lost += 1
                break
            if event_kind == "ticket" and data["ticket_id"] == ticket_id and data["type"] == kind:
                found.append(at - answered)
                break
    return found, lost
