"""The ticket aggregate: pure decisions, no I/O.

`decide` functions take the current state (None for a ticket not opened yet) and a command and
return the events to append, or raise a `RuleBroken`. `evolve` folds one event into the state.
"""
import dataclasses
import uuid

from helpdesk.events import NewEvent

NEW = "new"


class Forbidden(Exception):
    """The command is not this actor's to give."""


class RuleBroken(Exception):
    """A command that breaks a business rule; `field` names the offending input."""

    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@dataclasses.dataclass(frozen=True)
class Ticket:
    ticket_id: uuid.UUID
    status: str
    requester_id: str
    requester_email: str
    company_id: str | None
    department: str | None
    itil: dict | None
    urgency: str | None
    title: str
    description: str
    channel: str
    version: int  # stream position of the last event folded in
    cc: tuple = ()


def open_ticket(command, requester, catalog):
    """`OpenTicket` by `requester` (a principal) → `TicketOpened`, after the catalogue's rules.
    (That the ticket does not exist yet is the store's to check: the append expects NO_STREAM.)"""
    if requester["role"] != "customer":
        raise Forbidden("staff open tickets on behalf of a customer (see the staff endpoints)")
    urgency = command.get("urgency")
    department, itil = command.get("department"), command.get("itil")
    if department is not None:
        if department not in catalog.departments:
            raise RuleBroken("department", f"unknown department {department!r}; "
                             f"one of {', '.join(sorted(catalog.departments))}")
        urgency = urgency or "medium"
    else:
        kind = itil["type"]
        if itil["service"] not in catalog.services:
            raise RuleBroken("itil.service", f"unknown service {itil['service']!r}")
        if itil["category"] not in catalog.itil_categories[kind]:
            raise RuleBroken("itil.category", f"unknown category {itil['category']!r} for a {kind}; "
                             f"one of {', '.join(sorted(catalog.itil_categories[kind]))}")
        if catalog.urgency_required[kind] and urgency is None:
            raise RuleBroken("urgency", f"an urgency is required for an {kind}")
        if not catalog.urgency_required[kind] and urgency is not None:
            raise RuleBroken("urgency", f"a {kind} has no urgency")
    return [
        NewEvent(
            type="TicketOpened",
            data={
                "ticket_id": str(command["ticket_id"]),
                "requester_id": requester["user_id"],
                "requester_email": requester["email"],
                "company_id": requester.get("company_id"),
                "department": department,
                "itil": dict(itil) if itil else None,
                "urgency": urgency,
                "title": command["title"],
                "description": command["description"],
                "channel": command["channel"],
            },
            actor=requester["user_id"],
            channel=command["channel"],
        )
    ]


def evolve(ticket, event):
    if event.type == "TicketOpened":
        data = event.data
        return Ticket(
            ticket_id=uuid.UUID(data["ticket_id"]),
            status=NEW,
            requester_id=data["requester_id"],
            requester_email=data["requester_email"],
            company_id=data.get("company_id"),
            department=data["department"],
            itil=data["itil"],
            urgency=data["urgency"],
            title=data["title"],
            description=data["description"],
            channel=data["channel"],
            version=event.stream_position,
        )
    return dataclasses.replace(ticket, version=event.stream_position)


def fold(events):
    ticket = None
    for event in events:
        ticket = evolve(ticket, event)
    return ticket
