"""Two routing workers (two replicas, or the timer and an event in one process) offering the same
waiting ticket at once on PostgreSQL: the first to ask whether it needs an agent holds its row
until it commits, so the second sees it assigned and assigns nothing."""
import threading
import time
import uuid

from helpdesk.db import Database
from helpdesk.migrate import migrate_all
from services.routing import store


def test_a_ticket_offered_by_two_workers_at_once_is_assigned_once(database_url):
    migrate_all(database_url, ["routing"])
    db = Database(database_url, size=3)
    ticket_id = str(uuid.uuid4())
    with db.transaction() as cur:
        store.add_ticket(cur, ticket_id, {"department": "networks"}, 1)
    seen_by_second = []
    first_holds = threading.Event()

    def second():
        first_holds.wait()
        with db.transaction() as cur:
            needs = store.needs_agent(cur, ticket_id)  # waits for the first to commit
            seen_by_second.append(needs)
            if needs:
                store.set_assignee(cur, ticket_id, "agent-b")

    worker = threading.Thread(target=second)
    worker.start()
    with db.transaction() as cur:
        assert store.needs_agent(cur, ticket_id) is True
        first_holds.set()
        time.sleep(0.3)  # the second is waiting on the row meanwhile
        assert seen_by_second == []
        store.set_assignee(cur, ticket_id, "agent-a")
    worker.join(timeout=10)
    assert seen_by_second == [False]
    with db.transaction() as cur:
        cur.execute("SELECT assignee_id FROM routing.tickets WHERE ticket_id = %s", (ticket_id,))
        assert cur.fetchone()[0] == "agent-a"
    db.close()
