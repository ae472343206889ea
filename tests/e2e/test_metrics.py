"""Issue 14: every service process serves Prometheus metrics and its health on a METRICS_PORT of
its own, and a ticket opened through the API moves the counters of every part it crosses."""
import uuid

import requests
from prometheus_client.parser import text_string_to_metric_families

from helpdesk import testing

from .conftest import as_user

CUSTOMER = "cliente@demo.example"
PROCESSES = tuple(testing.SERVICE_CLASSES)  # every `nameko run` of the system


def scrape(system, name):
    """{(sample name, frozenset of labels): value} of one process's /metrics."""
    response = requests.get(system.metrics_url(name), timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain; version=")  # the text format
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def value(samples, name, **labels):
    """The sum of `name`'s samples whose labels include `labels` (0 when there is none)."""
    wanted = set(labels.items())
    return sum(v for (sample, sample_labels), v in samples.items() if sample == name and wanted <= sample_labels)


def test_each_process_serves_its_metrics_and_a_ticket_moves_the_counters_it_crosses(system):
    assert len({system.metrics_port(name) for name in PROCESSES}) == len(PROCESSES)
    for name in PROCESSES:
        assert requests.get(system.metrics_url(name, "/healthz/live"), timeout=10).status_code == 200
        ready = requests.get(system.metrics_url(name, "/healthz/ready"), timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["ready"] is True
    assert requests.get(system.metrics_url("gateway", "/healthz/ready"), timeout=10).json()["services"] == ["gateway"]
    assert requests.get(system.metrics_url("notifier", "/healthz/ready"), timeout=10).json()["services"] == [
        "notifier", "notifier_inbound"]  # two containers, one process, one port
    inbound = requests.get(system.metrics_url("inbound", "/healthz/ready"), timeout=10)  # asyncio, no nameko
    assert inbound.status_code == 200 and inbound.json()["services"] == ["inbound_smtp"]
    assert "helpdesk_" in requests.get(system.metrics_url("inbound", "/metrics"), timeout=10).text

    before = {name: scrape(system, name) for name in ("gateway", "tickets", "notifier")}
    customer = as_user(system, CUSTOMER)
    title = f"Métricas {uuid.uuid4().hex[:6]}"
    opened = customer.call("POST", "/api/v1/tickets", {"department": "networks", "title": title,
                                                       "description": "El enlace principal no responde."})
    assert opened.status_code == 201, opened.text
    mailed = testing.wait_until(lambda: [m for m in system.mails_to(CUSTOMER) if title in m["Subject"]], timeout=15)
    assert mailed, system.log_tail()

    def moved(name, metric, **labels):
        return value(scrape(system, name), metric, **labels) - value(before[name], metric, **labels)

    route = {"service": "gateway", "route": "/api/v1/tickets", "method": "POST"}
    assert moved("gateway", "helpdesk_http_requests_total", status="201", **route) >= 1
    assert moved("gateway", "helpdesk_http_request_duration_seconds_count", **route) >= 1
    raw_path_routes = [labels for sample, labels in scrape(system, "gateway")
                       if sample == "helpdesk_http_requests_total" and opened.json()["ticket_id"] in str(labels)]
    assert raw_path_routes == []  # the URL rule, never the path with the ticket's id
    assert moved("tickets", "helpdesk_rpc_calls_total", service="tickets", method="open_ticket") >= 1
    assert moved("tickets", "helpdesk_events_appended_total", service="tickets", category="ticket") >= 1
    # the relay runs after the commit; by the time the mail arrived, it had published the event
    assert moved("tickets", "helpdesk_events_relayed_total", service="tickets", relay="events") >= 1
    assert moved("notifier", "helpdesk_inbox_deliveries_total", service="notifier", source="tickets",
                 outcome="applied") >= 1
    assert testing.wait_until(lambda: moved("notifier", "helpdesk_mails_total", service="notifier",
                                            outcome="sent") >= 1, timeout=10)

    consumers = {"routing": ("tickets", "identity"), "sla": ("tickets",),
                 "notifier": ("tickets", "identity", "sla", "content"), "tickets": ("content",)}
    for name, sources in consumers.items():
        samples = scrape(system, name)
        for source in sources:
            queue = f"{name}.from.{source}.dlq"
            assert ("helpdesk_dlq_messages", frozenset({"service": name, "queue": queue}.items())) in samples, queue
            assert value(samples, "helpdesk_dlq_messages", service=name, queue=queue) == 0
            assert ("helpdesk_consumer_lag_seconds",
                    frozenset({"service": name, "source": source}.items())) in samples, (name, source)
            assert value(samples, "helpdesk_consumer_lag_seconds", service=name, source=source) < 30
    assert value(scrape(system, "notifier"), "helpdesk_dlq_messages", queue="notifier.inbound.dlq") == 0
    tickets = scrape(system, "tickets")
    assert ("helpdesk_relay_lag_events", frozenset({"service": "tickets", "relay": "events"}.items())) in tickets


def test_health_reports_every_subscriptions_consumer_lag(system):
    response = requests.get(system.url("/api/v1/health"), timeout=10)
    assert response.status_code == 200, response.text
    consumers = response.json()["consumers"]
    assert {"routing.from.tickets", "routing.from.identity", "sla.from.tickets", "notifier.from.tickets",
            "notifier.from.identity", "notifier.from.sla", "notifier.from.content", "tickets.from.content",
            "notifier.inbound"} == set(consumers)
    assert all(lag["status"] == "ok" and lag["lag_seconds"] < 60 for lag in consumers.values()), consumers
