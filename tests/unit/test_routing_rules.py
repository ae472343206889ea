"""The routing table: every combination the manuals allow ends in the expected department."""
import itertools

import pytest

from helpdesk import catalog
from services.routing import rules

CATALOG = catalog.load()
CONFIG = rules.RoutingConfig.load(CATALOG.departments)


def routed(**ticket):
    return rules.department_for(ticket, CONFIG, CATALOG)


@pytest.mark.parametrize("department", sorted(CATALOG.departments))
@pytest.mark.parametrize("urgency", ["high", "medium"])
def test_a_ticket_opened_to_a_department_stays_there_unless_24h_and_not_urgent(department, urgency):
    routed_to, reason = routed(department=department, urgency=urgency)
    if department == "support_24h" and urgency != "high":
        assert routed_to == CONFIG.non_urgent_24h_to == "systems"
        assert "urgent" in reason["en"] and "urgentes" in reason["es"]
    else:
        assert routed_to == department


def expected_itil(kind, category, service, urgency):
    """The table the provider asked for, written out independently of routing.yaml's order."""
    if kind == "incident":
        if category == "total_outage" and urgency == "high":
            return "support_24h"
        if service == "housing":
            return "datacenters"
        if category == "packet_loss":
            return "networks"
        if service == "internet_access" and category in ("slowness", "total_outage"):
            return "networks"
        return "systems"
    if category == "admin_billing":
        return "billing"
    if category in ("admin_information", "admin_change"):
        return "sales"
    return "datacenters" if service == "housing" else "systems"


CASES = [
    (kind, category, service, urgency)
    for kind in ("incident", "request")
    for category, service, urgency in itertools.product(
        sorted(CATALOG.itil_categories[kind]), sorted(CATALOG.services),
        ("high", "medium") if kind == "incident" else (None,))
]


@pytest.mark.parametrize("kind,category,service,urgency", CASES)
def test_every_itil_combination_ends_in_the_expected_department(kind, category, service, urgency):
    department, reason = routed(itil={"type": kind, "category": category, "service": service}, urgency=urgency)
    assert department == expected_itil(kind, category, service, urgency)
    assert reason


def test_the_manuals_examples():
    assert routed(itil={"type": "incident", "category": "total_outage", "service": "hosting"},
                  urgency="high")[0] == "support_24h"
    assert routed(itil={"type": "incident", "category": "packet_loss", "service": "hosting"},
                  urgency="medium")[0] == "networks"
    assert routed(itil={"type": "request", "category": "admin_billing", "service": "domains"})[0] == "billing"


@pytest.mark.parametrize("strategy,on_shift,counts,last,expected", [
    ("round_robin", [], {}, None, None),
    ("round_robin", ["b", "a", "c"], {}, None, "a"),
    ("round_robin", ["a", "b", "c"], {}, "a", "b"),
    ("round_robin", ["a", "b", "c"], {}, "c", "a"),          # wraps around
    ("round_robin", ["a", "c"], {}, "b", "c"),               # the last one left the shift
    ("least_loaded", ["a", "b", "c"], {"a": 3, "b": 1, "c": 1}, None, "b"),
    ("least_loaded", ["a", "b", "c"], {"a": 3, "b": 1, "c": 1}, "b", "c"),  # ties: round robin
    ("least_loaded", ["a", "b"], {"a": 0}, "a", "b"),
])
def test_choosing_the_agent(strategy, on_shift, counts, last, expected):
    assert rules.choose_agent(strategy, on_shift, counts, last) == expected


def test_bad_configurations_are_refused_clearly():
    reason = {"es": "x", "en": "x"}
    raw = {"non_urgent_24h_to": "systems", "default": {"department": "nowhere", "reason": reason}}
    with pytest.raises(ValueError, match="nowhere"):
        rules.RoutingConfig.from_dict(raw, CATALOG.departments)
    raw = {"non_urgent_24h_to": "systems", "default": {"department": "systems", "reason": reason},
           "itil_rules": [{"when": {"colour": "red"}, "department": "sales", "reason": reason}]}
    with pytest.raises(ValueError, match="colour"):
        rules.RoutingConfig.from_dict(raw, CATALOG.departments)
    raw["itil_rules"] = [{"when": {"type": "request"}, "department": "sales", "reason": "only one language"}]
    with pytest.raises(ValueError, match="es and en"):
        rules.RoutingConfig.from_dict(raw, CATALOG.departments)
