"""Two SLA replicas whose timers look for due alerts at the same moment, on PostgreSQL: each
warning and breach is raised once (the clock's row is locked while one replica raises it, and
the other then finds it raised)."""
import threading

import pytest

from helpdesk import testing
from helpdesk.db import Database
from helpdesk.eventstore import PostgresEventStore
from helpdesk.migrate import migrate_all
from services.sla.bootstrap import bootstrap

from ..conftest import setting
from .test_sla_dashboard_rebuild import Desk, madrid


@pytest.fixture
def database():
    admin = setting("DATABASE_URL")
    url = testing.create_database(admin, prefix="helpdesk_sla_replicas")
    migrate_all(url, ["tickets", "sla"])
    db = Database(url, size=6)
    yield url, db
    db.close()
    testing.drop_database(admin, url)


def test_two_replicas_raising_alerts_at_once_raise_each_once(database):
    desk = Desk(*database)
    tickets = [desk.open(madrid(2026, 11, 24, 8, 0), "support_24h", "high") for _ in range(5)]
    desk.now = madrid(2026, 11, 26, 12, 0)  # every first response and resolution long overdue
    replicas = [bootstrap(desk.settings, lambda: desk.now, PostgresEventStore(desk.db, "sla"), desk.db)
                for _ in range(2)]
    start = threading.Barrier(2)

    def look(replica):
        start.wait()
        replica.raise_alerts()
    threads = [threading.Thread(target=look, args=(replica,)) for replica in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with desk.db.transaction() as cur:
        cur.execute("SELECT data->>'ticket_id', data->>'clock', type, count(*) FROM sla.events"
                    " WHERE category = 'sla_alert' GROUP BY 1, 2, 3")
        raised = cur.fetchall()
    assert {ticket for ticket, _, _, _ in raised} == set(tickets)
    assert {count for _, _, _, count in raised} == {1}  # nothing twice
    assert {(clock, kind) for _, clock, kind, _ in raised} >= {("first_response", "SlaBreached"),
                                                              ("resolution", "SlaBreached")}
