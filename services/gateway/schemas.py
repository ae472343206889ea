"""HTTP schemas of the public API: the contracts' command schemas, plus what only HTTP shows."""
from marshmallow import Schema, fields

from helpdesk import contracts


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


class AcceptedSchema(Schema):
    message = fields.String(required=True)


class SessionSchema(Schema):
    token = fields.String(required=True, metadata={"description": "bearer token; the portal gets it "
                                                   "as an HttpOnly cookie as well"})
    expires_at = fields.String(required=True)
    user = fields.Nested(contracts.PrincipalSchema, required=True)


class ProfileSchema(contracts.PrincipalSchema):
    phone = fields.String(allow_none=True)
    verified = fields.Boolean()


class CompanySchema(Schema):
    company_id = fields.String(required=True)
    name = fields.String(required=True)
