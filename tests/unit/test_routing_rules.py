"""The routing table: every combination the manuals allow ends in the expected department; the
urgent-only rule of the catalogue (Catalog.placement) for every department and urgency; and the
form's preview, computed by the same rules."""
import itertools

import pytest
import yaml
from marshmallow import ValidationError

from helpdesk import catalog, contracts
from services.routing import rules

CATALOG = catalog.load()
CONFIG = rules.RoutingConfig.load(CATALOG.departments)


def routed(**ticket):
    return rules.department_for(ticket, CONFIG, CATALOG)


@pytest.mark.parametrize("department", sorted(CATALOG.departments))
@pytest.mark.parametrize("urgency", ["high", "medium", None])
def test_a_ticket_asked_for_a_department_stays_there_unless_24h_and_not_urgent(department, urgency):
    """The one rule, as the catalogue states it, as routing reads it and as the form previews it."""
    placed, reason = CATALOG.placement(department, urgency)
    if department == "support_24h" and urgency != "high":
        assert placed == "systems"
        assert reason == {"es": "Soporte 24 Horas atiende solo tickets urgentes",
                          "en": "24-Hour Support takes urgent tickets only"}
    else:
        assert (placed, reason) == (department, None)
    assert routed(department=department, urgency=urgency) == (placed, reason or rules.CHOSEN)
    preview = rules.preview({"department": department, "urgency": urgency}, CONFIG, CATALOG)
    assert preview == {"department": placed, "department_name": CATALOG.departments[placed].names,
                       "reason": reason, "changed": placed != department}


def test_only_soporte_24_horas_is_urgent_only():
    assert [code for code, d in CATALOG.departments.items() if d.urgent_only] == ["support_24h"]


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
    query = {"type": kind, "category": category, "service": service, "urgency": urgency}
    assert rules.preview(query, CONFIG, CATALOG) == {
        "department": department, "department_name": CATALOG.departments[department].names,
        "reason": reason, "changed": False}


def test_the_preview_of_an_incident_without_urgency_yet_reads_it_as_not_urgent():
    query = {"type": "incident", "category": "total_outage", "service": "hosting"}
    assert rules.preview(query, CONFIG, CATALOG)["department"] == "systems"
    assert rules.preview(dict(query, urgency="high"), CONFIG, CATALOG)["department"] == "support_24h"


@pytest.mark.parametrize("query,field", [
    ({"department": "marketing"}, "department"),
    ({"type": "complaint", "service": "hosting", "category": "slowness"}, "type"),
    ({"type": "incident", "service": "hosting", "category": "admin_billing"}, "category"),
    ({"type": "request", "service": "teleport", "category": "technical"}, "service"),
    ({"type": "incident", "service": "hosting"}, "category"),
    ({"department": "sales", "type": "request", "service": "hosting", "category": "technical"}, "department"),
    ({"department": "sales", "urgency": "low"}, "urgency"),
    ({"department": "sales", "colour": "red"}, "colour"),
])
def test_the_preview_query_names_what_the_catalogue_does_not_know(query, field):
    with pytest.raises(ValidationError) as info:
        contracts.RoutingPreviewSchema(catalog=CATALOG).load(query)
    assert field in info.value.messages


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
    raw = {"default": {"department": "nowhere", "reason": reason}}
    with pytest.raises(ValueError, match="nowhere"):
        rules.RoutingConfig.from_dict(raw, CATALOG.departments)
    raw = {"default": {"department": "systems", "reason": reason},
           "itil_rules": [{"when": {"type": "incident"}, "department": "support_24h", "reason": reason}]}
    with pytest.raises(ValueError, match="urgent tickets only"):
        rules.RoutingConfig.from_dict(raw, CATALOG.departments)
    raw = {"default": {"department": "systems", "reason": reason},
           "itil_rules": [{"when": {"colour": "red"}, "department": "sales", "reason": reason}]}
    with pytest.raises(ValueError, match="colour"):
        rules.RoutingConfig.from_dict(raw, CATALOG.departments)
    raw["itil_rules"] = [{"when": {"type": "request"}, "department": "sales", "reason": "only one language"}]
    with pytest.raises(ValueError, match="es and en"):
        rules.RoutingConfig.from_dict(raw, CATALOG.departments)


@pytest.mark.parametrize("change,message", [
    (lambda d: d.pop("non_urgent_to"), "non_urgent_to"),
    (lambda d: d.update(non_urgent_to="support_24h"), "non_urgent_to"),
    (lambda d: d.update(non_urgent_to="marketing"), "non_urgent_to"),
    (lambda d: d.update(non_urgent_reason={"es": "solo urgentes"}), "es and en"),
])
def test_an_urgent_only_department_must_say_where_the_rest_go_and_why(change, message):
    raw = yaml.safe_load(catalog.DEFAULT_PATH.read_text(encoding="utf-8"))
    change(next(d for d in raw["departments"] if d["code"] == "support_24h"))
    with pytest.raises(ValueError, match=message):
        catalog.Catalog.from_dict(raw)
