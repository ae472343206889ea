"""The event store contract, run against every store (PostgreSQL and in-memory)."""
import threading
import uuid

import pytest

from helpdesk.events import NewEvent, Upcasters
from helpdesk.eventstore import (
    ANY,
    NO_STREAM,
    InMemoryEventStore,
    PostgresEventStore,
    DuplicateEvent,
    WrongExpectedVersion,
)


@pytest.fixture(params=["postgres", "memory"])
def store(request):
    if request.param == "memory":
        return InMemoryEventStore()
    return PostgresEventStore(request.getfixturevalue("db"), request.getfixturevalue("schema"))


def ev(type_="Happened", **data):
    return NewEvent(type=type_, data=data or {"n": 0})


def new_stream(category="thing"):
    return f"{category}-{uuid.uuid4()}"


def test_append_to_a_new_stream_starts_at_position_zero(store):
    stream = new_stream()
    recorded = store.append(stream, [ev(n=1), ev(n=2)], expected_version=NO_STREAM)
    assert [e.stream_position for e in recorded] == [0, 1]
    assert [e.data["n"] for e in store.read_stream(stream)] == [1, 2]
    assert store.stream_version(stream) == 1


def test_recorded_event_carries_the_envelope(store):
    stream = new_stream()
    cause = uuid.uuid4()
    event = NewEvent(type="TicketOpened", data={"x": 1}, causation_id=cause,
                     correlation_id=cause, actor="ana@example.com", channel="portal")
    (recorded,) = store.append(stream, [event])
    (read,) = store.read_stream(stream)
    for e in (recorded, read):
        assert e.event_id == event.event_id
        assert e.type == "TicketOpened" and e.schema_version == 1
        assert e.stream == stream and e.category == "thing"
        assert e.causation_id == cause and e.correlation_id == cause
        assert e.actor == "ana@example.com" and e.channel == "portal"
        assert e.global_position >= 1
    assert read.occurred_at == event.occurred_at


def test_recorded_events_say_which_store_holds_them(store):
    stream = new_stream()
    (recorded,) = store.append(stream, [ev()])
    (read,) = store.read_stream(stream)
    assert recorded.source == read.source == store.schema


def test_an_event_id_already_stored_is_refused_as_a_duplicate_and_nothing_is_written(store):
    first, other = new_stream(), new_stream()
    (kept,) = store.append(first, [ev(n=1)])
    again = NewEvent(type="Happened", data={"n": 2}, event_id=kept.event_id)
    with pytest.raises(DuplicateEvent) as refused:
        store.append(other, [ev(n=3), again])
    assert isinstance(refused.value, WrongExpectedVersion)  # writers that decide again handle both
    assert store.read_stream(other) == []
    twice = ev(n=4)
    with pytest.raises(DuplicateEvent):  # the same id twice in one append
        store.append(other, [twice, NewEvent(type="Happened", data={"n": 5}, event_id=twice.event_id)])
    assert store.read_stream(other) == [] and [e.data["n"] for e in store.read_stream(first)] == [1]


def test_root_event_correlates_with_itself(store):
    (recorded,) = store.append(new_stream(), [ev()])
    assert recorded.correlation_id == recorded.event_id and recorded.causation_id is None


def test_expected_version_must_match(store):
    stream = new_stream()
    store.append(stream, [ev()], expected_version=NO_STREAM)
    with pytest.raises(WrongExpectedVersion) as info:
        store.append(stream, [ev()], expected_version=NO_STREAM)
    assert info.value.actual == 0
    with pytest.raises(WrongExpectedVersion):
        store.append(stream, [ev()], expected_version=5)
    store.append(stream, [ev()], expected_version=0)
    store.append(stream, [ev()], expected_version=ANY)
    assert store.stream_version(stream) == 2


def test_a_failed_append_writes_nothing(store):
    stream = new_stream()
    store.append(stream, [ev(n=1)])
    with pytest.raises(WrongExpectedVersion):
        store.append(stream, [ev(n=2), ev(n=3)], expected_version=NO_STREAM)
    assert [e.data["n"] for e in store.read_stream(stream)] == [1]


def test_empty_append_is_refused(store):
    with pytest.raises(ValueError):
        store.append(new_stream(), [])


def test_read_stream_from_a_position_with_a_limit(store):
    stream = new_stream()
    store.append(stream, [ev(n=i) for i in range(10)])
    assert [e.stream_position for e in store.read_stream(stream, 4, limit=3)] == [4, 5, 6]
    assert store.read_stream(new_stream()) == []


def test_read_all_in_global_order_after_a_position_by_category(store):
    start = store.head()
    a, b = new_stream("alpha"), new_stream("beta")
    store.append(a, [ev(n=1)])
    store.append(b, [ev(n=2)])
    store.append(a, [ev(n=3)])
    everything = store.read_all(start)
    assert [e.data["n"] for e in everything] == [1, 2, 3]
    positions = [e.global_position for e in everything]
    assert positions == sorted(positions)
    assert [e.data["n"] for e in store.read_all(start, categories=["alpha"])] == [1, 3]
    assert [e.data["n"] for e in store.read_all(positions[0])] == [2, 3]
    assert len(store.read_all(start, limit=2)) == 2
    assert store.head() == positions[-1]


def test_old_schema_versions_are_upcast_on_read(request):
    upcasters = Upcasters()

    @upcasters.register("Renamed", 1)
    def v1_to_v2(data):
        data["full_name"] = data.pop("name")
        return data

    @upcasters.register("Renamed", 2)
    def v2_to_v3(data):
        data["language"] = "es"
        return data

    for store in (InMemoryEventStore(upcasters=upcasters),
                  PostgresEventStore(request.getfixturevalue("db"),
                                     request.getfixturevalue("schema"), upcasters)):
        stream = new_stream()
        store.append(stream, [NewEvent("Renamed", {"name": "Ana"}),
                              NewEvent("Renamed", {"full_name": "Eva", "language": "en"}, schema_version=3)])
        old, current = store.read_stream(stream)
        assert (old.schema_version, old.data) == (3, {"full_name": "Ana", "language": "es"})
        assert (current.schema_version, current.data) == (3, {"full_name": "Eva", "language": "en"})


# -- PostgreSQL under concurrency ----------------------------------------------------------


@pytest.fixture
def pg_store(db, schema):
    return PostgresEventStore(db, schema)


def test_two_concurrent_writers_with_the_same_expected_version_one_wins(pg_store):
    stream = new_stream()
    pg_store.append(stream, [ev()])
    barrier = threading.Barrier(2)
    outcomes = []

    def writer(n):
        barrier.wait()
        try:
            pg_store.append(stream, [ev(n=n)], expected_version=0)
            outcomes.append("ok")
        except WrongExpectedVersion:
            outcomes.append("conflict")

    threads = [threading.Thread(target=writer, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    assert pg_store.stream_version(stream) == 1


def test_a_reader_never_skips_an_event_that_commits_later(pg_store):
    """Many writers commit concurrently while a reader follows read_all from its last position.
    Whatever the interleaving, the reader must end up having seen every event exactly once."""
    writers, per_writer = 6, 25
    done = threading.Event()
    seen = []

    def write(w):
        for i in range(per_writer):
            pg_store.append(new_stream(), [ev(n=w * 1000 + i)])

    def read():
        position = 0
        while True:
            finished = done.is_set()
            batch = pg_store.read_all(position, limit=50)
            seen.extend(e.data["n"] for e in batch)
            if batch:
                position = batch[-1].global_position
            elif finished:
                return

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    reader.join()
    expected = {w * 1000 + i for w in range(writers) for i in range(per_writer)}
    assert len(seen) == len(expected) and set(seen) == expected


def test_events_are_immutable_in_postgres(pg_store, db):
    import psycopg2

    stream = new_stream()
    pg_store.append(stream, [ev()])
    with pytest.raises(psycopg2.errors.RaiseException):
        with db.transaction() as cur:
            cur.execute(f'UPDATE "{pg_store.schema}".events SET type = %s', ("Forged",))
    with pytest.raises(psycopg2.errors.RaiseException):
        with db.transaction() as cur:
            cur.execute(f'DELETE FROM "{pg_store.schema}".events')
    assert pg_store.read_stream(stream)[0].type == "Happened"


def test_append_joins_the_callers_transaction(pg_store, db):
    stream = new_stream()
    with pytest.raises(RuntimeError):
        with db.transaction() as cur:
            pg_store.append(stream, [ev()], cursor=cur)
            raise RuntimeError("the caller's own write failed")
    assert pg_store.read_stream(stream) == []
