"""The supervisors' dashboard on PostgreSQL: the live rows the SLA handlers write as its inbox
delivers ticket events (and as its timer raises breaches), and the same rows rebuilt from the logs
(`python -m helpdesk.projections sla`, in process and by the command line), over the live rows or
after they were dropped. The rebuild counts what the inbox applied, no more: an event parked
behind a gap, or not delivered yet, is in neither."""
import datetime as dt
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from helpdesk import config, testing
from helpdesk.db import Database
from helpdesk.events import NewEvent
from helpdesk.eventstore import PostgresEventStore
from helpdesk.inbox import APPLIED, PARKED, Inbox
from helpdesk.migrate import migrate_all
from helpdesk.projections import rebuild
from services.sla import dashboard
from services.sla.bootstrap import bootstrap
from services.sla.projection import CONSUMER, DashboardRebuild

from ..conftest import setting

ROOT = Path(__file__).resolve().parents[2]
MADRID = ZoneInfo("Europe/Madrid")


def madrid(*args):
    return dt.datetime(*args, tzinfo=MADRID)


@pytest.fixture(scope="module")
def database():
    """A database of its own: the rebuild replaces the whole dashboard."""
    admin = setting("DATABASE_URL")
    url = testing.create_database(admin, prefix="helpdesk_dashboard")
    migrate_all(url, ["tickets", "sla"])
    db = Database(url, size=4)
    yield url, db
    db.close()
    testing.drop_database(admin, url)


class Desk:
    """Ticket events appended to the tickets' log at chosen moments, delivered to the SLA's inbox
    (or held back), and the SLA handlers on PostgreSQL with a clock of our choosing."""

    def __init__(self, url, db):
        self.url, self.db, self.now = url, db, madrid(2026, 11, 23, 8, 0)
        self.settings = config.load(env={"DATABASE_URL": url})
        self.tickets = PostgresEventStore(db, "tickets")
        self.sla = bootstrap(self.settings, lambda: self.now, PostgresEventStore(db, "sla"), db)
        self.inbox = Inbox(db, "sla", CONSUMER, fetch_stream=self.tickets.read_stream, gap_timeout=3600, batch_size=1)

    def event(self, ticket_id, type_, at, deliver=True, **data):
        (event,) = self.tickets.append(f"ticket-{ticket_id}", [NewEvent(type_, {"ticket_id": ticket_id, **data},
                                                                      occurred_at=at)])
        (stored,) = self.tickets.read_stream(event.stream, event.stream_position, 1)
        return self.deliver(stored) if deliver else stored

    def deliver(self, event):
        return self.inbox.deliver(event, lambda cur, e: self.sla.apply_ticket_event(self.sla.uow.joined(cur), e))

    def open(self, at, department, urgency="medium", deliver=True):
        ticket_id = str(uuid.uuid4())
        self.event(ticket_id, "TicketOpened", at, deliver, department=department, urgency=urgency,
                   reference="#000042", requester_id=str(uuid.uuid4()), requester_email="ana@example.com",
                   company_id=None)
        return ticket_id

    def rows(self):
        with self.db.transaction() as cur:
            cur.execute("SELECT * FROM sla.dashboard ORDER BY day, department")
            return cur.fetchall()

    def rebuilt(self):
        return rebuild(PostgresEventStore(self.db, "sla"), [DashboardRebuild(self.settings)])


@pytest.fixture(scope="module")
def desk(database):
    """Tickets of every kind the dashboard counts, over four days, and the breaches of the late ones."""
    desk = Desk(*database)
    worked = desk.open(madrid(2026, 11, 23, 9, 0), "networks")
    for type_, at, data in [("InformationRequested", madrid(2026, 11, 23, 10, 0), {"body": "¿Qué router?"}),
                            ("CustomerCommented", madrid(2026, 11, 24, 9, 0), {"body": "Este"}),
                            ("TicketResolved", madrid(2026, 11, 24, 12, 0), {"solution": "Hecho"}),
                            ("SolutionRefused", madrid(2026, 11, 25, 9, 0), {"reason": "Sigue"}),
                            ("TicketResolved", madrid(2026, 11, 25, 10, 0), {"solution": "Ahora sí"})]:
        assert desk.event(worked, type_, at, **data) == APPLIED
    urgent = desk.open(madrid(2026, 11, 23, 22, 0), "support_24h", "high")
    desk.event(urgent, "StaffReplied", madrid(2026, 11, 23, 22, 10), body="Lo miro")
    desk.event(urgent, "TicketResolved", madrid(2026, 11, 23, 23, 30), solution="Hecho")
    desk.event(urgent, "ProviderFaultMarked", madrid(2026, 11, 25, 9, 0), provider_fault=True)  # a correction
    itil = desk.open(madrid(2026, 11, 23, 23, 59), None)
    desk.event(itil, "TicketRouted", madrid(2026, 11, 24, 0, 0, 5), department="networks", previous=None)
    desk.event(itil, "StaffReplied", madrid(2026, 11, 24, 10, 0), body="Hola")
    desk.event(itil, "TicketReclassified", madrid(2026, 11, 24, 11, 0), department="sales", previous="networks")
    desk.open(madrid(2026, 11, 24, 8, 0), "support_24h", "high")  # nobody answers: breaches
    closed = desk.open(madrid(2026, 11, 24, 9, 0), "sales")
    desk.event(closed, "TicketClosed", madrid(2026, 11, 24, 9, 5), reason="Ya no hace falta")
    held_back = desk.open(madrid(2026, 11, 25, 9, 0), "billing")
    desk.held_back = desk.event(held_back, "TicketResolved", madrid(2026, 11, 25, 9, 30), deliver=False,
                                solution="Hecho")
    gap = desk.open(madrid(2026, 11, 25, 9, 0), "datacenters")
    desk.event(gap, "StaffReplied", madrid(2026, 11, 25, 9, 10), deliver=False, body="Perdido por el camino")
    assert desk.event(gap, "TicketResolved", madrid(2026, 11, 25, 9, 20), solution="Hecho") == PARKED
    desk.now = madrid(2026, 11, 26, 12, 0)
    assert desk.sla.raise_alerts() >= 2
    return desk


def test_the_live_rows_hold_what_the_events_added(desk):
    live = {(row[0].isoformat(), row[1]): dict(zip(dashboard.FIELDS, row[2:])) for row in desk.rows()}
    assert live[("2026-11-23", "networks")]["opened"] == 2  # the ITIL ticket: where routing placed it
    assert live[("2026-11-25", "networks")]["resolved"] == 1
    assert live[("2026-11-25", "billing")]["resolved"] == 0  # not delivered yet
    assert live[("2026-11-25", "datacenters")]["first_responses"] == 0  # parked behind the gap
    assert live[("2026-11-25", "datacenters")]["resolved"] == 0
    support = live[("2026-11-23", "support_24h")]  # the correction: urgent and the provider's fault
    assert (support["usage_billable"], support["usage_not_billable"], support["usage_not_billable_minutes"]) == (
        0, 1, 90)
    forgotten = live[("2026-11-24", "support_24h")]
    assert (forgotten["response_breaches"], forgotten["resolution_breaches"]) == (1, 1)


def test_a_rebuild_over_the_live_rows_changes_nothing(desk):
    live = desk.rows()
    assert desk.rebuilt() > 0
    assert desk.rows() == live


def test_a_dropped_dashboard_is_rebuilt_identical_and_live_writes_go_on_from_it(desk):
    live = desk.rows()
    with desk.db.transaction() as cur:
        cur.execute("DELETE FROM sla.dashboard")
    desk.rebuilt()
    assert desk.rows() == live
    assert desk.deliver(desk.held_back) == APPLIED
    after = desk.rows()
    assert after != live
    desk.rebuilt()
    assert desk.rows() == after


def test_the_command_line_rebuild(desk):
    live = desk.rows()
    with desk.db.transaction() as cur:
        cur.execute("DELETE FROM sla.dashboard")
    done = subprocess.run([sys.executable, "-m", "helpdesk.projections", "sla"], cwd=ROOT,
                          env=dict(os.environ, DATABASE_URL=desk.url), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "rebuilt sla.dashboard" in done.stdout, done.stdout
    assert desk.rows() == live


def test_ticket_events_wait_while_a_rebuild_runs_and_count_once_it_is_done(desk):
    started, release, delivered = threading.Event(), threading.Event(), threading.Event()

    class Slow(DashboardRebuild):
        def finish(self, cur):
            started.set()
            release.wait(30)
            super().finish(cur)

    rebuilding = threading.Thread(target=lambda: rebuild(PostgresEventStore(desk.db, "sla"), [Slow(desk.settings)]))
    rebuilding.start()
    assert started.wait(30)
    late = threading.Thread(target=lambda: (desk.open(madrid(2026, 11, 26, 9, 0), "systems"), delivered.set()))
    late.start()
    assert not delivered.wait(1)  # the SLA's inbox waits for the rebuild
    release.set()
    rebuilding.join(30)
    late.join(30)
    assert delivered.is_set()
    live = desk.rows()
    assert any(row[:2] == (dt.date(2026, 11, 26), "systems") and row[2] == 1 for row in live)
    desk.rebuilt()
    assert desk.rows() == live
