"""The OpenAPI document, generated from the same marshmallow schemas the gateway validates with."""
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from services.tickets.schemas import TicketSchema

from .schemas import ErrorSchema, HealthSchema, OpenTicketRequest


def _error(description):
    return {"description": description,
            "content": {"application/json": {"schema": "Error"}}}


def build_spec(public_url):
    spec = APISpec(
        title="Helpdesk API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        servers=[{"url": public_url.rstrip("/")}],
    )
    spec.components.schema("Error", schema=ErrorSchema)
    spec.components.schema("OpenTicket", schema=OpenTicketRequest)
    spec.components.schema("Ticket", schema=TicketSchema)
    spec.components.schema("Health", schema=HealthSchema)
    json_of = lambda name: {"application/json": {"schema": name}}  # noqa: E731
    spec.path(
        path="/api/v1/tickets",
        operations={
            "post": {
                "summary": "Open a ticket, by department or by ITIL form",
                "operationId": "openTicket",
                "requestBody": {"required": True, "content": json_of("OpenTicket")},
                "responses": {
                    "201": {"description": "opened", "content": json_of("Ticket"),
                            "headers": {"Location": {"schema": {"type": "string"}}}},
                    "400": _error("malformed JSON"),
                    "409": _error("a ticket with this ticket_id exists"),
                    "413": _error("body too large"),
                    "415": _error("body is not application/json"),
                    "422": _error("invalid fields; `fields` names each one"),
                    "503": _error("a service is unavailable"),
                },
            }
        },
    )
    spec.path(
        path="/api/v1/tickets/{ticket_id}",
        parameters=[{"name": "ticket_id", "in": "path", "required": True,
                     "schema": {"type": "string", "format": "uuid"}}],
        operations={
            "get": {
                "summary": "One ticket",
                "operationId": "getTicket",
                "responses": {
                    "200": {"description": "the ticket", "content": json_of("Ticket")},
                    "404": _error("no such ticket"),
                    "503": _error("a service is unavailable"),
                },
            }
        },
    )
    spec.path(
        path="/api/v1/health",
        operations={
            "get": {
                "summary": "Every service reachable over RPC",
                "operationId": "health",
                "responses": {
                    "200": {"description": "all services answer", "content": json_of("Health")},
                    "503": {"description": "some service does not answer", "content": json_of("Health")},
                },
            }
        },
    )
    return spec.to_dict()
