"""Beyond one machine (issue 14): three RabbitMQ nodes on loopback ports forming one cluster
behind haproxy, quorum queues, two replicas of every service (the gateways behind haproxy too).
Under a load of several hundred tickets, one broker node and one replica of each service are
killed with SIGKILL (for each event-sourced service, the one whose outbox relay is active, so
the other's must take over). Afterwards: every ticket whose opening was acknowledged (201) exists once,
whatever the retries its client made with its Idempotency-Key; each is routed (routing knows it;
the urgent ones of Soporte 24 Horas have their agent), has its SLA clock, and every mail the
notifier planned reached the SMTP server, once per recipient and event (its Message-ID), except
the mails of the events the killed notifier replica had in flight: sent, not yet marked, so sent
again under the same Message-IDs (mail is at least once at that one point, as in the fault test:
at most one event per sending lane); no message is left in a dead-letter queue."""
import collections
import signal
import threading
import time
import uuid

import psycopg2
import pytest
import requests

from helpdesk import config, testing
from services.identity.seed import DEMO_PASSWORD
from services.notifier.mail import sending_lanes

from ..conftest import setting

pytestmark = pytest.mark.cluster

TICKETS = 300
CLIENTS = 8
KILL_AFTER = 100  # acknowledged tickets before the kills
CUSTOMER = "cliente@demo.example"
SERVICES = ("gateway", "identity", "tickets", "routing", "sla", "content", "notifier", "inbound")
RELAYING = ("identity", "tickets", "sla", "content")  # event-sourced: one active relay each


def victims(system):
    """One replica of each service: for those with a relay, the one whose relay is active (so the
    other must take over), else the second."""
    chosen = []
    for name in SERVICES:
        first = (system.logs / f"{name}.log").read_text(errors="replace")
        chosen.append(name if name in RELAYING and f"relay events of {name} is active" in first else f"{name}-2")
    return chosen


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with testing.RabbitCluster(3) as brokers:
        balancer = testing.LoadBalancer(tmp_path_factory.mktemp("amqp"),
                                        {"amqp": ("tcp", [node.rmq_port for node in brokers.nodes])}).start()
        try:
            yield brokers, f"amqp://guest:guest@127.0.0.1:{balancer.ports['amqp']}/"
        finally:
            balancer.stop()


@pytest.fixture(scope="module")
def system(cluster, tmp_path_factory):
    brokers, amqp_uri = cluster
    admin_url = setting("DATABASE_URL")
    database_url = testing.create_database(admin_url, prefix="helpdesk_cluster")
    running = testing.RunningSystem(database_url, brokers.rabbit(amqp_uri), tmp_path_factory.mktemp("system"),
                                    extra_env={"QUEUE_TYPE": "quorum", "GATEWAY_SESSION_CACHE_SECONDS": "5"},
                                    replicas=2)
    try:
        running.start(timeout=180)
        yield running
    finally:
        running.vhost = None  # thrown away with the cluster (deleting it there takes minutes)
        running.stop(grace=2)
        testing.drop_database(admin_url, database_url)


class Load:
    """CLIENTS threads opening TICKETS tickets, each retried with its own Idempotency-Key until
    answered 201 (a 503, a broken connection or a timeout is what a client sees of a kill)."""

    def __init__(self, system, tag):
        self.system, self.tag = system, tag
        self.acknowledged, self.retries, self.lock = {}, collections.Counter(), threading.Lock()
        self.todo = list(range(TICKETS))

    def session(self, client):
        session = requests.Session()
        session.headers["X-Forwarded-For"] = f"10.77.0.{client + 1}"  # a client address each: throttles are per address
        login = session.post(self.system.url("/api/v1/auth/login"), json={"email": CUSTOMER, "password": DEMO_PASSWORD},
                             timeout=30)
        login.raise_for_status()
        session.headers["Authorization"] = f"Bearer {login.json()['token']}"
        return session

    def run_client(self, client):
        session = self.session(client)
        while True:
            with self.lock:
                if not self.todo:
                    return
                n = self.todo.pop(0)
            urgent = n % 3 == 0
            body = {"department": "support_24h" if urgent else "networks", "urgency": "high" if urgent else "medium",
                    "title": f"Cluster {self.tag} #{n}", "description": f"Prueba de clúster, ticket {n}."}
            key = f"cluster-{self.tag}-{n}"
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    answer = session.post(self.system.url("/api/v1/tickets"), json=body, timeout=15,
                                          headers={"Idempotency-Key": key})
                except requests.RequestException:
                    answer = None
                if answer is not None and answer.status_code == 201:
                    with self.lock:
                        self.acknowledged[n] = (answer.json()["ticket_id"], urgent)
                    break
                if answer is not None and answer.status_code == 401:
                    session = self.session(client)  # its session was cached by a gateway that died: ask again
                with self.lock:
                    self.retries[answer.status_code if answer is not None else "error"] += 1
                time.sleep(0.3)


def rows(database_url, query, *params):
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchall()


def test_killing_a_broker_node_and_a_replica_of_each_service_under_load_loses_nothing_and_repeats_only_mail_in_flight(cluster, system):
    brokers, _ = cluster
    load = Load(system, uuid.uuid4().hex[:6])
    clients = [threading.Thread(target=load.run_client, args=(n,)) for n in range(CLIENTS)]
    began = time.monotonic()
    for client in clients:
        client.start()
    assert testing.wait_until(lambda: len(load.acknowledged) >= KILL_AFTER, timeout=120), load.retries
    brokers.nodes[2].kill_rabbitmq()
    killed = victims(system)
    for name in killed:
        system.signal(name, signal.SIGKILL)
    finished = time.monotonic() + 300
    for client in clients:
        client.join(timeout=max(0.1, finished - time.monotonic()))
    loaded = time.monotonic() - began
    assert len(load.acknowledged) == TICKETS, (len(load.acknowledged), load.retries, system.log_tail())
    ticket_ids = {ticket_id for ticket_id, _ in load.acknowledged.values()}
    urgent = {ticket_id for ticket_id, is_urgent in load.acknowledged.values() if is_urgent}
    url = system.database_url

    # every acknowledged ticket once: retries with the same key made no second one
    titles = rows(url, "SELECT title, count(*) FROM tickets.ticket_summaries WHERE title LIKE %s GROUP BY title",
                  f"Cluster {load.tag} #%")
    assert len(titles) == TICKETS and {count for _, count in titles} == {1}
    assert {str(row[0]) for row in rows(url, "SELECT ticket_id FROM tickets.ticket_summaries WHERE title LIKE %s",
                                        f"Cluster {load.tag} #%")} == ticket_ids

    def settled():
        routed = {str(r[0]) for r in rows(url, "SELECT ticket_id FROM routing.tickets")}
        clocks = {str(r[0]) for r in rows(url, "SELECT ticket_id FROM sla.clocks")}
        assigned = {str(r[0]) for r in rows(url, "SELECT ticket_id FROM tickets.ticket_summaries"
                                                 " WHERE assignee_id IS NOT NULL")}
        pending = rows(url, "SELECT count(*) FROM notifier.mail_outbox WHERE status <> 'sent'")[0][0]
        return ticket_ids <= routed and ticket_ids <= clocks and urgent <= assigned and pending == 0
    assert testing.wait_until(settled, timeout=180, interval=1), system.log_tail()

    # every planned mail reached the SMTP server; one per recipient and event (its Message-ID
    # is <event id.digest@domain>: notifier/mail.py message_id)
    planned = {(str(event_id), recipient.lower()) for event_id, recipient in rows(
        url, "SELECT event_id, recipient FROM notifier.mail_outbox WHERE status = 'sent'")}
    assert planned

    def received():
        return collections.Counter((str(mail["Message-ID"]).strip("<> ").split(".", 1)[0], recipient.lower())
                                   for recipient, mail in system._parsed_mails())
    assert testing.wait_until(lambda: planned <= set(received()), timeout=60), planned - set(received())
    doubled = {mail: n for mail, n in received().items() if n > 1}
    repeated_events = {event_id for event_id, _ in doubled}  # one notifier replica killed
    assert len(repeated_events) <= sending_lanes(config.load()) and set(doubled.values()) <= {2}, doubled

    # no dead letters, on the two nodes left
    rabbit = brokers.rabbit()
    queues = {queue["name"]: queue for queue in rabbit.queues(system.vhost)}
    assert {queue["type"] for queue in queues.values() if queue["durable"]} == {"quorum"}
    dead = {name: rabbit.queue_depth(system.vhost, name) for name in queues if name.endswith(".dlq")}
    assert dead and set(dead.values()) == {0}, dead
    for name in RELAYING:  # the survivors relay: their events reached the consumers above, and say so
        survivor = name if name not in killed else f"{name}-2"
        assert f"relay events of {name} is active" in (system.logs / f"{survivor}.log").read_text(errors="replace")
    print(f"\n{TICKETS} tickets in {loaded:.1f} s through the kills of {', '.join(killed)}; "
          f"client retries: {dict(load.retries)}; mails: {len(planned)}")
