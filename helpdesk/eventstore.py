"""Append-only event store: one `events` table per event-sourced service schema.

Ordering guarantee: appends take a transaction-scoped advisory lock, so transactions that append
commit one after the other and commit order equals `global_position` order. A reader that has
seen position N can therefore never later find a committed event below N (the classic skipped-
event bug of identity columns under concurrent commits). Positions may still have gaps, left by
rolled-back appends; nothing may assume contiguity of global positions. Stream positions are
contiguous and start at 0.
"""
import re
import threading

import psycopg2.extras
from psycopg2 import errors, sql

from . import metrics
from .db import after_commit, values
from .events import RecordedEvent, Upcasters, category_of

ANY = None  # expected_version: append whatever the stream's version
NO_STREAM = -1  # expected_version: the stream must not exist yet

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class WrongExpectedVersion(Exception):
    def __init__(self, stream, expected, actual):
        super().__init__(f"stream {stream}: expected version {expected}, actual {actual}")
        self.stream, self.expected, self.actual = stream, expected, actual


class DuplicateEvent(WrongExpectedVersion):
    """An event id the store already holds: that event was appended before (a command retried,
    a redelivered message). A WrongExpectedVersion too, so a writer that decides again on the
    stream's fresh state finds its own event there."""

    def __init__(self, stream, expected):
        super().__init__(stream, expected, "an event id already stored")


def notify_channel(schema):
    return f"{schema}_events"


def _check_expected(stream, expected_version, current):
    if expected_version is not ANY and expected_version != current:
        raise WrongExpectedVersion(stream, expected_version, current)


class PostgresEventStore:
    """`cursor=` lets a caller append in its own transaction (read models updated atomically)."""

    def __init__(self, db, schema, upcasters=None):
        if not _SCHEMA_NAME.match(schema):
            raise ValueError(f"bad schema name {schema!r}")
        self.db, self.schema = db, schema
        self.upcasters = upcasters or Upcasters()
        events = sql.Identifier(schema, "events")
        self._lock_sql = sql.SQL("SELECT pg_advisory_xact_lock(hashtext({}))").format(
            sql.Literal(f"{schema}.events append")
        )
        self._version_sql = sql.SQL(
            "SELECT coalesce(max(stream_position), -1) FROM {} WHERE stream_name = %s"
        ).format(events)
        # One round trip each: the append lock with the stream's version, and the insert with
        # its NOTIFY (a data-modifying CTE runs whether or not its rows are read).
        self._lock_and_version_sql = self._lock_sql + sql.SQL("; ") + self._version_sql
        self._insert_sql = sql.SQL(
            "WITH inserted AS (INSERT INTO {} (event_id, stream_name, stream_position, type, schema_version,"
            " data, metadata, occurred_at) VALUES %s RETURNING global_position, stream_position),"
            " notified AS (SELECT pg_notify({}, max(global_position)::text) FROM inserted)"
            " SELECT global_position, stream_position FROM inserted, notified ORDER BY stream_position"
        ).format(events, sql.Literal(notify_channel(schema)))
        columns = sql.SQL(
            "SELECT event_id, type, schema_version, stream_name, stream_position,"
            " global_position, occurred_at, data, metadata FROM {} "
        ).format(events)
        self._stream_sql = columns + sql.SQL(
            "WHERE stream_name = %s AND stream_position >= %s ORDER BY stream_position LIMIT %s"
        )
        self._all_sql = columns + sql.SQL(
            "WHERE global_position > %s ORDER BY global_position LIMIT %s"
        )
        self._all_categories_sql = columns + sql.SQL(
            "WHERE global_position > %s AND category = ANY(%s) ORDER BY global_position LIMIT %s"
        )
        self._head_sql = sql.SQL("SELECT coalesce(max(global_position), 0) FROM {}").format(events)

    # -- writing ---------------------------------------------------------------------------
    def lock_appends(self, cursor):
        """Holds off every append to this store until the caller's transaction ends."""
        cursor.execute(self._lock_sql)

    def append(self, stream, events, expected_version=ANY, cursor=None):
        """Appends `events` to `stream` atomically; returns them as recorded."""
        if not events:
            raise ValueError("nothing to append")
        if cursor is None:
            with self.db.transaction() as cur:
                return self._append(cur, stream, events, expected_version)
        return self._append(cursor, stream, events, expected_version)

    def _append(self, cur, stream, events, expected_version):
        cur.execute(self._lock_and_version_sql, (stream,))
        current = cur.fetchone()[0]
        _check_expected(stream, expected_version, current)
        rows = [
            (
                event.event_id,
                stream,
                current + 1 + i,
                event.type,
                event.schema_version,
                psycopg2.extras.Json(event.data),
                psycopg2.extras.Json(event.metadata()),
                event.occurred_at,
            )
            for i, event in enumerate(events)
        ]
        try:
            cur.execute(*values(cur, self._insert_sql, rows))
            positions = cur.fetchall()
        except errors.UniqueViolation as exc:
            if "event_id" in (exc.diag.constraint_name or ""):
                raise DuplicateEvent(stream, expected_version) from exc
            # backstop: the lock makes a taken stream position unreachable
            raise WrongExpectedVersion(stream, expected_version, "concurrently changed") from exc
        appended = metrics.EVENTS_APPENDED.labels(self.schema, category_of(stream))
        after_commit(cur, lambda: appended.inc(len(rows)))
        return [
            RecordedEvent(
                event_id=event.event_id,
                type=event.type,
                schema_version=event.schema_version,
                stream=stream,
                stream_position=stream_position,
                global_position=global_position,
                occurred_at=event.occurred_at,
                data=event.data,
                source=self.schema,
                **_metadata_fields(event.metadata()),
            )
            for event, (global_position, stream_position) in zip(events, positions)
        ]

    # -- reading ---------------------------------------------------------------------------
    def stream_version(self, stream, cursor=None):
        """Position of the stream's last event, or -1 (NO_STREAM) when it has none."""
        return self._query(self._version_sql, (stream,), cursor)[0][0]

    def read_stream(self, stream, from_position=0, limit=None, cursor=None):
        rows = self._query(self._stream_sql, (stream, from_position, limit), cursor)
        return [self._recorded(row) for row in rows]

    def read_all(self, after_global_position=0, limit=1000, categories=None, cursor=None):
        if categories:
            args = (after_global_position, list(categories), limit)
            rows = self._query(self._all_categories_sql, args, cursor)
        else:
            rows = self._query(self._all_sql, (after_global_position, limit), cursor)
        return [self._recorded(row) for row in rows]

    def head(self, cursor=None):
        """The highest global position written (0 for an empty store)."""
        return self._query(self._head_sql, (), cursor)[0][0]

    def _query(self, statement, args, cursor):
        if cursor is not None:
            cursor.execute(statement, args)
            return cursor.fetchall()
        with self.db.transaction() as cur:
            cur.execute(statement, args)
            return cur.fetchall()

    def _recorded(self, row):
        event_id, type_, version, stream, stream_pos, global_pos, occurred_at, data, meta = row
        return self.upcasters.upcast(
            RecordedEvent(
                event_id=event_id,
                type=type_,
                schema_version=version,
                stream=stream,
                stream_position=stream_pos,
                global_position=global_pos,
                occurred_at=occurred_at,
                data=data,
                source=self.schema,
                **_metadata_fields(meta),
            )
        )


def _metadata_fields(meta):
    import uuid

    def as_uuid(value):
        return uuid.UUID(value) if value else None

    return {
        "correlation_id": as_uuid(meta.get("correlation_id")),
        "causation_id": as_uuid(meta.get("causation_id")),
        "actor": meta.get("actor"),
        "channel": meta.get("channel") or "system",
    }


class InMemoryEventStore:
    """The same contract in memory, for fast tests of code built on the store."""

    def __init__(self, schema="memory", upcasters=None):
        self.schema = schema
        self.upcasters = upcasters or Upcasters()
        self._events = []
        self._streams = {}
        self._ids = set()
        self._lock = threading.Lock()

    def append(self, stream, events, expected_version=ANY, cursor=None):
        if not events:
            raise ValueError("nothing to append")
        with self._lock:
            current = len(self._streams.get(stream, [])) - 1
            _check_expected(stream, expected_version, current)
            ids = [event.event_id for event in events]
            if len(set(ids)) < len(ids) or any(event_id in self._ids for event_id in ids):
                raise DuplicateEvent(stream, expected_version)
            recorded = []
            for i, event in enumerate(events):
                record = RecordedEvent(
                    event_id=event.event_id,
                    type=event.type,
                    schema_version=event.schema_version,
                    stream=stream,
                    stream_position=current + 1 + i,
                    global_position=len(self._events) + 1,
                    occurred_at=event.occurred_at,
                    data=event.data,
                    source=self.schema,
                    **_metadata_fields(event.metadata()),
                )
                self._events.append(record)
                self._streams.setdefault(stream, []).append(record)
                self._ids.add(event.event_id)
                recorded.append(record)
            return recorded

    def stream_version(self, stream, cursor=None):
        return len(self._streams.get(stream, [])) - 1

    def read_stream(self, stream, from_position=0, limit=None, cursor=None):
        events = self._streams.get(stream, [])[from_position:]
        return [self.upcasters.upcast(e) for e in events[:limit]]

    def read_all(self, after_global_position=0, limit=1000, categories=None, cursor=None):
        selected = (
            e
            for e in self._events[after_global_position:]
            if not categories or category_of(e.stream) in categories
        )
        out = []
        for event in selected:
            if len(out) == limit:
                break
            out.append(self.upcasters.upcast(event))
        return out

    def head(self, cursor=None):
        return len(self._events)

    def mark(self):
        """Where the log stands, to undo a transaction's appends (helpdesk.application)."""
        return len(self._events)

    def rollback_to(self, mark):
        with self._lock:
            for record in reversed(self._events[mark:]):
                self._streams[record.stream].pop()
                if not self._streams[record.stream]:
                    del self._streams[record.stream]
                self._ids.discard(record.event_id)
            del self._events[mark:]
