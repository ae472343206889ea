"""The ticket aggregate: pure decisions, no I/O.

`decide` functions take the current state (None for a ticket not opened yet) and a command and
return the events to append, or raise a `RuleBroken`. `evolve` folds one event into the state.
"""
import dataclasses
import uuid

import yaml

from helpdesk.events import NewEvent

NEW = "new"


class RuleBroken(Exception):
    """A command that breaks a business rule; `field` names the offending input."""

    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@dataclasses.dataclass(frozen=True)
class Department:
    code: str
    names: dict
    calendar: str
    urgent_only: bool = False


@dataclasses.dataclass(frozen=True)
class Catalog:
    """Departments, services and ITIL categories: configuration the provider edits."""

    departments: dict
    services: frozenset
    itil_categories: dict  # itil type -> frozenset of category codes
    urgency_required: dict  # itil type -> bool

    @classmethod
    def from_dict(cls, raw):
        return cls(
            departments={
                d["code"]: Department(d["code"], d["name"], d["calendar"], d.get("urgent_only", False))
                for d in raw["departments"]
            },
            services=frozenset(s["code"] for s in raw["services"]),
            itil_categories={
                kind: frozenset(c["code"] for c in spec["categories"])
                for kind, spec in raw["itil"].items()
            },
            urgency_required={kind: spec["urgency_required"] for kind, spec in raw["itil"].items()},
        )

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as handle:
            return cls.from_dict(yaml.safe_load(handle))


@dataclasses.dataclass(frozen=True)
class Ticket:
    ticket_id: uuid.UUID
    status: str
    requester_email: str
    department: str | None
    itil: dict | None
    urgency: str | None
    title: str
    description: str
    channel: str
    version: int  # stream position of the last event folded in


def open_ticket(command, catalog, actor=None):
    """`OpenTicket` → `TicketOpened`, after checking the catalog rules. (That the ticket does not
    exist yet is the store's to check: the append expects NO_STREAM.)"""
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
                "requester_email": command["requester_email"],
                "department": department,
                "itil": dict(itil) if itil else None,
                "urgency": urgency,
                "title": command["title"],
                "description": command["description"],
                "channel": command["channel"],
            },
            actor=actor or command["requester_email"],
            channel=command["channel"],
        )
    ]


def evolve(ticket, event):
    if event.type == "TicketOpened":
        data = event.data
        return Ticket(
            ticket_id=uuid.UUID(data["ticket_id"]),
            status=NEW,
            requester_email=data["requester_email"],
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
