"""The outbox relay against real PostgreSQL and RabbitMQ."""
import uuid

import kombu
import pytest

from helpdesk import testing
from helpdesk.events import ENVELOPE, NewEvent
from helpdesk.eventstore import PostgresEventStore
from helpdesk.inbox import Inbox
from helpdesk.messaging import MessageNacked, Publisher, events_exchange
from helpdesk.relay import Relay, RelayRunner, run_in_thread

SERVICE = "svc"


@pytest.fixture
def setup(db, schema, vhost, database_url):
    _, uri = vhost
    store = PostgresEventStore(db, schema)
    testing.bind_queue(uri, events_exchange(SERVICE), "watch")
    publisher = Publisher(uri)
    yield store, publisher, uri
    publisher.close()


def append_many(store, n, streams=3):
    names = [f"thing-{uuid.uuid4()}" for _ in range(streams)]
    for i in range(n):
        store.append(names[i % streams], [NewEvent("Happened", {"i": i})])
    return names


def test_publishes_in_global_order_then_moves_the_checkpoint(setup):
    store, publisher, uri = setup
    append_many(store, 20)
    relay = Relay(store, publisher, SERVICE, batch_size=8)
    assert [relay.publish_pending() for _ in range(4)] == [8, 8, 4, 0]
    bodies = testing.drain(uri, "watch", 20)
    assert [b["data"]["i"] for b in bodies] == list(range(20))
    assert all(b["source"] == SERVICE for b in bodies)
    assert relay.checkpoint() == store.head()
    assert testing.drain(uri, "watch", 1, timeout=0.3) == []  # nothing twice


def test_killed_between_publish_and_checkpoint_loses_nothing_and_duplicates_are_absorbed(setup, db):
    store, publisher, uri = setup
    streams = append_many(store, 10)
    crashing = Relay(store, publisher, SERVICE)

    def crash(position):
        raise SystemExit("relay killed after publishing, before its checkpoint")

    crashing.advance = crash
    with pytest.raises(SystemExit):
        crashing.publish_pending()
    append_many(store, 5)

    restarted = Relay(store, publisher, SERVICE)
    assert restarted.publish_pending() == 15  # the 10 again, then the 5 new ones
    bodies = testing.drain(uri, "watch", 25)
    events = [ENVELOPE.load(b) for b in bodies]
    assert len(events) == 25
    assert {e.event_id for e in events} == {e.event_id for e in store.read_all(0)}

    inbox = Inbox(db, store.schema, "watcher")
    applied = []
    for event in events:
        inbox.deliver(event, lambda cur, e: applied.append(e.event_id))
    assert sorted(map(str, applied)) == sorted(str(e.event_id) for e in store.read_all(0))
    assert inbox.position(streams[0]) == store.stream_version(streams[0])


class Windows:
    """The publisher, noting each window it is given and the checkpoint at that moment."""

    def __init__(self, publisher):
        self.publisher, self.seen, self.relay = publisher, [], None

    def __getattr__(self, name):
        return getattr(self.publisher, name)

    def publish_many(self, messages):
        self.seen.append((len(messages), self.relay.checkpoint()))
        self.publisher.publish_many(messages)


def test_a_batch_goes_out_in_confirmed_windows_and_the_checkpoint_follows_each_window(setup):
    store, publisher, uri = setup
    append_many(store, 25)
    positions = [e.global_position for e in store.read_all(0)]
    windows = Windows(publisher)
    relay = windows.relay = Relay(store, windows, SERVICE, confirm_window=10)
    assert relay.publish_pending() == 25
    assert windows.seen == [(10, 0), (10, positions[9]), (5, positions[19])]
    assert relay.checkpoint() == positions[-1]
    assert [b["data"]["i"] for b in testing.drain(uri, "watch", 26, timeout=1)] == list(range(25))


def test_a_window_the_broker_nacks_is_not_checkpointed_and_goes_out_again_whole(setup):
    """A queue that refuses what does not fit (reject-publish) makes RabbitMQ nack: a real nack."""
    store, publisher, uri = setup
    full = kombu.Queue("full", exchange=events_exchange(SERVICE), routing_key="#", durable=True,
                       queue_arguments={"x-max-length": 2, "x-overflow": "reject-publish"})
    with kombu.Connection(uri) as connection:
        full(connection.channel()).declare()
    append_many(store, 5)
    relay = Relay(store, publisher, SERVICE)
    with pytest.raises(MessageNacked):
        relay.publish_pending()
    assert relay.checkpoint() == 0
    with kombu.Connection(uri) as connection:
        full(connection.channel()).delete()
    assert relay.publish_pending() == 5
    assert relay.checkpoint() == store.head()
    bodies = testing.drain(uri, "watch", 11, timeout=1)
    # the nacked window reached "watch" (only "full" refused it), then came again, all of it
    assert [b["data"]["i"] for b in bodies] == list(range(5)) * 2


def test_runner_is_woken_by_notify_not_by_polling(setup, database_url):
    store, publisher, uri = setup
    runner = RelayRunner(Relay(store, publisher, SERVICE), database_url, poll_interval=120)
    thread = run_in_thread(runner)
    try:
        assert testing.wait_until(lambda: runner.is_leader, timeout=10)
        testing.wait_until(lambda: False, timeout=0.2)  # let it reach LISTEN's wait
        append_many(store, 3)
        # Had the runner to poll, nothing would arrive for 120 s.
        assert len(testing.drain(uri, "watch", 3, timeout=10)) == 3
    finally:
        runner.stop()
        thread.join(timeout=5)


def test_one_active_relay_per_service_and_a_standby_takes_over(setup, database_url):
    store, publisher, uri = setup
    first = RelayRunner(Relay(store, publisher, SERVICE), database_url, poll_interval=0.2,
                        standby_interval=0.1)
    second = RelayRunner(Relay(store, Publisher(uri), SERVICE), database_url, poll_interval=0.2,
                         standby_interval=0.1)
    threads = [run_in_thread(first)]
    assert testing.wait_until(lambda: first.is_leader, timeout=10)
    threads.append(run_in_thread(second))
    testing.wait_until(lambda: False, timeout=0.5)
    assert first.is_leader and not second.is_leader
    append_many(store, 4)
    assert len(testing.drain(uri, "watch", 4)) == 4

    first.stop()
    threads[0].join(timeout=5)
    assert testing.wait_until(lambda: second.is_leader, timeout=10)
    append_many(store, 2)
    bodies = testing.drain(uri, "watch", 2)
    assert [b["data"]["i"] for b in bodies] == [0, 1]
    second.stop()
    threads[1].join(timeout=5)
    second.relay.publisher.close()


def test_lag_says_how_far_behind_each_relay_is_and_how_long_its_oldest_event_has_waited(setup):
    import time

    from helpdesk.relay import lag

    store, publisher, uri = setup
    relay = Relay(store, publisher, SERVICE, batch_size=100)
    relay.checkpoint()  # the relay's row exists from its first run
    assert lag(store) == {"events": {"behind": 0, "waiting_seconds": 0.0}}
    append_many(store, 5)
    time.sleep(0.3)
    waiting = lag(store)["events"]
    assert waiting["behind"] == 5 and waiting["waiting_seconds"] >= 0.3
    relay.publish_pending()
    assert lag(store) == {"events": {"behind": 0, "waiting_seconds": 0.0}}


def test_the_pause_after_a_failure_starts_short_again_once_the_relay_has_published(setup, database_url):
    """Outages one after the other (a broker restart, then a database restart) each start at the
    shortest pause: before, the second waited on from where the first had left off (16 s)."""
    store, publisher, _ = setup

    class Flaky:
        """The relay, failing as the outcomes say (True: it publishes)."""

        def __init__(self, relay, outcomes):
            self.relay, self.outcomes = relay, list(outcomes)

        def __getattr__(self, name):
            return getattr(self.relay, name)

        def publish_pending(self):
            if not self.outcomes.pop(0):
                raise ConnectionRefusedError(111, "Connection refused")
            return 0

    runner = RelayRunner(Flaky(Relay(store, publisher, SERVICE), [False, False, False, True, False]),
                         database_url, poll_interval=0.05)
    pauses = []

    def pause(seconds):  # instead of sleeping, note how long it would have slept
        pauses.append(seconds)
        if len(pauses) == 4:
            runner.stop()
        return runner.stopping.is_set()

    runner.stopping.wait = pause
    thread = run_in_thread(runner)
    thread.join(timeout=10)
    assert pauses == [0.5, 1.0, 2.0, 0.5]
