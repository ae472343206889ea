"""The consumer entrypoint inside a real nameko container: ack after commit, retries with delays,
then the dead-letter queue, and the replay command bringing a message back once the fault is fixed."""
import datetime as dt
import uuid

import kombu
import pytest
from nameko.containers import ServiceContainer
from nameko.timer import timer

from helpdesk import dlq, testing
from helpdesk.events import ENVELOPE, RecordedEvent
from helpdesk.events import NewEvent
from helpdesk.extensions import Database, EventStore, Inbox, StreamOwner, subscribe
from helpdesk.messaging import Message, Publisher, dead_letter_queue_name, declare_subscription, events_exchange
from helpdesk.migrate import LIBRARY_SQL, migrate_schema

SOURCE = "source"


def envelope(stream, position, **data):
    return ENVELOPE.dump(RecordedEvent(
        event_id=uuid.uuid4(), type="Happened", schema_version=1, stream=stream,
        stream_position=position, global_position=position + 1,
        occurred_at=dt.datetime.now(dt.timezone.utc), data=data, source=SOURCE))


@pytest.fixture(params=["classic", "quorum"])
def consumer(request, database_url, db, vhost, rabbit):
    """A service consuming SOURCE's events whose handler fails while `state['broken']`, on queues
    of each type (BROKER.queue_type): retries, dead letters and replay behave alike."""
    vhost_name, uri = vhost
    name = f"consumer_{uuid.uuid4().hex[:8]}"
    migrate_schema(database_url, name, [("helpdesk.inbox", LIBRARY_SQL / "inbox")])
    state = {"broken": False, "attempts": 0, "applied": []}

    class Service:
        db_ = Database()
        inbox = Inbox(SOURCE)

        @subscribe(SOURCE)
        def on_event(self, event):
            state["attempts"] += 1
            self.inbox.deliver(event, self.apply)

        @timer(interval=0.2)
        def heal(self):
            self.inbox.heal(self.apply)

        def apply(self, cur, event):
            if state["broken"]:
                raise RuntimeError("handler bug: cannot apply")
            state["applied"].append(event.data["n"])

    Service.name = name
    config = {"AMQP_URI": uri, "DATABASE_URL": database_url, "max_workers": 4,
              "CONSUMER": {"retry_delays": [0.1, 0.2], "gap_timeout": 1}, "BROKER": {"queue_type": request.param}}
    container = ServiceContainer(Service, config)
    container.start()
    assert rabbit.queue(vhost_name, f"{name}.from.{SOURCE}")["type"] == request.param
    publisher = Publisher(uri)

    def publish(body):
        publisher.publish(body, exchange=events_exchange(SOURCE).name, routing_key="Happened")

    yield name, uri, state, publish
    container.stop()
    publisher.close()


@pytest.fixture
def source_service(database_url, vhost):
    """The owner of SOURCE's streams, answering `read_stream` over RPC (its relay is off, so the
    only way its events reach the consumer is what the test publishes, or healing)."""
    migrate_schema(database_url, SOURCE, [("helpdesk.eventstore", LIBRARY_SQL / "eventstore")])

    class Source(StreamOwner):
        name = SOURCE
        store = EventStore(publish=False)

    container = ServiceContainer(Source, {"AMQP_URI": vhost[1], "DATABASE_URL": database_url})
    container.start()
    yield
    container.stop()


def test_events_are_applied_and_acked(consumer, rabbit, vhost):
    name, uri, state, publish = consumer
    stream = f"thing-{uuid.uuid4()}"
    for position in (1, 0, 2, 1):  # out of order, with a duplicate
        publish(envelope(stream, position, n=position))
    assert testing.wait_until(lambda: len(state["applied"]) == 3, timeout=10)
    assert state["applied"] == [0, 1, 2]
    assert testing.wait_until(lambda: rabbit.queue_depth(vhost[0], f"{name}.from.{SOURCE}") == 0)


def test_a_failing_handler_ends_in_the_dlq_and_replay_brings_it_back_once(consumer, rabbit, vhost):
    name, uri, state, publish = consumer
    subscription = f"{name}.from.{SOURCE}"
    state["broken"] = True
    publish(envelope(f"thing-{uuid.uuid4()}", 0, n=42))

    dead = dead_letter_queue_name(subscription)
    assert testing.wait_until(lambda: rabbit.queue_depth(vhost[0], dead) == 1, timeout=15)
    assert state["attempts"] == 3  # first try + one per retry delay
    assert state["applied"] == []
    (shown,) = dlq.show(uri, subscription)
    assert "handler bug: cannot apply" in shown["error"] and shown["retries"] == 3
    assert rabbit.queue_depth(vhost[0], dead) == 1  # showing does not consume

    state["broken"] = False
    assert dlq.replay(uri, subscription) == 1
    assert testing.wait_until(lambda: state["applied"] == [42], timeout=10)
    assert testing.wait_until(lambda: rabbit.queue_depth(vhost[0], dead) == 0)
    assert dlq.replay(uri, subscription) == 0
    assert state["applied"] == [42]


def test_a_malformed_message_goes_straight_to_the_dlq(consumer, rabbit, vhost):
    name, uri, state, publish = consumer
    publish({"type": "Happened", "data": "not an envelope"})
    dead = dead_letter_queue_name(f"{name}.from.{SOURCE}")
    assert testing.wait_until(lambda: rabbit.queue_depth(vhost[0], dead) == 1, timeout=10)
    assert state["attempts"] == 0


def test_a_gap_that_stays_open_is_healed_from_the_owner_over_rpc(source_service, consumer, db):
    from helpdesk.eventstore import PostgresEventStore

    name, uri, state, publish = consumer
    store = PostgresEventStore(db, SOURCE)
    stream = f"thing-{uuid.uuid4()}"
    recorded = store.append(stream, [NewEvent("Happened", {"n": n}) for n in range(3)])
    publish(dict(ENVELOPE.dump(recorded[2]), source=SOURCE))  # 0 and 1 never arrive
    # gap_timeout is 1 s: the consumer waits for them, then reads them from the owner
    assert testing.wait_until(lambda: state["applied"] == [0, 1, 2], timeout=15), state


@pytest.fixture
def recording_consumer(database_url, db, vhost):
    """A service consuming SOURCE's events into a table (with the id of the transaction that wrote
    each row); its handler fails on events whose data says `poison`."""
    name = f"consumer_{uuid.uuid4().hex[:8]}"
    migrate_schema(database_url, name, [("helpdesk.inbox", LIBRARY_SQL / "inbox")])
    with db.transaction() as cur:
        cur.execute(f'CREATE TABLE "{name}".applied (stream text, n int, seq bigint GENERATED ALWAYS AS IDENTITY,'
                    ' txid bigint DEFAULT txid_current())')

    class Service:
        inbox = Inbox(SOURCE)

        @subscribe(SOURCE)
        def on_event(self, event):
            self.inbox.deliver(event, self.apply)

        def apply(self, cur, event):
            if event.data.get("poison"):
                raise RuntimeError("handler bug: poison")
            cur.execute(f'INSERT INTO "{name}".applied (stream, n) VALUES (%s, %s)', (event.stream, event.data["n"]))

    Service.name = name
    config = {"AMQP_URI": vhost[1], "DATABASE_URL": database_url, "max_workers": 10,
              "CONSUMER": {"retry_delays": [0.1, 0.2], "gap_timeout": 60, "batch_size": 50}}
    container = ServiceContainer(Service, config)
    publisher = Publisher(vhost[1])

    def rows():
        with db.transaction() as cur:
            cur.execute(f'SELECT stream, n, txid FROM "{name}".applied ORDER BY seq')
            return cur.fetchall()

    yield name, container, publisher, rows
    container.stop()
    publisher.close()


def test_a_burst_is_committed_in_batches_in_stream_order_and_a_poison_event_is_dead_lettered_alone(
        recording_consumer, rabbit, vhost):
    name, container, publisher, rows = recording_consumer
    streams = [f"thing-{uuid.uuid4()}" for _ in range(4)]
    burst = [envelope(stream, position, n=position) for position in range(10) for stream in streams]
    poisoned = f"thing-{uuid.uuid4()}"
    burst.insert(17, envelope(poisoned, 0, n=0, poison=True))
    # waiting in the queue before the consumer starts, as after a deploy or an outage
    with kombu.Connection(vhost[1]) as connection:
        declare_subscription(connection, name, SOURCE, [0.1, 0.2])
    publisher.publish_many([Message(body, "Happened", events_exchange(SOURCE).name) for body in burst])
    container.start()

    dead = dead_letter_queue_name(f"{name}.from.{SOURCE}")
    assert testing.wait_until(lambda: len(rows()) == 40 and rabbit.queue_depth(vhost[0], dead) == 1, timeout=20)
    applied = rows()
    by_stream = {}
    for stream, n, _ in applied:
        by_stream.setdefault(stream, []).append(n)
    assert by_stream == {stream: list(range(10)) for stream in streams}  # each once, in stream order
    assert len({txid for _, _, txid in applied}) < 20  # far fewer commits than events
    (shown,) = dlq.show(vhost[1], f"{name}.from.{SOURCE}")
    assert "poison" in shown["error"] and shown["retries"] == 2 + 1
