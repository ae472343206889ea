"""AMQP topology and confirmed publishing, written once for the relay, consumers and tools.

Topology of one subscription (consumer service C reading source service S's events):

    S.events (topic exchange, nameko's naming)
      └─ '#' ─> C.from.S                      main queue: every event type, so a stream has no gaps
    C.from.S.retry.<n>s  (TTL n s, dead-letters back to C.from.S)   one queue per retry delay
    C.from.S.dlq                                                    where exhausted messages wait

Subscription queues are declared by `helpdesk.migrate` at deploy time as well as by the consumer
at start-up, so events published before a consumer first starts are kept, not dropped.
"""
import contextlib
import json
import threading

import kombu

PERSISTENT = 2
RETRY_COUNT_HEADER = "x-helpdesk-retries"
ERROR_HEADER = "x-helpdesk-error"


def events_exchange(service):
    """The same exchange nameko's `event_handler` binds to (`<service>.events`, durable topic)."""
    return kombu.Exchange(f"{service}.events", type="topic", durable=True, delivery_mode=PERSISTENT)


def subscription_queue_name(consumer, source):
    return f"{consumer}.from.{source}"


def retry_queue_name(queue_name, delay_seconds):
    return f"{queue_name}.retry.{_seconds_label(delay_seconds)}s"


def dead_letter_queue_name(queue_name):
    return f"{queue_name}.dlq"


def _seconds_label(delay):
    return str(int(delay)) if float(delay).is_integer() else str(delay).replace(".", "_")


def subscription_queues(consumer, source, retry_delays):
    """(main queue, retry queues in order, dead-letter queue) of a subscription."""
    name = subscription_queue_name(consumer, source)
    main = kombu.Queue(name, exchange=events_exchange(source), routing_key="#", durable=True)
    retries = [
        kombu.Queue(
            retry_queue_name(name, delay),
            durable=True,
            queue_arguments={
                "x-message-ttl": int(delay * 1000),
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": name,
            },
        )
        for delay in retry_delays
    ]
    dlq = kombu.Queue(dead_letter_queue_name(name), durable=True)
    return main, retries, dlq


def declare_subscription(connection, consumer, source, retry_delays):
    main, retries, dlq = subscription_queues(consumer, source, retry_delays)
    channel = connection.channel()
    try:
        for queue in (main, *retries, dlq):
            queue(channel).declare()
    finally:
        channel.close()
    return main, retries, dlq


class Publisher:
    """Publishes persistent messages and waits for the broker's confirm before returning.

    One connection, one channel, serialized by a lock (green under eventlet): a returned
    `publish()` means the broker has taken responsibility for the message.

    It outlives the broker: any failure drops the connection (its state is unknown), and a
    call that meets a connection that died while idle (a broker restart, a closed connection)
    is tried once more on a fresh one before it fails. A publish tried twice may reach the
    broker twice; every consumer here dedupes by message id.
    """

    def __init__(self, amqp_uri, confirm_timeout=10):
        self.amqp_uri = amqp_uri
        self.confirm_timeout = confirm_timeout
        self._lock = threading.Lock()
        self._connection = None
        self._producer = None

    def _ensure(self):
        if self._connection is None:
            self._connection = kombu.Connection(self.amqp_uri, transport_options={
                "confirm_publish": True,
                # connecting: a few quick tries, not kombu's default of seconds per call, so that
                # an outage fails a call (451, 503) fast instead of holding it
                "max_retries": 2, "interval_start": 0.1, "interval_step": 0.2, "interval_max": 0.5,
            })
            self._producer = kombu.Producer(self._connection)
        return self._producer

    def _run(self, action):
        """`action(producer)` under the lock, on a fresh connection after any failure."""
        with self._lock:
            reused = self._connection is not None
            try:
                return action(self._ensure())
            except Exception:
                self._reset()
                if not reused:
                    raise
            try:  # the connection had died while idle: once more, on a new one
                return action(self._ensure())
            except Exception:
                self._reset()
                raise

    def declare(self, *entities):
        def declare_all(producer):
            for entity in entities:
                entity(producer.channel).declare()
        self._run(declare_all)

    def check(self, queue_name):
        """Raises unless the broker answers, and knows `queue_name` (a passive declare)."""
        self._run(lambda producer: producer.channel.queue_declare(queue=queue_name, passive=True))

    def publish(self, body, *, routing_key, exchange="", headers=None, message_id=None,
                content_type="application/json", **properties):
        """`properties`: further AMQP properties (type, timestamp, …)."""
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body, default=str)
        self._run(lambda producer: producer.publish(
            body,
            exchange=exchange,
            routing_key=routing_key,
            headers=headers or {},
            message_id=message_id,
            delivery_mode=PERSISTENT,
            content_type=content_type,
            content_encoding="utf-8",
            retry=True,
            retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5},
            timeout=self.confirm_timeout,
            **properties,
        ))

    def _reset(self):
        if self._connection is not None:
            with contextlib.suppress(Exception):  # closing a broken connection may fail too
                self._connection.release()
        self._connection = self._producer = None

    def close(self):
        with self._lock:
            self._reset()
