"""Live updates: server-sent events from the gateway to consoles and ticket pages.

`GET /api/v1/live?ticket=<id>&queue=<department>` holds a stream open; the page refetches what it
shows when told that something changed, so the stream carries no ticket's content, only that
ticket X is now at version N (`ticket`), or that a colleague is viewing or replying to it
(`presence`, staff only), and `ready` at every (re)connection (refetch then: a reconnection may
have missed events). Who may follow what is decided once, when the stream opens, by the owning
service (a ticket's page as `get_ticket`, a queue as `department_queue`); customers are never
told of internal events (notes, the provider-fault flag).

Where the news comes from: the tickets service's events, through a queue of this gateway's own
(exclusive, deleted with its connection), consumed only while at least one stream is open, so a
gateway nobody watches costs nothing, and an open but quiet stream costs one comment line every
`PING_SECONDS`. Presence notices go through a fan-out exchange to every gateway. A stream ends
after `STREAM_SECONDS` (the browser reconnects by itself, through the session and access checks
again), when its session logs out through this gateway, or when its client cannot keep up.

`LiveHub` is the rules, without I/O; `LiveFeed` is the broker's side (nameko SharedExtension);
`InProcessLive` the same front without a broker, for the in-process system.
"""
import collections
import contextlib
import json
import logging
import time
import uuid

import eventlet
import eventlet.event
import eventlet.queue
import kombu
import kombu.pools
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.extensions import DependencyProvider, SharedExtension

from helpdesk.contracts import INTERNAL_TICKET_EVENTS
from helpdesk.messaging import events_exchange

log = logging.getLogger(__name__)

STREAM_SECONDS = 120  # then the browser reconnects: access checked again
PING_SECONDS = 20  # a comment line, so that proxies keep a quiet stream open
# how long a presence notice holds unless renewed: "replying" is renewed while the user types,
# "viewing" only when they act on the page; "left" ends the colleague's line at once
PRESENCE_SECONDS = {"viewing": 90, "replying": 15, "left": 0}
BACKLOG = 100  # messages a stream may have waiting; a client further behind is dropped
IDLE_SECONDS = 10  # the feed stops consuming this long after its last stream closed
STAFF = frozenset({"agent", "supervisor", "admin"})
PLACING_EVENTS = frozenset({"TicketOpened", "TicketRouted", "TicketReclassified"})  # carry `department`
PRESENCE_EXCHANGE = kombu.Exchange("gateway.presence", type="fanout", durable=False)
ACTIVITIES = ("viewing", "replying")
READY_SECONDS = 5  # a new stream waits this long for the feed to hear the broker
_CLOSED = object()


class BrokerUnavailable(Exception):
    """The feed cannot hear the broker: the stream is refused (503) rather than deaf."""


class Subscription:
    """One open stream: who, what it follows, and its messages waiting to be sent."""

    def __init__(self, principal, tickets=(), queues=(), session=None):
        self.principal, self.session = principal, session
        self.tickets, self.queues = frozenset(tickets), frozenset(queues)
        self.staff = principal["role"] in STAFF
        self.closed = False
        self._messages = eventlet.queue.LightQueue(BACKLOG)

    def put(self, kind, data):
        if self.closed:
            return
        try:
            self._messages.put_nowait((kind, data))
        except eventlet.queue.Full:  # the client is not reading: end it; it reconnects and refetches
            self.close()

    def close(self):
        if not self.closed:
            self.closed = True
            self._messages.queue.clear()
            self._messages.put_nowait(_CLOSED)

    def next(self, timeout):
        """(kind, data), None after `timeout` seconds without one, or _CLOSED."""
        try:
            return self._messages.get(timeout=timeout)
        except eventlet.queue.Empty:
            return None


class LiveHub:
    """Which message goes to which open stream. Knows each ticket's department from the queues it
    has shown and the events that place tickets (at most `remember` tickets, the oldest
    forgotten first)."""

    def __init__(self, remember=50_000):
        self.subscriptions = set()
        self.remember = remember
        self._departments = collections.OrderedDict()

    def follow(self, subscription, placed=()):
        """`placed`: (ticket_id, department) of the tickets the subscriber's queues hold now."""
        for ticket_id, department in placed:
            self._learn(str(ticket_id), department)
        self.subscriptions.add(subscription)

    def leave(self, subscription):
        self.subscriptions.discard(subscription)

    @property
    def idle(self):
        return not self.subscriptions

    def _learn(self, ticket_id, department):
        self._departments.pop(ticket_id, None)
        self._departments[ticket_id] = department
        while len(self._departments) > self.remember:
            self._departments.popitem(last=False)

    def department_of(self, ticket_id):
        return self._departments.get(ticket_id)

    def ticket_event(self, envelope):
        """An event of the tickets service (its published envelope, as a dict)."""
        stream, kind = envelope.get("stream") or "", envelope.get("type")
        if not stream.startswith("ticket-"):
            return
        ticket_id, data = stream[len("ticket-"):], envelope.get("data") or {}
        previous = self.department_of(ticket_id)
        if kind in PLACING_EVENTS:
            self._learn(ticket_id, data.get("department"))
        department = self.department_of(ticket_id)
        message = {"ticket_id": ticket_id, "version": envelope.get("stream_position"), "type": kind,
                   "department": department}
        queues = {d for d in (department, previous, data.get("previous")) if d}
        for subscription in list(self.subscriptions):
            if kind in INTERNAL_TICKET_EVENTS and not subscription.staff:
                continue
            if ticket_id in subscription.tickets or subscription.queues & queues:
                subscription.put("ticket", message)

    def presence(self, notice):
        """A colleague viewing or replying to a ticket: for the staff following it, not for them."""
        for subscription in list(self.subscriptions):
            if (subscription.staff and notice["ticket_id"] in subscription.tickets
                    and subscription.principal["user_id"] != notice["user_id"]):
                subscription.put("presence", notice)

    def end_session(self, session):
        """A logout through this gateway: that session's streams end now."""
        for subscription in list(self.subscriptions):
            if subscription.session == session:
                subscription.close()
                self.leave(subscription)

    def reconnected(self):
        """The feed was cut and is back: what came meanwhile is unknown, so every page refetches."""
        for subscription in list(self.subscriptions):
            subscription.put("ready", {})


def presence_notice(principal, ticket_id, activity, answer=False):
    return {"ticket_id": str(ticket_id), "user_id": principal["user_id"], "name": principal.get("name") or "",
            "activity": activity, "expires_in": PRESENCE_SECONDS[activity], "answer": bool(answer)}


def sse(kind, data):
    """One server-sent event, JSON data on one line (json.dumps escapes every newline)."""
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def stream(subscription, feed, seconds=STREAM_SECONDS, ping=PING_SECONDS, clock=time.monotonic):
    """The body of a live answer: `ready`, then messages as they come, a ping when quiet."""
    ends = clock() + seconds
    try:
        yield b"retry: 2000\n\n" + sse("ready", {})
        while not subscription.closed:
            left = ends - clock()
            if left <= 0:
                break
            message = subscription.next(min(ping, left))
            if message is _CLOSED:
                break
            yield b": ping\n\n" if message is None else sse(*message)
    finally:
        feed.leave(subscription)


class LiveFeed(SharedExtension):
    """The broker's side of the hub, one per gateway process: consumes the tickets service's
    events and the presence notices while streams are open, and publishes presence."""

    idle_seconds = IDLE_SECONDS

    def setup(self):
        self.start_with(self.container.config[AMQP_URI_CONFIG_KEY])

    def start_with(self, amqp_uri, hub=None):
        self.hub = hub if hub is not None else LiveHub()
        self.amqp_uri = amqp_uri
        self._consumer, self._listening = None, None
        self._stopped = False
        return self

    def follow(self, subscription, placed=()):
        """Adds the stream once this gateway hears the broker: `ready` must mean that every change
        from then on is told. Raises BrokerUnavailable when it cannot within `READY_SECONDS`."""
        self.hub.follow(subscription, placed)
        if self._listening is None:  # nobody consuming (set back by the consumer as it stops)
            self._listening = eventlet.event.Event()
            self._consumer = eventlet.spawn(self._consume, self._listening)
        if not self._listening.wait(READY_SECONDS):
            self.hub.leave(subscription)
            raise BrokerUnavailable("the live feed could not reach the broker")

    def leave(self, subscription):
        self.hub.leave(subscription)

    def end_session(self, session):
        self.hub.end_session(session)

    def announce(self, notice):
        """Presence for every gateway (this one included: its own streams hear it from the broker),
        on a pooled connection (kombu's pools: none opened per notice)."""
        with kombu.pools.producers[kombu.Connection(self.amqp_uri)].acquire(block=True) as producer:
            producer.publish(notice, exchange=PRESENCE_EXCHANGE, routing_key="", serializer="json",
                             declare=[PRESENCE_EXCHANGE], delivery_mode=1, retry=True, retry_policy={"max_retries": 2})

    def _consume(self, listening):
        first = True
        while not self._stopped and self._listening is listening:  # not superseded by a newer consumer
            try:
                self._consume_until_idle(first, listening)
            except Exception as exc:  # the broker gone, a forced close, ...: this loop must outlive them
                log.warning("live feed: the broker connection failed (%r); again in a second", exc)
            if self.hub.idle or self._stopped:
                break
            first = False
            eventlet.sleep(1)
        if self._listening is listening:  # no I/O between the check and here: a new stream starts anew
            self._listening = None

    def _consume_until_idle(self, first, listening):
        queue = kombu.Queue(f"gateway.live.{uuid.uuid4().hex}", exclusive=True, auto_delete=True, durable=False,
                            bindings=[kombu.binding(events_exchange("tickets"), routing_key="#"),
                                      kombu.binding(PRESENCE_EXCHANGE)])
        with kombu.Connection(self.amqp_uri) as connection:
            with connection.Consumer(queue, callbacks=[self._on_message], accept=["json"], no_ack=True):
                if not listening.ready():
                    listening.send(True)
                if not first:
                    self.hub.reconnected()
                idle_since = None
                while not self._stopped:
                    with contextlib.suppress(TimeoutError):  # a quiet second: look at the hub
                        connection.drain_events(timeout=1)
                    if not self.hub.idle:
                        idle_since = None
                    elif idle_since is None:
                        idle_since = time.monotonic()
                    elif time.monotonic() - idle_since > self.idle_seconds:
                        self._listening = None  # before any I/O: the next stream starts a consumer of its own
                        return

    def _on_message(self, body, message):
        try:
            if message.delivery_info.get("exchange") == PRESENCE_EXCHANGE.name:
                self.hub.presence(body)
            else:
                self.hub.ticket_event(body)
        except Exception:  # one odd message must not end every stream
            log.exception("live feed: a message could not be handled")

    def stop(self):
        self._stopped = True
        for subscription in list(self.hub.subscriptions):
            subscription.close()
        if self._consumer is not None:
            self._consumer.kill()


class InProcessLive:
    """The hub alone, for the in-process system (services/system.py hands it the tickets events;
    presence goes straight back to it): what LiveFeed does, without a broker."""

    def __init__(self):
        self.hub = LiveHub()

    def follow(self, subscription, placed=()):
        self.hub.follow(subscription, placed)

    def leave(self, subscription):
        self.hub.leave(subscription)

    def end_session(self, session):
        self.hub.end_session(session)

    def announce(self, notice):
        self.hub.presence(notice)


class Live(DependencyProvider):
    feed = LiveFeed()

    def get_dependency(self, worker_ctx):
        return self.feed
