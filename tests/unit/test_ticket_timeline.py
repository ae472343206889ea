"""A ticket's history as people read it (`timeline.py`): every event type of the status table
renders in Spanish and English with who did it, the text they wrote and the file they attached;
the customer's view leaves out what is staff's alone.

The events are made by the domain's own decisions, so the data is what the service stores."""
import datetime
import itertools
import json
import uuid

import pytest

from helpdesk import catalog
from helpdesk.events import RecordedEvent
from services.tickets import domain, timeline

CATALOG = catalog.load()
LANGUAGES = ("es", "en")


def principal(user_id, name, role, company_id=None, departments=(), is_group=False):
    return {"user_id": user_id, "email": f"{user_id}@example.com", "name": name, "role": role,
            "company_id": company_id, "is_group": is_group, "company_admin": False,
            "departments": list(departments)}


ANA = principal("ana", "Ana Cliente", "customer", "c-demo")
GROUP = principal("grupo", "Soporte Demo", "customer", "c-demo", is_group=True)
NETWORKS = principal("redes", "Rita Redes", "agent", departments=["networks"])
SYSTEMS = principal("sistemas", "Samuel Sistemas", "agent", departments=["systems"])
SUPERVISOR = principal("super", "Sara Supervisora", "supervisor")
# The routing service acting on its own, as TicketsService.act_as_system names it.
ROUTING = {"user_id": "system:routing", "email": "", "name": "routing", "role": domain.SYSTEM,
           "departments": [], "language": "es"}


def attachment(name, kind):
    return {"id": str(uuid.uuid4()), "name": name, "size": 1234, "type": kind, "sha256": "ab" * 32}


class Story:
    """One ticket's stream, written by domain decisions and folded as the store would."""

    positions = itertools.count(1)

    def __init__(self, requester, reference, actor=None, channel="portal", file=None, **way):
        command = {"ticket_id": uuid.uuid4(), "title": "Sin conexión en la sede",
                   "description": "Desde las 9:00 no hay tráfico.", "channel": channel,
                   **(way or {"department": "networks"})}
        self.events, self.ticket = [], None
        self.add(domain.open_ticket(command, requester, CATALOG, actor=actor, reference=reference,
                                    attachment=file))

    def add(self, new_events):
        for new in new_events:
            event = RecordedEvent(
                event_id=new.event_id, type=new.type, schema_version=1, stream="ticket-x",
                stream_position=len(self.events), global_position=next(self.positions),
                occurred_at=new.occurred_at, data=new.data, actor=new.actor, channel=new.channel)
            self.events.append(event)
            self.ticket = domain.evolve(self.ticket, event)
        return self

    def __call__(self, decision, *args):
        return self.add(decision(self.ticket, *args))


NOTE = "Nota interna: el cliente debe dos facturas, no se lo digas"
NOTE_FILE = attachment("deuda.pdf", "application/pdf")


def whole_life():
    """Every event type of domain.TRANSITIONS, each with normal data: {type: [events]}."""
    life = Story(ANA, "#000001", file=attachment("captura.png", "image/png"))
    life(domain.assign, SUPERVISOR, NETWORKS)
    life(domain.start_work, NETWORKS)
    life(domain.comment, NETWORKS, "¿Puede reiniciar el router?", attachment("guia.pdf", "application/pdf"))
    life(domain.request_information, NETWORKS, "¿Qué luces ve en el router?")
    life(domain.comment, ANA, "Parpadea la luz roja", attachment("router.jpg", "image/jpeg"))
    life(domain.add_internal_note, NETWORKS, NOTE, NOTE_FILE)
    life(domain.change_cc, ANA, ["jefe@demo.example"])
    life(domain.change_urgency, NETWORKS, "high", CATALOG)
    life(domain.reclassify, NETWORKS, "systems", "Es el servidor DHCP, no la red", CATALOG)
    life(domain.assign, SUPERVISOR, SYSTEMS)
    life(domain.resolve, SYSTEMS, "Reiniciado el servidor DHCP")
    life(domain.refuse_solution, ANA, "Sigue sin funcionar")
    life(domain.resolve, SYSTEMS, "Cambiada la tarjeta de red del servidor")
    life(domain.reopen, SYSTEMS, "Llamó: sigue fallando")
    life(domain.resolve, SYSTEMS, "Cambiado también el cable")
    life(domain.mark_provider_fault, SUPERVISOR, True, "Avería nuestra: no se factura")
    life(domain.approve_solution, GROUP, "Gracias, ya funciona")
    routed = Story(ANA, "#000005", department=None, urgency="high",
                   itil={"type": "incident", "service": "internet_access", "category": "slowness"})
    routed(domain.route, ROUTING, "networks", "Acceso a Internet: Redes", CATALOG)
    by_phone = Story(ANA, "#000002", actor=NETWORKS, channel="phone")
    by_phone(domain.close, ANA, "Lo he resuelto yo")
    duplicate, target = Story(ANA, "#000003"), Story(GROUP, "#000004")
    into_target, into_duplicate = domain.merge(duplicate.ticket, target.ticket, SUPERVISOR)
    duplicate.add(into_target)
    target.add(into_duplicate)
    events = {}
    for story in (life, routed, by_phone, duplicate, target):
        for event in story.events:
            events.setdefault(event.type, []).append(event)
    return life, events


LIFE, BY_TYPE = whole_life()


def test_the_story_covers_every_event_type_of_the_status_table():
    assert set(BY_TYPE) == set(domain.TRANSITIONS)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("event_type", sorted(domain.TRANSITIONS))
def test_every_event_type_reads_as_a_sentence_naming_who_did_it(event_type, language):
    for event in BY_TYPE[event_type]:
        entry = timeline.entry(event, language, staff_view=True)
        other = timeline.entry(event, "en" if language == "es" else "es", staff_view=True)
        summary, who = entry["summary"], entry["by"]["name"]
        assert summary.strip() and summary == summary.strip()
        assert who and summary.startswith(who), summary
        if event.data["by"]["role"] != domain.SYSTEM:  # services are named for people: see below
            assert entry["by"] == {"name": event.data["by"]["name"], "role": event.data["by"]["role"]}
        assert "?" not in summary.replace(who, ""), f"a placeholder was left: {summary!r}"
        assert "None" not in summary and "{" not in summary, summary
        assert summary != other["summary"], f"{event_type} reads the same in es and en"
        assert entry["type"] == event_type and entry["position"] == event.stream_position
        assert entry["at"] == event.occurred_at.isoformat()
        assert entry["internal"] == (event_type in domain.INTERNAL_EVENTS)


@pytest.mark.parametrize("language", LANGUAGES)
def test_summaries_carry_what_the_event_is_about(language):
    def summary(event_type, n=0):
        return timeline.entry(BY_TYPE[event_type][n], language)["summary"]

    assert "Sin conexión en la sede" in summary("TicketOpened")
    by_phone = next(e for e in BY_TYPE["TicketOpened"] if e.data["channel"] == "phone")  # staff took the call
    assert ("teléfono" if language == "es" else "phone") in timeline.entry(by_phone, language)["summary"]
    assert "Rita Redes" in summary("TicketAssigned", 0) and "Samuel Sistemas" in summary("TicketAssigned", 1)
    assert "#000004" in summary("TicketMerged") and "#000003" in summary("DuplicateMerged")
    moved = summary("TicketReclassified")
    for code in ("networks", "systems"):
        assert code in moved or CATALOG.departments[code].names[language] in moved, moved
    routed = summary("TicketRouted")
    assert "networks" in routed or CATALOG.departments["networks"].names[language] in routed, routed
    fault = timeline.FAULT[language][True]
    assert fault in summary("ProviderFaultMarked")


BODIES = {"StaffReplied": "¿Puede reiniciar el router?", "InformationRequested": "¿Qué luces ve en el router?",
          "CustomerCommented": "Parpadea la luz roja", "InternalNoteAdded": NOTE,
          "TicketReclassified": "Es el servidor DHCP, no la red", "TicketResolved": "Reiniciado el servidor DHCP",
          "SolutionRefused": "Sigue sin funcionar", "TicketReopened": "Llamó: sigue fallando",
          "ProviderFaultMarked": "Avería nuestra: no se factura",
          "SolutionApproved": "Gracias, ya funciona", "TicketClosed": "Lo he resuelto yo"}


@pytest.mark.parametrize("event_type", sorted(BODIES))
def test_what_people_wrote_is_shown_in_full(event_type):
    for language in LANGUAGES:
        assert timeline.entry(BY_TYPE[event_type][0], language)["body"] == BODIES[event_type]


def test_a_routing_reason_is_said_once_in_the_summary_not_repeated_as_the_body():
    for language in LANGUAGES:
        for staff_view in (False, True):
            (entry,) = timeline.entries(BY_TYPE["TicketRouted"][:1], staff_view, language)
            assert "Acceso a Internet: Redes" in entry["summary"] and "body" not in entry


@pytest.mark.parametrize("event_type", ["TicketOpened", "StaffReplied", "CustomerCommented", "InternalNoteAdded"])
def test_attachments_are_carried(event_type):
    event = BY_TYPE[event_type][0]
    assert event.data["attachment"]
    assert timeline.entry(event, "es")["attachment"] == event.data["attachment"]


def test_entries_without_a_file_or_text_carry_none():
    for event_type in ("WorkStarted", "TicketAssigned"):
        entry = timeline.entry(BY_TYPE[event_type][0], "en")
        assert "attachment" not in entry and "body" not in entry


def test_cc_changes_show_the_new_addresses():
    assert timeline.entry(BY_TYPE["CcChanged"][0], "es")["cc"] == ["jefe@demo.example"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_customer_view_drops_internal_notes_and_their_files(language):
    staff = timeline.entries(LIFE.events, staff_view=True, language=language)
    customer = timeline.entries(LIFE.events, staff_view=False, language=language)
    assert [e["type"] for e in staff] == [e.type for e in LIFE.events]
    assert "InternalNoteAdded" in domain.INTERNAL_EVENTS
    assert [e["type"] for e in customer] == [e.type for e in LIFE.events if e.type not in domain.INTERNAL_EVENTS]
    assert "InternalNoteAdded" not in [e["type"] for e in customer]
    assert not any(e["internal"] for e in customer)
    dumped = json.dumps(customer, ensure_ascii=False)
    assert NOTE not in dumped and NOTE_FILE["id"] not in dumped and NOTE_FILE["name"] not in dumped
    note = next(e for e in staff if e["type"] == "InternalNoteAdded")
    assert note["internal"] and note["body"] == NOTE and note["attachment"] == NOTE_FILE


def test_an_unknown_language_reads_in_spanish():
    assert timeline.entries(LIFE.events, True, "fr") == timeline.entries(LIFE.events, True, "es")


# -- found while writing these: failing until the application is fixed -------------------------

def _itil(kind, category, urgency=None):
    form = {"department": None, "itil": {"type": kind, "service": "internet_access", "category": category}}
    return dict(form, urgency=urgency) if urgency else form


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("case", ["reclassify an ITIL ticket", "give a request an urgency"])
def test_a_change_from_nothing_does_not_read_none(case, language):
    """ITIL tickets have no department, and requests no urgency (domain.open_ticket); staff may
    then reclassify them into a department, or give them an urgency. The summary must not read
    "pasó el ticket de None a networks" / "changed the urgency from None to high"."""
    if case == "reclassify an ITIL ticket":
        story = Story(ANA, "#000007", **_itil("incident", "slowness", "high"))
        story(domain.reclassify, NETWORKS, "networks", "Es de red", CATALOG)
    else:
        story = Story(ANA, "#000006", **_itil("request", "technical"))
        story(domain.change_urgency, SUPERVISOR, "high", CATALOG)
    summary = timeline.entry(story.events[-1], language)["summary"]
    assert "None" not in summary, summary


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_customer_view_keeps_the_staff_only_provider_fault_to_staff(language):
    """`provider_fault` is staff only (schemas.TicketSchema; service.view drops it for customers),
    but the customer's history shows who marked it, its value and the staff's note about it."""
    customer = timeline.entries(LIFE.events, staff_view=False, language=language)
    shown = json.dumps(customer, ensure_ascii=False)
    assert "Avería nuestra: no se factura" not in shown
    assert timeline.FAULT[language][True] not in shown and timeline.FAULT[language][False] not in shown


# -- what a customer meets in the history: no service names, how each entry came ---------------

ROUTED = BY_TYPE["TicketRouted"][0]


@pytest.mark.parametrize("language,expected", [
    ("es", "El ticket pasó a Redes: Acceso a Internet: Redes"),
    ("en", "The ticket was moved to Networks: Acceso a Internet: Redes"),
])
def test_customers_read_a_routing_without_the_service_that_did_it(language, expected):
    entry = timeline.entry(ROUTED, language, timeline_names(), staff_view=False)
    assert entry["summary"] == expected
    assert entry["by"] == {"name": "", "role": "system"} and entry["channel"] == "system"
    shown = json.dumps(timeline.entries([ROUTED], staff_view=False, language=language,
                                        department_names=timeline_names()), ensure_ascii=False)
    assert "routing" not in shown.lower() and "system:" not in shown


def test_a_routing_reason_given_in_each_language_is_read_in_the_customers():
    story = Story(ANA, "#000008", department=None, urgency="high",
                  itil={"type": "incident", "service": "internet_access", "category": "packet_loss"})
    story(domain.route, ROUTING, "networks", {"es": "Pérdida de paquetes: Redes", "en": "Packet loss: Networks"},
          CATALOG)
    routed = story.events[-1]
    assert timeline.entry(routed, "en", timeline_names())["summary"] == \
        "The ticket was moved to Networks: Packet loss: Networks"
    assert timeline.entry(routed, "es", timeline_names())["summary"] == \
        "El ticket pasó a Redes: Pérdida de paquetes: Redes"


@pytest.mark.parametrize("language,name", [("es", "Enrutado automático"), ("en", "Automatic routing")])
def test_staff_read_which_automatic_process_did_it(language, name):
    entry = timeline.entry(ROUTED, language, timeline_names(), staff_view=True)
    assert entry["by"]["name"] == name and entry["summary"].startswith(name)
    assert "routing dirigió" not in entry["summary"]


def timeline_names():
    return {code: department.names for code, department in CATALOG.departments.items()}


def email_reply_story(sender, sender_name):
    story = Story(ANA, "#000009", department="networks", cc=["jefe@demo.example"])
    notifier = dict(ROUTING, user_id="system:notifier", name="notifier")
    story(domain.email_reply, notifier, sender, "Sigue cortándose", None, "<m1@mail.example>",
          datetime.datetime(2026, 11, 23, 9, 0, tzinfo=datetime.timezone.utc), sender_name)
    return story


@pytest.mark.parametrize("language,label", [("es", "por correo"), ("en", "by email")])
def test_an_email_reply_says_it_came_by_email_and_names_its_author(language, label):
    story = email_reply_story("ana@example.com", "Ana Cliente")
    reply = timeline.entry(story.events[-1], language)
    typed = timeline.entry(LIFE.events[5], language)  # Ana's comment in the portal
    assert reply["channel"] == "email" and reply["channel_label"] == label and label in reply["summary"]
    assert typed["channel"] == "portal" and label not in typed["summary"]
    assert reply["by"] == {"name": "Ana Cliente", "role": "customer"} and reply["summary"].startswith("Ana Cliente")
    assert "@" not in reply["summary"]


def test_every_entry_carries_its_channel():
    by_phone = next(e for e in BY_TYPE["TicketOpened"] if e.data["channel"] == "phone")
    for event in LIFE.events + [by_phone, ROUTED]:
        entry = timeline.entry(event, "es", staff_view=True)
        assert entry["channel"] in ("portal", "email", "phone", "system")
        assert entry["channel_label"]
    assert timeline.entry(by_phone, "es")["channel"] == "phone"
    assert timeline.entry(LIFE.events[1], "es")["channel"] == "portal"  # staff work in the helpdesk


def test_an_email_reply_from_an_address_with_no_account_keeps_the_address():
    story = email_reply_story("jefe@demo.example", None)
    assert timeline.entry(story.events[-1], "es")["by"]["name"] == "jefe@demo.example"


def test_every_entry_field_is_documented_in_the_api():
    from helpdesk.ticket_schemas import HistoryEntrySchema

    documented = set(HistoryEntrySchema().fields)
    for staff_view in (True, False):
        for entry in timeline.entries(LIFE.events + [ROUTED], staff_view=staff_view):
            assert set(entry) <= documented, set(entry) - documented
            assert HistoryEntrySchema().dump(entry) == entry
