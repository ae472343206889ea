"""The published language: schemas of commands and event payloads other services rely on.

Event payload schemas are versioned with the event's `schema_version`; a breaking change adds a
new version and an upcaster, never an edit of a stored event.
"""
import datetime as dt
import functools

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from . import errors, timezones

from .problems import CodedSchema, Problem

URGENCIES = ("high", "medium")
LANGUAGES_ALL = ("es", "en")
ITIL_TYPES = ("incident", "request")
OPENING_CHANNELS = ("portal", "email", "phone")

TITLE_MAX = 200
DESCRIPTION_MAX = 20_000
# No command nests deeper than 3 levels; 32 leaves room and keeps every recursive walk (marshmallow,
# the checks below, nameko's serializer) far from Python's recursion limit.
MAX_JSON_DEPTH = 32


def nested_too_deep(value, limit=MAX_JSON_DEPTH):
    """The top-level key under which `value` (parsed JSON) nests deeper than `limit` levels of
    objects and arrays ("_schema" when the whole value does), or None. Iterative, so a hostile
    value cannot exhaust the stack while being measured."""
    pending = [(value, 0, None)]
    while pending:
        item, depth, top = pending.pop()
        if isinstance(item, (dict, list)):
            if depth >= limit:
                return top or "_schema"
            children = item.items() if isinstance(item, dict) else enumerate(item)
            pending.extend((child, depth + 1, top if depth else str(key)) for key, child in children)
    return None


class StrictSchema(CodedSchema):
    """Every command schema: unknown fields refused, text storable, every error a code
    (helpdesk.problems)."""

    class Meta:
        unknown = RAISE  # an unknown field is an error the caller must hear about

    @pre_load
    def storable_text(self, data, **kwargs):
        """No field of any command may hold text that cannot be stored or sent on: NUL (PostgreSQL
        text refuses it) or lone surrogates (not UTF-8). Refused here, naming the field, rather
        than failing deep in a service. Values nested beyond MAX_JSON_DEPTH are refused first."""
        deep = nested_too_deep(data)
        if deep is not None:
            raise ValidationError({deep: [Problem("nested_too_deep", max_depth=MAX_JSON_DEPTH)]})
        problems = {}
        for path, value in _strings(data):
            if "\x00" in value or any("\ud800" <= char <= "\udfff" for char in value):
                problems[path] = [Problem("unstorable_characters")]
        if problems:
            raise ValidationError(problems)
        return data


def _strings(value, path=""):
    """(dotted path, string) for every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield path or "_schema", value
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if isinstance(key, str):
                yield name, key
            yield from _strings(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}.{index}" if path else str(index))


class ItilSchema(StrictSchema):
    type = fields.String(required=True, validate=validate.OneOf(ITIL_TYPES))
    service = fields.String(required=True, validate=validate.Length(min=1, max=100))
    category = fields.String(required=True, validate=validate.Length(min=1, max=100))


MAX_CC = 10


class CcField(fields.Field):
    """Extra addresses that receive every update: "a@x.es,b@y.es" (the manual's form: comma-
    separated; spaces around commas are forgiven) or a list. Each address is checked, and an error
    names the bad one."""

    default_error_messages = {"invalid": Problem("cc_not_addresses")}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            items = [item.strip() for item in value.split(",")] if value.strip() else []
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            items = [item.strip() for item in value]
        else:
            raise self.make_error("invalid")
        email, seen, addresses = validate.Email(), set(), []
        for item in items:
            if not item:
                raise ValidationError(Problem("cc_empty_address"))
            try:
                email(item)
            except ValidationError:
                raise ValidationError(Problem("invalid_email", value=item))
            if len(item) > 254:
                raise ValidationError(Problem("cc_address_too_long", value=item[:40] + "…"))
            if item.lower() not in seen:
                seen.add(item.lower())
                addresses.append(item)
        if len(addresses) > MAX_CC:
            raise ValidationError(Problem("cc_too_many", max=MAX_CC))
        return addresses

    def _serialize(self, value, attr, obj, **kwargs):
        return list(value or [])


class AttachmentUploadSchema(StrictSchema):
    """A file inside JSON. At most 2 MB once decoded; its type is checked by content."""

    filename = fields.String(required=True, validate=validate.Length(min=1, max=255))
    content_base64 = fields.String(required=True, load_only=True)


class OpenTicketSchema(StrictSchema):
    """`OpenTicket`: by department, or by ITIL form (`itil`), never both. Staff open tickets for a
    customer (`on_behalf_of`) who phoned or emailed (`channel`)."""

    ticket_id = fields.UUID(load_default=None)
    department = fields.String(validate=validate.Length(min=1, max=50))
    itil = fields.Nested(ItilSchema)
    urgency = fields.String(validate=validate.OneOf(URGENCIES))
    title = fields.String(required=True, validate=validate.Length(min=1, max=TITLE_MAX))
    description = fields.String(required=True, validate=validate.Length(min=1, max=DESCRIPTION_MAX))
    channel = fields.String(load_default="portal", validate=validate.OneOf(OPENING_CHANNELS))
    cc = CcField(load_default=list)
    attachment = fields.Nested(AttachmentUploadSchema)
    follows_up = fields.UUID(metadata={"description": "a closed ticket this one continues"})
    on_behalf_of = fields.UUID(metadata={"description": "staff only: the customer's user id"})

    @validates_schema
    def one_way_of_opening(self, data, **kwargs):
        if ("department" in data) == ("itil" in data):
            raise ValidationError(Problem("department_or_itil"), "department")


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
    # Added (optional: events without them fold as before): opened by department into one that
    # did not take it (the catalogue's urgent-only rule), the department asked for and why, es/en.
    requested_department = fields.String(allow_none=True)
    reason = fields.Dict(keys=fields.String(validate=validate.OneOf(LANGUAGES_ALL)), values=fields.String(),
                         allow_none=True)


# -- identity --------------------------------------------------------------------------------

ROLES = ("customer", "agent", "supervisor", "admin")
LANGUAGES = ("es", "en")
PHONE = validate.Regexp(r"^\+?[0-9 ()./-]{6,30}$", error=Problem("invalid_phone"))


def password_field(**kwargs):
    # The policy (8..128 characters, not a common password) is the identity domain's, so that its
    # message is the one the user reads; here only a bound on what we accept to hash.
    return fields.String(load_only=True, validate=validate.Length(min=1, max=1024), **kwargs)


TIME_ZONE_DOC = {"description": "IANA time zone (e.g. Europe/Madrid) every time mailed to the user is "
                                 "written in; absent at registration: the configured DEFAULT_TIME_ZONE"}


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
    services = fields.List(fields.String(), load_default=list, metadata={
        "description": "a customer's contracted services (catalog.yaml codes): announcements for them are shown to them"})
    language = fields.String(load_default="es")
    time_zone = fields.String(allow_none=True, load_default=None, metadata=TIME_ZONE_DOC)
    must_change_password = fields.Boolean(load_default=False)


class RegisterSchema(StrictSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = password_field(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    phone = fields.String(validate=PHONE)
    language = fields.String(load_default="es", validate=validate.OneOf(LANGUAGES))
    time_zone = fields.String(validate=timezones.IanaName(), metadata=TIME_ZONE_DOC)


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
    time_zone = fields.String(validate=timezones.IanaName(), metadata=TIME_ZONE_DOC)


class EmailChangeSchema(StrictSchema):
    new_email = fields.Email(required=True, validate=validate.Length(max=254))
    password = password_field(required=True)


class CreateCompanySchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))


SERVICES_DOC = {"description": "customers only: the services (catalog.yaml codes) the customer has contracted"}


class CreateUserSchema(StrictSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    phone = fields.String(validate=PHONE)
    language = fields.String(load_default="es", validate=validate.OneOf(LANGUAGES))
    time_zone = fields.String(validate=timezones.IanaName(), metadata=TIME_ZONE_DOC)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    company_id = fields.UUID()
    is_group = fields.Boolean(load_default=False)
    company_admin = fields.Boolean(load_default=False)
    departments = fields.List(fields.String(validate=validate.Length(min=1, max=50)), load_default=list)
    services = fields.List(fields.String(validate=validate.Length(min=1, max=50)), load_default=list,
                           metadata=SERVICES_DOC)


class UpdateUserSchema(StrictSchema):
    departments = fields.List(fields.String(validate=validate.Length(min=1, max=50)))
    services = fields.List(fields.String(validate=validate.Length(min=1, max=50)), metadata=SERVICES_DOC)
    active = fields.Boolean()

    @validates_schema
    def not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError(Problem("give_departments_services_or_active"), "_schema")


# -- ticket follow-ups and staff operations ---------------------------------------------------

def _body(required=True):
    return fields.String(required=required, validate=validate.Length(max=DESCRIPTION_MAX))


class CommentSchema(StrictSchema):
    """A customer's comment and/or document, or a staff public reply (by the caller's role)."""

    body = _body(required=False)
    attachment = fields.Nested(AttachmentUploadSchema)

    @validates_schema
    def something_to_say(self, data, **kwargs):
        if not (data.get("body") or "").strip() and "attachment" not in data:
            raise ValidationError(Problem("write_or_attach"), "body")


class NoteSchema(CommentSchema):
    """A staff internal note: never shown or mailed to customers."""


class InformationRequestSchema(StrictSchema):
    body = _body()


class CcChangeSchema(StrictSchema):
    cc = CcField(required=True)


class AssignSchema(StrictSchema):
    agent_id = fields.UUID(metadata={"description": "omit to take the ticket yourself"})


class EmptySchema(StrictSchema):
    """An action that takes no input (e.g. start)."""


class ReclassifySchema(StrictSchema):
    department = fields.String(required=True, validate=validate.Length(min=1, max=50))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class RouteSchema(StrictSchema):
    """Routing's command (internal, not an HTTP action)."""

    department = fields.String(required=True, validate=validate.Length(min=1, max=50))
    reason = fields.Dict(required=True, keys=fields.String(validate=validate.OneOf(LANGUAGES_ALL)),
                         values=fields.String(validate=validate.Length(min=1, max=2000)))
    seen_department = fields.String(allow_none=True, load_default=None,
                                     metadata={"description": "the department routing decided from; if a "
                                               "person changed it meanwhile, the route is ignored"})


class UrgencySchema(StrictSchema):
    urgency = fields.String(required=True, validate=validate.OneOf(URGENCIES))


class ResolveSchema(StrictSchema):
    solution = _body()


class ProviderFaultSchema(StrictSchema):
    provider_fault = fields.Boolean(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class ApproveSchema(StrictSchema):
    comment = fields.String(load_default="", validate=validate.Length(max=DESCRIPTION_MAX))


class RefuseSchema(StrictSchema):
    reason = _body()


class ReopenSchema(StrictSchema):
    """Staff reopen a resolved ticket (the customer phoned: it still fails), saying why."""

    reason = _body()


class CloseSchema(StrictSchema):
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class MergeSchema(StrictSchema):
    into = fields.UUID(required=True, metadata={"description": "the ticket that absorbs this duplicate"})


# Ticket events for staff alone: a customer never sees them, in a view or a live update.
INTERNAL_TICKET_EVENTS = frozenset({"InternalNoteAdded", "ProviderFaultMarked"})
# Events after which a ticket is closed for good (a follow-up is a new ticket).
CLOSED_TICKET_EVENTS = frozenset({"SolutionApproved", "TicketClosed", "TicketMerged"})
# Events that take a resolved ticket back to work: the customer refused the solution, or staff
# reopened it. Every service treats both alike (a queue again, the resolution clock running).
REOPENING_TICKET_EVENTS = frozenset({"SolutionRefused", "TicketReopened"})

LIVE_TICKETS_MAX, LIVE_QUEUES_MAX = 20, 10


class LiveSubscriptionSchema(StrictSchema):
    """GET /api/v1/live: what a stream follows (repeat a parameter for more: ?ticket=a&ticket=b)."""

    ticket = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=LIVE_TICKETS_MAX),
                         metadata={"description": "tickets whose changes to tell (the caller must see each)"})
    queue = fields.List(fields.String(validate=validate.Length(min=1, max=50)), load_default=list,
                        validate=validate.Length(max=LIVE_QUEUES_MAX),
                        metadata={"description": "departments whose queue changes to tell (staff of it only)"})

    @validates_schema
    def _something(self, data, **kwargs):
        if not data.get("ticket") and not data.get("queue"):
            raise ValidationError(Problem("live_needs_a_subject"), "ticket")


class PeopleFiltersSchema(StrictSchema):
    """GET /api/v1/people: staff look for a customer (who phoned or wrote) or a colleague."""

    text = fields.String(validate=validate.Length(min=1, max=200),
                         metadata={"description": "part of the name, the email or the company's name"})
    kind = fields.String(validate=validate.OneOf(("customer", "staff")))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class CannedRepliesQuerySchema(StrictSchema):
    """GET /api/v1/canned-replies: the console's ready-made answers for a department's tickets."""

    department = fields.String(required=True, validate=validate.Length(min=1, max=50))


class PresenceSchema(StrictSchema):
    """POST /api/v1/tickets/{id}/presence: a colleague's console tells who is on the ticket."""

    activity = fields.String(required=True, validate=validate.OneOf(("viewing", "replying", "left")))
    answer = fields.Boolean(load_default=False, metadata={
        "description": "the console answers a colleague who arrived: they need not answer back"})


# Every action on a ticket after its opening: POST /api/v1/tickets/{id}/<action>, and the schema
# of its body. The tickets service gives each its meaning; the gateway checks the body early.
TICKET_ACTIONS = {
    "comments": CommentSchema, "notes": NoteSchema, "information-requests": InformationRequestSchema,
    "cc": CcChangeSchema, "assign": AssignSchema, "start": EmptySchema, "reclassify": ReclassifySchema,
    "urgency": UrgencySchema, "resolve": ResolveSchema, "provider-fault": ProviderFaultSchema,
    "approve": ApproveSchema, "refuse": RefuseSchema, "close": CloseSchema, "merge": MergeSchema,
    "reopen": ReopenSchema,
}

class EmailReplySchema(StrictSchema):
    """A reply that came by email (the notifier's inbound mail), checked against its reply token
    before it gets here. Queued behind portal updates: it carries when it was received."""

    sender = fields.Email(required=True, validate=validate.Length(max=254))
    body = fields.String(load_default="", validate=validate.Length(max=DESCRIPTION_MAX))
    attachment = fields.Nested(AttachmentUploadSchema)
    message_id = fields.String(load_default=None, validate=validate.Length(max=998))
    received_at = fields.AwareDateTime(required=True)


class UserFiltersSchema(StrictSchema):
    """GET /api/v1/admin/users: the users of one company, or everyone's."""

    company_id = fields.UUID()


class RoutingPreviewSchema(StrictSchema):
    """GET /api/v1/routing/preview: the ticket form's answers so far, by department or by ITIL
    form. Given a catalogue (the routing service does), codes it does not know are refused,
    naming the field; without one (the gateway), only the shape is checked."""

    department = fields.String(validate=validate.Length(min=1, max=50))
    type = fields.String(validate=validate.OneOf(ITIL_TYPES), metadata={"description": "ITIL type"})
    service = fields.String(validate=validate.Length(min=1, max=100))
    category = fields.String(validate=validate.Length(min=1, max=100))
    urgency = fields.String(validate=validate.OneOf(URGENCIES),
                            metadata={"description": "omitted: not urgent"})

    def __init__(self, *args, catalog=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.catalog = catalog

    @validates_schema
    def one_way_of_opening(self, data, **kwargs):
        itil = [key for key in ("type", "service", "category") if key in data]
        if "department" in data and itil:
            raise ValidationError(Problem("department_or_itil"), "department")
        if "department" not in data:
            missing = {key: [Problem("required")] for key in ("type", "service", "category") if key not in data}
            if missing:
                raise ValidationError(missing)

    @validates_schema
    def known_to_the_catalogue(self, data, **kwargs):
        if self.catalog is None:
            return
        if "department" in data and data["department"] not in self.catalog.departments:
            raise ValidationError(Problem("unknown_department", department=data["department"],
                                          choices=sorted(self.catalog.departments)), "department")
        if "service" in data and data["service"] not in self.catalog.services:
            raise ValidationError(Problem("unknown_service", service=data["service"]), "service")
        if "type" in data and "category" in data:
            categories = self.catalog.itil_categories[data["type"]]
            if data["category"] not in categories:
                raise ValidationError(Problem("unknown_itil_category", category=data["category"], kind=data["type"],
                                              choices=sorted(categories)), "category")


DASHBOARD_DAYS_MAX, DASHBOARD_DAYS_DEFAULT = 92, 30


class DashboardQuerySchema(StrictSchema):
    """GET /api/v1/dashboard and the sla service's `dashboard` RPC: the days from `since` to
    `until`, both included, in the provider's time zone; at most DASHBOARD_DAYS_MAX of them.
    Omitted, `until` is today and `since` the first of the last DASHBOARD_DAYS_DEFAULT days up to
    `until`. Given `today` (the sla service knows it), the range with its defaults is checked;
    without it (the gateway), only a range whose both ends were given."""

    since = fields.Date(metadata={"description": "the first day (YYYY-MM-DD), included; default: "
                                                 f"{DASHBOARD_DAYS_DEFAULT - 1} days before until"})
    until = fields.Date(metadata={"description": "the last day (YYYY-MM-DD), included; default: today "
                                                 "in the provider's time zone"})

    def __init__(self, *args, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    @validates_schema
    def a_range_of_days(self, data, **kwargs):
        since, until = dashboard_range(data, self.today)
        if since is None or until is None:
            return
        if since > until:
            raise ValidationError(Problem("dashboard_since_after_until", until=until.isoformat()), "since")
        if (until - since).days + 1 > DASHBOARD_DAYS_MAX:
            earliest = until - dt.timedelta(days=DASHBOARD_DAYS_MAX - 1)
            raise ValidationError(Problem("dashboard_range_too_long", max=DASHBOARD_DAYS_MAX,
                                          earliest=earliest.isoformat()), "since")


def dashboard_range(query, today):
    """(since, until) of a loaded DashboardQuerySchema with its defaults (None where `today` is
    needed and not known)."""
    until = query.get("until") or today
    since = query.get("since")
    if since is None and until is not None:
        since = until - dt.timedelta(days=DASHBOARD_DAYS_DEFAULT - 1)
    return since, until


# Actions other services take on tickets on their own (TicketsService.act_as_system).
SYSTEM_TICKET_ACTIONS = {"route": RouteSchema, "assign": AssignSchema, "email-reply": EmailReplySchema,
                         "resolve": ResolveSchema}  # resolve: an incident resolved with its linked tickets


class SolutionDecisionSchema(StrictSchema):
    """A decision from the one-click links of a resolution mail (no session: the link's signature,
    bound to ticket, recipient and resolution, is the credential)."""

    ticket_id = fields.UUID(required=True)
    recipient = fields.Email(required=True)
    resolution = fields.Integer(required=True, validate=validate.Range(min=0))
    decision = fields.String(required=True, validate=validate.OneOf(("approve", "refuse")))
    token = fields.String(required=True, load_only=True, validate=validate.Length(min=10, max=200))
    text = fields.String(load_default="", validate=validate.Length(max=DESCRIPTION_MAX),
                         metadata={"description": "a comment (approve) or the reason (refuse, required)"})


def schema(schema_class):
    """The one instance of `schema_class` every call shares: building a schema costs five to ten
    times what loading with it does (0.1-0.3 ms against 0.03 ms), and marshmallow instances keep
    no state between loads. (An instance given is used as it is.)"""
    return schema_class if isinstance(schema_class, Schema) else _instance(schema_class)


@functools.cache
def _instance(schema_class):
    return schema_class()


# -- content: announcements and the network status (services/content) ---------------------------

CONTENT_IMPACTS = ("degraded", "partial_outage", "major_outage")
INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
DOWNLOAD_CATEGORIES = ("software", "firmware", "manuals", "configuration", "other")
# Downloads travel and are kept in pieces of this size (services/content/downloads.py): what a
# process holds of a file at a time, whatever its size.
DOWNLOAD_PIECE_BYTES = 512 * 1024


class TextsSchema(StrictSchema):
    """A text in es and/or en (the domain asks for at least one, and checks the lengths)."""

    es = fields.String(allow_none=True)
    en = fields.String(allow_none=True)


class AnnouncementSchema(StrictSchema):
    """A new announcement (a draft): Markdown bodies, shown safely (services/content/markdown.py)."""

    title = fields.Nested(TextsSchema, required=True)
    body = fields.Nested(TextsSchema, required=True)
    pinned = fields.Boolean(load_default=False)
    audience = fields.List(fields.String(validate=validate.Length(min=1, max=50)), allow_none=True, load_default=None,
                           metadata={"description": "service codes whose customers see it; null: everyone"})


class AnnouncementChangeSchema(StrictSchema):
    title = fields.Nested(TextsSchema)
    body = fields.Nested(TextsSchema)
    pinned = fields.Boolean()
    audience = fields.List(fields.String(validate=validate.Length(min=1, max=50)), allow_none=True)


class PublishSchema(StrictSchema):
    publish_at = fields.AwareDateTime(allow_none=True, load_default=None,
                                      metadata={"description": "shown from then on; now when absent"})


class IncidentSchema(StrictSchema):
    title = fields.Nested(TextsSchema, required=True)
    message = fields.Nested(TextsSchema, required=True, metadata={"description": "the first entry of its timeline"})
    components = fields.List(fields.String(validate=validate.Length(min=1, max=50)), required=True)
    impact = fields.String(required=True, validate=validate.OneOf(CONTENT_IMPACTS))
    status = fields.String(load_default="investigating", validate=validate.OneOf(INCIDENT_STATUSES[:-1]))
    started_at = fields.AwareDateTime(allow_none=True, load_default=None)


class IncidentUpdateSchema(StrictSchema):
    status = fields.String(required=True, validate=validate.OneOf(INCIDENT_STATUSES))
    message = fields.Nested(TextsSchema, required=True)
    impact = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(CONTENT_IMPACTS))
    components = fields.List(fields.String(validate=validate.Length(min=1, max=50)), allow_none=True,
                             load_default=None)
    resolve_tickets = fields.Boolean(load_default=False, metadata={
        "description": "with status resolved: resolve every linked open ticket with this message"})


class LinkTicketsSchema(StrictSchema):
    """Staff link the tickets an incident caused: its updates are mailed to their customers."""

    tickets = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=100))


class MaintenanceSchema(StrictSchema):
    title = fields.Nested(TextsSchema, required=True)
    message = fields.Nested(TextsSchema, load_default=dict)
    components = fields.List(fields.String(validate=validate.Length(min=1, max=50)), required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)


class DownloadSchema(StrictSchema):
    """A new recommended download (a draft): a link now, or a file uploaded next
    (PUT /api/v1/downloads/{id}/file)."""

    title = fields.Nested(TextsSchema, required=True)
    description = fields.Nested(TextsSchema, load_default=dict, metadata={"description": "Markdown"})
    category = fields.String(required=True, validate=validate.OneOf(DOWNLOAD_CATEGORIES))
    release = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=40),
                            metadata={"description": "the file's version, e.g. 2.4.1"})
    audience = fields.List(fields.String(validate=validate.Length(min=1, max=50)), allow_none=True, load_default=None,
                           metadata={"description": "service codes whose customers see it; null: everyone"})
    link = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=2000),
                         metadata={"description": "an http(s) address of a file kept elsewhere"})
    sha256 = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=64),
                           metadata={"description": "a linked file's checksum (hex), shown to check it"})


class DownloadChangeSchema(StrictSchema):
    title = fields.Nested(TextsSchema)
    description = fields.Nested(TextsSchema)
    category = fields.String(validate=validate.OneOf(DOWNLOAD_CATEGORIES))
    release = fields.String(allow_none=True, validate=validate.Length(max=40))
    audience = fields.List(fields.String(validate=validate.Length(min=1, max=50)), allow_none=True)
    link = fields.String(allow_none=True, validate=validate.Length(max=2000))
    sha256 = fields.String(allow_none=True, validate=validate.Length(max=64))


class DownloadFileQuerySchema(StrictSchema):
    """PUT /api/v1/downloads/{id}/file: the body is the file itself; its name is asked here."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=255))


class SearchQuerySchema(StrictSchema):
    """GET /api/v1/search: the home page's Buscar."""

    q = fields.String(required=True, validate=validate.Length(min=1, max=200))
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))


class HistoryQuerySchema(StrictSchema):
    days = fields.Integer(load_default=90, validate=validate.Range(min=1, max=90))


class StatusSubscriptionSchema(StrictSchema):
    services = fields.List(fields.String(validate=validate.Length(min=1, max=50)), required=True,
                           validate=validate.Length(max=50), metadata={"description": "service codes; [] ends it"})


class ServiceQuerySchema(StrictSchema):
    service = fields.String(required=True, validate=validate.Length(min=1, max=50))


class ContentListSchema(StrictSchema):
    """GET /api/v1/announcements (and the staff's lists): which, and how many."""

    status = fields.String(validate=validate.OneOf(("draft", "published", "archived")))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


def load(schema_class, data):
    """`data` loaded by `schema_class`; InvalidInput naming each field and its problems when it
    does not fit. The one translation of a schema's refusal into a service error."""
    try:
        return schema(schema_class).load(data if data is not None else {})
    except ValidationError as exc:
        raise errors.InvalidInput(exc.messages)


# The inbound mail endpoint's health probe: `NOOP health` answers 250 only while its broker takes
# mail (services/notifier/inbound.py answers it, services/gateway/health.py asks).
INBOUND_HEALTH_PROBE = "health"


# -- what clients may ask of ticket lists, and send as files: published here, so the gateway
# -- (and the portal through /api/v1/site) need nothing of the tickets service's internals ------

TICKET_STATUSES = ("new", "assigned", "in_progress", "waiting_for_customer", "resolved", "closed", "reopened")
PAGE_MAX = 100  # items per page of a ticket list or queue
ATTACHMENT_MAX_BYTES = 2 * 1024 * 1024  # the manuals' 2 MB
# The file types the tickets service accepts, by extension (it checks the content agrees):
# services/tickets/attachments.py's table, which a unit test holds to this list.
ATTACHMENT_EXTENSIONS = ("csv", "docx", "gif", "gz", "jpeg", "jpg", "json", "log", "md", "ods", "odt", "pdf",
                         "png", "pptx", "text", "tgz", "tsv", "txt", "webp", "xlsx", "zip")


class ListFiltersSchema(StrictSchema):
    status = fields.String(validate=validate.OneOf((*TICKET_STATUSES, "open")))
    department = fields.String(validate=validate.Length(max=50))
    text = fields.String(validate=validate.Length(min=1, max=200))
    scope = fields.String(load_default="all", validate=validate.OneOf(("all", "mine")))
    limit = fields.Integer(load_default=25, validate=validate.Range(min=1, max=PAGE_MAX))
    cursor = fields.String(validate=validate.Length(max=100))


class QueueFiltersSchema(StrictSchema):
    status = fields.String(validate=validate.OneOf(TICKET_STATUSES))
    urgency = fields.String(validate=validate.OneOf(URGENCIES))
    assignee = fields.String(validate=validate.Regexp(
        r"^(me|none|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$",
        error=Problem("assignee_filter")), metadata={"description": "me, none (nobody took it) or a user id"})
    text = fields.String(validate=validate.Length(min=1, max=200))
    limit = fields.Integer(load_default=25, validate=validate.Range(min=1, max=PAGE_MAX))
    cursor = fields.String(validate=validate.Length(max=100))
