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
    requester_id = fields.String(required=True)
    requester_email = fields.Email(required=True)
    company_id = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    itil = fields.Nested(ItilSchema, allow_none=True)
    urgency = fields.String(allow_none=True)
    channel = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)


# -- identity --------------------------------------------------------------------------------

ROLES = ("customer", "agent", "supervisor", "admin")
LANGUAGES = ("es", "en")
PHONE = validate.Regexp(r"^\+?[0-9 ()./-]{6,30}$", error="not a phone number")


def password_field(**kwargs):
    # The policy (8..128 characters, not a common password) is the identity domain's, so that its
    # message is the one the user reads; here only a bound on what we accept to hash.
    return fields.String(load_only=True, validate=validate.Length(min=1, max=1024), **kwargs)


class PrincipalSchema(Schema):
    """Who is acting: resolved by identity from a session, passed by the gateway to services."""

    user_id = fields.String(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    company_id = fields.String(allow_none=True, load_default=None)
    is_group = fields.Boolean(load_default=False)
    company_admin = fields.Boolean(load_default=False)
    departments = fields.List(fields.String(), load_default=list)
    language = fields.String(load_default="es")
    must_change_password = fields.Boolean(load_default=False)


class RegisterSchema(StrictSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = password_field(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    phone = fields.String(validate=PHONE)
    language = fields.String(load_default="es", validate=validate.OneOf(LANGUAGES))


class LoginSchema(StrictSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = password_field(required=True)


class EmailOnlySchema(StrictSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))


class TokenSchema(StrictSchema):
    token = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=200))


class ResetPasswordSchema(TokenSchema):
    password = password_field(required=True)


class ChangePasswordSchema(StrictSchema):
    current_password = password_field(required=True)
    new_password = password_field(required=True)


class ProfileUpdateSchema(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    phone = fields.String(allow_none=True, validate=PHONE)
    language = fields.String(validate=validate.OneOf(LANGUAGES))


class EmailChangeSchema(StrictSchema):
    new_email = fields.Email(required=True, validate=validate.Length(max=254))
    password = password_field(required=True)


class CreateCompanySchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))


class CreateUserSchema(StrictSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    phone = fields.String(validate=PHONE)
    language = fields.String(load_default="es", validate=validate.OneOf(LANGUAGES))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    company_id = fields.UUID()
    is_group = fields.Boolean(load_default=False)
    company_admin = fields.Boolean(load_default=False)
    departments = fields.List(fields.String(validate=validate.Length(min=1, max=50)), load_default=list)


class UpdateUserSchema(StrictSchema):
    departments = fields.List(fields.String(validate=validate.Length(min=1, max=50)))
    active = fields.Boolean()

    @validates_schema
    def not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("give departments and/or active", "_schema")
