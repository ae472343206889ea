"""The services' pool (helpdesk.db.Database) survives its connections being killed: a request may
meet a dead connection once, which is then discarded, never handed out again."""
import uuid

import psycopg2
import pytest

from helpdesk.db import Database, connect


def kill_connections_of(database_url, application_name):
    with connect(database_url) as admin, admin.cursor() as cur:
        cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = %s", (application_name,))
        return cur.fetchone()[0]


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
        # the first user meets a dead connection; the idle ones are then replaced with it, so a
        # consumer's next retry gets a live one (not one failure per pooled connection)
        assert failures == 1
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
                kill_connections_of(database_url, name)
                cur.execute("SELECT 1")
        with database.transaction() as cur:  # size 1: only a fresh connection can answer this
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
    finally:
        database.close()
