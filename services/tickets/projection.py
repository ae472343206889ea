"""The `ticket_summaries` read model: a ticket's folded state, saved in the append's transaction.

One path writes it: `save(cur, ticket, arrival)` with the state `domain.fold` produced, whether
live (right after an append) or in a rebuild (folding the whole log). The projection never
re-implements the aggregate's rules in SQL.
"""
import dataclasses

from helpdesk.db import later
from helpdesk.projections import Rebuild

from . import domain

COLUMNS = ("ticket_id", "reference", "title", "description", "status", "department", "urgency",
           "itil_type", "itil_service", "itil_category", "requester_id", "requester_email", "requester_name",
           "company_id", "assignee_id", "assignee_name", "cc", "channel", "provider_fault", "opened_at", "updated_at",
           "arrival", "version")
TABLES = ("tickets.ticket_summaries",)


def row(ticket, arrival):
    itil = ticket.itil or {}
    values = dataclasses.asdict(ticket)
    values.update(itil_type=itil.get("type"), itil_service=itil.get("service"),
                  itil_category=itil.get("category"), cc=[a.lower() for a in ticket.cc], arrival=arrival)
    return tuple(values[c] for c in COLUMNS)


_UPSERT = (
    f"INSERT INTO tickets.ticket_summaries ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
    " ON CONFLICT (ticket_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS if c not in ("ticket_id", "arrival"))
)


def save(cur, ticket, arrival):
    later(cur, _UPSERT, row(ticket, arrival))


def arrival_of(cur, ticket_id):
    cur.execute("SELECT arrival FROM tickets.ticket_summaries WHERE ticket_id = %s", (ticket_id,))
    found = cur.fetchone()
    return found[0] if found else None


class SummariesRebuild(Rebuild):
    """Folds every ticket stream of the log and saves each ticket's final state."""

    name = "tickets.ticket_summaries"
    categories = ("ticket",)
    tables = TABLES

    def __init__(self):
        self.tickets, self.arrivals = {}, {}

    def apply(self, cur, event):
        if event.type == "TicketOpened":
            self.arrivals[event.stream] = event.global_position
        self.tickets[event.stream] = domain.evolve(self.tickets.get(event.stream), event)

    def finish(self, cur):
        for stream, ticket in self.tickets.items():
            save(cur, ticket, self.arrivals[stream])
