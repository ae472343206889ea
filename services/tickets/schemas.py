"""What the tickets service returns over RPC."""
from marshmallow import Schema, fields

from helpdesk.contracts import ItilSchema


class TicketSchema(Schema):
    ticket_id = fields.UUID()
    status = fields.String()
    requester_id = fields.String()
    requester_email = fields.String()
    company_id = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    itil = fields.Nested(ItilSchema, allow_none=True)
    urgency = fields.String(allow_none=True)
    title = fields.String()
    description = fields.String()
    channel = fields.String()
    version = fields.Integer()
