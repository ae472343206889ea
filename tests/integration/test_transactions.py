"""`Database.transaction()` on autocommit connections, its BEGIN sent with the first statement
(helpdesk/db.py): still one transaction, all or nothing, whatever the first statement is."""
import psycopg2
import psycopg2.extensions
import psycopg2.extras
import pytest
from psycopg2 import sql

from helpdesk.db import Database, later


@pytest.fixture
def table(database_url):
    database = Database(database_url, size=1)
    name = "transactions_test"
    with database.transaction() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {name}; CREATE TABLE {name} (n int PRIMARY KEY)")
    yield database, name
    with database.transaction() as cur:
        cur.execute(f"DROP TABLE {name}")
    database.close()


def rows(database, name):
    with database.transaction() as cur:
        cur.execute(f"SELECT n FROM {name} ORDER BY n")
        return [n for (n,) in cur.fetchall()]


@pytest.mark.parametrize("first", ["str", "bytes", "composed", "execute_values", "executemany"])
def test_a_block_that_raises_writes_nothing_whatever_its_first_statement(table, first):
    database, name = table
    insert = f"INSERT INTO {name} (n) VALUES (%s)"
    with pytest.raises(RuntimeError), database.transaction() as cur:
        if first == "str":
            cur.execute(insert, (1,))
        elif first == "bytes":
            cur.execute(insert.encode(), (1,))
        elif first == "composed":
            cur.execute(sql.SQL("INSERT INTO {} (n) VALUES (%s)").format(sql.Identifier(name)), (1,))
        elif first == "execute_values":
            psycopg2.extras.execute_values(cur, f"INSERT INTO {name} (n) VALUES %s", [(1,)])
        else:
            cur.executemany(insert, [(1,), (2,)])
        cur.execute(insert, (3,))
        raise RuntimeError("after the writes")
    assert rows(database, name) == []
    with database.connection() as conn:  # the pool's one connection: handed back with no transaction open
        assert conn.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_IDLE


def test_a_block_that_ends_commits_every_statement_and_a_failed_statement_undoes_them(table):
    database, name = table
    with database.transaction() as cur:
        cur.execute(f"INSERT INTO {name} (n) VALUES (1)")
        cur.execute(f"INSERT INTO {name} (n) VALUES (2)")
    with pytest.raises(psycopg2.errors.UniqueViolation), database.transaction() as cur:
        cur.execute(f"INSERT INTO {name} (n) VALUES (3)")
        cur.execute(f"INSERT INTO {name} (n) VALUES (1)")
    assert rows(database, name) == [1, 2]


def test_set_local_lasts_the_transaction_only(table):
    database, _ = table
    with database.transaction() as cur:  # SET LOCAL outside a transaction block would be a warning and no-op
        cur.execute("SET LOCAL synchronous_commit TO OFF; SHOW synchronous_commit")
        assert cur.fetchone()[0] == "off"
    with database.transaction() as cur:
        cur.execute("SHOW synchronous_commit")
        assert cur.fetchone()[0] == "on"


def test_a_later_write_goes_with_the_next_statement_and_the_commit_in_order(table):
    database, name = table
    with database.transaction() as cur:
        later(cur, f"INSERT INTO {name} (n) VALUES (%s)", (1,))  # the first thing: BEGIN waits with it
        later(cur, f"INSERT INTO {name} (n) VALUES (%s)", (2,))
        cur.execute(f"SELECT count(*) FROM {name}")  # sent with both before it: they are seen
        assert cur.fetchone() == (2,)
        later(cur, f"INSERT INTO {name} (n) VALUES (%s)", (3,))  # only with the COMMIT
    assert rows(database, name) == [1, 2, 3]


def test_a_failing_later_write_undoes_the_whole_transaction_and_is_raised_by_the_next_statement(table):
    database, name = table
    with database.transaction() as cur:
        cur.execute(f"INSERT INTO {name} (n) VALUES (1)")
    with pytest.raises(psycopg2.errors.UniqueViolation), database.transaction() as cur:
        cur.execute(f"INSERT INTO {name} (n) VALUES (2)")
        later(cur, f"INSERT INTO {name} (n) VALUES (%s)", (1,))
        later(cur, f"INSERT INTO {name} (n) VALUES (%s)", (4,))
    assert rows(database, name) == [1]
    with pytest.raises(psycopg2.errors.UniqueViolation), database.transaction() as cur:
        later(cur, f"INSERT INTO {name} (n) VALUES (%s)", (1,))
        cur.execute("SELECT 1")
    with database.connection() as conn:
        assert conn.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_IDLE


def test_a_block_that_only_raises_with_later_writes_sends_nothing(table):
    database, name = table
    with pytest.raises(RuntimeError), database.transaction() as cur:
        later(cur, f"INSERT INTO {name} (n) VALUES (%s)", (7,))
        raise RuntimeError("before anything went")
    assert rows(database, name) == []


def test_later_outside_a_transaction_runs_at_once(table):
    database, name = table
    with database.connection() as conn, conn.cursor() as cur:  # autocommit: no transaction to wait for
        later(cur, f"INSERT INTO {name} (n) VALUES (%s)", (5,))
    assert rows(database, name) == [5]


def test_a_later_write_with_a_percent_sign_and_executemany_after_it(table):
    database, name = table
    with database.transaction() as cur:
        later(cur, f"INSERT INTO {name} (n) SELECT 6 WHERE '%%' LIKE %s", ("%",))
        cur.executemany(f"INSERT INTO {name} (n) VALUES (%s)", [(8,), (9,)])
    assert rows(database, name) == [6, 8, 9]


def test_many_later_writes_go_a_hundred_at_a_time_and_all_commit(table):
    database, name = table
    with database.transaction() as cur:
        for n in range(250):
            later(cur, f"INSERT INTO {name} (n) VALUES (%s)", (n,))
        assert len(cur._waiting) == 50  # two hundred sent already, in two statements' round trips
    assert rows(database, name) == list(range(250))
