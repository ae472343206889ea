"""Reading tickets through the gateway: a customer's list, and the history of a long ticket.

(a) `GET /api/v1/tickets` for the demo customer once they have 200 tickets (opened first through
    the API): one query of the `ticket_summaries` read model behind one authenticate RPC and one
    list RPC. Rows: the first page (limit 25), the second page (its cursor), each filter, and the
    same list as the company's group user and as the department's agent.
(b) `GET /api/v1/tickets/{id}` of a ticket with 100 events (opened by the customer, then internal
    notes by the department's agent up to 100 events; routing's own events, if any, count too).
    The tickets service reads the whole stream and folds it for every read, then renders the
    history: staff get 100 entries, the customer only the public ones, from the same 100 events.
    A ticket with only its opening is the baseline.

Every row is one client (its own requests.Session, logged in first, not timed) sending the same
request N times in a row, after 5 untimed ones. Latency is the whole HTTP round trip.
"""
import time

import requests

from helpdesk.testing import wait_until
from services.identity.seed import DEMO_PASSWORD

from .measure import Sample, print_table, running_system
from .system import machine_busy

CUSTOMER = "cliente@demo.example"
GROUP_USER = "soporte@demo.example"
AGENT = "agent-networks@helpdesk.example"
TICKETS = 200
HISTORY = 100
WARM_UP = 5


class Client:
    """One logged-in user with a session of their own."""

    def __init__(self, system, email):
        self.system, self.session = system, requests.Session()
        response = self.session.post(system.url("/api/v1/auth/login"), timeout=30,
                                     json={"email": email, "password": DEMO_PASSWORD})
        response.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {response.json()['token']}"

    def get(self, path, **params):
        return self.session.get(self.system.url(path), params=params, timeout=30)

    def post(self, path, body):
        response = self.session.post(self.system.url(path), json=body, timeout=30)
        if response.status_code not in (200, 201):
            raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:300]}")
        return response.json()

    def close(self):
        self.session.close()


def timed(request, count):
    """Calls `request()` `count` times after WARM_UP untimed calls: (Sample, non-200s, last answer,
    share of the machine's CPU busy meanwhile: anything else running shows there)."""
    for _ in range(WARM_UP):
        request()
    latencies, failed, response = [], 0, None
    busy_before, began = machine_busy(), time.perf_counter()
    for _ in range(count):
        start = time.perf_counter()
        response = request()
        latencies.append(time.perf_counter() - start)
        failed += response.status_code != 200
    elapsed, busy_after = time.perf_counter() - began, machine_busy()
    busy = (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1])
    return Sample(count, elapsed, latencies), failed, response, f"{100 * busy:.0f}%"


def run(database_url, rabbit, count):
    with running_system(database_url, rabbit) as system:
        clients = {email: Client(system, email) for email in (CUSTOMER, GROUP_USER, AGENT)}
        try:
            _lists(system, clients, count)
            _history(system, clients, count)
        finally:
            for client in clients.values():
                client.close()


# -- (a) the list ----------------------------------------------------------------------------
def _open_tickets(customer):
    """TICKETS tickets by the customer, to networks; titles numbered so that filters find some."""
    began, references = time.perf_counter(), []
    for n in range(TICKETS):
        ticket = customer.post("/api/v1/tickets", {
            "department": "networks",
            "title": f"Incidencia {n:03d}: sin conexión en la sede {n % 10}",
            "description": "Desde las 9:00 no hay tráfico en el enlace principal de la sede.",
        })
        references.append(ticket["reference"])
    return time.perf_counter() - began, references


def _settle(system, quiet=2.0, timeout=120):
    """Waits until no mail has been written for `quiet` seconds: the asynchronous work the setup
    caused (relay, routing, sla, notifier and its mails) is over, and does not compete with the
    timed requests."""
    seen = {"count": -1, "since": time.monotonic()}

    def still():
        count = sum(1 for _ in system.mail_dir.glob("*.eml")) if system.mail_dir.is_dir() else 0
        if count != seen["count"]:
            seen.update(count=count, since=time.monotonic())
        return time.monotonic() - seen["since"] >= quiet

    wait_until(still, timeout=timeout, interval=0.2)


def _lists(system, clients, count):
    customer = clients[CUSTOMER]
    seconds, references = _open_tickets(customer)
    print(f"{TICKETS} tickets opened by {CUSTOMER} in {seconds:.1f} s "
          f"({1000 * seconds / TICKETS:.1f} ms each, one client)", flush=True)
    _settle(system)
    first_page = customer.get("/api/v1/tickets", limit=25).json()
    reference = references[TICKETS // 2]
    queries = [
        (CUSTOMER, "first page", {"limit": 25}),
        (CUSTOMER, "second page (cursor)", {"limit": 25, "cursor": first_page["next_cursor"]}),
        (CUSTOMER, "limit=100", {"limit": 100}),
        (CUSTOMER, "status=new", {"limit": 25, "status": "new"}),
        (CUSTOMER, "status=open", {"limit": 25, "status": "open"}),
        (CUSTOMER, "status=closed (none)", {"limit": 25, "status": "closed"}),
        (CUSTOMER, "scope=mine", {"limit": 25, "scope": "mine"}),
        (CUSTOMER, "text=sede 7 (20 match)", {"limit": 25, "text": "sede 7"}),
        (CUSTOMER, "text=Incidencia 142 (1 match)", {"limit": 25, "text": "Incidencia 142"}),
        (CUSTOMER, "text=impresora (no match)", {"limit": 25, "text": "impresora"}),
        (CUSTOMER, f"text={reference} (its reference)", {"limit": 25, "text": reference}),
        (GROUP_USER, "first page (company's)", {"limit": 25}),
        (AGENT, "first page (department's)", {"limit": 25}),
    ]
    rows = []
    for who, label, params in queries:
        client = clients[who]
        sample, failed, response, busy = timed(lambda: client.get("/api/v1/tickets", **params), count)
        items = len(response.json().get("items", [])) if response.status_code == 200 else None
        rows.append([who.split("@")[0], label, items, sample.ops, failed, sample.ms(50), sample.ms(95),
                     sample.ms(99), len(response.content) / 1024, busy])
    print_table(
        f"Tickets: GET /api/v1/tickets, a customer with {TICKETS} tickets "
        f"({count} requests per row, one client)",
        ["as", "query", "items", "requests", "non-200", "p50 ms", "p95 ms", "p99 ms", "response KB",
         "machine CPU"],
        rows,
    )


# -- (b) a long history ------------------------------------------------------------------------
def _settled(agent, ticket_id, quiet=1.0, timeout=15):
    """The ticket's history length once nothing has been added to it for `quiet` seconds (routing
    reacts to the opening on its own, asynchronously)."""
    seen = {"length": -1, "since": time.monotonic()}

    def still():
        length = len(agent.get(f"/api/v1/tickets/{ticket_id}").json()["history"])
        if length != seen["length"]:
            seen.update(length=length, since=time.monotonic())
        return time.monotonic() - seen["since"] >= quiet

    wait_until(still, timeout=timeout, interval=0.2)
    return seen["length"]


def _history(system, clients, count):
    customer, agent = clients[CUSTOMER], clients[AGENT]
    opened = {}
    for label in ("opening only", f"{HISTORY} events"):
        opened[label] = customer.post("/api/v1/tickets", {
            "department": "networks", "title": f"Historia larga: {label}",
            "description": "Un ticket que muchos leen mientras el agente va dejando notas.",
        })["ticket_id"]
    long_id = opened[f"{HISTORY} events"]
    events, note_latencies = _settled(agent, long_id), []
    while events < HISTORY:
        began = time.perf_counter()
        ticket = agent.post(f"/api/v1/tickets/{long_id}/notes",
                            {"body": f"Nota {events}: revisado el enlace, seguimos mirando."})
        note_latencies.append((events, time.perf_counter() - began))
        events = len(ticket["history"])
    _settle(system)
    rows = []
    for label, ticket_id in opened.items():
        for who, client in (("agent (staff view)", agent), ("customer", customer)):
            sample, failed, response, busy = timed(lambda: client.get(f"/api/v1/tickets/{ticket_id}"), count)
            body = response.json()
            rows.append([label, who, body["version"] + 1, len(body["history"]), sample.ops, failed,
                         sample.ms(50), sample.ms(95), sample.ms(99), len(response.content) / 1024, busy])
    print_table(
        f"Tickets: GET /api/v1/tickets/{{id}}, the whole ticket with its history "
        f"({count} requests per row, one client)",
        ["ticket", "as", "events", "history entries", "requests", "non-200", "p50 ms", "p95 ms", "p99 ms",
         "response KB", "machine CPU"],
        rows,
    )
    early = [t for n, t in note_latencies if n < 12]
    late = [t for n, t in note_latencies if n >= HISTORY - 10]
    print_table(
        "Tickets: POST /api/v1/tickets/{id}/notes as the ticket grows (each answer is the whole ticket)",
        ["events before the note", "notes", "p50 ms", "max ms"],
        [[f"{note_latencies[0][0]}-11", len(early), _ms(early, 50), _ms(early, 100)],
         [f"{HISTORY - 10}-{HISTORY - 1}", len(late), _ms(late, 50), _ms(late, 100)]],
    )


def _ms(latencies, q):
    return Sample(len(latencies), 1.0, latencies).ms(q)
