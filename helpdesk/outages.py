"""What an outage of the infrastructure looks like, written once: the gateway answers one with 503
and Retry-After (its client retries with the same Idempotency-Key), a consumer waits one out in its
retry queues without spending the message's retries. Neither is the request's or the message's
fault, and neither is a bug (those stay a logged 500, or a retry and then the dead-letter queue).

An outage is met directly (the broker or the network while publishing or awaiting an RPC: kombu
wraps socket errors as its OperationalError, py-amqp raises its ConnectionError family; the
database, for a service that has one) or carried over RPC from another service as nameko's
RemoteError, which names the class: psycopg2's connection and server failures (OperationalError,
InterfaceError and their subclasses, e.g. AdminShutdown after pg_terminate_backend), a broker
failure inside that service, or a service it called that is not running."""
import errno
import socket

import amqp.exceptions
import kombu.exceptions
import psycopg2
from nameko.exceptions import RemoteError, UnknownService

LOCAL = (psycopg2.OperationalError, psycopg2.InterfaceError, kombu.exceptions.OperationalError,
         amqp.exceptions.ConnectionError, amqp.exceptions.RecoverableConnectionError, ConnectionError,
         TimeoutError, socket.gaierror, UnknownService)
NETWORK_ERRNOS = frozenset({errno.ECONNREFUSED, errno.ECONNRESET, errno.EPIPE, errno.ETIMEDOUT, errno.ENETDOWN,
                            errno.ENETUNREACH, errno.EHOSTDOWN, errno.EHOSTUNREACH})


def _subclass_names(*roots):
    """The names of `roots` and of all their subclasses (classes, not names, are walked: kombu's
    and psycopg2's OperationalError share one)."""
    seen, pending = set(), list(roots)
    while pending:
        cls = pending.pop()
        if cls not in seen:
            seen.add(cls)
            pending.extend(cls.__subclasses__())
    return frozenset(cls.__name__ for cls in seen)


REMOTE = _subclass_names(*LOCAL)


def is_outage(exc):
    """A failure of the infrastructure, not of the request or the message."""
    if isinstance(exc, RemoteError):
        return exc.exc_type in REMOTE
    if isinstance(exc, LOCAL):
        return True
    return isinstance(exc, OSError) and exc.errno in NETWORK_ERRNOS
