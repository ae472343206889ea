"""A consumer's retry budget is for failures a message can cause. An outage (the database or the
broker away, here or in the service an RPC went to) is waited out in the retry queues with the
retries the message had, never dead-lettered: a PostgreSQL restart longer than the retry delays
together dead-lettered the events that arrived meanwhile (issue 10's fault test)."""
from types import SimpleNamespace
from unittest import mock

import psycopg2
import pytest
from nameko.exceptions import RemoteError

from helpdesk import extensions
from helpdesk.messaging import RETRY_COUNT_HEADER


def subscriber():
    sub = extensions.EventSubscriber("tickets")
    sub.queue = SimpleNamespace(name="routing.from.tickets")
    sub.retry_queues = [SimpleNamespace(name="routing.from.tickets.retry.1s"),
                        SimpleNamespace(name="routing.from.tickets.retry.5s")]
    sub.dlq = SimpleNamespace(name="routing.from.tickets.dlq")
    sub.publisher = mock.Mock()
    sub.queue_consumer = mock.Mock()
    return sub


def fail(sub, exc, headers):
    message = mock.Mock(headers=dict(headers), body=b"{}", content_type="application/json",
                        properties={"message_id": "e-1"})
    sub.handle_result(message, mock.Mock(), exc_info=(type(exc), exc, None))
    (call,) = sub.publisher.publish.call_args_list[-1:]
    assert sub.queue_consumer.ack_message.call_args == mock.call(message)  # forwarded, then acked
    return call.kwargs["routing_key"], call.kwargs["headers"]


OUTAGES = [
    psycopg2.OperationalError("server closed the connection unexpectedly"),
    psycopg2.errors.AdminShutdown("terminating connection due to administrator command"),
    psycopg2.InterfaceError("connection already closed"),
    ConnectionRefusedError(111, "Connection refused"),
    RemoteError("OperationalError", "FATAL:  the database system is shutting down"),
    RemoteError("AdminShutdown", "terminating connection due to administrator command"),
]


@pytest.mark.parametrize("exc", OUTAGES, ids=lambda e: type(e).__name__ + getattr(e, "exc_type", ""))
def test_an_outage_keeps_the_retries_and_waits_longer_each_time_but_is_never_dead_lettered(exc):
    sub = subscriber()
    headers = {RETRY_COUNT_HEADER: 2}  # every retry spent: the next failure of its own would be its last
    targets = []
    for _ in range(4):
        target, headers = fail(sub, exc, headers)
        targets.append(target)
        assert headers[RETRY_COUNT_HEADER] == 2
    assert targets == ["routing.from.tickets.retry.1s", "routing.from.tickets.retry.5s",
                       "routing.from.tickets.retry.5s", "routing.from.tickets.retry.5s"]
    assert headers[extensions.OUTAGE_COUNT_HEADER] == 4


@pytest.mark.parametrize("exc", [RuntimeError("handler bug"), psycopg2.errors.UniqueViolation("duplicate key"),
                                 RemoteError("InvalidInput", "no such ticket")], ids=lambda e: type(e).__name__)
def test_a_failure_of_the_message_still_spends_its_retries_then_goes_to_the_dead_letter_queue(exc):
    sub = subscriber()
    assert fail(sub, exc, {})[0] == "routing.from.tickets.retry.1s"
    assert fail(sub, exc, {RETRY_COUNT_HEADER: 1})[0] == "routing.from.tickets.retry.5s"
    target, headers = fail(sub, exc, {RETRY_COUNT_HEADER: 2, extensions.OUTAGE_COUNT_HEADER: 3})
    assert target == "routing.from.tickets.dlq" and headers[RETRY_COUNT_HEADER] == 3
