"""Tickets service entrypoints: load the command, authorize, decide, append, dump. Nothing else.

Every RPC takes the acting principal (resolved by the gateway through identity) first.
"""
import uuid

from marshmallow import ValidationError
from nameko.rpc import rpc

from helpdesk import errors
from helpdesk.contracts import OpenTicketSchema, PrincipalSchema
from helpdesk.events import stream_name
from helpdesk.eventstore import NO_STREAM, WrongExpectedVersion
from helpdesk.extensions import CatalogProvider, EventStore, Health, StreamOwner

from . import access, domain
from .schemas import TicketSchema


def ticket_stream(ticket_id):
    return stream_name("ticket", ticket_id)


def load(schema, data):
    try:
        return schema.load(data or {})
    except ValidationError as exc:
        raise errors.InvalidInput(exc.messages)


class TicketsService(Health, StreamOwner):
    name = "tickets"
    store = EventStore()
    catalog = CatalogProvider()

    def _visible_ticket(self, principal, ticket_id):
        """The ticket, if it exists and `principal` may see it; otherwise NotFound, the same way."""
        try:
            ticket_id = uuid.UUID(str(ticket_id))
        except ValueError:
            raise errors.NotFound(f"no ticket {ticket_id}")
        ticket = domain.fold(self.store.read_stream(ticket_stream(ticket_id)))
        if ticket is None or not access.can_see(principal, ticket):
            raise errors.NotFound(f"no ticket {ticket_id}")
        return ticket

    @rpc(expected_exceptions=errors.EXPECTED)
    def open_ticket(self, principal, command):
        principal = load(PrincipalSchema(), principal)
        command = load(OpenTicketSchema(), command)
        command["ticket_id"] = command.get("ticket_id") or uuid.uuid4()
        try:
            events = domain.open_ticket(command, principal, self.catalog)
        except domain.RuleBroken as exc:
            raise errors.InvalidInput({exc.field: [exc.message]})
        except domain.Forbidden as exc:
            raise errors.Forbidden(str(exc))
        try:
            recorded = self.store.append(ticket_stream(command["ticket_id"]), events, NO_STREAM)
        except WrongExpectedVersion as exc:
            raise errors.Conflict(f"ticket {command['ticket_id']} already exists", exc.actual)
        return TicketSchema().dump(domain.fold(recorded))

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_ticket(self, principal, ticket_id):
        principal = load(PrincipalSchema(), principal)
        return TicketSchema().dump(self._visible_ticket(principal, ticket_id))
