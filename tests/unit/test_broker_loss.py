"""A broker that goes away while a worker runs must not end the service (issue 10's fault test:
a RabbitMQ restart ended tickets and the gateway). nameko lets two failures escape a thread, and
an error escaping a thread kills the whole container:
- the answer of an RPC that cannot be published (the broker refuses connections);
- the ack of a message over a connection the broker reset: nameko catches amqp's
  ConnectionError only, and a reset socket raises ConnectionResetError (an OSError).
The exceptions are the real ones kombu and the socket raise."""
import functools
import socket
from unittest import mock

import kombu
import nameko.messaging
import pytest

from helpdesk import extensions


@functools.lru_cache(maxsize=1)
def refused():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    try:
        with kombu.Connection(f"amqp://guest:guest@127.0.0.1:{port}//", connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
    except Exception as exc:  # noqa: BLE001 - the point is to keep what kombu raised
        return exc
    raise AssertionError("nothing raised")


def reset():
    return ConnectionResetError(104, "Connection reset by peer")


def a_message(failure):
    message = mock.Mock()
    message.channel.connection = object()  # nameko acks only while the channel has a connection
    message.properties = {"message_id": "m-1"}
    message.ack.side_effect = failure
    message.requeue.side_effect = failure
    return message


@pytest.mark.parametrize("operation", ["ack_message", "requeue_message"])
def test_nameko_lets_a_reset_connection_escape_from_ack_and_requeue(operation):
    """The failure being fixed: this is what killed the gateway."""
    with pytest.raises(ConnectionResetError):
        getattr(nameko.messaging.QueueConsumer(), operation)(a_message(reset()))


@pytest.mark.parametrize("operation", ["ack_message", "requeue_message"])
@pytest.mark.parametrize("failure", [reset, refused], ids=["reset", "refused"])
def test_our_queue_consumer_leaves_the_message_to_the_broker(operation, failure):
    message = a_message(failure())
    getattr(extensions.QueueConsumer(), operation)(message)  # nothing raised
    assert (message.ack if operation == "ack_message" else message.requeue).called


def test_an_answer_the_broker_cannot_take_does_not_escape_the_worker():
    entrypoint = extensions.Rpc()
    entrypoint.container = mock.Mock(service_name="tickets")
    entrypoint.rpc_consumer = mock.Mock()
    entrypoint.rpc_consumer.handle_result.side_effect = refused()
    message, result = a_message(None), {"ticket_id": "t"}
    assert entrypoint.handle_result(message, mock.Mock(call_id="tickets.open_ticket.1"), result, None) == (result, None)
    assert not message.ack.called  # unacked: the broker delivers the request again


def test_every_consumer_and_proxy_of_ours_uses_our_queue_consumer():
    for shared in (extensions.Rpc.rpc_consumer.queue_consumer, extensions.RpcProxy.rpc_reply_listener.queue_consumer,
                   extensions.EventSubscriber.queue_consumer):
        assert type(shared) is extensions.QueueConsumer


def test_every_service_entrypoint_and_proxy_is_ours():
    """A nameko `rpc` next to ours would be a second consumer of the service's queue, and a
    nameko RpcProxy's replies would again be acked by nameko's fragile consumer."""
    import nameko.rpc

    from services.gateway.auth import Auth
    from services.gateway.service import GatewayService
    from services.identity.service import IdentityService
    from services.notifier.inbound_service import InboundMailService
    from services.notifier.service import NotifierService
    from services.routing.service import RoutingService
    from services.sla.service import SlaService
    from services.tickets.service import TicketsService

    seen = {"rpc": 0, "proxy": 0}
    for service in (GatewayService, IdentityService, NotifierService, InboundMailService, RoutingService, SlaService,
                    TicketsService):
        for name in dir(service):
            attribute = getattr(service, name)
            for entrypoint in getattr(attribute, "nameko_entrypoints", ()):
                if isinstance(entrypoint, nameko.rpc.Rpc):
                    assert type(entrypoint) is extensions.Rpc, (service.name, name)
                    seen["rpc"] += 1
            if isinstance(attribute, nameko.rpc.RpcProxy):
                assert type(attribute) is extensions.RpcProxy, (service.name, name)
                seen["proxy"] += 1
    assert seen["rpc"] > 20 and seen["proxy"] > 5, seen
    assert type(Auth.rpc_reply_listener) is extensions.ReplyListener
