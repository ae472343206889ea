"""HTTP schemas of the public API: the contracts' command schemas, plus what only HTTP shows."""
from marshmallow import Schema, fields

from helpdesk import contracts, i18n


ERROR_CODES = (  # the body's `error`: stable, whatever the language
    "invalid_input", "malformed_json", "unsupported_media_type", "payload_too_large", "unauthenticated",
    "forbidden", "password_change_required", "email_not_verified", "account_disabled", "cross_origin_request",
    "not_found", "conflict", "ticket_closed", "too_many_requests", "service_unavailable", "internal_error",
)
LANGUAGE_RULE = ("Every text of an error is in the caller's language: the profile's language when the request "
                 "has a session, else the best of es/en in Accept-Language (q-values respected), else Spanish.")


def _field_codes():
    return ", ".join(sorted(code for code in i18n.catalogue(i18n.DEFAULT_LANGUAGE) if "." not in code))


class ErrorSchema(Schema):
    error = fields.String(required=True, metadata={"description": "stable error code: " + ", ".join(ERROR_CODES)})
    message = fields.String(required=True, metadata={"description": LANGUAGE_RULE})
    field_errors = fields.Dict(
        data_key="fields", keys=fields.String(), values=fields.List(fields.String()),
        metadata={"description": "per-field messages in the caller's language, keyed by field name (dots for "
                                 "nested); only when fields are at fault"},
    )
    field_codes = fields.Dict(
        keys=fields.String(), values=fields.List(fields.String()),
        metadata={"description": "the same fields, each with the stable codes of its messages, in the same "
                                 "order: act on these, not on the text. Codes: " + _field_codes()},
    )


class RelayLagSchema(Schema):
    behind = fields.Integer(metadata={"description": "log positions after the relay's checkpoint"})
    waiting_seconds = fields.Float(metadata={"description": "how long its oldest unpublished event has waited"})
    status = fields.String(metadata={"description": "ok | behind (waited over HEALTH_RELAY_MAX_WAIT)"})


class ConsumerLagSchema(Schema):
    waiting = fields.Integer(metadata={"description": "messages ready in the subscription's queue"})
    lag_seconds = fields.Float(metadata={"description": "0 when none waits; else at most how long the oldest has "
                                                        "waited (helpdesk_consumer_lag_seconds, docs/operations.md)"})
    status = fields.String(metadata={"description": "ok | behind (lagging over HEALTH_CONSUMER_MAX_LAG)"})


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"description": "ok | degraded"})
    services = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "every process: each nameko service (ok | down | timeout) and inbound_smtp, the "
                       "inbound mail endpoint (ok | down | broker_unreachable)"})
    relays = fields.Dict(keys=fields.String(), values=fields.Nested(RelayLagSchema), metadata={
        "description": "each outbox relay, `<service>.<relay>`"})
    consumers = fields.Dict(keys=fields.String(), values=fields.Nested(ConsumerLagSchema), metadata={
        "description": "each subscription, by its queue `<service>.from.<source>`"})


class AcceptedSchema(Schema):
    code = fields.String(required=True, metadata={"description": "stable: mail_on_its_way, "
                                                  "password_reset_done, email_change_sent"})
    message = fields.String(required=True, metadata={"description": "in the caller's language"})


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


class RoutingPreviewAnswerSchema(Schema):
    """Where a ticket would go (GET /api/v1/routing/preview), computed by routing's own rules."""

    department = fields.String(required=True, metadata={"description": "the department's code"})
    department_name = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                                  metadata={"description": "its name in es and en"})
    reason = fields.Dict(keys=fields.String(), values=fields.String(), allow_none=True, required=True,
                         metadata={"description": "why, in es and en: the ITIL rule that matched, or why "
                                                  "the department asked for does not take it; null when "
                                                  "it stays where it was asked for"})
    changed = fields.Boolean(required=True, metadata={"description": "the ticket would not go to the "
                                                      "department asked for"})


class LabelsSchema(Schema):
    """A text in every language the product speaks."""

    es = fields.String()
    en = fields.String()


class AttachmentRulesSchema(Schema):
    max_bytes = fields.Integer(metadata={"description": "the largest file accepted (also checked by the server)"})
    extensions = fields.List(fields.String(), metadata={"description": "file name extensions accepted; the "
                                                        "server checks the type by content too"})


class FeaturesSchema(Schema):
    announcements = fields.Boolean()
    downloads = fields.Boolean()
    network_status = fields.Boolean()


class SiteSchema(Schema):
    """The provider's white label and the portal's settings (config.yaml, PORTAL)."""

    provider_name = fields.String()
    logo_url = fields.String()
    ticket_form = fields.String(metadata={"description": "department | itil | both: the forms customers get"})
    languages = fields.List(fields.String())
    default_language = fields.String()
    time_zone = fields.String(metadata={"description": "the zone of people who chose none (IANA name)"})
    attachment = fields.Nested(AttachmentRulesSchema)
    features = fields.Nested(FeaturesSchema, metadata={"description": "home-page sections this provider has"})


class CatalogDepartmentSchema(Schema):
    code = fields.String()
    name = fields.Nested(LabelsSchema)
    calendar = fields.String(metadata={"description": "8x5 | 24x7"})
    urgent_only = fields.Boolean()
    description = fields.Nested(LabelsSchema, allow_none=True)


class CatalogItemSchema(Schema):
    code = fields.String()
    name = fields.Nested(LabelsSchema)


class CatalogItilTypeSchema(CatalogItemSchema):
    urgency_required = fields.Boolean(metadata={"description": "the form asks the urgency only then"})
    categories = fields.List(fields.Nested(CatalogItemSchema))


class CatalogSchema(Schema):
    """What a ticket form offers, with labels: codes are what the API takes."""

    departments = fields.List(fields.Nested(CatalogDepartmentSchema))
    services = fields.List(fields.Nested(CatalogItemSchema))
    itil_types = fields.List(fields.Nested(CatalogItilTypeSchema))
    urgencies = fields.List(fields.Nested(CatalogItemSchema))


class CurrentSessionSchema(Schema):
    user = fields.Nested(ProfileSchema, allow_none=True, metadata={"description": "null when not logged in"})


class DashboardMeasureSchema(Schema):
    """How long first responses or resolutions took, in the business time of each department's calendar."""

    count = fields.Integer(required=True, metadata={"description": "first responses / resolutions measured"})
    business_seconds = fields.Float(required=True, metadata={"description": "their business seconds, summed"})
    average_business_hours = fields.Float(required=True, allow_none=True,
                                          metadata={"description": "null when count is 0"})
    with_target = fields.Integer(required=True, metadata={"description": "of them, those that had a target (sla.yaml)"})
    within_target = fields.Integer(required=True)
    share_within_target = fields.Float(required=True, allow_none=True,
                                       metadata={"description": "within_target / with_target; null when none had one"})


class DashboardBreachesSchema(Schema):
    first_response = fields.Integer(required=True, metadata={"description": "SlaBreached alerts raised"})
    resolution = fields.Integer(required=True)


class DashboardUsageSchema(Schema):
    """24-hour support usage records that count (the latest per usage), on the day of their resolution."""

    billable = fields.Integer(required=True)
    billable_business_minutes = fields.Float(required=True)
    not_billable = fields.Integer(required=True)
    not_billable_business_minutes = fields.Float(required=True)


class DashboardFiguresSchema(Schema):
    opened = fields.Integer(required=True, metadata={"description": "tickets opened (in the first department "
                                                                    "that received them)"})
    resolved = fields.Integer(required=True, metadata={"description": "resolutions (a ticket resolved again after "
                                                                      "a refused solution counts again)"})
    first_response = fields.Nested(DashboardMeasureSchema, required=True)
    resolution = fields.Nested(DashboardMeasureSchema, required=True)
    breaches = fields.Nested(DashboardBreachesSchema, required=True)
    support_24h_usage = fields.Nested(DashboardUsageSchema, required=True)


class DashboardDaySchema(DashboardFiguresSchema):
    day = fields.String(required=True, metadata={"description": "YYYY-MM-DD, in the provider's time zone"})
    department = fields.String(required=True, allow_none=True,
                               metadata={"description": "null: tickets not placed in a department yet"})


class DashboardDepartmentSchema(DashboardFiguresSchema):
    department = fields.String(required=True, allow_none=True)


class DashboardSchema(Schema):
    """GET /api/v1/dashboard: the sla service's read model of the ticket events, its alerts and usage records."""

    since = fields.String(required=True)
    until = fields.String(required=True)
    time_zone = fields.String(required=True, metadata={"description": "the zone the days are in (IANA name)"})
    days = fields.List(fields.Nested(DashboardDaySchema), required=True,
                       metadata={"description": "per day and department, by day then department; only those "
                                                "with figures (the others are all zero)"})
    departments = fields.List(fields.Nested(DashboardDepartmentSchema), required=True,
                              metadata={"description": "the days' totals per department: every department of "
                                                       "the catalogue, in its order"})
    total = fields.Nested(DashboardFiguresSchema, required=True)
