"""The OpenAPI document, generated from the same marshmallow schemas the gateway validates with.

OPERATIONS is the API's table of contents: each row names its request schema, success response
and the errors it can answer. Operations are authenticated (bearer token or session cookie)
unless marked public; tests walk this table to check that every closed one refuses strangers.
"""
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields, validate

from helpdesk import contracts
from helpdesk.ticket_schemas import TicketSchema


from .schemas import (AcceptedSchema, CatalogSchema, CompanySchema, CurrentSessionSchema, ErrorSchema, LANGUAGE_RULE,
                      HealthSchema, ProfileSchema, RoutingPreviewAnswerSchema, SessionSchema, SiteSchema)
from .schemas import DashboardSchema

SCHEMAS = {  # nested schemas first: apispec registers them by name when it meets them
    "Principal": contracts.PrincipalSchema, "Error": ErrorSchema, "Health": HealthSchema, "Accepted": AcceptedSchema, "Session": SessionSchema,
    "Profile": ProfileSchema, "Company": CompanySchema, "RoutingPreviewAnswer": RoutingPreviewAnswerSchema,
    "Site": SiteSchema, "Catalog": CatalogSchema, "CurrentSession": CurrentSessionSchema,
    "Itil": contracts.ItilSchema, "AttachmentUpload": contracts.AttachmentUploadSchema,
    "OpenTicket": contracts.OpenTicketSchema, "Ticket": TicketSchema,
    "Register": contracts.RegisterSchema, "Login": contracts.LoginSchema,
    "EmailOnly": contracts.EmailOnlySchema, "Token": contracts.TokenSchema,
    "ResetPassword": contracts.ResetPasswordSchema, "ChangePassword": contracts.ChangePasswordSchema,
    "ProfileUpdate": contracts.ProfileUpdateSchema, "EmailChange": contracts.EmailChangeSchema,
    "CreateCompany": contracts.CreateCompanySchema, "CreateUser": contracts.CreateUserSchema,
    "UpdateUser": contracts.UpdateUserSchema, "SolutionDecision": contracts.SolutionDecisionSchema,
    "Presence": contracts.PresenceSchema,
    "Dashboard": DashboardSchema,
    "Texts": contracts.TextsSchema, "Announcement": contracts.AnnouncementSchema,
    "AnnouncementChange": contracts.AnnouncementChangeSchema, "Download": contracts.DownloadSchema,
    "DownloadChange": contracts.DownloadChangeSchema, "Publish": contracts.PublishSchema,
    "Incident": contracts.IncidentSchema, "IncidentUpdate": contracts.IncidentUpdateSchema,
    "Maintenance": contracts.MaintenanceSchema, "LinkTickets": contracts.LinkTicketsSchema,
    "StatusSubscription": contracts.StatusSubscriptionSchema,
}

ERRORS = {
    "400": "malformed JSON", "401": "no valid session", "403": "not allowed (`error` says why)",
    "404": "not found (or not yours to see)", "409": "conflicts with the current state",
    "411": "say the body's size (Content-Length)", "413": "body too large", "415": "body is not application/json",
    "416": "the range asked is beyond the file",
    "422": "invalid fields; `fields` names each one", "429": "too many attempts; see Retry-After",
    "503": "a service is unavailable",
}
BODY_ERRORS = ("400", "413", "415", "422")

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[ -~]+$"},
    "description": "1-200 printable ASCII characters, e.g. a UUID made once per submitted form. A repeat "
                   "of the request with the same key and the same body, within 24 h, is not done again: "
                   "it answers what the first one did (status and body). The same key with another body "
                   "answers 422 `idempotency_key_reused`. Without a key the gateway makes one, which "
                   "protects from redelivery inside the system but not from your own retries.",
}
UNSURE_503 = ("a service is unavailable or did not answer in time: the command may or may not have been "
              "done. Retry after Retry-After with the same Idempotency-Key and the same body: it is done "
              "once, and the retry answers as the first success did")

# (method, path, operationId, summary, request schema, (status, response schema), errors, public)
OPERATIONS = [
    ("post", "/api/v1/auth/register", "register", "Register a customer account (verification mail)",
     "Register", ("202", "Accepted"), ("429",), True),
    ("post", "/api/v1/auth/verify-email", "verifyEmail",
     "Confirm an email address with a mailed token. A new account's first confirmation logs it in: "
     "the answer is a Session (and its cookie) plus `email`; a changed address answers `{email}` only",
     "Token", ("200", "Session"), ("409",), True),
    ("get", "/api/v1/auth/session", "currentSession",
     "Who this browser is logged in as: `user` is the profile, or null (200 either way)",
     None, ("200", "CurrentSession"), (), True),
    ("get", "/api/v1/site", "site", "The provider's name and logo, the ticket forms offered, languages, "
     "time zone, attachment rules", None, ("200", "Site"), (), True),
    ("get", "/api/v1/catalog", "catalog", "Departments, services, ITIL types and categories, urgencies, "
     "with labels in every language", None, ("200", "Catalog"), (), True),
    ("post", "/api/v1/auth/resend-verification", "resendVerification", "Mail a new verification link",
     "EmailOnly", ("202", "Accepted"), (), True),
    ("post", "/api/v1/auth/login", "login", "Log in: a session token (and cookie)",
     "Login", ("200", "Session"), ("401", "403", "429"), True),
    ("post", "/api/v1/auth/forgot-password", "forgotPassword", "Mail a password reset link",
     "EmailOnly", ("202", "Accepted"), ("429",), True),
    ("post", "/api/v1/auth/reset-password", "resetPassword", "Set a new password with a reset token",
     "ResetPassword", ("200", "Accepted"), (), True),
    ("post", "/api/v1/solution-decisions", "decideSolutionByLink",
     "Approve or refuse a solution from the resolution mail's signed link (no session needed)",
     "SolutionDecision", ("200", None), ("403", "409"), True),
    ("post", "/api/v1/unsubscribe", "unsubscribe",
     "RFC 8058 one-click unsubscribe of a copied address from one ticket's mail: the URL of the mail's"
     " List-Unsubscribe header, signed for (ticket, address), which is the credential; the body"
     " (List-Unsubscribe=One-Click) is ignored. No more mail about that ticket goes to that address",
     None, ("200", None), ("422",), True),
    ("post", "/api/v1/auth/logout", "logout", "End this session", None, ("204", None), ("401",), False),
    ("get", "/api/v1/me", "getProfile", "The caller's profile", None, ("200", "Profile"), ("401",), False),
    ("patch", "/api/v1/me", "updateProfile", "Change name, phone, language or time zone",
     "ProfileUpdate", ("200", "Profile"), ("401", "403"), False),
    ("post", "/api/v1/me/password", "changePassword", "Change password: ends every session, returns a new one",
     "ChangePassword", ("200", "Session"), ("401",), False),
    ("post", "/api/v1/me/email", "changeEmail", "Change email: confirmed by a link sent to the new address",
     "EmailChange", ("202", "Accepted"), ("401", "403"), False),
    ("post", "/api/v1/admin/companies", "createCompany", "Create a company (admins)",
     "CreateCompany", ("201", "Company"), ("401", "403", "409"), False),
    ("get", "/api/v1/admin/companies", "listCompanies", "Companies (admins)", None, ("200", None), ("401", "403"), False),
    ("post", "/api/v1/admin/users", "createUser", "Create an account; credentials are mailed (admins)",
     "CreateUser", ("201", "Principal"), ("401", "403", "409"), False),
    ("patch", "/api/v1/admin/users/{user_id}", "updateUser",
     "Change an agent's departments or a customer's services; deactivate or reactivate an account (admins)",
     "UpdateUser", ("200", "Principal"), ("401", "403", "404"), False),
    ("get", "/api/v1/admin/users", "listUsers", "Accounts, optionally of one company (admins)",
     None, ("200", None), ("401", "403"), False),
    ("get", "/api/v1/routing/preview", "routingPreview",
     "Where a ticket with these answers would go, and why: by department (Soporte 24 Horas takes "
     "urgent tickets only) or by ITIL type, service and category", None, ("200", "RoutingPreviewAnswer"),
     ("422",), True),
    ("post", "/api/v1/tickets", "openTicket",
     "Open a ticket, by department or by ITIL form (staff: for a customer, by phone or email)",
     "OpenTicket", ("201", "Ticket"), ("401", "403", "409", "429"), False),
    ("get", "/api/v1/tickets", "listTickets",
     "Tickets the caller may see, newest first; filters by status, department, text", None,
     ("200", None), ("401", "422"), False),
    ("get", "/api/v1/queues/{department}", "departmentQueue",
     "A department's open tickets in arrival order (staff)", None, ("200", None), ("401", "403", "404", "422"), False),
    ("get", "/api/v1/people", "findPeople",
     "Staff look for accounts by part of the name, email or company (kind: customer or staff)",
     None, ("200", None), ("401", "403", "422"), False),
    ("get", "/api/v1/admin/routing", "routingRules",
     "Supervisors and admins: the routing rules, assignment strategies, agents' shifts and calendars in force,"
     " read-only, and the file that changes them", None, ("200", None), ("401", "403"), False),
    ("get", "/api/v1/canned-replies", "cannedReplies",
     "Staff: ready-made answers for a department's tickets, each with its title and body in es and en"
     " (replies.yaml)", None, ("200", None), ("401", "403", "422"), False),
    ("get", "/api/v1/agents", "agents",
     "Supervisors: the staff with their departments and open tickets, and per department the open"
     " tickets nobody took", None, ("200", None), ("401", "403"), False),
    ("get", "/api/v1/tickets/{ticket_id}", "getTicket", "One ticket with its whole history",
     None, ("200", "Ticket"), ("401", "403", "404"), False),
    ("get", "/api/v1/tickets/{ticket_id}/attachments/{attachment_id}", "downloadAttachment",
     "A file of the ticket, as a download", None, ("200", None), ("401", "404"), False),
    *[("post", f"/api/v1/tickets/{{ticket_id}}/{action}", f"ticket_{action.replace('-', '_')}", summary,
       f"Ticket_{action.replace('-', '_')}", ("200", "Ticket"),
       ("401", "403", "404", "409") + (("429",) if action in ("comments", "cc") else ()), False)
      for action, summary in (
          ("comments", "A customer's comment and/or document, or a staff public reply"),
          ("notes", "A staff internal note (never shown or mailed to customers)"),
          ("information-requests", "Staff ask the customer for information: waiting for customer"),
          ("cc", "Change the addresses in copy"),
          ("assign", "Staff assign to an agent of the department (omit agent_id to take it)"),
          ("start", "The assignee starts work: in progress"),
          ("reclassify", "Staff move the ticket to another department"),
          ("urgency", "Staff change the urgency"),
          ("resolve", "Staff resolve with a solution: the customer is asked to approve it"),
          ("provider-fault", "Staff mark whether the provider caused it (24 h billing)"),
          ("approve", "The customer approves the solution: closed"),
          ("refuse", "The customer refuses the solution with a reason: reopened"),
          ("close", "The customer closes their ticket"),
          ("merge", "Staff merge this duplicate into another ticket"),
          ("reopen", "Staff reopen a resolved ticket with the reason (the customer says it still fails)"),
      )],
    ("get", "/api/v1/live", "liveUpdates",
     "Server-sent events (text/event-stream) about the tickets and queues named: `ready` at every"
     " (re)connection (refetch then), `ticket` {ticket_id, version, type, department} when one changed,"
     " `presence` {ticket_id, user_id, name, activity, expires_in, answer} for staff; no ticket content. Who may"
     " follow what is checked as the stream opens (a queue: its department's staff; a ticket: whoever may"
     " see it); the stream ends after two minutes (browsers reconnect) or at logout",
     None, ("200", None), ("401", "403", "404", "422"), False),
    ("post", "/api/v1/tickets/{ticket_id}/presence", "announcePresence",
     "Staff say they are viewing or replying to the ticket: colleagues following it hear it live",
     "Presence", ("204", None), ("401", "403", "404", "422"), False),
    ("get", "/api/v1/openapi.json", "openapi", "This document", None, ("200", None), (), True),
    ("get", "/api/v1/health", "health", "Every process of the system answers, and the relays and consumers keep up (503 with the same body when not)", None, ("200", "Health"), (), True),
    ("get", "/api/v1/dashboard", "dashboard",
     "Supervisors and admins: per day (in the provider's time zone) and department, tickets opened and"
     " resolved, first-response and resolution times in business hours against their targets, breaches,"
     " 24-hour support usage billable or not; and totals per department. Days since..until, both"
     " included, at most 92 (default: the last 30)", None, ("200", "Dashboard"), ("401", "403", "422"), False),
    ("get", "/api/v1/announcements", "listAnnouncements",
     "Published announcements anyone may read (pinned first, then the newest), each with its Markdown"
     " as safe trees (`body_tree`); staff may ask for a status (draft, published, archived)",
     None, ("200", None), ("403", "422"), True),
    ("get", "/api/v1/announcements/{announcement_id}", "getAnnouncement", "One announcement (404 until it is shown)",
     None, ("200", None), ("404",), True),
    ("post", "/api/v1/announcements", "draftAnnouncement", "Staff write an announcement: a draft",
     "Announcement", ("201", None), ("401", "403"), False),
    ("patch", "/api/v1/announcements/{announcement_id}", "editAnnouncement",
     "Staff change an announcement's title, body, pin or audience (not an archived one)",
     "AnnouncementChange", ("200", None), ("401", "403", "404", "409"), False),
    ("post", "/api/v1/announcements/{announcement_id}/publish", "publishAnnouncement",
     "Staff publish it now or from `publish_at`", "Publish", ("200", None), ("401", "403", "404", "409"), False),
    ("post", "/api/v1/announcements/{announcement_id}/archive", "archiveAnnouncement",
     "Staff archive it: no longer shown", None, ("200", None), ("401", "403", "404"), False),
    ("get", "/api/v1/downloads", "listDownloads",
     "Recommended downloads anyone may read (a customer also those for the services they use), pinned first"
     " then the newest: title, Markdown description, category, release, the file (name, size, type, SHA-256)"
     " or a link, and `downloads` (how often fetched); staff may ask for a `status`", None, ("200", None),
     ("403", "422"), True),
    ("get", "/api/v1/downloads/{download_id}", "getDownload", "One download (404 until it is shown)",
     None, ("200", None), ("404",), True),
    ("post", "/api/v1/downloads", "addDownload",
     "Staff add a download (a draft): a link now, or a file uploaded next", "Download", ("201", None),
     ("401", "403"), False),
    ("patch", "/api/v1/downloads/{download_id}", "editDownload",
     "Staff change its words, category, release, audience or link (a link replaces the file)",
     "DownloadChange", ("200", None), ("401", "403", "404", "409"), False),
    ("post", "/api/v1/downloads/{download_id}/publish", "publishDownload",
     "Staff publish it (it needs a file or a link)", None, ("200", None), ("401", "403", "404", "409", "422"), False),
    ("post", "/api/v1/downloads/{download_id}/archive", "archiveDownload",
     "Staff archive it: no longer shown nor fetched", None, ("200", None), ("401", "403", "404"), False),
    ("put", "/api/v1/downloads/{download_id}/file", "uploadDownloadFile",
     "Staff upload its file: the body is the file (Content-Length required, at most DOWNLOAD_MAX_BYTES),"
     " `?name=` its name; judged by its content, its SHA-256 computed; it replaces the file or link before",
     "binary", ("200", None), ("400", "401", "403", "404", "409", "411", "413", "422"), False),
    ("get", "/api/v1/downloads/{download_id}/file", "fetchDownload",
     "The file, streamed (ETag: its SHA-256; a single `Range` resumes it: 206, with If-Range), or a 302 to"
     " its link; a fetch from the start counts once", None, ("200", None), ("404", "416"), True),
    ("get", "/api/v1/search", "search",
     "Buscar: announcements, incidents and maintenance anyone may read with any word of `q` (Spanish and"
     " English stemming, accents ignored), best first, each with a snippet ([[text, is a match], ...]);"
     " a logged-in user's own tickets first", None, ("200", None), ("422",), True),
    ("get", "/api/v1/status", "networkStatus",
     "Estado de red: every component of the catalogue with its state now (operational, maintenance,"
     " degraded, partial_outage, major_outage), grouped by service; the incidents open or resolved in the"
     " last 7 days with their timeline; the maintenance windows on or to come", None, ("200", None), (), True),
    ("get", "/api/v1/status/history", "statusHistory",
     "The last 90 days (`days`, 1-90) of every component, days in the provider's time zone: its uptime"
     " (major outages count whole, partial outages half, degradations not at all) and each day it had an"
     " incident with the worst impact and its minutes, from the incidents' timelines",
     None, ("200", None), ("422",), True),
    ("get", "/api/v1/status/subscription", "statusSubscription",
     "Customers: the services whose status changes they are mailed", None, ("200", None), ("401", "403"), False),
    ("put", "/api/v1/status/subscription", "subscribeStatus",
     "Customers choose the services whose incidents they are mailed (declared and every update; `[]` ends"
     " it); each mail has a one-click link to stop", "StatusSubscription", ("200", None), ("401", "403"), False),
    ("get", "/api/v1/status/summary.json", "statuspageSummary",
     "The network status in the shape of Atlassian Statuspage's public summary.json (v2: page, status"
     " {indicator, description}, components, incidents, scheduled_maintenances) for status-page clients;"
     " texts in the language of `lang` or Accept-Language", None, ("200", None), (), True),
    ("get", "/api/v1/status/incidents", "openIncidentsOfService",
     "The open incidents affecting a component of `service` (the ticket form suggests following one)",
     None, ("200", None), ("422",), True),
    ("get", "/api/v1/incidents/{incident_id}", "getIncident", "One incident with its timeline",
     None, ("200", None), ("404",), True),
    ("post", "/api/v1/incidents", "declareIncident",
     "Staff declare an incident on components, with its impact and first message",
     "Incident", ("201", None), ("401", "403"), False),
    ("post", "/api/v1/incidents/{incident_id}/updates", "updateIncident",
     "Staff add to the timeline: investigating, identified, monitoring, resolved (ends it)",
     "IncidentUpdate", ("200", None), ("401", "403", "404", "409"), False),
    ("post", "/api/v1/incidents/{incident_id}/tickets", "linkTickets",
     "Staff link the tickets an incident caused: every later update is mailed once to each of their"
     " customers (requester, group users, CC); resolving with `resolve_tickets` resolves them",
     "LinkTickets", ("200", None), ("401", "403", "404", "409"), False),
    ("post", "/api/v1/maintenances", "scheduleMaintenance", "Staff schedule a maintenance window on components",
     "Maintenance", ("201", None), ("401", "403"), False),
    ("post", "/api/v1/maintenances/{maintenance_id}/cancel", "cancelMaintenance",
     "Staff cancel a maintenance window that is not over", None, ("200", None), ("401", "403", "404", "409"), False),
]


class UnsubscribeQuerySchema(Schema):
    """The signed query of a List-Unsubscribe URL: a ticket's (a copied address), or the network
    status's (`scope=status`, a subscriber)."""
    ticket = fields.UUID()
    scope = fields.String(validate=validate.OneOf(("status",)))
    address = fields.String(required=True)
    token = fields.String(required=True)


QUERIES = {"/api/v1/unsubscribe": UnsubscribeQuerySchema, "/api/v1/tickets": contracts.ListFiltersSchema, "/api/v1/queues/{department}": contracts.QueueFiltersSchema,
           "/api/v1/routing/preview": contracts.RoutingPreviewSchema, "/api/v1/live": contracts.LiveSubscriptionSchema,
           "/api/v1/people": contracts.PeopleFiltersSchema, "/api/v1/canned-replies": contracts.CannedRepliesQuerySchema,
           "/api/v1/dashboard": contracts.DashboardQuerySchema, "/api/v1/announcements": contracts.ContentListSchema,
           "/api/v1/downloads": contracts.ContentListSchema,
           "/api/v1/status/incidents": contracts.ServiceQuerySchema, "/api/v1/search": contracts.SearchQuerySchema,
           "/api/v1/status/history": contracts.HistoryQuerySchema}


def _ref(name):
    return {"application/json": {"schema": name}}


def build_spec(public_url):
    spec = APISpec(title="Helpdesk API", version="1.0.0", openapi_version="3.0.3",
                   info={"description": "Errors answer `{error, message, fields?, field_codes?}` (schema Error). "
                                        + LANGUAGE_RULE},
                   plugins=[MarshmallowPlugin()], servers=[{"url": public_url.rstrip("/")}])
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema=schema)
    for action, schema in contracts.TICKET_ACTIONS.items():
        spec.components.schema(f"Ticket_{action.replace('-', '_')}", schema=schema)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme("cookie", {"type": "apiKey", "in": "cookie", "name": "helpdesk_session"})
    paths = {}
    for method, path, op_id, summary, request, (status, response), errors, public in OPERATIONS:
        responses = {status: {"description": summary, **({"content": _ref(response)} if response else {})}}
        codes = set(errors) | {"503"} | (set(BODY_ERRORS) if request else set())
        if not public:
            codes |= {"401", "403"}
        for code in sorted(codes):
            responses[code] = {"description": ERRORS[code], "content": _ref("Error")}
        if "429" in codes:
            responses["429"]["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
        operation = {"operationId": op_id, "summary": summary, "responses": responses,
                     "security": [] if public else [{"bearer": []}, {"cookie": []}]}
        if request == "binary":  # the file itself
            operation["requestBody"] = {"required": True, "content": {"application/octet-stream": {
                "schema": {"type": "string", "format": "binary"}}}}
            operation["parameters"] = [{"in": "query", "schema": contracts.DownloadFileQuerySchema}]
        elif request:
            operation["requestBody"] = {"required": True, "content": _ref(request)}
        if status == "201" and path == "/api/v1/tickets":
            responses["201"]["headers"] = {"Location": {"schema": {"type": "string"}}}
        if path.startswith("/api/v1/tickets/{ticket_id}/") and method == "post" and not path.endswith("/presence"):
            operation["parameters"] = [{"name": "If-Match", "in": "header", "required": False,
                                        "description": "the version you read: refuse the change if the "
                                                       "ticket changed since (409)",
                                        "schema": {"type": "string"}}, IDEMPOTENCY_KEY]
        if method == "post" and path.startswith("/api/v1/tickets"):
            responses["503"]["description"] = UNSURE_503
            if path == "/api/v1/tickets":
                operation["parameters"] = [IDEMPOTENCY_KEY]
        if path in QUERIES and method == "get":
            operation["parameters"] = [{"in": "query", "schema": QUERIES[path]}]
        paths.setdefault(path, {})[method] = operation
    for path, operations in paths.items():
        parameters = [{"name": part[1:-1], "in": "path", "required": True, "schema": {"type": "string"}}
                      for part in path.split("/") if part.startswith("{")]
        spec.path(path=path, operations=operations, parameters=parameters or None)
    return spec.to_dict()
