"""The confirmed publisher (helpdesk.messaging.Publisher) outlives its connection: after the
broker drops it (as a RabbitMQ restart does), the next declare or publish works on a new one
(issue 10, finding 4: the inbound mail endpoint answered 451 to every mail until restarted).

The broker is reached through a TCP relay the test controls, so "the broker went away" is a
real cut of every open socket, then refused connections, without touching the shared broker."""
import contextlib
import socket
import uuid
from urllib.parse import urlsplit, urlunsplit

import eventlet
import kombu
import pytest

from helpdesk import messaging, testing
from helpdesk.events import NewEvent
from helpdesk.eventstore import PostgresEventStore
from helpdesk.messaging import Publisher, events_exchange
from helpdesk.relay import Relay

QUEUE = "publisher.recovery"


class Cuttable:
    """A TCP relay to the broker: `cut()` closes every connection through it, as a broker
    restart does; while `down`, new connections are refused."""

    def __init__(self, target):
        self.target, self.down, self.pipes, self.pumps = target, False, [], []
        self.listener = eventlet.listen(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.server = eventlet.spawn(self._serve)

    def _serve(self):
        while True:
            client, _ = self.listener.accept()
            if self.down:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self.pipes += [client, upstream]
            self.pumps += [eventlet.spawn(self._pump, client, upstream), eventlet.spawn(self._pump, upstream, client)]

    @staticmethod
    def _pump(source, sink):
        with contextlib.suppress(OSError, EOFError):  # eventlet says EOFError for a socket closed under it
            while data := source.recv(65536):
                sink.sendall(data)
        _close(source, sink)

    def cut(self):
        for pump in self.pumps:  # first, so no green thread is left reading a closed descriptor
            pump.kill()
        _close(*self.pipes)
        self.pipes, self.pumps = [], []

    def close(self):
        self.cut()
        self.server.kill()
        self.listener.close()


def _close(*sockets):
    for end in sockets:
        with contextlib.suppress(OSError):
            end.close()


@pytest.fixture
def relay_and_uri(vhost):
    _, uri = vhost
    parts = urlsplit(uri)
    relay = Cuttable((parts.hostname, parts.port))
    yield relay, urlunsplit(parts._replace(netloc=f"{parts.username}:{parts.password}@127.0.0.1:{relay.port}"))
    relay.close()


def test_declare_and_publish_work_again_after_the_broker_dropped_the_connection(vhost, relay_and_uri):
    relay, through_relay = relay_and_uri
    publisher = Publisher(through_relay, confirm_timeout=5)
    queue = kombu.Queue(QUEUE, durable=True)
    publisher.declare(queue)
    publisher.publish({"n": 1}, routing_key=QUEUE, message_id="m1")
    relay.cut()
    publisher.declare(queue)  # the call that kept failing on the dead connection
    publisher.publish({"n": 2}, routing_key=QUEUE, message_id="m2")
    relay.cut()
    publisher.publish({"n": 3}, routing_key=QUEUE, message_id="m3")
    publisher.close()
    assert [body["n"] for body in testing.drain(vhost[1], QUEUE, 4, timeout=1)] == [1, 2, 3]


def test_while_the_broker_is_away_calls_fail_and_the_first_after_it_is_back_works(vhost, relay_and_uri):
    relay, through_relay = relay_and_uri
    publisher = Publisher(through_relay, confirm_timeout=2)
    queue = kombu.Queue(QUEUE, durable=True)
    publisher.declare(queue)
    relay.down = True
    relay.cut()
    with pytest.raises(Exception):
        publisher.declare(queue)
    with pytest.raises(Exception):
        publisher.check(QUEUE)
    relay.down = False
    publisher.check(QUEUE)  # the broker answers again, and has the queue
    publisher.publish({"n": 1}, routing_key=QUEUE)
    publisher.close()
    assert testing.drain(vhost[1], QUEUE, 2, timeout=1) == [{"n": 1}]


def test_check_fails_for_a_queue_the_broker_does_not_have(vhost):
    publisher = Publisher(vhost[1], confirm_timeout=2)
    with pytest.raises(Exception):
        publisher.check("no.such.queue")
    publisher.declare(kombu.Queue(QUEUE, durable=True))
    publisher.check(QUEUE)  # and the failed check left nothing broken behind
    publisher.close()


def test_a_window_cut_off_while_it_is_sent_is_not_checkpointed_and_goes_out_whole_once_back(
        vhost, relay_and_uri, db, schema, monkeypatch):
    relay, through_relay = relay_and_uri
    store = PostgresEventStore(db, schema)
    for i in range(6):
        store.append(f"thing-{uuid.uuid4()}", [NewEvent("Happened", {"i": i})])
    testing.bind_queue(vhost[1], events_exchange("svc"), "watch")
    outbox = Relay(store, Publisher(through_relay, confirm_timeout=2), "svc")
    sent, lost = messaging._Confirms.sent, []

    def broker_lost_at_the_third(confirms):
        sent(confirms)
        if confirms.published == 3 and not lost:
            lost.append(True)
            relay.down = True
            relay.cut()

    monkeypatch.setattr(messaging._Confirms, "sent", broker_lost_at_the_third)
    with pytest.raises(Exception):
        outbox.publish_pending()
    assert outbox.checkpoint() == 0
    relay.down = False
    assert outbox.publish_pending() == 6
    assert outbox.checkpoint() == store.head()
    arrived = [body["data"]["i"] for body in testing.drain(vhost[1], "watch", 20, timeout=1)]
    assert arrived[-6:] == list(range(6)) and set(arrived[:-6]) <= set(range(3))  # what reached it first, again
    outbox.publisher.close()
