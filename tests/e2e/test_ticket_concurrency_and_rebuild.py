"""Many staff on one ticket at once, and the read model rebuilt from the event log.

- Concurrent updates that commute (notes, public replies) are all accepted, each recorded once.
- Two updates that do not commute, sent with the same If-Match: one wins, the other hears 409.
- `tickets.ticket_summaries` rebuilt from the log (in-process and by the command line), over the
  live rows or after they were dropped, is row for row what the live writes made.
"""
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import psycopg2
import pytest

from helpdesk.db import Database
from helpdesk.eventstore import PostgresEventStore
from helpdesk.projections import rebuild
from helpdesk.testing import wait_until
from services.tickets.projection import SummariesRebuild

from .conftest import as_user

ROOT = Path(__file__).resolve().parents[2]
CUSTOMER = "cliente@demo.example"
STAFF = ("agent-networks@helpdesk.example", "supervisor@helpdesk.example")
TICKET = {"department": "networks", "title": "Caída del enlace", "description": "Sin servicio desde las 9:00"}


# -- helpers ------------------------------------------------------------------------------------

def opened(api, **body):
    response = api.call("POST", "/api/v1/tickets", dict(TICKET, **body))
    assert response.status_code == 201, response.text
    return response.json()


def act(api, ticket_id, action, body=None, headers=None):
    return api.call("POST", f"/api/v1/tickets/{ticket_id}/{action}", {} if body is None else body, headers=headers)


def ok(response):
    assert response.status_code == 200, response.text
    return response.json()


def all_at_once(jobs):
    """Runs every job in its own thread, released together; their results in order."""
    barrier, results = threading.Barrier(len(jobs)), [None] * len(jobs)

    def run(n, job):
        barrier.wait()
        results[n] = job()

    threads = [threading.Thread(target=run, args=(n, job)) for n, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def summaries(database_url):
    """Every row of the read model, ordered by ticket id."""
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT * FROM tickets.ticket_summaries ORDER BY ticket_id")
            return cur.fetchall()
    finally:
        conn.close()


def execute(database_url, statement):
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(statement)
    finally:
        conn.close()


def rebuilt(database_url):
    """Rebuilds the summaries in-process; the number of events read."""
    db = Database(database_url, size=1)
    try:
        return rebuild(PostgresEventStore(db, "tickets"), [SummariesRebuild()])
    finally:
        db.close()


# -- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def customer(system):
    return as_user(system, CUSTOMER)


@pytest.fixture(scope="module")
def agent(system):
    return as_user(system, STAFF[0])


@pytest.fixture(scope="module")
def supervisor(system):
    return as_user(system, STAFF[1])


# -- concurrent updates -------------------------------------------------------------------------

def test_twenty_concurrent_staff_updates_are_all_accepted_and_recorded_once(system, customer):
    ticket_id = opened(customer)["ticket_id"]
    run = uuid.uuid4().hex[:6]
    clients = [as_user(system, STAFF[n % 2]) for n in range(20)]  # each its own session and client
    updates = [("notes" if n % 2 else "comments", f"actualización {run} nº {n}") for n in range(20)]

    answers = all_at_once([
        lambda client=client, action=action, body=body: act(client, ticket_id, action, {"body": body})
        for client, (action, body) in zip(clients, updates)])

    accepted = [body for (_, body), answer in zip(updates, answers) if answer.status_code == 200]
    ticket = ok(clients[0].call("GET", f"/api/v1/tickets/{ticket_id}"))
    recorded = Counter(entry.get("body") for entry in ticket["history"] if run in (entry.get("body") or ""))
    assert recorded == Counter(accepted)  # every accepted update exactly once, nothing else
    assert [entry["position"] for entry in ticket["history"]] == list(range(len(accepted) + 1))

    refused = [(updates[n], a.status_code, a.text) for n, a in enumerate(answers) if a.status_code != 200]
    assert refused == [], refused  # updates that commute are never refused
    by_type = Counter(entry["type"] for entry in ticket["history"])
    assert by_type["InternalNoteAdded"] == by_type["StaffReplied"] == 10
    assert ticket["version"] == 20 and ticket["status"] == "in_progress"


@pytest.mark.parametrize("round_", range(3))
def test_two_staff_resolving_with_the_same_version_one_wins_the_other_hears_409(customer, agent, supervisor,
                                                                                round_):
    ticket_id = opened(customer)["ticket_id"]
    ok(act(agent, ticket_id, "assign"))
    version = ok(agent.call("GET", f"/api/v1/tickets/{ticket_id}"))["version"]
    headers = {"If-Match": f'"{version}"'}

    answers = all_at_once([
        lambda: act(agent, ticket_id, "resolve", {"solution": "Solución del agente"}, headers),
        lambda: act(supervisor, ticket_id, "resolve", {"solution": "Solución de supervisión"}, headers)])

    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    (winner,) = [a.json() for a in answers if a.status_code == 200]
    (loser,) = [a.json() for a in answers if a.status_code == 409]
    assert loser["error"] == "conflict"
    assert int(loser["current_version"]) == winner["version"] == version + 1  # its type: test_ticket_input
    ticket = ok(agent.call("GET", f"/api/v1/tickets/{ticket_id}"))
    assert ticket["status"] == "resolved" and ticket["solution"] == winner["solution"]
    assert [e["type"] for e in ticket["history"]].count("TicketResolved") == 1


# -- rebuilding the read model ------------------------------------------------------------------

@pytest.fixture(scope="module")
def varied_tickets(system, customer, agent, supervisor):
    """Tickets in every kind of state the summaries record."""
    admin = as_user(system, "admin@helpdesk.example")
    customer_id = [u for u in admin.call("GET", "/api/v1/admin/users").json()["items"]
                   if u["email"] == CUSTOMER][0]["user_id"]
    made = [opened(customer, cc="a@x.es,B@Y.es")["ticket_id"]]
    worked = opened(customer)["ticket_id"]
    for action, body in [("assign", {}), ("start", {}), ("urgency", {"urgency": "high"}),
                         ("provider-fault", {"provider_fault": True}), ("information-requests", {"body": "¿?"})]:
        ok(act(agent, worked, action, body))
    closed = opened(customer)["ticket_id"]
    for who, action, body in [(agent, "assign", {}), (agent, "resolve", {"solution": "Hecho"}),
                              (customer, "approve", {})]:
        ok(act(who, closed, action, body))
    itil = customer.call("POST", "/api/v1/tickets", {
        "title": "La web va lenta", "description": "10 s", "urgency": "medium",
        "itil": {"type": "incident", "service": "hosting", "category": "slowness"}})
    assert itil.status_code == 201, itil.text
    moved = opened(customer)["ticket_id"]
    ok(act(supervisor, moved, "reclassify", {"department": "sales", "reason": "Es comercial"}))
    target, duplicate = opened(customer)["ticket_id"], opened(customer)["ticket_id"]
    ok(act(agent, duplicate, "merge", {"into": target}))
    phoned = opened(agent, channel="phone", on_behalf_of=customer_id)["ticket_id"]
    return made + [worked, closed, itil.json()["ticket_id"], moved, target, duplicate, phoned]


def log_head(database_url):
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT coalesce(max(global_position), 0) FROM tickets.events")
            return cur.fetchone()[0]
    finally:
        conn.close()


def quietly(database_url, compare, attempts=5):
    """Runs `compare` (snapshot, rebuild, snapshot) at a moment no event is appended, so the live
    rows and the rebuilt ones describe the same log. Other services act on tickets on their own
    (routing), so wait for the log to be still, and run again if it moved meanwhile."""
    for _ in range(attempts):
        wait_until(lambda: (log_head(database_url), time.sleep(1))[0] == log_head(database_url), timeout=30)
        before = log_head(database_url)
        result = compare()
        if log_head(database_url) == before:
            return result
    pytest.fail("the ticket log never stood still long enough to compare")


def test_a_rebuild_over_the_live_rows_changes_nothing(database_url, varied_tickets):
    def compare():
        live = summaries(database_url)
        read = rebuilt(database_url)
        return live, read, summaries(database_url)

    live, read, after = quietly(database_url, compare)
    assert {str(row[0]) for row in live} >= set(varied_tickets)
    assert read > 0
    assert after == live


def test_a_dropped_read_model_is_rebuilt_identical(database_url, varied_tickets, customer):
    def compare():
        live = summaries(database_url)
        execute(database_url, "DELETE FROM tickets.ticket_summaries")
        emptied = summaries(database_url)
        rebuilt(database_url)
        return live, emptied, summaries(database_url)

    live, emptied, after = quietly(database_url, compare)
    assert emptied == [] and len(live) >= len(varied_tickets)
    assert after == live
    listed = ok(customer.call("GET", "/api/v1/tickets?limit=100"))
    assert set(varied_tickets) <= {item["ticket_id"] for item in listed["items"]}


def test_the_command_line_rebuild(database_url, varied_tickets):
    def compare():
        live = summaries(database_url)
        execute(database_url, "DELETE FROM tickets.ticket_summaries")
        done = subprocess.run([sys.executable, "-m", "helpdesk.projections", "tickets"], cwd=ROOT,
                              env=dict(os.environ, DATABASE_URL=database_url), capture_output=True, text=True,
                              timeout=120)
        return live, done, summaries(database_url)

    live, done, after = quietly(database_url, compare)
    assert done.returncode == 0, done.stderr
    assert "rebuilt" in done.stdout and "tickets.ticket_summaries" in done.stdout, done.stdout
    assert after == live
