"""The counters of helpdesk.metrics count what happened, once: an append when its transaction
committed (never a rolled-back one), an event relayed when its window was checkpointed, an inbox
delivery by its outcome after its commit."""
import uuid

import pytest

from helpdesk import metrics
from helpdesk.db import after_commit
from helpdesk.events import NewEvent
from helpdesk.eventstore import PostgresEventStore
from helpdesk.inbox import APPLIED, DUPLICATE, PARKED, Inbox
from helpdesk.messaging import Publisher
from helpdesk.relay import Relay


def count(name, **labels):
    return metrics.REGISTRY.get_sample_value(name, labels) or 0


def test_after_commit_runs_once_the_transaction_committed_and_never_after_a_rollback(db):
    ran = []
    with pytest.raises(RuntimeError), db.transaction() as cur:
        cur.execute("SELECT 1")
        after_commit(cur, lambda: ran.append("rolled back"))
        raise RuntimeError("before the commit")
    with db.transaction() as cur:
        cur.execute("SELECT 1")
        after_commit(cur, lambda: ran.append("committed"))
        assert ran == []
    assert ran == ["committed"]


def test_appends_are_counted_when_committed_by_category(db, schema):
    store = PostgresEventStore(db, schema)
    before = count("helpdesk_events_appended_total", service=schema, category="thing")
    with pytest.raises(RuntimeError), db.transaction() as cur:
        store.append(f"thing-{uuid.uuid4()}", [NewEvent("Happened", {})], cursor=cur)
        raise RuntimeError("rolled back after the append")
    assert count("helpdesk_events_appended_total", service=schema, category="thing") == before
    store.append(f"thing-{uuid.uuid4()}", [NewEvent("Happened", {"i": i}) for i in range(3)])
    store.append(f"other-{uuid.uuid4()}", [NewEvent("Happened", {})])
    assert count("helpdesk_events_appended_total", service=schema, category="thing") == before + 3
    assert count("helpdesk_events_appended_total", service=schema, category="other") == 1


def test_relayed_events_are_counted_once_checkpointed_and_only_those_a_relay_publishes(db, schema, vhost):
    _, uri = vhost
    store = PostgresEventStore(db, schema)
    for i in range(5):
        store.append(f"thing-{uuid.uuid4()}", [NewEvent("Happened", {"i": i})])
    store.append(f"usage-{uuid.uuid4()}", [NewEvent("Used", {})])
    publisher = Publisher(uri)
    try:
        crashing = Relay(store, publisher, schema)

        def crash(position):
            raise SystemExit("killed after publishing, before the checkpoint")

        crashing.advance = crash
        with pytest.raises(SystemExit):
            crashing.publish_pending()
        assert count("helpdesk_events_relayed_total", service=schema, relay="events") == 0
        assert Relay(store, publisher, schema).publish_pending() == 6
        assert count("helpdesk_events_relayed_total", service=schema, relay="events") == 6
        assert Relay(store, publisher, schema, name="usage", categories=("usage",)).publish_pending() == 6
        assert count("helpdesk_events_relayed_total", service=schema, relay="usage") == 1
    finally:
        publisher.close()


def test_inbox_deliveries_are_counted_by_outcome_and_parked_ones_are_counted_in_the_table(db, schema):
    store = PostgresEventStore(db, schema)
    stream = f"thing-{uuid.uuid4()}"
    first, second, third = store.append(stream, [NewEvent("Happened", {"i": i}) for i in range(3)])
    inbox = Inbox(db, schema, f"{schema}.things", fetch_stream=lambda s, f: store.read_stream(s, f))

    def outcomes():
        return {outcome: count("helpdesk_inbox_deliveries_total", service=schema, source="things", outcome=outcome)
                for outcome in (APPLIED, DUPLICATE, PARKED)}

    assert inbox.deliver(third, lambda cur, event: None) == PARKED
    assert inbox.parked() == 1
    assert inbox.deliver(first, lambda cur, event: None) == APPLIED
    assert inbox.deliver(first, lambda cur, event: None) == DUPLICATE
    with pytest.raises(RuntimeError):
        inbox.deliver(second, lambda cur, event: (_ for _ in ()).throw(RuntimeError("handler failed")))
    assert outcomes() == {APPLIED: 1, DUPLICATE: 1, PARKED: 1}  # the failed delivery counts nothing
    assert inbox.deliver(second, lambda cur, event: None) == APPLIED  # and drains the parked third
    assert outcomes()[APPLIED] == 2 and inbox.parked() == 0
