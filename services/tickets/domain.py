"""The ticket aggregate: pure decisions, no I/O.

Each command is a function `(ticket, actor, …) -> [NewEvent]` that raises `RuleBroken` (bad input,
422), `Forbidden` (not this actor's to do, 403) or `IllegalTransition` (not in this status, 409).
`evolve` folds one event into the state. `TRANSITIONS` is the whole status table: from which
statuses an event may happen and which status it leads to. Tests check every decision against it.
"""
import dataclasses
import uuid

from helpdesk import refusals
from helpdesk.contracts import INTERNAL_TICKET_EVENTS
from helpdesk.events import NewEvent
from helpdesk.events import fold as events_fold

NEW, ASSIGNED, IN_PROGRESS, WAITING, RESOLVED, CLOSED, REOPENED = (
    "new", "assigned", "in_progress", "waiting_for_customer", "resolved", "closed", "reopened")
STATUSES = (NEW, ASSIGNED, IN_PROGRESS, WAITING, RESOLVED, CLOSED, REOPENED)
OPEN = frozenset({NEW, ASSIGNED, IN_PROGRESS, WAITING, REOPENED})  # in a queue, being worked
NOT_CLOSED = OPEN | {RESOLVED}
ANY = frozenset(STATUSES)
STAFF = frozenset({"agent", "supervisor", "admin"})
SYSTEM = "system"  # a service acting on its own (routing); never a person
URGENCIES = ("high", "medium")

# event type -> (statuses it may happen in, status it leads to; None keeps the status, and a dict
# maps a from-status to its to-status when it depends on where the ticket was)
TRANSITIONS = {
    "TicketOpened": (frozenset(), NEW),
    "TicketAssigned": (OPEN, {NEW: ASSIGNED, REOPENED: ASSIGNED}),
    "WorkStarted": (frozenset({ASSIGNED, REOPENED}), IN_PROGRESS),
    "StaffReplied": (OPEN, {NEW: IN_PROGRESS, ASSIGNED: IN_PROGRESS, REOPENED: IN_PROGRESS}),
    "InformationRequested": (OPEN, WAITING),
    "CustomerCommented": (NOT_CLOSED, {WAITING: IN_PROGRESS}),
    "InternalNoteAdded": (NOT_CLOSED, None),
    "CcChanged": (NOT_CLOSED, None),
    "TicketReclassified": (OPEN, NEW),
    "TicketRouted": (OPEN, NEW),
    "UrgencyChanged": (OPEN, None),
    "TicketResolved": (frozenset({ASSIGNED, IN_PROGRESS, WAITING, REOPENED}), RESOLVED),
    "ProviderFaultMarked": (ANY, None),  # a billing correction may come after closure
    "SolutionApproved": (frozenset({RESOLVED}), CLOSED),
    "SolutionRefused": (frozenset({RESOLVED}), REOPENED),
    "TicketReopened": (frozenset({RESOLVED}), REOPENED),  # by staff: the customer says it still fails
    "TicketClosed": (NOT_CLOSED, CLOSED),
    "TicketMerged": (NOT_CLOSED, CLOSED),
    "DuplicateMerged": (NOT_CLOSED, None),
}

# Events only staff see in a ticket's history (and are never mailed to customers).
INTERNAL_EVENTS = INTERNAL_TICKET_EVENTS  # staff only: never in a customer's view (nor live: gateway/live.py)


# Refusals (helpdesk.refusals), re-exported: the domain raises them, the application layer translates.
Refusal, RuleBroken, Forbidden, IllegalTransition = (
    refusals.Refusal, refusals.RuleBroken, refusals.Forbidden, refusals.IllegalTransition)


@dataclasses.dataclass(frozen=True)
class Ticket:
    ticket_id: uuid.UUID
    reference: str
    status: str
    requester_id: str
    requester_email: str
    requester_name: str
    company_id: str | None
    department: str | None
    itil: dict | None
    urgency: str | None
    title: str
    description: str
    channel: str
    version: int  # stream position of the last event folded in
    cc: tuple = ()
    assignee_id: str | None = None
    assignee_name: str | None = None
    provider_fault: bool = False
    solution: str | None = None
    merged_into: str | None = None
    follows_up: str | None = None
    opened_by: str | None = None  # the staff member who opened it for the customer, if any
    resolution: int | None = None  # stream position of the latest TicketResolved
    opened_at: object = None
    updated_at: object = None


# -- who may do what ----------------------------------------------------------------------------

def is_staff(actor):
    return actor["role"] in STAFF


def speaks_for_requester(actor, ticket):
    """The requester, or a group user / company admin of the requester's company."""
    if actor["user_id"] == ticket.requester_id:
        return True
    same_company = actor.get("company_id") and actor.get("company_id") == ticket.company_id
    return bool(same_company and (actor.get("is_group") or actor.get("company_admin")))


def _require_staff(actor):
    if not is_staff(actor) and actor["role"] != SYSTEM:
        raise Forbidden("only_staff")


def _require_customer_side(actor, ticket):
    if is_staff(actor) or not speaks_for_requester(actor, ticket):
        raise Forbidden("only_requester_side")


def _check_status(ticket, event_type):
    allowed, _ = TRANSITIONS[event_type]
    if ticket.status not in allowed:
        raise IllegalTransition("not_in_this_status", status=ticket.status)


def _by(actor):
    return {"user_id": actor["user_id"], "name": actor.get("name", ""), "role": actor["role"]}


def _channel(actor, channel):
    if actor["role"] == SYSTEM:
        return "system"
    return "staff" if is_staff(actor) else channel


def _event(ticket, type_, actor, channel="portal", **data):
    _check_status(ticket, type_)
    data = {"ticket_id": str(ticket.ticket_id), "by": _by(actor), **data}
    return NewEvent(type_, data, actor=actor["user_id"], channel=_channel(actor, channel))


def _text(value, field, required=True, limit=20_000):
    value = (value or "").strip()
    if required and not value:
        raise RuleBroken(field, "empty")
    if len(value) > limit:
        raise RuleBroken(field, "too_long", max=limit)
    return value


# -- opening ------------------------------------------------------------------------------------

def open_ticket(command, requester, catalog, *, actor=None, reference, attachment=None, follows_up=None):
    """`OpenTicket` → `TicketOpened`, after the catalogue's rules. `requester` is the customer
    principal the ticket is for; `actor` the staff member opening it for them (phone / email),
    or None when the customer opens it. (That the ticket does not exist yet is the store's to
    check: the append expects NO_STREAM.)

    Asked for an urgent-only department without being urgent, the ticket is opened directly in
    the department the catalogue names (`Catalog.placement`), recording the one asked for and
    why: decided here, before anyone in the urgent-only department is told of it."""
    if actor is None and requester["role"] != "customer":
        raise Forbidden("staff_open_for_a_customer")
    if actor is not None and not (is_staff(actor) or actor["role"] == SYSTEM):
        raise Forbidden("only_staff_open_for_others")
    if requester["role"] != "customer":
        raise RuleBroken("on_behalf_of", "tickets_are_for_customers")
    channel = command.get("channel", "portal")
    if actor is not None and channel not in ("phone", "email"):
        raise RuleBroken("channel", "staff_channel_phone_or_email")
    urgency = command.get("urgency")
    if urgency is not None and urgency not in URGENCIES:
        raise RuleBroken("urgency", "not_one_of", choices=list(URGENCIES))
    department, itil = command.get("department"), command.get("itil")
    placed_elsewhere = {}
    if department is not None:
        if department not in catalog.departments:
            raise RuleBroken("department", "unknown_department", department=department,
                             choices=sorted(catalog.departments))
        urgency = urgency or "medium"
        placed, reason = catalog.placement(department, urgency)
        if reason:
            placed_elsewhere = {"requested_department": department, "reason": reason}
            department = placed
    else:
        kind = itil["type"]
        if itil["service"] not in catalog.services:
            raise RuleBroken("itil.service", "unknown_service", service=itil["service"])
        if itil["category"] not in catalog.itil_categories[kind]:
            raise RuleBroken("itil.category", "unknown_itil_category", category=itil["category"], kind=kind,
                             choices=sorted(catalog.itil_categories[kind]))
        if catalog.urgency_required[kind] and urgency is None:
            raise RuleBroken("urgency", "urgency_required", kind=kind)
        if not catalog.urgency_required[kind] and urgency is not None:
            raise RuleBroken("urgency", "urgency_not_allowed", kind=kind)
    by = actor or requester
    return [NewEvent("TicketOpened", {
        "ticket_id": str(command["ticket_id"]),
        "reference": reference,
        "requester_id": requester["user_id"],
        "requester_email": requester["email"],
        "requester_name": requester.get("name", ""),
        "company_id": requester.get("company_id"),
        "department": department,
        "itil": dict(itil) if itil else None,
        "urgency": urgency,
        "title": _text(command["title"], "title", limit=200),
        "description": _text(command["description"], "description"),
        "channel": channel,
        "cc": list(command.get("cc") or []),
        "attachment": attachment,
        "follows_up": follows_up,
        "opened_by": actor["user_id"] if actor else None,
        "by": _by(by),
        **placed_elsewhere,
    }, actor=by["user_id"], channel=channel)]


# -- follow-ups ---------------------------------------------------------------------------------

def comment(ticket, actor, body, attachment=None):
    """A follow-up on the ticket: from the customer side a comment and/or document (answering a
    request for information, if one is pending); from staff a public reply."""
    body = _text(body, "body", required=attachment is None)
    if ticket.status == CLOSED:
        raise IllegalTransition("ticket_closed", "ticket_closed")
    if is_staff(actor):
        return [_event(ticket, "StaffReplied", actor, body=body, attachment=attachment)]
    return [_event(ticket, "CustomerCommented", actor, body=body, attachment=attachment)]


def email_reply(ticket, actor, sender, body, attachment=None, message_id=None, received_at=None,
                sender_name=None):
    """A reply by email, relayed by the notifier (`actor`, a system) for `sender`, who must be on
    the ticket: its requester or a copied address. A closed ticket takes none (the notifier then
    opens a new ticket or bounces). `sender_name`: the sender's account name, which the history
    shows (the address when they have no account)."""
    if actor["role"] != SYSTEM:
        raise Forbidden("email_replies_via_notifier")
    on_ticket = {ticket.requester_email.lower(), *(address.lower() for address in ticket.cc)}
    if sender.lower() not in on_ticket:
        raise Forbidden("sender_not_on_ticket", sender=sender)
    if ticket.status == CLOSED:
        raise IllegalTransition("ticket_closed", "ticket_closed")
    body = _text(body, "body", required=attachment is None)
    by = {"user_id": ticket.requester_id if sender.lower() == ticket.requester_email.lower() else None,
          "name": sender_name or sender, "role": "customer"}
    event = _event(ticket, "CustomerCommented", actor, body=body, attachment=attachment,
                   email={"sender": sender, "message_id": message_id,
                          "received_at": received_at.isoformat() if received_at else None})
    return [dataclasses.replace(event, data={**event.data, "by": by}, channel="email")]


def add_internal_note(ticket, actor, body, attachment=None):
    _require_staff(actor)
    return [_event(ticket, "InternalNoteAdded", actor, body=_text(body, "body", required=attachment is None),
                   attachment=attachment)]


def request_information(ticket, actor, body):
    _require_staff(actor)
    return [_event(ticket, "InformationRequested", actor, body=_text(body, "body"))]


def change_cc(ticket, actor, cc):
    if not (is_staff(actor) or speaks_for_requester(actor, ticket)):
        raise Forbidden("only_requester_side_or_staff")
    if tuple(cc) == ticket.cc:
        return []
    return [_event(ticket, "CcChanged", actor, cc=list(cc), previous=list(ticket.cc))]


# -- staff work ---------------------------------------------------------------------------------

def assign(ticket, actor, agent):
    """Assigns to `agent` (a principal), who must work in the ticket's department. A missing user
    (`agent` None) is refused as anyone else who is not such an agent: the answer reveals nothing."""
    _require_staff(actor)
    if agent is None or agent["role"] != "agent" or ticket.department not in agent.get("departments", ()):
        raise RuleBroken("agent_id", "assign_to_department_agent")
    if actor["role"] == "agent" and agent["user_id"] != actor["user_id"] and ticket.department not in actor["departments"]:
        raise Forbidden("agents_assign_own_departments")
    if ticket.assignee_id == agent["user_id"] and ticket.status not in (NEW, REOPENED):
        return []
    return [_event(ticket, "TicketAssigned", actor, agent_id=agent["user_id"], agent_name=agent.get("name", ""),
                   previous_agent_id=ticket.assignee_id)]


def start_work(ticket, actor):
    _require_staff(actor)
    if ticket.assignee_id is None:
        raise IllegalTransition("assign_before_start")
    return [_event(ticket, "WorkStarted", actor)]


def reclassify(ticket, actor, department, reason, catalog):
    _require_staff(actor)
    if department not in catalog.departments:
        raise RuleBroken("department", "unknown_department", department=department, choices=sorted(catalog.departments))
    if department == ticket.department:
        raise RuleBroken("department", "already_in_department")
    return [_event(ticket, "TicketReclassified", actor, department=department, previous=ticket.department,
                   reason=_text(reason, "reason", limit=2000))]


UNCHECKED = object()  # no premise to check


def route(ticket, actor, department, reason, catalog, seen_department=UNCHECKED):
    """Routing's decision: the department that fits the ticket, with the reason (in each language).
    Routing to the department the ticket already has changes nothing (a replayed routing is
    harmless), and so does a route decided from a department a person has changed since: the
    person's choice wins."""
    if actor["role"] != SYSTEM:
        raise Forbidden("routed_by_routing")
    if department not in catalog.departments:
        raise RuleBroken("department", "unknown_department", department=department, choices=sorted(catalog.departments))
    if department == ticket.department:
        return []
    if seen_department is not UNCHECKED and seen_department != ticket.department:
        return []
    reason = dict(reason) if isinstance(reason, dict) else _text(reason, "reason", limit=2000)
    return [_event(ticket, "TicketRouted", actor, department=department, previous=ticket.department,
                   reason=reason)]


def change_urgency(ticket, actor, urgency, catalog):
    """Staff change the urgency. Lowered below urgent in an urgent-only department, the ticket
    also leaves it for the department the catalogue names, with its reason: UrgencyChanged then
    TicketReclassified (back to new, assignee cleared, as a reclassification does).

    Applied here, not by routing: the rule is the catalogue's, which tickets already read, and
    both events go in the one append of this command. So there is no moment in which the 24-hour
    agents hold a ticket that is not urgent, and none in which it stays there unnoticed because
    routing was down or behind."""
    _require_staff(actor)
    if urgency not in URGENCIES:
        raise RuleBroken("urgency", "not_one_of", choices=list(URGENCIES))
    if urgency == ticket.urgency:
        return []
    events = [_event(ticket, "UrgencyChanged", actor, urgency=urgency, previous=ticket.urgency)]
    if ticket.department in catalog.departments:
        placed, reason = catalog.placement(ticket.department, urgency)
        if reason:
            events.append(_event(ticket, "TicketReclassified", actor, department=placed,
                                 previous=ticket.department, reason=reason))
    return events


def resolve(ticket, actor, solution):
    _require_staff(actor)
    return [_event(ticket, "TicketResolved", actor, solution=_text(solution, "solution"))]


def reopen(ticket, actor, reason):
    """Staff take a resolved ticket back (the customer phoned: it still fails); a closed one is
    final: the customer opens a follow-up."""
    _require_staff(actor)
    return [_event(ticket, "TicketReopened", actor, reason=_text(reason, "reason"))]


def mark_provider_fault(ticket, actor, provider_fault, note=""):
    _require_staff(actor)
    if bool(provider_fault) == ticket.provider_fault:
        return []
    return [_event(ticket, "ProviderFaultMarked", actor, provider_fault=bool(provider_fault),
                   note=_text(note, "note", required=False, limit=2000))]


def merge(ticket, target, actor):
    """Merges `ticket` (a duplicate) into `target`: two events, one for each stream."""
    _require_staff(actor)
    if target.ticket_id == ticket.ticket_id:
        raise RuleBroken("into", "merge_into_itself")
    if target.status == CLOSED:
        raise RuleBroken("into", "merge_into_open_ticket")
    same_company = ticket.company_id is not None and target.company_id == ticket.company_id
    if target.requester_id != ticket.requester_id and not same_company:
        raise RuleBroken("into", "merge_same_customer")
    return (
        [_event(ticket, "TicketMerged", actor, into=str(target.ticket_id), into_reference=target.reference)],
        [_event(target, "DuplicateMerged", actor, duplicate=str(ticket.ticket_id),
                duplicate_reference=ticket.reference)],
    )


# -- the customer's decisions -------------------------------------------------------------------

def approve_solution(ticket, actor, comment_text=""):
    _require_customer_side(actor, ticket)
    return [_event(ticket, "SolutionApproved", actor, comment=_text(comment_text, "comment", required=False))]


def refuse_solution(ticket, actor, reason):
    _require_customer_side(actor, ticket)
    return [_event(ticket, "SolutionRefused", actor, reason=_text(reason, "reason"))]


def decide_by_link(ticket, actor, decision, resolution, text=""):
    """A decision taken from the resolution mail's link: valid only for the resolution it names,
    while the ticket still waits for that decision (so a link works once)."""
    if ticket.status != RESOLVED or ticket.resolution != resolution:
        raise IllegalTransition("solution_already_decided")
    if decision == "approve":
        return approve_solution(ticket, actor, text)
    return refuse_solution(ticket, actor, text)


def close(ticket, actor, reason=""):
    _require_customer_side(actor, ticket)
    return [_event(ticket, "TicketClosed", actor, reason=_text(reason, "reason", required=False))]


# -- state --------------------------------------------------------------------------------------

def next_status(status, event_type):
    _, target = TRANSITIONS[event_type]
    if isinstance(target, dict):
        return target.get(status, status)
    return status if target is None else target


def evolve(ticket, event):
    data = event.data
    if event.type == "TicketOpened":
        return Ticket(
            ticket_id=uuid.UUID(data["ticket_id"]), reference=data.get("reference") or data["ticket_id"][:8],
            status=NEW, requester_id=data["requester_id"], requester_email=data["requester_email"],
            requester_name=data.get("requester_name", ""), company_id=data.get("company_id"),
            department=data["department"], itil=data["itil"], urgency=data["urgency"],
            title=data["title"], description=data["description"], channel=data["channel"],
            version=event.stream_position, cc=tuple(data.get("cc") or ()),
            follows_up=data.get("follows_up"), opened_by=data.get("opened_by"),
            opened_at=event.occurred_at, updated_at=event.occurred_at,
        )
    changes = {"version": event.stream_position, "status": next_status(ticket.status, event.type),
               "updated_at": event.occurred_at}
    if event.type == "TicketAssigned":
        changes.update(assignee_id=data["agent_id"], assignee_name=data.get("agent_name"))
    elif event.type in ("TicketReclassified", "TicketRouted"):
        changes.update(department=data["department"], assignee_id=None, assignee_name=None)
    elif event.type == "UrgencyChanged":
        changes["urgency"] = data["urgency"]
    elif event.type == "CcChanged":
        changes["cc"] = tuple(data["cc"])
    elif event.type == "TicketResolved":
        changes.update(solution=data["solution"], resolution=event.stream_position)
    elif event.type == "ProviderFaultMarked":
        changes["provider_fault"] = data["provider_fault"]
    elif event.type == "TicketMerged":
        changes["merged_into"] = data["into"]
    return dataclasses.replace(ticket, **changes)


def fold(events):
    return events_fold(evolve, events)
