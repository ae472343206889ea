"""What the tickets service returns over RPC, and the filters its queries take."""
from marshmallow import Schema, fields, validate

from helpdesk.contracts import ItilSchema, StrictSchema

from . import domain, queries


class TicketSchema(Schema):
    ticket_id = fields.UUID()
    reference = fields.String(metadata={"description": "the human number, e.g. #000042"})
    status = fields.String(metadata={"description": " | ".join(domain.STATUSES)})
    requester_id = fields.String()
    requester_email = fields.String()
    requester_name = fields.String()
    company_id = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    itil = fields.Nested(ItilSchema, allow_none=True)
    urgency = fields.String(allow_none=True)
    title = fields.String()
    description = fields.String()
    channel = fields.String()
    cc = fields.List(fields.String())
    assignee_id = fields.String(allow_none=True)
    assignee_name = fields.String(allow_none=True)
    provider_fault = fields.Boolean(metadata={"description": "staff only"})
    solution = fields.String(allow_none=True)
    merged_into = fields.String(allow_none=True)
    follows_up = fields.String(allow_none=True)
    opened_by = fields.String(allow_none=True, metadata={"description": "staff who opened it for the customer"})
    opened_at = fields.DateTime()
    updated_at = fields.DateTime()
    version = fields.Integer(metadata={"description": "send as If-Match to refuse stale updates"})


class ListFiltersSchema(StrictSchema):
    status = fields.String(validate=validate.OneOf((*domain.STATUSES, "open")))
    department = fields.String(validate=validate.Length(max=50))
    text = fields.String(validate=validate.Length(min=1, max=200))
    scope = fields.String(load_default="all", validate=validate.OneOf(("all", "mine")))
    limit = fields.Integer(load_default=25, validate=validate.Range(min=1, max=queries.MAX_LIMIT))
    cursor = fields.String(validate=validate.Length(max=100))


class QueueFiltersSchema(StrictSchema):
    limit = fields.Integer(load_default=25, validate=validate.Range(min=1, max=queries.MAX_LIMIT))
    cursor = fields.String(validate=validate.Length(max=100))
