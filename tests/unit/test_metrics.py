"""helpdesk/metrics.py: every metric defined once with its labels, the gauges read from each
container's Probe at scrape time, the consumer-lag definition, and the endpoint's three paths."""
import json

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from helpdesk import metrics, testing


def scraped():
    """{(name, labels as a frozenset): value} of a render of the registry."""
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(body.decode()) for sample in family.samples}


@pytest.fixture
def probe():
    """A Probe of fake parts, registered while the test runs."""
    clock = Clock(1000.0)
    parts = {"depths": {"sla.from.tickets": 0, "sla.from.tickets.dlq": 2}, "newest": None}
    made = metrics.Probe(
        "sla", relays=lambda: {"events": {"behind": 3, "waiting_seconds": 1.5}, "billing": {"behind": 0,
                                                                                           "waiting_seconds": 0.0}},
        subscriptions=[("tickets", "sla.from.tickets", "sla.from.tickets.dlq", lambda: parts["newest"])],
        depths=lambda names: {name: parts["depths"][name] for name in names},
        parked=lambda: {"tickets": 4}, clock=clock)
    made.parts, made.now = parts, clock
    metrics.add_probe(made)
    yield made
    metrics.remove_probe(made)


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def test_every_metric_is_a_helpdesk_one_labelled_by_service():
    for metric in metrics.COUNTED:
        (family,) = metric.describe()
        assert family.name.startswith("helpdesk_") and family.documentation, family.name
        assert metric._labelnames[0] == "service", family.name
    for sampled in metrics.SAMPLED:
        assert sampled.name.startswith("helpdesk_") and sampled.documentation and sampled.labels[0] == "service"
    names = metrics.exposed_names()
    assert {"helpdesk_http_requests_total", "helpdesk_http_request_duration_seconds_bucket",
            "helpdesk_dlq_messages", "helpdesk_consumer_lag_seconds"} <= names
    assert all(name.startswith("helpdesk_") for name in names)


def test_a_scrape_shows_only_what_this_module_defines():
    metrics.http_answered("gateway", "/api/v1/tickets/<string:ticket_id>", "GET", 200, 0.02)
    shown = {name for name, _ in scraped()}
    assert shown and shown <= metrics.exposed_names()


def test_an_answer_is_counted_by_its_route_method_and_status_and_timed():
    route = "/api/v1/tickets/<string:ticket_id>/<string:action>"
    labels = {"service": "gateway", "route": route, "method": "POST"}
    before = metrics.REGISTRY.get_sample_value("helpdesk_http_requests_total", dict(labels, status="409")) or 0
    slow = metrics.REGISTRY.get_sample_value("helpdesk_http_request_duration_seconds_bucket",
                                             dict(labels, le="0.25")) or 0
    metrics.http_answered("gateway", route, "POST", 409, 0.3)
    assert metrics.REGISTRY.get_sample_value("helpdesk_http_requests_total", dict(labels, status="409")) == before + 1
    assert metrics.REGISTRY.get_sample_value("helpdesk_http_request_duration_seconds_bucket",
                                             dict(labels, le="0.25")) == slow  # 0.3 s is not within 0.25
    assert metrics.REGISTRY.get_sample_value("helpdesk_http_request_duration_seconds_bucket",
                                             dict(labels, le="0.5")) >= 1


def test_an_rpc_is_counted_once_and_an_error_by_its_type():
    def sample(name, **labels):
        return metrics.REGISTRY.get_sample_value(name, dict(service="tickets", method="act", **labels)) or 0

    calls, errors = sample("helpdesk_rpc_calls_total"), sample("helpdesk_rpc_errors_total", error="Conflict")
    metrics.rpc_answered("tickets", "act", None)
    metrics.rpc_answered("tickets", "act", (type("Conflict", (Exception,), {}), None, None))
    assert sample("helpdesk_rpc_calls_total") == calls + 2
    assert sample("helpdesk_rpc_errors_total", error="Conflict") == errors + 1


def test_the_gauges_come_from_each_probe_at_scrape_time(probe):
    samples = scraped()

    def gauge(name, **labels):
        return samples[(name, frozenset(dict(service="sla", **labels).items()))]

    assert gauge("helpdesk_relay_lag_events", relay="events") == 3
    assert gauge("helpdesk_relay_lag_seconds", relay="events") == 1.5
    assert gauge("helpdesk_relay_lag_events", relay="billing") == 0
    assert gauge("helpdesk_consumer_waiting_messages", source="tickets") == 0
    assert gauge("helpdesk_consumer_lag_seconds", source="tickets") == 0
    assert gauge("helpdesk_inbox_parked_events", source="tickets") == 4
    assert gauge("helpdesk_dlq_messages", queue="sla.from.tickets.dlq") == 2
    probe.parts["depths"]["sla.from.tickets.dlq"] = 0
    assert scraped()[("helpdesk_dlq_messages", frozenset({"service": "sla", "queue": "sla.from.tickets.dlq"}.items()))] == 0


def test_a_part_that_fails_is_left_out_and_the_others_still_show(probe):
    def broken():
        raise OSError("database away")

    probe.relays = broken
    names = {name for name, labels in scraped() if ("service", "sla") in labels}
    assert "helpdesk_relay_lag_events" not in names
    assert {"helpdesk_dlq_messages", "helpdesk_inbox_parked_events", "helpdesk_consumer_lag_seconds"} <= names


def test_consumer_lag_is_zero_when_nothing_waits_else_bounded_by_the_last_empty_look_and_the_newest_event(probe):
    assert probe.consumer_lag()["tickets"] == {"queue": "sla.from.tickets", "waiting": 0, "lag_seconds": 0.0}
    probe.now.now = 1010.0
    probe.parts["depths"]["sla.from.tickets"] = 5
    # seen empty at 1000, nothing handled since: waiting at most 10 s
    assert probe.consumer_lag()["tickets"] == {"queue": "sla.from.tickets", "waiting": 5, "lag_seconds": 10.0}
    probe.now.now = 1100.0
    probe.parts["newest"] = 1070.0  # it handles events, but the newest occurred at 1070: 30 s behind
    assert probe.consumer_lag()["tickets"]["lag_seconds"] == 30.0
    probe.parts["newest"] = 900.0  # an old event handled late says less than the last empty look
    assert probe.consumer_lag()["tickets"]["lag_seconds"] == 100.0
    probe.parts["depths"]["sla.from.tickets"] = 0
    assert probe.consumer_lag()["tickets"]["lag_seconds"] == 0.0
    probe.now.now = 1105.0
    probe.parts["depths"]["sla.from.tickets"] = 1  # a message just arrived after an idle spell
    assert probe.consumer_lag()["tickets"]["lag_seconds"] == 5.0


def call(path, method="GET"):
    answered = {}

    def start_response(status, headers):
        answered["status"], answered["headers"] = status, dict(headers)

    body = b"".join(metrics.application({"PATH_INFO": path, "REQUEST_METHOD": method}, start_response))
    return answered["status"], answered["headers"], body


def test_the_endpoint_answers_metrics_liveness_and_readiness(probe):
    status, headers, body = call("/metrics")
    assert status == "200 OK" and headers["Content-Type"].startswith("text/plain")
    assert b'helpdesk_dlq_messages{queue="sla.from.tickets.dlq",service="sla"} 2.0' in body
    assert call("/healthz/live")[0] == "200 OK"
    status, _, body = call("/healthz/ready")
    assert status == "200 OK" and json.loads(body) == {"ready": True, "services": ["sla"], "unreachable": {}}
    assert call("/elsewhere")[0] == "404 Not Found"
    assert call("/metrics", "POST")[0] == "405 Method Not Allowed"


def test_not_ready_while_a_check_fails_naming_what_is_unreachable(probe):
    def away():
        raise ConnectionRefusedError("broker restarting")

    probe.checks = [("database", lambda: None), ("broker", away)]
    status, _, body = call("/healthz/ready")
    assert status == "503 Service Unavailable"
    assert json.loads(body)["unreachable"] == {"sla": ["broker"]}
    assert call("/healthz/live")[0] == "200 OK"  # alive all the same: not a reason to restart it


def test_a_process_without_services_is_not_ready():
    assert call("/healthz/ready")[0] == "503 Service Unavailable"


@pytest.mark.parametrize("setting, port", [(None, 0), ("", 0), ("0", 0), (0, 0), ("9100", 9100), (9101, 9101)])
def test_the_port_comes_from_metrics_port_and_zero_or_empty_is_off(setting, port):
    assert metrics.port_from({"METRICS_PORT": setting}) == port
    assert metrics.port_from({}) == 0


def test_the_endpoint_is_served_green_and_shared_by_the_containers_of_a_process(probe):
    port = testing.free_port()
    first, second = metrics.Endpoint.use(port), metrics.Endpoint.use(port)
    assert first is second and first.port == port
    response = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert response.status_code == 200 and "helpdesk_inbox_parked_events" in response.text
    first.release()  # one container stops: the other still serves
    assert requests.get(f"http://127.0.0.1:{port}/healthz/live", timeout=5).status_code == 200
    second.release()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/healthz/live", timeout=5)
    assert metrics.Endpoint.use(port).port == port  # the port is free again
    metrics.Endpoint._open[port].release()


def test_every_service_declares_metrics():
    """The same one line in every service: without it a process serves no endpoint and its gauges
    and readiness are missing."""
    from helpdesk.extensions import Metrics
    from services.content.service import ContentService
    from services.gateway.service import GatewayService
    from services.identity.service import IdentityService
    from services.notifier.inbound_service import InboundMailService
    from services.notifier.service import NotifierService
    from services.routing.service import RoutingService
    from services.sla.service import SlaService
    from services.tickets.service import TicketsService

    for service in (ContentService, GatewayService, IdentityService, InboundMailService, NotifierService,
                    RoutingService, SlaService, TicketsService):
        assert isinstance(service.metrics, Metrics), service.name
