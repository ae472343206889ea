"""The published language: schemas of commands and event payloads other services rely on.

Event payload schemas are versioned with the event's `schema_version`; a breaking change adds a
new version and an upcaster, never an edit of a stored event.
"""
from marshmallow import RAISE, Schema, fields, validate, validates_schema, ValidationError

URGENCIES = ("high", "medium")
ITIL_TYPES = ("incident", "request")
OPENING_CHANNELS = ("portal", "email", "phone")

TITLE_MAX = 200
DESCRIPTION_MAX = 20_000


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE  # an unknown field is an error the caller must hear about


class ItilSchema(StrictSchema):
    type = fields.String(required=True, validate=validate.OneOf(ITIL_TYPES))
    service = fields.String(required=True, validate=validate.Length(min=1, max=100))
    category = fields.String(required=True, validate=validate.Length(min=1, max=100))


class OpenTicketSchema(StrictSchema):
    """`OpenTicket`: by department, or by ITIL form (`itil`), never both."""

    ticket_id = fields.UUID(load_default=None)
    requester_email = fields.Email(required=True, validate=validate.Length(max=254))
    department = fields.String(validate=validate.Length(min=1, max=50))
    itil = fields.Nested(ItilSchema)
    urgency = fields.String(validate=validate.OneOf(URGENCIES))
    title = fields.String(required=True, validate=validate.Length(min=1, max=TITLE_MAX))
    description = fields.String(required=True, validate=validate.Length(min=1, max=DESCRIPTION_MAX))
    channel = fields.String(load_default="portal", validate=validate.OneOf(OPENING_CHANNELS))

    @validates_schema
    def one_way_of_opening(self, data, **kwargs):
        if ("department" in data) == ("itil" in data):
            raise ValidationError(
                "give either a department or an ITIL form (itil), not both", "department"
            )


class TicketOpenedV1(Schema):
    ticket_id = fields.UUID(required=True)
    requester_email = fields.Email(required=True)
    department = fields.String(allow_none=True)
    itil = fields.Nested(ItilSchema, allow_none=True)
    urgency = fields.String(allow_none=True)
    channel = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
