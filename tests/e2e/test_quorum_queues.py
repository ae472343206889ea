"""The whole system on quorum queues (BROKER.queue_type = quorum, as on a cluster), on one broker
node: a ticket to Soporte 24 Horas is opened, routed, assigned and mailed as on classic queues;
every durable queue of its vhost is a quorum queue (subscriptions with their retries and dead
letters, the inbound mail's, nameko's RPC request queues), the RPC reply queues are transient,
and no dead letter is left."""
import pytest

from helpdesk import testing

from .conftest import as_user, system_of_its_own, wait_for_mail

CUSTOMER = "cliente@demo.example"


@pytest.fixture(scope="module")
def quorum_system(rabbit, tmp_path_factory):
    with system_of_its_own(rabbit, tmp_path_factory.mktemp("quorum"), {"QUEUE_TYPE": "quorum"}) as system:
        yield system


def test_a_ticket_goes_all_the_way_on_quorum_queues(quorum_system, rabbit):
    customer = as_user(quorum_system, CUSTOMER)
    opened = customer.call("POST", "/api/v1/tickets", {
        "department": "support_24h", "title": "Caída total del servidor", "urgency": "high",
        "description": "El servidor de producción no responde desde hace diez minutos."})
    assert opened.status_code == 201, opened.text
    ticket_id = opened.json()["ticket_id"]
    assigned = testing.wait_until(lambda: customer.call("GET", f"/api/v1/tickets/{ticket_id}").json()["assignee_id"],
                                  timeout=20)
    assert assigned, quorum_system.log_tail()
    wait_for_mail(quorum_system, CUSTOMER)

    queues = rabbit.queues(quorum_system.vhost)
    durable = {queue["name"]: queue["type"] for queue in queues if queue["durable"]}
    assert {"notifier.from.tickets", "routing.from.tickets", "sla.from.tickets", "notifier.inbound",
            "rpc-tickets", "rpc-identity"} <= set(durable)
    assert set(durable.values()) == {"quorum"}, durable
    replies = [queue for queue in queues if queue["name"].startswith("rpc.reply-")]
    assert replies and not any(queue["durable"] for queue in replies)
    dead = {name: rabbit.queue_depth(quorum_system.vhost, name) for name in durable if name.endswith(".dlq")}
    assert set(dead.values()) == {0}, dead
