"""nameko glue for the library: every service gets the store, relay, inbox and subscriber from here.

- `EventStore()`: the service's PostgreSQL event store; also runs the service's outbox relay.
- `subscribe(source)`: entrypoint for every event of `source`, acked only after the handler's
  transaction committed; a failure is retried after each configured delay, then dead-lettered.
- `Inbox(source)`: exactly-once, in-order application (see `helpdesk.inbox`), healing gaps over
  the owner's `read_stream` RPC.
- `StreamOwner` / `Health`: mixins adding the `read_stream` and `ping` RPCs.
- `Metrics()`: the service's gauges and readiness for helpdesk.metrics, and the process's
  /metrics and /healthz endpoint on METRICS_PORT (every service declares it, the gateway too).
- `rpc`: nameko's RPC entrypoint, except that an answer the broker cannot take does not kill
  the service (every service's RPCs use this one).
"""
import functools
import inspect
import logging
import threading
import traceback
import warnings

import amqp.exceptions
import kombu
import kombu.exceptions
import nameko.amqp.publish
import nameko.constants
import nameko.messaging
import nameko.rpc
import nameko.timer
from marshmallow import ValidationError
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.exceptions import IncorrectSignature
from nameko.extensions import DependencyProvider, SharedExtension
from nameko.messaging import Consumer
from nameko.standalone.rpc import ServiceRpcProxy

from . import catalog, metrics
from . import db as dbmod
from .events import ENVELOPE
from .eventstore import PostgresEventStore
from .inbox import DEFAULT_BATCH_SIZE
from .inbox import Inbox as InboxCore
from .messaging import (
    ERROR_HEADER,
    RETRY_COUNT_HEADER,
    Publisher,
    declare_subscription,
    durable_queue,
    queue_type,
    rpc_confirms,
)
from .outages import is_outage
from .relay import Relay, RelayRunner
from .relay import lag as relay_lag

log = logging.getLogger(__name__)

DEFAULT_RETRY_DELAYS = (1, 5, 30)


def consumer_settings(config):
    settings = config.get("CONSUMER") or {}
    return {
        "retry_delays": list(settings.get("retry_delays") or DEFAULT_RETRY_DELAYS),
        "gap_timeout": float(settings.get("gap_timeout", 5)),
        "batch_size": int(settings.get("batch_size") or DEFAULT_BATCH_SIZE),
    }


# What publishing an answer raises when the broker is gone (restarting, unreachable).
BROKER_ERRORS = (kombu.exceptions.OperationalError, amqp.exceptions.ConnectionError,
                 amqp.exceptions.RecoverableConnectionError, OSError)


# A message that waited out outages says how many (the retry queue it goes to grows with it).
OUTAGE_COUNT_HEADER = "x-helpdesk-outages"


class QueueConsumer(nameko.messaging.QueueConsumer):
    """nameko's consumer of every queue of a service, whose ack and requeue ignore a dead
    connection as nameko means to: it catches amqp's ConnectionError, but a connection the broker
    reset raises the socket's ConnectionResetError (an OSError), which escaped from the thread
    and killed the whole container: a RabbitMQ restart ended the gateway (an RPC reply acked as
    the broker went down; tests/e2e/test_fault_tolerance.py). The broker takes an unacked
    message back when its channel dies, so there is nothing else to do."""

    def ack_message(self, message):
        _despite_a_dead_connection(super().ack_message, message, "ack", "the broker delivers it again")

    def requeue_message(self, message):
        _despite_a_dead_connection(super().requeue_message, message, "requeue", "the broker takes it back anyway")


def _despite_a_dead_connection(action, message, what, outcome):
    try:
        action(message)
    except BROKER_ERRORS as exc:
        log.warning("%s of %s on a dead connection (%s): %s", what,
                    message.properties.get("message_id") or message.properties.get("correlation_id"), exc, outcome)


class _ReplyPublisher(nameko.amqp.publish.Publisher):
    """Publishes RPC answers without waiting for the broker's confirm, transient. nameko needs
    confirms on requests (they tell an unknown service), not on answers: an answer lost with the
    broker is the caller's timeout, a 503 its client retries with the same Idempotency-Key, and
    its queue is the caller's own, exclusive and gone with it. A confirm per answer was a broker
    round trip on every call (issue 11)."""

    use_confirms = False
    delivery_mode = 1  # transient


class _Responder(nameko.rpc.Responder):
    publisher_cls = _ReplyPublisher


class _ConfirmedReplyPublisher(_ReplyPublisher):
    """On a cluster (messaging.rpc_confirms): a publisher that never waits for the broker never
    reads from its connection either, so a connection or channel the broker closed (its node
    died) swallows every answer after it without an error, for good; waiting for the confirm
    notices at once, and nameko's retry publishes again on a new connection."""

    use_confirms = True


class _ConfirmedResponder(nameko.rpc.Responder):
    publisher_cls = _ConfirmedReplyPublisher


class RpcConsumer(nameko.rpc.RpcConsumer):
    """nameko's, its requests queue (`rpc-<service>`) of the configured type (a quorum queue in
    a cluster: requests survive the loss of a node; messaging.durable_queue)."""

    queue_consumer = QueueConsumer()

    def setup(self):
        if self.queue is None:
            super().setup()
            self.queue = durable_queue(self.queue.name, queue_type(self.container.config), exchange=self.queue.exchange,
                                       routing_key=self.queue.routing_key, consumed=True)

    def handle_result(self, message, result, exc_info):
        """nameko's, answering through _Responder."""
        config = self.container.config
        responder = (_ConfirmedResponder if rpc_confirms(config) else _Responder)(
            config[AMQP_URI_CONFIG_KEY], nameko.rpc.get_rpc_exchange(config),
            config.get(nameko.constants.SERIALIZER_CONFIG_KEY, nameko.constants.DEFAULT_SERIALIZER),
            message, ssl=config.get(nameko.constants.AMQP_SSL_CONFIG_KEY),
            login_method=config.get(nameko.constants.LOGIN_METHOD_CONFIG_KEY))
        result, exc_info = responder.send_response(result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info


class ReplyListener(nameko.rpc.ReplyListener):
    """nameko's, its reply queue transient and exclusive to this process's connection (nameko's
    is durable and shared). In a cluster, the node holding it may die: a durable queue could not
    be declared again elsewhere until that node came back, and a shared one declared again a
    moment after (before the cluster has forgotten the dead copy) can be taken for the dead copy:
    the caller then consumes from nothing and every reply is lost, for good (found by
    tests/cluster). An exclusive queue dies with its connection, and declaring it again while the
    dead copy is remembered is refused (RESOURCE_LOCKED): the consumer reconnects until it is
    forgotten, then has a queue of its own again."""

    queue_consumer = QueueConsumer()

    def setup(self):
        super().setup()
        self.queue.durable, self.queue.exclusive, self.queue.auto_delete = False, True, True


class RpcProxy(nameko.rpc.RpcProxy):
    """nameko's RpcProxy, its replies consumed by the QueueConsumer above, its requests published
    without waiting for the broker's confirm. nameko waits for one to tell a service whose queue
    was never declared (UnknownService); ours are declared at the first start and outlive it, so
    a stopped service meant the caller's timeout either way (a 503 its client may retry), and the
    confirm cost a broker round trip on every call (issue 11). A request the broker loses in a
    crash is the same timeout. Without confirms nameko warns, on each call, that it cannot tell
    an unroutable request: said once here instead."""

    rpc_reply_listener = ReplyListener()

    def __init__(self, target_service, **options):
        options.setdefault("use_confirms", False)
        super().__init__(target_service, **options)

    def setup(self):
        super().setup()
        self.options["use_confirms"] = rpc_confirms(self.container.config)  # see _ConfirmedReplyPublisher


warnings.filterwarnings("ignore", message="Mandatory delivery was requested, but unroutable messages cannot be"
                        " detected without publish confirms enabled", module="nameko.amqp.publish")


class SignatureCheckedOnce:
    """For an entrypoint: nameko checks each call's arguments with `inspect.getcallargs`, which
    works the method's signature out again on every call (2% of the gateway's CPU per request,
    issue 11); here it is worked out once and each call only binds to it."""

    _signature = None

    def check_signature(self, args, kwargs):
        if self._signature is None:
            self._signature = inspect.signature(getattr(self.container.service_cls, self.method_name),
                                                follow_wrapped=False)  # as getcallargs reads it
        try:
            self._signature.bind(None, *args, **kwargs)  # None: the service instance, unbound
        except TypeError as exc:
            raise IncorrectSignature(str(exc)) from None


class Rpc(SignatureCheckedOnce, nameko.rpc.Rpc):
    """nameko's RPC entrypoint, except when the answer cannot be published because the broker is
    gone. nameko raises that out of the worker, and an error escaping a worker kills the whole
    container: a RabbitMQ restart while a request was being worked on ended the service process
    (found by tests/e2e/test_fault_tolerance.py). Here it is logged and the request is left
    unacknowledged: its channel died with the connection, so the broker delivers it again once
    it is back (the caller, which got no answer, has timed out and answered 503; commands are
    idempotent by key or by the domain's own checks). Its requests are consumed by the
    QueueConsumer above: every RPC entrypoint of a service must be this one (nameko's would
    share nothing with it)."""

    rpc_consumer = RpcConsumer()

    def handle_result(self, message, worker_ctx, result, exc_info):
        metrics.rpc_answered(self.container.service_name, self.method_name, exc_info)
        try:
            return super().handle_result(message, worker_ctx, result, exc_info)
        except BROKER_ERRORS as exc:
            log.warning("%s: could not answer %s (%s: %s); the broker will deliver the request again",
                        self.container.service_name, worker_ctx.call_id, type(exc).__name__, exc)
            return result, exc_info


rpc = Rpc.decorator


class ConfiguredTimer(nameko.timer.Timer):
    """nameko's timer, its interval read from the service's configuration when the service
    starts (`setting`, else `default` seconds) rather than fixed when the class is defined."""

    def __init__(self, setting, default, **kwargs):
        self.setting, self.default = setting, default
        super().__init__(interval=default, **kwargs)

    def start(self):
        self.interval = float(self.container.config.get(self.setting) or self.default)
        super().start()


configured_timer = ConfiguredTimer.decorator


class SharedDatabase(SharedExtension):
    """One connection pool per service process (DB_POOL_SIZE, default 5): workers beyond it wait
    for a connection rather than fail, and six services stay far below a server's default 100
    connections. Created on first use: nameko sets extensions up concurrently, in no fixed order."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self._database = None

    @property
    def database(self):
        with self._lock:
            if self._database is None:
                size = int(self.container.config.get("DB_POOL_SIZE") or 5)
                self._database = dbmod.Database(self.container.config["DATABASE_URL"], size=size)
            return self._database

    def stop(self):
        if self._database is not None:
            self._database.close()


class Database(DependencyProvider):
    shared = SharedDatabase()

    def get_dependency(self, worker_ctx):
        return self.shared.database


class Application(DependencyProvider):
    """A service's handlers (helpdesk.application), wired once per process by
    `wire(config, database)` on first use, for services whose handlers hold no per-worker part."""

    shared = SharedDatabase()

    def __init__(self, wire, **kwargs):
        self.wire = wire
        self._application = None
        self._lock = threading.Lock()
        super().__init__(**kwargs)

    def get_dependency(self, worker_ctx):
        with self._lock:
            if self._application is None:
                self._application = self.wire(self.container.config, self.shared.database)
            return self._application


class EventStore(DependencyProvider):
    """The service's event store (schema = service name). `publish=True` runs its relay;
    `relays` adds more: dicts of Relay's keyword arguments (name, exchange, categories, message)."""

    shared = SharedDatabase()

    def __init__(self, publish=True, upcasters=None, relays=(), **kwargs):
        self.publish, self.upcasters, self.relays = publish, upcasters, relays
        self.runners = []
        super().__init__(**kwargs)

    def setup(self):
        self.store = PostgresEventStore(
            self.shared.database, self.container.service_name, self.upcasters
        )

    def start(self):
        if not self.publish:
            return
        config = self.container.config
        for extra in ({}, *self.relays):
            publisher = Publisher(config[AMQP_URI_CONFIG_KEY])  # one channel per relay
            runner = RelayRunner(Relay(self.store, publisher, self.container.service_name, **extra),
                                 config["DATABASE_URL"])
            self.runners.append((runner, self.container.spawn_managed_thread(runner.run), publisher))

    def stop(self):
        for runner, thread, publisher in self.runners:
            runner.stop()
            thread.kill()
            publisher.close()

    def get_dependency(self, worker_ctx):
        return self.store


class EventSubscriber(Consumer):
    """Consumes every event `source` publishes, from a durable queue owned by this service.
    `newest_handled`: the epoch seconds of the latest occurred_at among the events it handled
    (None before the first), for the consumer's lag (helpdesk.metrics.CONSUMER_LAG_SECONDS)."""

    queue_consumer = QueueConsumer()
    newest_handled = None

    def __init__(self, source, **kwargs):
        self.source = source
        super().__init__(queue=None, **kwargs)

    def setup(self):
        config = self.container.config
        self.retry_delays = consumer_settings(config)["retry_delays"]
        with kombu.Connection(config[AMQP_URI_CONFIG_KEY]) as connection:
            self.queue, self.retry_queues, self.dlq = declare_subscription(
                connection, self.container.service_name, self.source, self.retry_delays, queue_type(config)
            )
        self.publisher = Publisher(config[AMQP_URI_CONFIG_KEY])
        super().setup()

    def stop(self):
        super().stop()
        self.publisher.close()

    def handle_message(self, body, message):
        try:
            event = ENVELOPE.load(body)
        except (ValidationError, TypeError) as exc:
            # Malformed: no retry can fix it. Park it where ops can see it.
            self._forward(message, self.dlq.name, f"malformed envelope: {exc}", retries=0)
            return
        try:
            self.container.spawn_worker(
                self, (event,), {},
                context_data=self.unpack_message_headers(message),
                handle_result=functools.partial(self.handle_result, message),
            )
        except Exception:  # container being killed: give the message back
            self.queue_consumer.requeue_message(message)

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            occurred = getattr(worker_ctx.args[0] if worker_ctx.args else None, "occurred_at", None)
            if occurred is not None:
                self.newest_handled = max(self.newest_handled or 0.0, occurred.timestamp())
            return result, exc_info
        retries = int((message.headers or {}).get(RETRY_COUNT_HEADER, 0))
        error = "".join(traceback.format_exception_only(exc_info[0], exc_info[1])).strip()
        if is_outage(exc_info[1]) and self.retry_queues:
            # Not the message's fault: it waits out the outage and keeps its retries. Counting it
            # dead-lettered every event that arrived in a database restart longer than the
            # retry delays together (issue 10's fault test: 0.7 s in tests, 36 s by default).
            outages = int((message.headers or {}).get(OUTAGE_COUNT_HEADER, 0))
            target = self.retry_queues[min(outages, len(self.retry_queues) - 1)].name
            log.warning("%s: %s waits out an outage (%d): %s", self.queue.name,
                        message.properties.get("message_id"), outages + 1, error)
            self._forward(message, target, error, retries, outages=outages + 1)
            return result, exc_info
        if retries < len(self.retry_queues):
            target = self.retry_queues[retries].name
            log.warning("%s: retry %d of %s after %s", self.queue.name, retries + 1,
                        message.properties.get("message_id"), error)
        else:
            target = self.dlq.name
            log.error("%s: dead-lettering %s after %d retries: %s", self.queue.name,
                      message.properties.get("message_id"), retries, error)
        self._forward(message, target, error, retries + 1)
        return result, exc_info

    def _forward(self, message, queue_name, error, retries, outages=None):
        """Republishes to a retry queue or the DLQ (confirmed), and only then acks the original."""
        headers = dict(message.headers or {})
        headers[RETRY_COUNT_HEADER] = retries
        headers[ERROR_HEADER] = error[:1000]
        if outages is not None:
            headers[OUTAGE_COUNT_HEADER] = outages
        try:
            self.publisher.publish(
                message.body,
                routing_key=queue_name,
                headers=headers,
                message_id=message.properties.get("message_id"),
                content_type=message.content_type or "application/json",
            )
        except Exception:
            log.exception("%s: could not forward to %s; requeueing", self.queue.name, queue_name)
            self.queue_consumer.requeue_message(message)
            return
        self.queue_consumer.ack_message(message)


subscribe = EventSubscriber.decorator


class Inbox(DependencyProvider):
    """Exactly-once, ordered application of `source`'s events inside this service's schema; the
    subscriber's concurrent workers commit their deliveries in batches (CONSUMER.batch_size, 1: each
    alone; see helpdesk.inbox)."""

    shared = SharedDatabase()

    def __init__(self, source, **kwargs):
        self.source = source
        super().__init__(**kwargs)

    def setup(self):
        settings = consumer_settings(self.container.config)
        self.inbox = InboxCore(
            self.shared.database,
            schema=self.container.service_name,
            consumer=f"{self.container.service_name}.{self.source}",
            fetch_stream=self._fetch_stream,
            gap_timeout=settings["gap_timeout"],
            batch_size=settings["batch_size"],
        )

    def _fetch_stream(self, stream, from_position):
        with ServiceRpcProxy(self.source, self.container.config) as owner:
            envelopes = owner.read_stream(stream, from_position)
        return [ENVELOPE.load(envelope) for envelope in envelopes]

    def get_dependency(self, worker_ctx):
        return self.inbox


class CatalogProvider(DependencyProvider):
    """The provider's catalogue (helpdesk.catalog), loaded once per service process."""

    def setup(self):
        self.catalog = catalog.load(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.catalog


class MetricsProbe(SharedExtension):
    """The container's helpdesk.metrics.Probe, read at every scrape while the container runs, and
    the process's endpoint on METRICS_PORT (shared by the containers of the process)."""

    probe = None
    endpoint = None
    publisher = None

    def start(self):
        container = self.container
        config = container.config
        self.publisher = Publisher(config[AMQP_URI_CONFIG_KEY])
        dependencies, entrypoints = container.dependencies, container.entrypoints
        stores = [d.store for d in dependencies if isinstance(d, EventStore)]
        inboxes = [d.inbox for d in dependencies if isinstance(d, Inbox)]
        databases = {id(d.shared): d.shared for d in dependencies if isinstance(getattr(d, "shared", None), SharedDatabase)}
        subscribers = sorted((e for e in entrypoints if isinstance(e, EventSubscriber)), key=lambda e: e.source)
        subscriptions = [(e.source, e.queue.name, e.dlq.name, lambda e=e: e.newest_handled) for e in subscribers]

        def relays():
            return {name: lag for store in stores for name, lag in relay_lag(store).items()}

        def reach_database():
            for shared in databases.values():
                with shared.database.transaction() as cur:
                    cur.execute("SELECT 1")

        def reach_broker():
            if subscriptions:  # its own queues, which it consumes
                self.publisher.message_counts([queue for _, queue, _, _ in subscriptions])
            else:  # the exchange of every RPC it makes (the gateway)
                self.publisher.check_exchange(nameko.rpc.get_rpc_exchange(config).name)

        checks = ([("database", reach_database)] if databases else []) + [("broker", reach_broker)]
        self.probe = metrics.Probe(container.service_name, relays=relays, subscriptions=subscriptions,
                                   depths=self.publisher.message_counts,
                                   parked=lambda: {inbox.source: inbox.parked() for inbox in inboxes},
                                   checks=checks)
        metrics.add_probe(self.probe)
        port = metrics.port_from(config)
        if port:
            self.endpoint = metrics.Endpoint.use(port)

    def stop(self):
        if self.probe is not None:
            metrics.remove_probe(self.probe)
        if self.endpoint is not None:
            self.endpoint.release()
            self.endpoint = None
        if self.publisher is not None:
            self.publisher.close()


class Metrics(DependencyProvider):
    """Declared once by every service (`metrics = Metrics()`): its gauges and readiness reach
    helpdesk.metrics, and its process serves them on METRICS_PORT. The worker gets the Probe
    (Health.ping reports its consumers' lag)."""

    shared = MetricsProbe()

    def get_dependency(self, worker_ctx):
        return self.shared.probe


class Health:
    """Mixin: `ping` answers when the service's workers, and its database if it has one, answer.
    A service's database is its `db` (Database) or its `store`'s (EventStore). A service with an
    event store also says how far behind its relays are (`relay.lag`), and one with subscriptions
    how far behind its consumers are (`consumers`: Probe.consumer_lag), which the gateway's health
    judges."""

    @rpc
    def ping(self):
        store = getattr(self, "store", None)
        database = getattr(self, "db", None) or (store.db if store is not None else None)
        if database is not None:
            with database.transaction() as cur:
                cur.execute("SELECT 1")
        answer = {"service": self.name, "status": "ok"}
        if store is not None:
            answer["relays"] = relay_lag(store)
        probe = getattr(self, "metrics", None)
        if isinstance(probe, metrics.Probe) and probe.subscriptions:
            answer["consumers"] = probe.consumer_lag()
        return answer


class StreamOwner:
    """Mixin for event-sourced services: consumers heal gaps by reading a stream from its owner."""

    @rpc
    def read_stream(self, stream, from_position=0, limit=1000):
        events = self.store.read_stream(stream, int(from_position), int(limit))
        return [dict(ENVELOPE.dump(event), source=self.name) for event in events]

    @rpc
    def read_all(self, after_global_position=0, limit=1000, categories=None):
        """The log in global order, for consumers that replay it (e.g. SLA's recompute)."""
        events = self.store.read_all(int(after_global_position), min(int(limit), 5000), categories)
        return [dict(ENVELOPE.dump(event), source=self.name) for event in events]
