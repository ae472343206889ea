"""Queue types on a real RabbitMQ (helpdesk.messaging, helpdesk.queues): with BROKER.queue_type
quorum every durable queue we declare is a quorum queue with the dead-lettering it needs, a
message a consumer keeps failing to ack is dead-lettered after DELIVERY_LIMIT deliveries instead
of looping, nameko's RPC request queue follows the setting while reply queues stay transient,
and `python -m helpdesk.queues convert` brings a classic deployment's queues, messages and
bindings included, to quorum (and back)."""
import uuid

import kombu
import pytest
from nameko.containers import ServiceContainer

from helpdesk import config as helpdesk_config
from helpdesk import queues, testing
from helpdesk.extensions import RpcProxy, rpc
from helpdesk.messaging import (DELIVERY_LIMIT, Message, Publisher, dead_letter_queue_name, declare_subscription,
                                events_exchange, queue_type, retry_queue_name)
from helpdesk.migrate import declare_topology


def test_the_queue_type_is_read_from_the_configuration_and_checked():
    assert queue_type({}) == "classic" and queue_type({"BROKER": {"queue_type": " Quorum "}}) == "quorum"
    with pytest.raises(ValueError):
        queue_type({"BROKER": {"queue_type": "stream"}})
    assert queue_type(helpdesk_config.load(env={"QUEUE_TYPE": "quorum"})) == "quorum"


def test_quorum_subscription_queues_dead_letter_at_least_once(rabbit, vhost):
    name, uri = vhost
    with kombu.Connection(uri) as connection:
        main, (retry,), dlq = declare_subscription(connection, "consumer", "source", [0.5], "quorum")
    described = {queue: rabbit.queue(name, queue) for queue in (main.name, retry.name, dlq.name)}
    assert {queue: info["type"] for queue, info in described.items()} == dict.fromkeys(described, "quorum")
    assert described[main.name]["arguments"] == {
        "x-queue-type": "quorum", "x-delivery-limit": DELIVERY_LIMIT, "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": dlq.name, "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}
    assert described[retry.name]["arguments"]["x-message-ttl"] == 500
    assert described[retry.name]["arguments"]["x-dead-letter-routing-key"] == main.name
    assert described[retry.name]["arguments"]["x-dead-letter-strategy"] == "at-least-once"


def test_a_message_never_acked_is_dead_lettered_after_the_delivery_limit(rabbit, vhost):
    name, uri = vhost
    with kombu.Connection(uri) as connection:
        main, _, dlq = declare_subscription(connection, "consumer", "source", [0.5], "quorum")
        publisher = Publisher(uri)
        publisher.publish({"n": 1}, exchange=events_exchange("source").name, routing_key="Happened", message_id="m1")
        publisher.close()
        channel = connection.channel()
        deliveries = 0
        while True:
            message = channel.basic_get(main.name, no_ack=False)
            if message is None:
                break
            deliveries += 1
            channel.basic_reject(message.delivery_info["delivery_tag"], requeue=True)  # a consumer dying on it
            assert deliveries <= DELIVERY_LIMIT + 1
    assert deliveries == DELIVERY_LIMIT + 1  # the first delivery and DELIVERY_LIMIT redeliveries
    assert testing.wait_until(lambda: rabbit.queue_depth(name, dlq.name) == 1, timeout=10)
    assert rabbit.queue_depth(name, main.name) == 0


@pytest.mark.parametrize("kind", ["classic", "quorum"])
def test_rpc_request_queues_follow_the_setting_and_reply_queues_are_transient(rabbit, vhost, kind):
    name, uri = vhost
    callee = f"callee_{uuid.uuid4().hex[:6]}"

    class Callee:
        @rpc
        def double(self, n):
            return 2 * n

    class Caller:
        other = RpcProxy(callee)

        @rpc
        def ask(self, n):
            return self.other.double(n)

    Callee.name, Caller.name = callee, f"caller_{uuid.uuid4().hex[:6]}"
    settings = {"AMQP_URI": uri, "BROKER": {"queue_type": kind}}
    containers = [ServiceContainer(Callee, settings), ServiceContainer(Caller, settings)]
    for container in containers:
        container.start()
    try:
        from nameko.standalone.rpc import ClusterRpcProxy

        with ClusterRpcProxy({"AMQP_URI": uri}) as cluster:
            assert getattr(cluster, Caller.name).ask(21) == 42
        listed = {queue["name"]: queue for queue in rabbit.queues(name)}
        assert listed[f"rpc-{callee}"]["type"] == kind and listed[f"rpc-{callee}"]["durable"] is True
        replies = [queue for queue_name, queue in listed.items() if queue_name.startswith(f"rpc.reply-{Caller.name}-")]
        assert replies and all(not queue["durable"] and queue["exclusive"] and queue["type"] == "classic"
                               for queue in replies)
    finally:
        for container in containers:
            container.stop()


def test_convert_brings_a_classic_deployment_to_quorum_keeping_messages_order_and_bindings(rabbit, vhost):
    name, uri = vhost
    settings = helpdesk_config.load(env={"AMQP_URI": uri, "RABBIT_MANAGEMENT_URL": rabbit.management_url})
    delays = [1, 5, 30]  # config.yaml's
    declare_topology(uri, delays)  # as a deployment of the classic days did
    subscription = "notifier.from.tickets"
    publisher = Publisher(uri)
    publisher.publish_many([Message({"n": n}, "TicketOpened", events_exchange("tickets").name, headers={"x-n": n},
                                    message_id=f"m{n}") for n in range(5)])
    publisher.publish({"dead": True}, routing_key=dead_letter_queue_name(subscription), message_id="d1",
                      headers={"x-helpdesk-error": "boom"})
    publisher.publish({"later": True}, routing_key=retry_queue_name(subscription, 30), message_id="r1")
    with kombu.Connection(uri) as connection:  # a nameko service's RPC queue, as nameko declares it
        kombu.Queue("rpc-tickets", exchange=kombu.Exchange("nameko-rpc", type="topic", durable=True),
                    routing_key="tickets.*", durable=True)(connection.channel()).declare()
    assert rabbit.queue(name, subscription)["type"] == "classic"

    changed = queues.convert(settings, "quorum", report=lambda line: None)
    assert changed[subscription] == 5 and changed[dead_letter_queue_name(subscription)] == 1
    assert "rpc-tickets" in changed, changed
    assert changed["notifier.inbound"] == 0  # declared by the migration tool since; empty
    listed = {queue["name"]: queue for queue in rabbit.queues(name)}
    ours = [queue for queue_name, queue in listed.items() if queue_name != "rpc-tickets.converting"]
    assert {queue["type"] for queue in ours} == {"quorum"} and not any(n.endswith(".converting") for n in listed)

    kept = testing.drain(uri, subscription, 5)
    assert kept == [{"n": n} for n in range(5)]  # in order
    publisher.publish({"n": 5}, exchange=events_exchange("tickets").name, routing_key="TicketOpened")
    assert testing.drain(uri, subscription, 1) == [{"n": 5}]  # still bound to the tickets exchange
    with kombu.Connection(uri) as connection:
        dead = connection.default_channel.basic_get(dead_letter_queue_name(subscription), no_ack=True)
    assert dead.headers["x-helpdesk-error"] == "boom" and dead.properties["message_id"] == "d1"
    assert rabbit.queue_depth(name, retry_queue_name(subscription, 30)) == 1
    with kombu.Connection(uri) as connection:  # the services' own declarations now agree
        declare_subscription(connection, "notifier", "tickets", delays, "quorum")

    assert queues.convert(settings, "quorum", report=lambda line: None) == {}  # done: nothing to do
    back = queues.convert(settings, "classic", report=lambda line: None)
    assert subscription in back and rabbit.queue(name, subscription)["type"] == "classic"
    publisher.close()


def test_convert_finishes_a_queue_a_crash_left_in_its_holding_queue(rabbit, vhost):
    name, uri = vhost
    settings = helpdesk_config.load(env={"AMQP_URI": uri, "RABBIT_MANAGEMENT_URL": rabbit.management_url})
    subscription = "routing.from.identity"
    holding = subscription + queues.HOLDING_SUFFIX
    with kombu.Connection(uri) as connection:  # the crash: messages moved out, the queue deleted
        kombu.Queue(holding, durable=True, queue_arguments={"x-queue-type": "quorum"})(connection.channel()).declare()
    publisher = Publisher(uri)
    publisher.publish({"n": 1}, routing_key=holding, message_id="m1")
    publisher.close()
    changed = queues.convert(settings, "quorum", report=lambda line: None)
    assert changed == {subscription: 1}
    assert rabbit.queue(name, subscription)["type"] == "quorum"
    assert testing.drain(uri, subscription, 1) == [{"n": 1}]
