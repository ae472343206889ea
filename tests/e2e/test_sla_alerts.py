"""SLA warnings and breaches, end to end: a system of its own whose Soporte 24 Horas targets are
seconds long, so the alert timer fires during the test. The agent on shift and the supervisor
each get one warning and one breach, never more."""
import collections

import pytest
import yaml

from helpdesk import calendars, testing

from .conftest import as_user, system_of_its_own


@pytest.fixture(scope="module")
def fast_sla_system(rabbit, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("fast-sla")
    config = yaml.safe_load(open(calendars.DEFAULT_PATH))
    config["targets"]["support_24h"]["high"] = {"first_response": 0.05, "resolution": 10}  # 3 s, 10 min
    sla_config = workdir / "sla.yaml"
    sla_config.write_text(yaml.safe_dump(config))
    with system_of_its_own(rabbit, workdir,
                           {"SLA_CONFIG": str(sla_config), "SLA_ALERT_INTERVAL": "0.5"}) as system:
        yield system


def test_a_first_response_overdue_is_warned_then_breached_once_to_the_agent_and_the_supervisor(fast_sla_system):
    system = fast_sla_system
    customer = as_user(system, "cliente@demo.example")
    opened = customer.call("POST", "/api/v1/tickets", {"department": "support_24h", "urgency": "high",
                                                       "title": "Caída total", "description": "Nada funciona"})
    assert opened.status_code == 201, opened.text
    reference = opened.json()["reference"]

    def alerts(address):
        return collections.Counter(("incumplido" if "incumplido" in m["Subject"] else "aviso")
                                   for m in system.mails_to(address)
                                   if reference in m["Subject"] and "plazo" in m["Subject"].lower())

    people = ("agent-support-24h@helpdesk.example", "supervisor@helpdesk.example")
    assert testing.wait_until(lambda: all(alerts(p)["incumplido"] == 1 for p in people), timeout=30), (
        {p: alerts(p) for p in people}, system.log_tail())
    testing.wait_until(lambda: False, timeout=2)  # several more timer ticks: nothing is raised twice
    for person in people:
        assert alerts(person) == {"aviso": 1, "incumplido": 1}, person
    # the staff view shows the clock breached
    ticket = as_user(system, "supervisor@helpdesk.example").call("GET", f"/api/v1/tickets/{opened.json()['ticket_id']}")
    assert ticket.json()["sla"]["breached"] == ["first_response"]
