"""The outbox relay: the `events` table is the outbox; this publishes it, in order, at least once.

A batch is read after the checkpoint and published in windows (`confirm_window` events): a window
is sent whole, its publisher confirms are awaited once, and only then is the checkpoint advanced
past it. A nack, a lost connection or a crash between the two republishes that window, which
consumers absorb (they dedupe by event id). One relay per service is active at a time: it holds a
session-level advisory lock; other instances stand by until the lock frees. The relay sleeps on
LISTEN and is woken by the NOTIFY that `append` sends at commit, so the happy path has no poll
delay; a slow poll remains as a fallback (e.g. a NOTIFY lost across a reconnect).
"""
import logging
import select
import threading

from psycopg2 import sql

from . import metrics
from .db import connect
from .events import ENVELOPE
from .eventstore import notify_channel
from .messaging import Message, events_exchange

log = logging.getLogger(__name__)


class Relay:
    """One step of relaying: publish what follows the checkpoint, then move the checkpoint.

    The default relay ("events") publishes every event, as the envelope, on the service's
    `<service>.events` exchange. Another relay of the same log can publish some categories in
    another shape on another exchange (a published contract, e.g. billing): give it a `name`, an
    `exchange`, `categories` and a `message(event) -> (body, routing_key, properties)`.
    """

    def __init__(self, store, publisher, service, batch_size=500, name="events", exchange=None,
                 categories=None, message=None, confirm_window=100):
        self.store, self.publisher, self.service = store, publisher, service
        self.batch_size, self.name, self.categories = batch_size, name, categories
        self.confirm_window = confirm_window
        self.exchange = exchange or events_exchange(service)
        self.message = message or self.envelope
        self._declared = False
        checkpoints = sql.Identifier(store.schema, "relay_checkpoints")
        self._init_sql = sql.SQL(
            "INSERT INTO {} (name, position) VALUES (%s, 0) ON CONFLICT (name) DO NOTHING"
        ).format(checkpoints)
        self._read_sql = sql.SQL("SELECT position FROM {} WHERE name = %s").format(checkpoints)
        # A checkpoint's commit does not wait for the WAL flush: one lost in a crash republishes
        # its events, which consumers absorb as any duplicate (they dedupe by event id).
        self._write_sql = sql.SQL(
            "SET LOCAL synchronous_commit TO OFF;"
            " UPDATE {} SET position = %s, updated_at = now() WHERE name = %s AND position < %s"
        ).format(checkpoints)
        self._known = None  # the checkpoint as this relay last read or moved it: it is the only writer

    def envelope(self, event):
        body = ENVELOPE.dump(event)
        body["source"] = self.service
        return body, event.type, {}

    def checkpoint(self):
        with self.store.db.transaction() as cur:
            cur.execute(self._init_sql, (self.name,))
            cur.execute(self._read_sql, (self.name,))
            return cur.fetchone()[0]

    def publish_pending(self):
        """Publishes one batch; returns how many events it published. (With `categories`, the
        events of other categories are read past: the checkpoint still moves over them.)"""
        if not self._declared:
            self.publisher.declare(self.exchange)  # publishing to a missing exchange loses nothing but fails
            self._declared = True
        relayed = metrics.EVENTS_RELAYED.labels(self.service, self.name)
        try:
            after = self._known if self._known is not None else self.checkpoint()
            read = self.store.read_all(after, limit=self.batch_size)
            for start in range(0, len(read), self.confirm_window):
                window = read[start:start + self.confirm_window]
                messages = [self._message_of(event) for event in window
                            if not self.categories or event.category in self.categories]
                self.publisher.publish_many(messages)
                self.advance(window[-1].global_position)
                relayed.inc(len(messages))
        except BaseException:
            self.forget()  # read it again: a failed advance may or may not have committed
            raise
        return len(read)

    def forget(self):
        """Reads the checkpoint from the table again next time (a new term as leader, a failure)."""
        self._known = None

    def _message_of(self, event):
        body, routing_key, properties = self.message(event)
        properties = dict(properties)
        return Message(body, routing_key, self.exchange.name, headers=properties.pop("headers", None),
                       message_id=str(event.event_id), properties=properties)

    def advance(self, position):
        with self.store.db.transaction() as cur:
            cur.execute(self._write_sql, (position, self.name, position))
        self._known = position


def lag(store):
    """How far each relay of `store`'s log is behind: {name: {"behind": the log's head position
    minus its checkpoint (cheap; an upper bound of the events waiting, as positions may have
    gaps), "waiting_seconds": how long the oldest event after the checkpoint has waited}}, from
    the checkpoints table (every relay that ever ran has its row). For health: a relay that
    stopped shows a growing wait even when few events are waiting."""
    checkpoints = sql.Identifier(store.schema, "relay_checkpoints")
    events = sql.Identifier(store.schema, "events")
    query = sql.SQL(
        "SELECT c.name, greatest((SELECT max(global_position) FROM {events}) - c.position, 0),"
        " (SELECT extract(epoch FROM clock_timestamp() - e.recorded_at) FROM {events} e"
        "   WHERE e.global_position > c.position ORDER BY e.global_position LIMIT 1)"
        " FROM {checkpoints} c ORDER BY c.name"
    ).format(events=events, checkpoints=checkpoints)
    with store.db.transaction() as cur:
        cur.execute(query)
        return {name: {"behind": behind, "waiting_seconds": round(float(waiting or 0), 3)}
                for name, behind, waiting in cur.fetchall()}


INITIAL_BACKOFF, MAX_BACKOFF = 0.5, 30  # seconds a failed relay waits before trying again


class RelayRunner:
    """Keeps a Relay running: leadership by advisory lock, wake-ups by LISTEN/NOTIFY."""

    def __init__(self, relay, dsn, poll_interval=5.0, standby_interval=2.0):
        self.relay, self.dsn = relay, dsn
        self.poll_interval, self.standby_interval = poll_interval, standby_interval
        self.stopping = threading.Event()
        self.is_leader = False
        self._worked = False  # published since the last failure
        schema = relay.store.schema
        self._lock_sql = sql.SQL("SELECT pg_try_advisory_lock(hashtext({}))").format(
            sql.Literal(f"{schema}.events relay {relay.name}")
        )
        self._listen_sql = sql.SQL("LISTEN {}").format(sql.Identifier(notify_channel(schema)))

    def stop(self):
        self.stopping.set()

    def run(self):
        """Leads until stopped. A failure is retried after a pause that doubles while the failures
        go on (0.5 s up to 30 s), and starts at 0.5 s again once the relay has published since:
        otherwise each outage added to the last one's pause, and a one-second database restart
        after a broker restart left the tickets relay asleep for 16 s (issue 10's fault test)."""
        backoff = INITIAL_BACKOFF
        while not self.stopping.is_set():
            self._worked = False
            try:
                self._lead()
                backoff = INITIAL_BACKOFF
            except Exception:  # the relay must outlive broker and database outages
                if self._worked:  # a new outage, not more of the last one
                    backoff = INITIAL_BACKOFF
                log.exception("relay for %s failed; retrying in %.1fs", self.relay.service, backoff)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)

    def _lead(self):
        conn = connect(self.dsn)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(self._lock_sql)
                if not cur.fetchone()[0]:
                    self.stopping.wait(self.standby_interval)
                    return
                self.is_leader = True
                cur.execute(self._listen_sql)
            self.relay.forget()  # another leader may have moved it since this one last led
            log.info("relay %s of %s is active", self.relay.name, self.relay.service)
            while not self.stopping.is_set():
                published = self.relay.publish_pending()
                self._worked = True
                if published == self.relay.batch_size:
                    continue  # more waiting: no sleep
                self._wait_for_notify(conn)
        finally:
            self.is_leader = False
            conn.close()  # ends the session: releases the lock for a standby

    def _wait_for_notify(self, conn, slice_seconds=0.5):
        """Returns on a NOTIFY, on stop(), or after poll_interval (the fallback poll)."""
        waited = 0.0
        while waited < self.poll_interval and not self.stopping.is_set():
            timeout = min(slice_seconds, self.poll_interval - waited)
            ready, _, _ = select.select([conn], [], [], timeout)
            if ready:
                conn.poll()
                conn.notifies.clear()
                return
            waited += timeout


def run_in_thread(runner):
    """For plain scripts and tests: the runner in a daemon thread."""
    thread = threading.Thread(target=runner.run, daemon=True, name="relay")
    thread.start()
    return thread

