"""Exactly-once effect, in stream order, for at-least-once, unordered delivery.

`deliver(event, apply)` runs in one transaction with the consumer's own writes (`apply` gets the
cursor):
- the stream's row in `inbox_streams` is locked, which serializes concurrent workers per stream;
- an event at or below the stream's position, or already in `inbox_processed`, is a duplicate;
- an event beyond position + 1 is parked until its predecessor arrives;
- the next event is applied, then any parked successors, in order.
Nothing is acknowledged to the broker before this transaction commits (the caller acks after).
A gap that stays open longer than `gap_timeout` is healed by `heal()`, which reads the missing
events from the owning service (`fetch_stream`, the owner's `read_stream` RPC).

Group commit (issue 11): workers delivering at the same time share one transaction. The first to
arrive applies every delivery waiting (up to `batch_size`, in arrival order) and commits once;
those arriving meanwhile wait and form the next batch, so a lone event waits for nobody and a
busy consumer commits once per batch instead of once per event. Each `deliver` still returns
only after the commit that holds its event, so its caller acks after the commit as before. If
any event of a batch fails, the whole batch is rolled back and every delivery of it is done
again in a transaction of its own: the failing one raises to its own caller (retry, DLQ), the
others apply once. (Their `apply` ran in the rolled-back batch too: its database writes are
gone, any other effect must be idempotent, as it must for any retry.)
"""
import logging
import threading
import time

import psycopg2.extras
from psycopg2 import sql

from . import metrics
from .events import ENVELOPE

log = logging.getLogger(__name__)

APPLIED, DUPLICATE, PARKED = "applied", "duplicate", "parked"
DEFAULT_BATCH_SIZE = 50


class _Delivery:
    """One `deliver` call in a batch. Once `done`: its `outcome`, or the `error` of a batch of
    itself alone, or neither (its batch of several failed: it is to be delivered alone)."""

    __slots__ = ("event", "apply", "done", "outcome", "error")

    def __init__(self, event, apply):
        self.event, self.apply = event, apply
        self.done, self.outcome, self.error = False, None, None


class Inbox:
    def __init__(self, db, schema, consumer, fetch_stream=None, gap_timeout=5.0,
                 batch_size=DEFAULT_BATCH_SIZE):
        self.db, self.schema, self.consumer = db, schema, consumer
        self.source = consumer.rpartition(".")[2]  # consumers are named "<service>.<source>"
        self._outcomes = {outcome: metrics.INBOX_DELIVERIES.labels(schema, self.source, outcome)
                          for outcome in (APPLIED, DUPLICATE, PARKED)}
        self.fetch_stream = fetch_stream
        self.gap_timeout = gap_timeout
        self.batch_size = batch_size
        self._waiting = []  # deliveries not yet in a batch, in arrival order
        self._leading = False  # a delivery is committing batches (one at a time: no two wait on each other's rows)
        self._changed = threading.Condition()  # guards both; notified as deliveries are done

        def table(name):
            return sql.Identifier(schema, name)

        # Two statements per event (issue 11: each statement is PostgreSQL CPU, three consumers per
        # event). The claim inserts the stream's row at -1 or, if it exists, locks it by a no-op
        # update, and says whether the event id was applied before (at another position: never
        # apply twice); the advance moves the position, records the event id and takes what was
        # parked next, in one statement.
        self._claim_sql = sql.SQL(
            "INSERT INTO {streams} AS s (consumer, stream_name, position) VALUES (%s, %s, -1)"
            " ON CONFLICT (consumer, stream_name) DO UPDATE SET position = s.position"
            " RETURNING position,"
            "  EXISTS (SELECT 1 FROM {processed} WHERE consumer = %s AND event_id = %s)"
        ).format(streams=table("inbox_streams"), processed=table("inbox_processed"))
        self._seen_sql = sql.SQL(
            "SELECT EXISTS (SELECT 1 FROM {} WHERE consumer = %s AND event_id = %s)"
        ).format(table("inbox_processed"))
        self._park_sql = sql.SQL(
            "INSERT INTO {} (consumer, stream_name, stream_position, envelope)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING"
        ).format(table("inbox_parked"))
        self._advance_sql = sql.SQL(
            "WITH advanced AS (UPDATE {streams} SET position = %s WHERE consumer = %s AND stream_name = %s),"
            " processed AS (INSERT INTO {processed} (consumer, event_id) VALUES (%s, %s) ON CONFLICT DO NOTHING)"
            " DELETE FROM {parked} WHERE consumer = %s AND stream_name = %s AND stream_position <= %s"
            " RETURNING stream_position, envelope"
        ).format(streams=table("inbox_streams"), processed=table("inbox_processed"),
                 parked=table("inbox_parked"))
        self._stale_gaps_sql = sql.SQL(
            "SELECT DISTINCT stream_name FROM {} WHERE consumer = %s"
            " AND parked_at < now() - make_interval(secs => %s)"
        ).format(table("inbox_parked"))
        self._position_sql = sql.SQL(
            "SELECT position FROM {} WHERE consumer = %s AND stream_name = %s"
        ).format(table("inbox_streams"))
        self._parked_sql = sql.SQL("SELECT count(*) FROM {} WHERE consumer = %s").format(table("inbox_parked"))

    def deliver(self, event, apply):
        """Applies `event` (and any parked successors) at most once, in order, and returns the
        outcome once it is committed; in a batch with concurrent deliveries if `batch_size` > 1.
        Each delivery's outcome is counted once, after its commit (helpdesk_inbox_deliveries_total)."""
        outcome = self._delivered(event, apply)
        self._outcomes[outcome].inc()
        return outcome

    def _delivered(self, event, apply):
        if self.batch_size <= 1:
            return self._deliver_alone(event, apply)
        delivery = _Delivery(event, apply)
        with self._changed:
            self._waiting.append(delivery)
            while self._leading and not delivery.done:
                self._changed.wait()
            leading = not delivery.done
            if leading:
                self._leading = True
        if leading:
            try:
                time.sleep(0)  # lets the workers already running reach deliver() and join the batch
                while not delivery.done:
                    self._commit_batch()
            finally:
                with self._changed:
                    self._leading = False
                    self._changed.notify_all()
        if delivery.error is not None:
            raise delivery.error
        if delivery.outcome is None:  # its batch failed: alone now, so that a failure is its own
            return self._deliver_alone(event, apply)
        return delivery.outcome

    def _deliver_alone(self, event, apply):
        with self.db.transaction() as cur:
            return self._deliver(cur, event, apply)

    def _commit_batch(self):
        """Delivers the first `batch_size` waiting deliveries in one transaction."""
        with self._changed:
            batch, self._waiting[:self.batch_size] = self._waiting[:self.batch_size], []
        outcomes, error = [None] * len(batch), None
        try:
            with self.db.transaction() as cur:
                applied = [self._deliver(cur, delivery.event, delivery.apply) for delivery in batch]
            outcomes = applied
        except Exception as exc:
            if len(batch) == 1:
                error = exc
            else:
                log.warning("%s: a batch of %d failed (%s); delivering each alone", self.consumer,
                            len(batch), exc)
        finally:  # also when the worker is killed: the others then deliver alone
            with self._changed:
                for delivery, outcome in zip(batch, outcomes):
                    delivery.outcome, delivery.error, delivery.done = outcome, error, True
                self._changed.notify_all()

    def _deliver(self, cur, event, apply):
        key = (self.consumer, event.stream)
        cur.execute(self._claim_sql, (*key, self.consumer, event.event_id))
        position, seen = cur.fetchone()
        if event.stream_position <= position:
            return DUPLICATE
        if event.stream_position > position + 1:
            cur.execute(
                self._park_sql,
                (*key, event.stream_position, psycopg2.extras.Json(ENVELOPE.dump(event))),
            )
            return PARKED
        while event is not None:
            if not seen:  # seen: the same event id at another position; never apply twice
                apply(cur, event)
            position = event.stream_position
            event = self._advance_and_take_parked(cur, key, position, event.event_id)
            if event is not None:
                cur.execute(self._seen_sql, (self.consumer, event.event_id))
                seen = cur.fetchone()[0]
        return APPLIED

    def _advance_and_take_parked(self, cur, key, position, event_id):
        """Moves the stream's position to `position`, records `event_id` as processed, removes
        parked events up to the next one, and returns that next one if it was parked."""
        cur.execute(self._advance_sql, (position, *key, self.consumer, event_id, *key, position + 1))
        for stream_position, envelope in cur.fetchall():
            if stream_position == position + 1:
                return ENVELOPE.load(envelope)
        return None

    def position(self, stream):
        with self.db.transaction() as cur:
            cur.execute(self._position_sql, (self.consumer, stream))
            row = cur.fetchone()
        return row[0] if row else -1

    def parked(self):
        """How many events wait parked for a predecessor."""
        with self.db.transaction() as cur:
            cur.execute(self._parked_sql, (self.consumer,))
            return cur.fetchone()[0]

    def heal(self, apply, gap_timeout=None):
        """Fills gaps open longer than `gap_timeout` from the owner's stream. Returns events applied."""
        timeout = self.gap_timeout if gap_timeout is None else gap_timeout
        with self.db.transaction() as cur:
            cur.execute(self._stale_gaps_sql, (self.consumer, timeout))
            streams = [row[0] for row in cur.fetchall()]
        healed = 0
        for stream in streams:
            missing = self.fetch_stream(stream, self.position(stream) + 1)
            log.warning("%s: healing gap in %s with %d events", self.consumer, stream, len(missing))
            for event in missing:
                if self.deliver(event, apply) == APPLIED:
                    healed += 1
        return healed
