"""The services' pool (helpdesk.db.Database) survives its connections being killed: a connection
the server closed while idle is replaced before anybody uses it, and one that breaks in use is
discarded, never handed out again."""
import uuid

import psycopg2
import pytest

from helpdesk.db import Database, connect


def kill_connections_of(database_url, application_name, wait=True):
    """Terminates the backends; with `wait`, returns once they have exited (pg_terminate_backend
    only signals them), as after a restart, when the server has long said goodbye."""
    from helpdesk import testing

    with connect(database_url) as admin, admin.cursor() as cur:
        cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = %s", (application_name,))
        killed = cur.fetchone()[0]

    def gone():
        with connect(database_url) as admin, admin.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application_name,))
            return cur.fetchone()[0] == 0
    if wait:
        assert testing.wait_until(gone, timeout=10)
    return killed


def test_the_pool_recovers_after_its_connections_are_killed(database_url):
    name = f"recovery-{uuid.uuid4().hex[:8]}"
    database = Database(f"{database_url}?application_name={name}", size=3)
    try:
        with database.transaction() as cur:
            cur.execute("SELECT 1")
        assert kill_connections_of(database_url, name) == 3
        failures = 0
        for _ in range(3 + 5):
            try:
                with database.transaction() as cur:
                    cur.execute("SELECT 1")
                    assert cur.fetchone() == (1,)
            except psycopg2.OperationalError:
                failures += 1
        # the dead idle connections are seen at checkout and replaced: nobody meets one (they
        # used to fail one request, a 503 from a database that was up)
        assert failures == 0
        for _ in range(10):  # and from then on every user gets a live one
            with database.transaction() as cur:
                cur.execute("SELECT 1")
    finally:
        database.close()


def test_a_connection_broken_inside_a_block_is_not_returned_to_the_pool(database_url):
    name = f"recovery-{uuid.uuid4().hex[:8]}"
    database = Database(f"{database_url}?application_name={name}", size=1)
    try:
        with pytest.raises(psycopg2.OperationalError):
            with database.transaction() as cur:
                kill_connections_of(database_url, name, wait=False)
                cur.execute("SELECT 1")
        with database.transaction() as cur:  # size 1: only a fresh connection can answer this
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
    finally:
        database.close()
