"""Helpers for tests and benchmarks: throwaway databases, schemas and RabbitMQ vhosts."""
import time
import uuid
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg2
import requests
from psycopg2 import sql

from .migrate import LIBRARY_SQL, migrate_schema


def wait_until(predicate, timeout=10.0, interval=0.02):
    """Polls `predicate` until it is truthy or `timeout` passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def with_database(url, name):
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def create_database(url, prefix="helpdesk_test"):
    """A new empty database on the server of `url`; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conn.close()
    return with_database(url, name)


def drop_database(admin_url, url):
    name = urlsplit(url).path.lstrip("/")
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    conn.close()


def create_schema(url, parts=("eventstore", "inbox"), prefix="t"):
    """A fresh schema holding the given library parts; returns its name."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    migrate_schema(url, schema, [(f"helpdesk.{p}", LIBRARY_SQL / p) for p in parts])
    return schema


class RabbitVhosts:
    """Creates and deletes isolated vhosts through the management API."""

    def __init__(self, amqp_uri, management_url):
        self.amqp_uri = amqp_uri
        parts = urlsplit(management_url)
        self.auth = (parts.username or "guest", parts.password or "guest")
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        self.api = urlunsplit(parts._replace(netloc=netloc)).rstrip("/")

    def create(self, prefix="test"):
        vhost = f"{prefix}_{uuid.uuid4().hex[:10]}"
        user = urlsplit(self.amqp_uri).username or "guest"
        self._call("put", f"/api/vhosts/{quote(vhost)}")
        self._call("put", f"/api/permissions/{quote(vhost)}/{quote(user)}",
                   json={"configure": ".*", "write": ".*", "read": ".*"})
        parts = urlsplit(self.amqp_uri)
        return vhost, urlunsplit(parts._replace(path=f"/{quote(vhost)}"))

    def delete(self, vhost):
        self._call("delete", f"/api/vhosts/{quote(vhost)}", ok=(204, 404))

    def queue_depth(self, vhost, queue):
        response = self._call("get", f"/api/queues/{quote(vhost)}/{quote(queue)}")
        return response.json().get("messages", 0)

    def _call(self, method, path, ok=(200, 201, 204), **kwargs):
        response = requests.request(method, self.api + path, auth=self.auth, timeout=10, **kwargs)
        if response.status_code not in ok:
            raise RuntimeError(f"{method.upper()} {path}: {response.status_code} {response.text}")
        return response


def bind_queue(amqp_uri, exchange, queue_name, routing_key="#"):
    """A durable queue bound to `exchange` (a kombu Exchange), for tests that watch what is published."""
    import kombu

    queue = kombu.Queue(queue_name, exchange=exchange, routing_key=routing_key, durable=True)
    with kombu.Connection(amqp_uri) as connection:
        queue(connection.channel()).declare()
    return queue


def drain(amqp_uri, queue_name, count, timeout=10.0):
    """Takes up to `count` messages' decoded bodies from `queue_name`, waiting at most `timeout`."""
    import kombu

    bodies = []
    deadline = time.monotonic() + timeout
    with kombu.Connection(amqp_uri) as connection:
        queue = connection.SimpleQueue(queue_name)
        try:
            while len(bodies) < count and time.monotonic() < deadline:
                try:
                    message = queue.get(timeout=max(0.05, deadline - time.monotonic()))
                except queue.Empty:
                    break
                bodies.append(message.decode())
                message.ack()
        finally:
            queue.close()
    return bodies
