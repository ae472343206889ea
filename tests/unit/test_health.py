"""How /api/v1/health judges the system (services/gateway/health.py) and how the inbound mail
endpoint answers its probe (issue 10, finding 4: health stayed green while the endpoint refused
every mail)."""
import asyncio

from services.gateway import health
from services.notifier.inbound import InboundHandler

ALL_OK = {"identity": "ok", "tickets": "ok", "inbound_smtp": "ok"}


def lag(waiting, behind=1):
    return {"behind": behind, "waiting_seconds": waiting}


def test_healthy_when_every_process_answers_and_no_relay_waits_too_long():
    body, status = health.judge(ALL_OK, {"tickets.events": lag(0.2), "sla.billing": lag(0, 0)}, 30)
    assert status == 200 and body["status"] == "ok"
    assert body["relays"]["tickets.events"] == {"behind": 1, "waiting_seconds": 0.2, "status": "ok"}


def test_a_process_down_or_a_relay_behind_is_degraded_and_names_it():
    body, status = health.judge(dict(ALL_OK, inbound_smtp="broker_unreachable"), {}, 30)
    assert (status, body["status"], body["services"]["inbound_smtp"]) == (503, "degraded", "broker_unreachable")
    body, status = health.judge(ALL_OK, {"tickets.events": lag(31.0, behind=4), "sla.events": lag(0)}, 30)
    assert status == 503 and body["relays"]["tickets.events"]["status"] == "behind"
    assert body["relays"]["sla.events"]["status"] == "ok"


def test_where_the_inbound_endpoint_is_probed():
    assert health.inbound_address({"INBOUND_SMTP_HOST": "0.0.0.0", "INBOUND_SMTP_PORT": 2600,
                                   "INBOUND_HEALTH_ADDRESS": "inbound:2526"}) == ("inbound", 2526)
    assert health.inbound_address({"INBOUND_SMTP_HOST": "10.0.0.5", "INBOUND_SMTP_PORT": "2600"}) == ("10.0.0.5", 2600)
    assert health.inbound_address({}) == ("127.0.0.1", 2526)
    assert health.inbound_address({"INBOUND_HEALTH_ADDRESS": "off"}) is None


def test_nothing_listening_is_down():
    from helpdesk.testing import free_port

    assert health.probe_inbound(("127.0.0.1", free_port()), timeout=1) == "down"


class Broker:
    def __init__(self, up):
        self.up, self.checked = up, []

    def check(self, queue):
        self.checked.append(queue)
        if not self.up:
            raise ConnectionError("broker unreachable")


def test_the_endpoint_answers_the_probe_by_whether_the_broker_takes_mail():
    up, down = Broker(True), Broker(False)
    assert asyncio.run(InboundHandler(up, "r.example").handle_NOOP(None, None, None, "health")).startswith("250 ")
    assert up.checked == ["notifier.inbound"]
    assert asyncio.run(InboundHandler(down, "r.example").handle_NOOP(None, None, None, "HEALTH")).startswith("451 ")
    plain = Broker(False)
    assert asyncio.run(InboundHandler(plain, "r.example").handle_NOOP(None, None, None, "")) == "250 OK"
    assert plain.checked == []  # a plain NOOP is just that


def test_a_consumer_lagging_beyond_the_threshold_is_degraded_and_names_the_subscription():
    consumers = {"notifier.from.tickets": {"waiting": 40, "lag_seconds": 75.0},
                 "routing.from.tickets": {"waiting": 0, "lag_seconds": 0.0}}
    body, status = health.judge(ALL_OK, {"tickets.events": lag(0.1)}, 30, consumers, max_consumer_lag=60)
    assert (status, body["status"]) == (503, "degraded")
    assert body["consumers"]["notifier.from.tickets"] == {"waiting": 40, "lag_seconds": 75.0, "status": "behind"}
    assert body["consumers"]["routing.from.tickets"]["status"] == "ok"
    body, status = health.judge(ALL_OK, {}, 30, consumers, max_consumer_lag=120)
    assert (status, body["status"]) == (200, "ok")


def test_the_thresholds_come_from_the_settings_with_defaults():
    assert health.settings({"HEALTH_RELAY_MAX_WAIT": "10", "HEALTH_CONSUMER_MAX_LAG": 90}) == (10.0, 90.0)
    assert health.settings({"HEALTH_RELAY_MAX_WAIT": "", "HEALTH_CONSUMER_MAX_LAG": None}) == (
        health.DEFAULT_RELAY_MAX_WAIT, health.DEFAULT_CONSUMER_MAX_LAG)
