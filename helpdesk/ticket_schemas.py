"""What the tickets service returns over RPC: a published contract (the gateway documents and
passes it on), so it lives here and not among the tickets service's internals. The filters its
lists take are in helpdesk.contracts."""
from marshmallow import Schema, fields

from .contracts import TICKET_STATUSES, ItilSchema


class HistoryBySchema(Schema):
    name = fields.String(metadata={"description": "who, by name; empty for customers when the helpdesk did "
                                                  "it by itself"})
    role = fields.String(metadata={"description": "customer | agent | supervisor | admin | system"})


class HistoryEntrySchema(Schema):
    """One event of the ticket as people read it (services/tickets/timeline.py), in the caller's
    language. Customers never get internal notes, nor the names of the services that act alone."""

    position = fields.Integer(metadata={"description": "the event's position in the ticket's stream"})
    at = fields.String(metadata={"description": "when, ISO 8601 with offset"})
    type = fields.String(metadata={"description": "the event type, e.g. CustomerCommented"})
    by = fields.Nested(HistoryBySchema)
    summary = fields.String(metadata={"description": "one sentence, e.g. \"Ana añadió un comentario (por "
                                                     "correo)\" or \"El ticket pasó a Redes: …\""})
    channel = fields.String(metadata={"description": "how it came: portal | email | phone | system (done by "
                                                     "the helpdesk itself); staff work counts as portal"})
    channel_label = fields.String(metadata={"description": "the channel in the caller's language, e.g. "
                                                           "\"por correo\""})
    internal = fields.Boolean(metadata={"description": "staff only (internal notes)"})
    body = fields.String(metadata={"description": "the text written, in full (absent when none)"})
    attachment = fields.Dict(metadata={"description": "id, name, size, type, sha256 (absent when none)"})
    cc = fields.List(fields.String(), metadata={"description": "CcChanged only: the new addresses"})


class ContactCardSchema(Schema):
    """Staff only: who wrote the ticket, from identity (services/identity/handlers.contact_card)."""

    user_id = fields.String()
    name = fields.String()
    email = fields.String()
    phone = fields.String(allow_none=True)
    language = fields.String(metadata={"description": "es | en: the language their mails are written in"})
    time_zone = fields.String()
    company_id = fields.String(allow_none=True)
    company_name = fields.String(allow_none=True)
    is_group = fields.Boolean()
    company_admin = fields.Boolean()
    active = fields.Boolean()


class TicketSchema(Schema):
    ticket_id = fields.UUID()
    reference = fields.String(metadata={"description": "the human number, e.g. #000042"})
    status = fields.String(metadata={"description": " | ".join(TICKET_STATUSES)})
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
    requester = fields.Nested(ContactCardSchema, allow_none=True, dump_only=True,
                              metadata={"description": "staff only; null when identity did not answer"})
    sla = fields.Dict(allow_none=True, dump_only=True,
                      metadata={"description": "staff only: the due times and their state (sla service)"})
    history = fields.List(fields.Nested(HistoryEntrySchema), dump_only=True,
                          metadata={"description": "every event, oldest first, as the caller may read it"})
