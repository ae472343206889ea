"""PostgreSQL: the raw commit rate of this machine, and what the event store makes of it.

Every append takes one advisory lock per schema so that commit order equals global position
order; appends therefore commit one at a time. The raw single-row INSERT+COMMIT rate at the same
concurrency is the ceiling to compare with: the gap is the price of that ordering guarantee
(plus the version check, the JSON payload and the NOTIFY of each append).
"""
import datetime as dt
import time
import uuid
from unittest import mock

import psycopg2

from helpdesk import db as dbmod
from helpdesk import testing
from helpdesk.db import Database
from helpdesk.events import NewEvent, RecordedEvent
from helpdesk.eventstore import NO_STREAM, PostgresEventStore
from helpdesk.inbox import Inbox

from .measure import print_table, run_load

# About the size of a real TicketOpened.
PAYLOAD = {
    "requester_email": "cliente@example.com",
    "department": "networks",
    "title": "Sin conexión en la sede",
    "description": "Desde las 9:00 no hay tráfico en el enlace principal.",
    "channel": "portal",
    "urgency": "medium",
}


def raw_commits(url, threads, seconds):
    """One-row INSERT then COMMIT in a loop, one plain connection per thread."""
    conns = [psycopg2.connect(url) for _ in range(threads)]
    try:
        with conns[0], conns[0].cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS bench_raw"
                        " (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload text NOT NULL)")

        def make_op(i):
            conn, cur = conns[i], conns[i].cursor()

            def insert():
                cur.execute("INSERT INTO bench_raw (payload) VALUES (%s)", ("x" * 100,))
                conn.commit()

            return insert

        return run_load(make_op, threads, seconds)
    finally:
        for conn in conns:
            conn.close()


def appends(url, schema, threads, seconds, batch=1):
    """`batch` events per append, each append to a new stream (as a ticket open does)."""
    db = Database(url, size=threads)
    store = PostgresEventStore(db, schema)

    def make_op(i):
        def append():
            events = [NewEvent("BenchEventHappened", dict(PAYLOAD, n=n)) for n in range(batch)]
            store.append(f"bench-{uuid.uuid4()}", events, expected_version=NO_STREAM)

        return append

    try:
        return run_load(make_op, threads, seconds)
    finally:
        db.close()


def deliveries(url, schema, seconds, prepared):
    """One consumer taking one event of a new stream after another through helpdesk.inbox (its
    claim and advance, a read model's upsert sent `later`, the COMMIT), its statements sent whole
    or prepared (helpdesk.db): deliveries/s, and the CPU its PostgreSQL backend and this process
    spent per delivery (/proc; the backend is on this machine)."""
    from .system import _stat

    with mock.patch.object(dbmod, "PREPARE_AFTER", dbmod.PREPARE_AFTER if prepared else 10 ** 9):
        db = Database(url, size=1)
        inbox = Inbox(db, schema, "bench.tickets", batch_size=1)
        with db.transaction() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {schema}.bench_summaries;"
                        f" CREATE TABLE {schema}.bench_summaries (ticket_id uuid PRIMARY KEY, title text, version int)")
            cur.execute("SELECT pg_backend_pid()")
            backend = cur.fetchone()[0]

        def apply(cur, event):
            dbmod.later(cur, f"INSERT INTO {schema}.bench_summaries (ticket_id, title, version) VALUES (%s, %s, %s)"
                             " ON CONFLICT (ticket_id) DO UPDATE SET title = EXCLUDED.title, version = EXCLUDED.version",
                        (event.data["ticket_id"], event.data["title"], event.stream_position))

        def deliver(n):
            ticket_id = uuid.uuid4()
            inbox.deliver(RecordedEvent(uuid.uuid4(), "TicketOpened", 1, f"ticket-{ticket_id}", 0, n,
                                        dt.datetime.now(dt.timezone.utc), {"ticket_id": str(ticket_id), "title": "x"},
                                        source="tickets"), apply)

        try:
            for n in range(50):  # past PREPARE_AFTER: what is prepared, is
                deliver(n)
            count, backend_before, client_before = 0, _stat(backend)[1], time.process_time()
            began = time.perf_counter()
            while time.perf_counter() - began < seconds:
                count += 1
                deliver(100 + count)
            elapsed = time.perf_counter() - began
            backend_cpu, client_cpu = _stat(backend)[1] - backend_before, time.process_time() - client_before
        finally:
            db.close()
    return count / elapsed, 1000 * backend_cpu / count, 1000 * client_cpu / count


def run(url, seconds, concurrency=(1, 4, 8), batches=(10, 100)):
    """Prints the two event store tables; `concurrency` must include 1 (the batch baseline)."""
    schema = testing.create_schema(url, parts=("eventstore",), prefix="bench")
    rows, samples = [], {}
    for threads in concurrency:
        raw = raw_commits(url, threads, seconds)
        sample = samples[threads] = appends(url, schema, threads, seconds)
        rows.append([threads, raw.rate, raw.ms(50), sample.rate, sample.rate / raw.rate,
                     sample.ms(50), sample.ms(95), sample.ms(99)])
    print_table(
        f"Event store: one event per append, each writer its own streams ({seconds:g} s per row)",
        ["writers", "raw commits/s", "raw p50 ms", "appends/s", "vs raw",
         "append p50 ms", "p95 ms", "p99 ms"],
        rows,
    )
    rows = []
    for batch in (1, *batches):
        sample = samples[1] if batch == 1 else appends(url, schema, 1, seconds, batch)
        rows.append([batch, sample.rate, sample.rate * batch,
                     sample.ms(50), sample.ms(95), sample.ms(99)])
    print_table(
        f"Event store: batches, single writer ({seconds:g} s per row)",
        ["events/append", "appends/s", "events/s", "append p50 ms", "p95 ms", "p99 ms"],
        rows,
    )
    inbox_schema = testing.create_schema(url, parts=("inbox",), prefix="bench")
    print_table(
        f"Inbox deliveries, one consumer, statements sent whole or prepared ({seconds:g} s per row)",
        ["statements", "deliveries/s", "PostgreSQL CPU ms/delivery", "client CPU ms/delivery"],
        [[label, *deliveries(url, inbox_schema, seconds, prepared)] for label, prepared in (("whole", False),
                                                                                        ("prepared", True))],
    )
