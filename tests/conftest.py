"""Shared fixtures. The suite runs against real PostgreSQL and RabbitMQ (see Makefile: `make test`
starts private ones under var/ unless DATABASE_URL / AMQP_URI are given)."""
import eventlet

eventlet.monkey_patch()  # before anything imports socket/threading; also makes psycopg2 green

import os  # noqa: E402

import pytest  # noqa: E402

from helpdesk import testing  # noqa: E402
from helpdesk.db import Database  # noqa: E402

DEFAULTS = {
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:54329/helpdesk",
    "AMQP_URI": "amqp://guest:guest@127.0.0.1:56729/",
    "RABBIT_MANAGEMENT_URL": "http://guest:guest@127.0.0.1:15679/",
}


def setting(name):
    return os.environ.get(name) or DEFAULTS[name]


@pytest.fixture(scope="session")
def database_url():
    """A database of its own for this test run, dropped at the end."""
    admin = setting("DATABASE_URL")
    url = testing.create_database(admin)
    yield url
    testing.drop_database(admin, url)


@pytest.fixture(scope="session")
def db(database_url):
    # named, so that tests killing the running system's connections can spare the test's own
    database = Database(f"{database_url}?application_name=pytest-db", size=12)
    yield database
    database.close()


@pytest.fixture
def schema(database_url):
    """A fresh schema with the event store and inbox tables."""
    return testing.create_schema(database_url)


@pytest.fixture(scope="session")
def rabbit():
    return testing.RabbitVhosts(setting("AMQP_URI"), setting("RABBIT_MANAGEMENT_URL"))


@pytest.fixture
def vhost(rabbit):
    """An isolated RabbitMQ vhost: (name, amqp uri)."""
    name, uri = rabbit.create()
    yield name, uri
    rabbit.delete(name)
