"""Statements prepared on the server once they repeat (helpdesk/db.py `_Prepared`): the same
answers as the statement sent whole, whatever the values; what PostgreSQL will not prepare still
runs; a connection never holds more than MOST_PREPARED of them."""
import uuid

import psycopg2
import pytest
from psycopg2 import sql

from helpdesk import db as dbmod
from helpdesk.db import PREPARE_AFTER, Database, later, later_values


@pytest.fixture
def database(database_url):
    database = Database(database_url, size=1)  # one connection: every run is on the same one
    with database.transaction() as cur:
        cur.execute("DROP TABLE IF EXISTS prepared_test;"
                    " CREATE TABLE prepared_test (id uuid PRIMARY KEY, n int, tags text[], note text)")
    yield database
    with database.transaction() as cur:
        cur.execute("DROP TABLE prepared_test")
    database.close()


def prepared_here(database):
    """The statements prepared on the pool's one connection, as the server lists them."""
    with database.connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT name FROM pg_prepared_statements")
        return {name for (name,) in cur.fetchall()}


def run(database, query, args, times=PREPARE_AFTER + 2):
    """Each run's rows, in its own transaction."""
    answers = []
    for _ in range(times):
        with database.transaction() as cur:
            cur.execute(query, args)
            answers.append(cur.fetchall())
    return answers


def test_a_repeated_statement_is_prepared_and_answers_as_before_for_every_kind_of_value(database):
    ids = [uuid.uuid4(), uuid.uuid4()]
    with database.transaction() as cur:
        cur.execute("INSERT INTO prepared_test VALUES (%s, 1, ARRAY['a', 'b'], 'uno'), (%s, 2, '{}', NULL)", ids)
    assert prepared_here(database) == set()
    queries = [  # lists of strings and of uuids, a bool, NULL, a Composed, a literal %
        ("SELECT n FROM prepared_test WHERE id = ANY(%s::uuid[]) ORDER BY n", ([str(i) for i in ids],)),
        ("SELECT n FROM prepared_test WHERE id = ANY(%s) ORDER BY n", (ids,)),
        ("SELECT n FROM prepared_test WHERE tags && %s ORDER BY n", (["b", "z"],)),
        ("SELECT n, (n > 1) = %s FROM prepared_test WHERE note IS NOT DISTINCT FROM %s", (True, None)),
        (sql.SQL("SELECT count(*) FROM {} WHERE n >= %s").format(sql.Identifier("prepared_test")), (1,)),
        ("SELECT n FROM prepared_test WHERE note LIKE 'u%%' AND n = %s", (1,)),  # a literal %
    ]
    for query, args in queries:
        answers = run(database, query, args)
        assert all(answer == answers[0] for answer in answers), (query, answers)
        assert answers[0], query
    assert len(prepared_here(database)) == len(queries)


def test_several_statements_in_one_text_are_split_outside_quotes(database):
    query = "SELECT %s::int + 1; SELECT 'a;b' || %s, 'it''s;' AS quoted"
    answers = run(database, query, (1, "c"))
    assert answers == [[("a;bc", "it's;")]] * len(answers)
    assert len(prepared_here(database)) == 2  # one per statement


def test_what_postgresql_will_not_prepare_runs_as_it_is_and_the_transaction_goes_on(database):
    row = uuid.uuid4()
    for attempt in range(PREPARE_AFTER + 2):
        with database.transaction() as cur:
            cur.execute("INSERT INTO prepared_test (id, n) VALUES (%s, %s)", (uuid.uuid4(), attempt))
            cur.execute("SELECT %s IS NULL", (None,))  # a parameter of no type: PREPARE refuses it
            assert cur.fetchone() == (True,)
            cur.execute("SET LOCAL synchronous_commit TO OFF; SELECT count(*) FROM prepared_test WHERE n = %s",
                        (attempt,))
            assert cur.fetchone() == (1,)
    with database.transaction() as cur:
        cur.execute("INSERT INTO prepared_test (id, n) VALUES (%s, 99)", (row,))
        cur.execute("SELECT count(*) FROM prepared_test")
        assert cur.fetchone() == (PREPARE_AFTER + 3,)  # every transaction committed


def test_a_rolled_back_transaction_leaves_its_prepared_statements_usable(database):
    insert = "INSERT INTO prepared_test (id, n) VALUES (%s, %s)"
    for n in range(PREPARE_AFTER):
        with database.transaction() as cur:
            cur.execute(insert, (uuid.uuid4(), n))
    with pytest.raises(psycopg2.errors.UniqueViolation), database.transaction() as cur:
        taken = uuid.uuid4()
        cur.execute(insert, (taken, 100))
        cur.execute(insert, (taken, 101))
    with database.transaction() as cur:
        cur.execute(insert, (uuid.uuid4(), 102))
        cur.execute("SELECT n FROM prepared_test WHERE n >= 100")
        assert cur.fetchall() == [(102,)]


def test_writes_sent_later_and_values_lists_are_prepared_too(database):
    for n in range(PREPARE_AFTER + 1):
        with database.transaction() as cur:
            later(cur, "INSERT INTO prepared_test (id, n) VALUES (%s, %s)", (uuid.uuid4(), n))
            later_values(cur, "INSERT INTO prepared_test (id, n, note) VALUES %s",
                         [(uuid.uuid4(), 10 + n, "x"), (uuid.uuid4(), 20 + n, "y")])
    with database.transaction() as cur:
        cur.execute("SELECT count(*), count(note) FROM prepared_test")
        assert cur.fetchone() == (3 * (PREPARE_AFTER + 1), 2 * (PREPARE_AFTER + 1))
    assert len(prepared_here(database)) == 2


def test_a_connection_keeps_at_most_the_most_prepared_and_can_prepare_an_evicted_one_again(database, monkeypatch):
    monkeypatch.setattr(dbmod, "MOST_PREPARED", 2)
    texts = [f"SELECT %s::int + {k}" for k in range(3)]
    for text in texts + texts[:1]:  # the third evicts the first; the first comes back
        assert run(database, text, (1,)) == [[(1 + int(text.rsplit(" ", 1)[1]),)]] * (PREPARE_AFTER + 2)
    run(database, texts[2], (1,), times=1)  # sends the DEALLOCATE of what the first's return evicted
    assert len(prepared_here(database)) <= 2
