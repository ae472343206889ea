"""HTTP schemas of the public API."""
from marshmallow import Schema, fields

from helpdesk.contracts import OpenTicketSchema


class OpenTicketRequest(OpenTicketSchema):
    """POST /api/v1/tickets. `ticket_id` is optional: a client that sends its own makes the POST
    safe to retry (a second POST with the same id answers 409 instead of opening a duplicate)."""

    class Meta(OpenTicketSchema.Meta):
        exclude = ("channel",)  # the portal is the channel; staff channels come with staff auth

    requester_email = fields.Email(
        required=True,
        metadata={"description": "TEMPORARY, until authentication (issue 3): the requester is "
                                 "taken from the body. It will come from the session instead."},
    )


class ErrorSchema(Schema):
    error = fields.String(required=True, metadata={"description": "machine-readable error code"})
    message = fields.String(required=True)
    field_errors = fields.Dict(
        data_key="fields", keys=fields.String(), values=fields.Raw(),
        metadata={"description": "per-field messages, keyed by field name (dots for nested)"},
    )


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"description": "ok | degraded"})
    services = fields.Dict(keys=fields.String(), values=fields.String())
