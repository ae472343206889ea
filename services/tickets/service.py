"""Tickets service entrypoints: load the command, decide, append, dump. Nothing else."""
import os
import uuid
from pathlib import Path

from marshmallow import ValidationError
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc

from helpdesk import errors
from helpdesk.contracts import OpenTicketSchema
from helpdesk.events import stream_name
from helpdesk.eventstore import NO_STREAM, WrongExpectedVersion
from helpdesk.extensions import EventStore, Health, StreamOwner

from . import domain
from .schemas import TicketSchema

DEFAULT_CATALOG = Path(__file__).with_name("catalog.yaml")


class CatalogProvider(DependencyProvider):
    def setup(self):
        path = self.container.config.get("CATALOG_PATH") or os.environ.get("CATALOG_PATH")
        self.catalog = domain.Catalog.load(path or DEFAULT_CATALOG)

    def get_dependency(self, worker_ctx):
        return self.catalog


def ticket_stream(ticket_id):
    return stream_name("ticket", ticket_id)


class TicketsService(Health, StreamOwner):
    name = "tickets"
    store = EventStore()
    catalog = CatalogProvider()

    @rpc(expected_exceptions=errors.EXPECTED)
    def open_ticket(self, command):
        try:
            command = OpenTicketSchema().load(command)
        except ValidationError as exc:
            raise errors.InvalidInput(exc.messages)
        command["ticket_id"] = command.get("ticket_id") or uuid.uuid4()
        stream = ticket_stream(command["ticket_id"])
        try:
            events = domain.open_ticket(command, self.catalog)
        except domain.RuleBroken as exc:
            raise errors.InvalidInput({exc.field: [exc.message]})
        try:
            recorded = self.store.append(stream, events, expected_version=NO_STREAM)
        except WrongExpectedVersion as exc:
            raise errors.Conflict(f"ticket {command['ticket_id']} already exists", exc.actual)
        return TicketSchema().dump(domain.fold(recorded))

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_ticket(self, ticket_id):
        try:
            ticket_id = uuid.UUID(str(ticket_id))
        except ValueError:
            raise errors.NotFound(f"no ticket {ticket_id}")
        ticket = domain.fold(self.store.read_stream(ticket_stream(ticket_id)))
        if ticket is None:
            raise errors.NotFound(f"no ticket {ticket_id}")
        return TicketSchema().dump(ticket)
