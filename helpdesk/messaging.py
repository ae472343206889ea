"""AMQP topology and confirmed publishing, written once for the relay, consumers and tools.

Topology of one subscription (consumer service C reading source service S's events):

    S.events (topic exchange, nameko's naming)
      └─ '#' ─> C.from.S                      main queue: every event type, so a stream has no gaps
    C.from.S.retry.<n>s  (TTL n s, dead-letters back to C.from.S)   one queue per retry delay
    C.from.S.dlq                                                    where exhausted messages wait

Subscription queues are declared by `helpdesk.migrate` at deploy time as well as by the consumer
at start-up, so events published before a consumer first starts are kept, not dropped.

**Queue types.** Every durable queue we declare is made by `durable_queue`, of the type the
configuration says (`BROKER.queue_type`: `classic` for one development node, `quorum` for a
cluster: replicated on a majority of nodes, so a node lost loses no message). A quorum queue
that is consumed also has a delivery limit: a message handed out DELIVERY_LIMIT times without
an ack (a consumer dying on it, again and again) goes to its dead-letter queue, at least once
(`x-dead-letter-strategy`), instead of looping forever. RabbitMQ refuses to declare an existing
queue with other arguments, so a deployment changes type with `python -m helpdesk.queues`
(docs/operations.md). Transient queues (RPC replies, the gateway's live feeds) stay classic and
non-durable: they belong to one connection and die with it.
"""
import contextlib
import dataclasses
import json
import threading
import time

import kombu

PERSISTENT = 2
RETRY_COUNT_HEADER = "x-helpdesk-retries"
ERROR_HEADER = "x-helpdesk-error"


CLASSIC, QUORUM = "classic", "quorum"
QUEUE_TYPES = (CLASSIC, QUORUM)
DELIVERY_LIMIT = 20  # deliveries of one message without an ack before a quorum queue dead-letters it


def queue_type(config):
    """The type of every durable queue (config.yaml `BROKER.queue_type`), checked."""
    chosen = str(((config or {}).get("BROKER") or {}).get("queue_type") or CLASSIC).strip().lower()
    if chosen not in QUEUE_TYPES:
        raise ValueError(f"BROKER.queue_type {chosen!r}: choose one of {', '.join(QUEUE_TYPES)}")
    return chosen


def rpc_confirms(config):
    """Whether RPC requests and answers wait for the broker's confirm (`BROKER.rpc_confirms`;
    unset: on quorum queues, that is on a cluster). On one node a lost request is the broker's
    crash, which a confirm would not save; on a cluster a node dies under live connections, and a
    publisher that never waits never learns its connection is gone (extensions._ConfirmedReplyPublisher)."""
    value = str(((config or {}).get("BROKER") or {}).get("rpc_confirms") or "").strip().lower()
    if value in ("", "auto"):
        return queue_type(config) == QUORUM
    return value in ("1", "true", "yes", "on")


def durable_queue(name, kind=CLASSIC, *, exchange=None, routing_key=None, arguments=None, consumed=False,
                  dead_letters=None):
    """A durable queue of type `kind`. `arguments`: its own (TTL, dead-lettering); `consumed`: a
    consumer takes from it (a quorum queue then has DELIVERY_LIMIT, and dead-letters to the queue
    named `dead_letters`, when given)."""
    arguments = dict(arguments or {})
    if kind == QUORUM:
        arguments["x-queue-type"] = QUORUM
        if consumed:
            arguments["x-delivery-limit"] = DELIVERY_LIMIT
            if dead_letters:
                arguments.update({"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead_letters})
        if "x-dead-letter-exchange" in arguments:  # nothing dead-lettered is lost (RabbitMQ 3.10+)
            arguments.update({"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"})
    return kombu.Queue(name, exchange=exchange, routing_key=routing_key or "", durable=True,
                       queue_arguments=arguments or None)


def retrying_queues(name, retry_delays, kind=CLASSIC, *, exchange=None, routing_key=None):
    """(main, retry queues in order, dead-letter queue) of a consumed queue `name`: each retry
    queue holds a message its delay (TTL), then dead-letters it back to the main queue."""
    main = durable_queue(name, kind, exchange=exchange, routing_key=routing_key, consumed=True,
                         dead_letters=dead_letter_queue_name(name))
    retries = [
        durable_queue(retry_queue_name(name, delay), kind, arguments={
            "x-message-ttl": int(delay * 1000), "x-dead-letter-exchange": "", "x-dead-letter-routing-key": name})
        for delay in retry_delays
    ]
    return main, retries, durable_queue(dead_letter_queue_name(name), kind)


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


def subscription_queues(consumer, source, retry_delays, kind=CLASSIC):
    """(main queue, retry queues in order, dead-letter queue) of a subscription."""
    return retrying_queues(subscription_queue_name(consumer, source), retry_delays, kind,
                           exchange=events_exchange(source), routing_key="#")


def declare_queues(connection, queues):
    channel = connection.channel()
    try:
        for queue in queues:
            queue(channel).declare()
    finally:
        channel.close()


def declare_subscription(connection, consumer, source, retry_delays, kind=CLASSIC):
    main, retries, dlq = subscription_queues(consumer, source, retry_delays, kind)
    declare_queues(connection, (main, *retries, dlq))
    return main, retries, dlq


def move_messages(connection, publisher, source, target, limit=None, drop_headers=("x-delivery-count",)):
    """Moves up to `limit` (all when None) messages of queue `source` to queue `target` (the
    default exchange), in order, properties and headers kept but `drop_headers`: each published
    with a confirm, then acked, so a crash duplicates, never loses. Returns how many. Used to
    replay dead letters (helpdesk.dlq) and to change a queue's type (helpdesk.queues)."""
    channel = connection.channel()
    moved = 0
    try:
        while limit is None or moved < limit:
            message = channel.basic_get(source, no_ack=False)
            if message is None:
                break
            properties = {name: value for name, value in message.properties.items()
                          if name not in ("application_headers", "message_id", "content_type", "delivery_mode",
                                          "content_encoding")}
            headers = {k: v for k, v in (message.headers or {}).items() if k not in drop_headers}
            publisher.publish(message.body, routing_key=target, headers=headers,
                              message_id=message.properties.get("message_id"),
                              content_type=message.properties.get("content_type") or "application/json", **properties)
            channel.basic_ack(message.delivery_info["delivery_tag"])
            moved += 1
    finally:
        channel.close()
    return moved


@dataclasses.dataclass(frozen=True)
class Message:
    """One message for `Publisher.publish_many`. `properties`: further AMQP properties."""

    body: object
    routing_key: str
    exchange: str = ""
    headers: dict | None = None
    message_id: str | None = None
    content_type: str = "application/json"
    properties: dict = dataclasses.field(default_factory=dict)


class MessageNacked(Exception):
    """The broker refused responsibility for a message of the window (a basic.nack)."""


class _Confirms:
    """What the broker has confirmed on one channel in confirm mode. RabbitMQ numbers the
    messages of such a channel 1, 2, … in publish order and acks or nacks them, possibly several
    at once (`multiple`: every tag up to this one), in any order."""

    def __init__(self, channel):
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        self.published = 0
        self.unconfirmed = set()
        self.nacked = 0

    def sent(self):
        self.published += 1
        self.unconfirmed.add(self.published)

    def _settle(self, delivery_tag, multiple):
        if multiple:
            settled = {tag for tag in self.unconfirmed if tag <= delivery_tag}
        else:
            settled = {delivery_tag} & self.unconfirmed
        self.unconfirmed -= settled
        return len(settled)

    def _on_ack(self, delivery_tag, multiple):
        self._settle(delivery_tag, multiple)

    def _on_nack(self, delivery_tag, multiple):
        self.nacked += self._settle(delivery_tag, multiple)


class Publisher:
    """Publishes persistent messages and waits for the broker's confirms before returning.

    One connection, one channel in confirm mode, serialized by a lock (green under eventlet): a
    returned `publish()` or `publish_many()` means the broker has taken responsibility for every
    message. `publish_many` sends a whole window and then waits once for its confirms: one round
    trip per window instead of one per message (issue 11); a nack or a timeout fails the window.

    It outlives the broker: any failure drops the connection (its state is unknown), and a
    call that meets a connection that died while idle (a broker restart, a closed connection)
    is tried once more on a fresh one before it fails (not a nack: the broker said no). A
    publish tried twice may reach the broker twice (a window, all of it); every consumer here
    dedupes by message id.
    """

    def __init__(self, amqp_uri, confirm_timeout=10):
        self.amqp_uri = amqp_uri
        self.confirm_timeout = confirm_timeout
        self._lock = threading.Lock()
        self._connection = None
        self._producer = None
        self._confirms = None

    def _ensure(self):
        if self._connection is None:
            connection = kombu.Connection(self.amqp_uri, transport_options={
                # connecting: a few quick tries, not kombu's default of seconds per call, so that
                # an outage fails a call (451, 503) fast instead of holding it
                "max_retries": 2, "interval_start": 0.1, "interval_step": 0.2, "interval_max": 0.5,
            })
            try:
                channel = connection.default_channel
                self._confirms = _Confirms(channel)
            except Exception:  # not kept, so not released by _reset: release it here
                with contextlib.suppress(Exception):
                    connection.release()
                raise
            self._connection, self._producer = connection, kombu.Producer(channel)
        return self._producer

    def _run(self, action):
        """`action(producer)` under the lock, on a fresh connection after any failure."""
        with self._lock:
            reused = self._connection is not None
            try:
                return action(self._ensure())
            except Exception as exc:
                self._reset()
                if not reused or isinstance(exc, MessageNacked):  # a nack is an answer, not a dead connection
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

    def message_counts(self, queue_names):
        """{queue: messages ready in it}, by passive declares (cheap: no message is touched);
        raises unless the broker answers and knows each queue."""
        def count(producer):
            return {name: producer.channel.queue_declare(queue=name, passive=True).message_count
                    for name in queue_names}
        return self._run(count)

    def check_exchange(self, name):
        """Raises unless the broker answers and knows the exchange `name` (a passive declare)."""
        self._run(lambda producer: producer.channel.exchange_declare(exchange=name, type="topic", passive=True))

    def publish(self, body, *, routing_key, exchange="", headers=None, message_id=None,
                content_type="application/json", **properties):
        """`properties`: further AMQP properties (type, timestamp, …)."""
        self.publish_many([Message(body, routing_key, exchange, headers, message_id, content_type, properties)])

    def publish_many(self, messages):
        """Publishes `messages` in order, then waits for all their confirms (`confirm_timeout`)."""
        if messages:
            self._run(lambda producer: self._publish_window(producer, messages))

    def _publish_window(self, producer, messages):
        confirms = self._confirms
        for message in messages:
            body = message.body
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body, default=str)
            producer.publish(
                body,
                exchange=message.exchange,
                routing_key=message.routing_key,
                headers=message.headers or {},
                message_id=message.message_id,
                delivery_mode=PERSISTENT,
                content_type=message.content_type,
                content_encoding="utf-8",
                timeout=self.confirm_timeout,
                **message.properties,
            )
            confirms.sent()
        deadline = time.monotonic() + self.confirm_timeout
        while confirms.unconfirmed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{len(confirms.unconfirmed)} of {len(messages)} messages unconfirmed")
            self._connection.drain_events(timeout=remaining)
        if confirms.nacked:
            raise MessageNacked(f"the broker nacked {confirms.nacked} of {len(messages)} messages")

    def _reset(self):
        if self._connection is not None:
            with contextlib.suppress(Exception):  # closing a broken connection may fail too
                self._connection.release()
        self._connection = self._producer = self._confirms = None

    def close(self):
        with self._lock:
            self._reset()
