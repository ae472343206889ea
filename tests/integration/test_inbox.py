"""The consumer guarantee: whatever the broker does (shuffle, duplicate, lose one), the consumer's
state equals applying each stream's events once, in order."""
import threading
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk.events import NewEvent
from helpdesk.eventstore import PostgresEventStore
from helpdesk.inbox import APPLIED, DUPLICATE, PARKED, Inbox

STREAMS, EVENTS_PER_STREAM = 3, 5


@pytest.fixture
def history(db, schema):
    """A store holding 3 streams of 5 events, appended interleaved; the consumer's own table."""
    store = PostgresEventStore(db, schema)
    streams = [f"thing-{uuid.uuid4()}" for _ in range(STREAMS)]
    for i in range(EVENTS_PER_STREAM):
        for stream in streams:
            store.append(stream, [NewEvent("Happened", {"i": i})])
    with db.transaction() as cur:
        cur.execute(f'CREATE TABLE "{schema}".applied (consumer text, stream text, position int,'
                    ' seq bigint GENERATED ALWAYS AS IDENTITY)')
    return store, streams, store.read_all(0)


def make_inbox(db, store, consumer=None):
    inbox = Inbox(db, store.schema, consumer or f"c-{uuid.uuid4().hex[:8]}",
                  fetch_stream=lambda stream, frm: store.read_stream(stream, frm), gap_timeout=0)

    def apply(cur, event):
        cur.execute(f'INSERT INTO "{store.schema}".applied (consumer, stream, position)'
                    ' VALUES (%s, %s, %s)', (inbox.consumer, event.stream, event.stream_position))

    return inbox, apply


def applied_positions(db, store, inbox):
    with db.transaction() as cur:
        cur.execute(f'SELECT stream, position FROM "{store.schema}".applied'
                    ' WHERE consumer = %s ORDER BY seq', (inbox.consumer,))
        rows = cur.fetchall()
    by_stream = {}
    for stream, position in rows:
        by_stream.setdefault(stream, []).append(position)
    return by_stream


def in_order_once(streams):
    return {stream: list(range(EVENTS_PER_STREAM)) for stream in streams}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_shuffled_duplicated_and_missing_deliveries_apply_once_in_order(db, history, data):
    store, streams, events = history
    duplicates = data.draw(st.lists(st.sampled_from(events), max_size=12), label="duplicates")
    # A lost event is detectable only once a later event of its stream arrives (a gap); a lost
    # last event is the broker's to prevent (durable queues, confirms, ack after commit).
    not_last = [e for e in events if e.stream_position < EVENTS_PER_STREAM - 1]
    missing = data.draw(st.one_of(st.none(), st.sampled_from(not_last)), label="missing")
    deliveries = [e for e in events + duplicates if e != missing]
    deliveries = data.draw(st.permutations(deliveries), label="delivery order")

    inbox, apply = make_inbox(db, store)
    for event in deliveries:
        inbox.deliver(event, apply)
    inbox.heal(apply)  # a gap that stays open is filled from the owner's stream

    assert applied_positions(db, store, inbox) == in_order_once(streams)


def test_outcomes_name_what_happened(db, history):
    store, streams, _ = history
    first, second, third = store.read_stream(streams[0])[:3]
    inbox, apply = make_inbox(db, store)
    assert inbox.deliver(third, apply) == PARKED
    assert inbox.deliver(first, apply) == APPLIED
    assert inbox.deliver(first, apply) == DUPLICATE
    assert inbox.deliver(second, apply) == APPLIED  # and drains the parked third
    assert inbox.position(streams[0]) == 2
    assert applied_positions(db, store, inbox) == {streams[0]: [0, 1, 2]}


def test_a_failing_handler_leaves_no_trace_and_the_event_can_come_again(db, history):
    store, streams, _ = history
    first = store.read_stream(streams[0])[0]
    inbox, apply = make_inbox(db, store)

    def broken(cur, event):
        apply(cur, event)
        raise RuntimeError("handler bug")

    with pytest.raises(RuntimeError):
        inbox.deliver(first, broken)
    assert inbox.position(streams[0]) == -1
    assert applied_positions(db, store, inbox) == {}
    assert inbox.deliver(first, apply) == APPLIED
    assert applied_positions(db, store, inbox) == {streams[0]: [0]}


def test_concurrent_workers_still_apply_each_stream_in_order(db, history):
    """Ten workers deliver a shuffled, duplicated feed at once (as nameko's pool would)."""
    import random

    store, streams, events = history
    feed = events * 3
    random.Random(7).shuffle(feed)
    inbox, apply = make_inbox(db, store)
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not feed:
                    return
                event = feed.pop()
            inbox.deliver(event, apply)

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert applied_positions(db, store, inbox) == in_order_once(streams)


def test_heal_leaves_young_gaps_alone(db, history):
    store, streams, _ = history
    inbox, apply = make_inbox(db, store)
    inbox.deliver(store.read_stream(streams[0])[1], apply)  # parked: 0 is missing
    assert inbox.heal(apply, gap_timeout=3600) == 0
    assert inbox.position(streams[0]) == -1
    assert inbox.heal(apply, gap_timeout=0) > 0
    # healing reads the owner's stream to its head: the consumer is caught up, in order
    assert inbox.position(streams[0]) == EVENTS_PER_STREAM - 1
    assert applied_positions(db, store, inbox) == {streams[0]: list(range(EVENTS_PER_STREAM))}
