"""The ticket aggregate's decisions: pure, no broker, no database."""
import dataclasses
import uuid
import pytest

from helpdesk import catalog
from helpdesk.events import RecordedEvent
from services.tickets import domain

CATALOG = catalog.load()


CUSTOMER = {"user_id": "u-1", "email": "ana@example.com", "name": "Ana", "role": "customer", "company_id": "c-1"}


def command(**overrides):
    base = {"ticket_id": uuid.uuid4(), "department": "networks",
            "title": "Sin conexión", "description": "Desde las 9:00", "channel": "portal"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def itil(kind, category, service="internet_access", **overrides):
    return command(department=None, itil={"type": kind, "service": service, "category": category},
                   **overrides)


def recorded(new_event, position=0):
    return RecordedEvent(event_id=new_event.event_id, type=new_event.type, schema_version=1,
                         stream="ticket-x", stream_position=position, global_position=position + 1,
                         occurred_at=new_event.occurred_at, data=new_event.data)


def test_the_catalog_has_the_six_departments_of_the_manual():
    names = {d.names["es"] for d in CATALOG.departments.values()}
    assert names == {"Comercial", "Facturación", "Sistemas", "Redes", "Centros de Datos",
                     "Soporte 24 Horas"}
    assert [d.code for d in CATALOG.departments.values() if d.calendar == "24x7"] == ["support_24h"]


def test_opening_by_department_records_who_and_how():
    (event,) = domain.open_ticket(command(), CUSTOMER, CATALOG, reference="#000001")
    assert event.type == "TicketOpened"
    assert event.data["department"] == "networks" and event.data["urgency"] == "medium"
    assert event.actor == "u-1" and event.channel == "portal"
    assert event.data["requester_id"] == "u-1" and event.data["company_id"] == "c-1"
    ticket = domain.fold([recorded(event)])
    assert ticket.status == domain.NEW and ticket.version == 0 and ticket.title == "Sin conexión"


def test_unknown_department_is_refused_naming_the_options():
    with pytest.raises(domain.RuleBroken) as info:
        domain.open_ticket(command(department="marketing"), CUSTOMER, CATALOG, reference="#000001")
    assert (info.value.field, info.value.code) == ("department", "unknown_department")
    assert info.value.params["department"] == "marketing" and "networks" in info.value.params["choices"]


@pytest.mark.parametrize("category", ["total_outage", "slowness", "packet_loss", "performance"])
@pytest.mark.parametrize("urgency", ["high", "medium"])
def test_every_incident_category_and_urgency_of_the_manual_opens(category, urgency):
    (event,) = domain.open_ticket(itil("incident", category, urgency=urgency), CUSTOMER, CATALOG, reference="#000001")
    assert event.data["itil"]["category"] == category and event.data["urgency"] == urgency


@pytest.mark.parametrize("category", ["technical", "admin_billing", "admin_information", "admin_change"])
def test_every_request_category_of_the_manual_opens_without_urgency(category):
    (event,) = domain.open_ticket(itil("request", category), CUSTOMER, CATALOG, reference="#000001")
    assert event.data["urgency"] is None


@pytest.mark.parametrize("cmd,field", [
    (itil("incident", "slowness"), "urgency"),
    (itil("request", "technical", urgency="high"), "urgency"),
    (itil("incident", "technical", urgency="high"), "itil.category"),
    (itil("request", "technical", service="teleport"), "itil.service"),
])
def test_itil_rules(cmd, field):
    with pytest.raises(domain.RuleBroken) as info:
        domain.open_ticket(cmd, CUSTOMER, CATALOG, reference="#000001")
    assert info.value.field == field


@pytest.mark.parametrize("role", ["agent", "supervisor", "admin"])
def test_staff_do_not_open_tickets_for_themselves(role):
    with pytest.raises(domain.Forbidden):
        domain.open_ticket(command(), dict(CUSTOMER, role=role), CATALOG, reference="#000001")


ROUTING = {"user_id": "system:routing", "name": "routing", "role": "system", "departments": []}


def test_a_route_decided_before_a_person_reclassified_the_ticket_is_ignored():
    """Routing decides from the department it saw at opening; if a person changed it since, the
    person's choice wins (routing's command arrives late, it must not undo a human decision)."""
    (opening,) = domain.open_ticket(itil("incident", "packet_loss", urgency="high"), CUSTOMER, CATALOG,
                                    reference="#000001")
    ticket = domain.fold([recorded(opening)])
    assert domain.route(ticket, ROUTING, "networks", {"es": "r", "en": "r"}, CATALOG, seen_department=None)
    supervisor = {"user_id": "s-1", "name": "Sup", "role": "supervisor", "departments": []}
    (moved,) = domain.reclassify(ticket, supervisor, "systems", "better there", CATALOG)
    ticket = domain.evolve(ticket, recorded(moved, position=1))
    assert domain.route(ticket, ROUTING, "networks", {"es": "r", "en": "r"}, CATALOG, seen_department=None) == []


def test_a_follow_up_on_a_closed_ticket_is_refused_with_a_code_callers_can_act_on():
    (opening,) = domain.open_ticket(command(), CUSTOMER, CATALOG, reference="#000001")
    ticket = domain.fold([recorded(opening)])
    (closed,) = domain.close(ticket, CUSTOMER, "ya está")
    ticket = domain.evolve(ticket, recorded(closed, position=1))
    with pytest.raises(domain.IllegalTransition) as info:
        domain.comment(ticket, CUSTOMER, "¿Sigue?")
    assert info.value.code == "ticket_closed" and info.value.message == "ticket_closed"


# -- Soporte 24 Horas takes only urgent tickets (catalog.yaml: urgent_only, non_urgent_to) ----------

SUPERVISOR = {"user_id": "s-1", "name": "Sup", "role": "supervisor", "departments": []}
AGENT_24H = {"user_id": "a-24", "name": "Agente 24h", "role": "agent", "departments": ["support_24h"]}
ONLY_URGENT = {"es": "Soporte 24 Horas atiende solo tickets urgentes", "en": "24-Hour Support takes urgent tickets only"}


@pytest.mark.parametrize("urgency", [None, "medium"])
def test_a_non_urgent_ticket_asked_for_24h_support_is_opened_in_systems_saying_why(urgency):
    (event,) = domain.open_ticket(command(department="support_24h", urgency=urgency), CUSTOMER, CATALOG,
                                  reference="#000001")
    assert event.data["department"] == "systems" and event.data["urgency"] == "medium"
    assert event.data["requested_department"] == "support_24h" and event.data["reason"] == ONLY_URGENT
    assert domain.fold([recorded(event)]).department == "systems"


@pytest.mark.parametrize("department,urgency", [
    (department, urgency) for department in sorted(CATALOG.departments) for urgency in ("high", "medium")
    if (department, urgency) != ("support_24h", "medium")])  # that one is the case above
def test_every_other_opening_by_department_stays_where_it_was_asked_for(department, urgency):
    (event,) = domain.open_ticket(command(department=department, urgency=urgency), CUSTOMER, CATALOG,
                                  reference="#000001")
    assert event.data["department"] == department
    assert "requested_department" not in event.data and "reason" not in event.data


def test_an_opening_recorded_before_the_rule_moved_into_tickets_still_folds():
    """Old TicketOpened events carry neither requested_department nor reason (TicketOpenedV1)."""
    (event,) = domain.open_ticket(command(department="support_24h", urgency="high"), CUSTOMER, CATALOG,
                                  reference="#000001")
    old = dict(event.data, department="support_24h", urgency="medium")
    ticket = domain.evolve(None, dataclasses.replace(recorded(event), data=old))
    assert ticket.department == "support_24h" and ticket.urgency == "medium"


def urgent_24h_ticket_assigned():
    (opening,) = domain.open_ticket(command(department="support_24h", urgency="high"), CUSTOMER, CATALOG,
                                    reference="#000001")
    ticket = domain.fold([recorded(opening)])
    (assigned,) = domain.assign(ticket, SUPERVISOR, AGENT_24H)
    return domain.evolve(ticket, recorded(assigned, position=1))


@pytest.mark.parametrize("actor", [SUPERVISOR, AGENT_24H])
def test_lowering_the_urgency_in_24h_support_moves_the_ticket_to_systems_in_the_same_decision(actor):
    ticket = urgent_24h_ticket_assigned()
    assert ticket.assignee_id == "a-24"
    changed, moved = domain.change_urgency(ticket, actor, "medium", CATALOG)
    assert (changed.type, changed.data["urgency"], changed.data["previous"]) == ("UrgencyChanged", "medium", "high")
    assert moved.type == "TicketReclassified"
    assert moved.data["department"] == "systems" and moved.data["previous"] == "support_24h"
    assert moved.data["reason"] == ONLY_URGENT and moved.data["by"]["user_id"] == actor["user_id"]
    for position, event in enumerate((changed, moved), start=2):
        ticket = domain.evolve(ticket, recorded(event, position))
    assert (ticket.department, ticket.urgency, ticket.assignee_id, ticket.status) == ("systems", "medium", None, domain.NEW)


def test_raising_or_keeping_the_urgency_moves_nothing():
    ticket = urgent_24h_ticket_assigned()
    assert domain.change_urgency(ticket, SUPERVISOR, "high", CATALOG) == []
    (opening,) = domain.open_ticket(command(department="networks", urgency="medium"), CUSTOMER, CATALOG,
                                    reference="#000002")
    networks = domain.fold([recorded(opening)])
    assert [e.type for e in domain.change_urgency(networks, SUPERVISOR, "high", CATALOG)] == ["UrgencyChanged"]
    lowered = domain.evolve(networks, recorded(domain.change_urgency(networks, SUPERVISOR, "high", CATALOG)[0], 1))
    assert [e.type for e in domain.change_urgency(lowered, SUPERVISOR, "medium", CATALOG)] == ["UrgencyChanged"]


def test_an_itil_ticket_not_yet_routed_changes_urgency_alone():
    (opening,) = domain.open_ticket(itil("incident", "slowness", urgency="high"), CUSTOMER, CATALOG,
                                    reference="#000001")
    ticket = domain.fold([recorded(opening)])
    assert [e.type for e in domain.change_urgency(ticket, SUPERVISOR, "medium", CATALOG)] == ["UrgencyChanged"]
