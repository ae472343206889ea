"""The 24-hour support usage ledger: pure.

Every ticket resolved while in Soporte 24 Horas gets a usage record: who, which ticket, when it
was opened and resolved, for how long (wall and business time), its urgency, whether the provider
was at fault, and whether it is billable, with the reason. It is billable unless it is urgent AND
marked as the provider's fault (manual 000, 3.2).

A record is never edited. A later change emits a `Support24hUsageCorrected` that carries the whole
new record and the message it corrects: the fault flag set after resolution, an urgency change,
a refused solution (the ticket is not resolved any more: not billable until resolved again), or a
new resolution. The latest record per `usage_id` is the one that counts.
"""
import dataclasses
import uuid

from helpdesk.contracts import REOPENING_TICKET_EVENTS
from helpdesk.events import NewEvent

SUPPORT_24H = "support_24h"
USAGE_NAMESPACE = uuid.UUID("6b0c5c59-7d0e-4e55-9a49-1d0b8f1f2a10")
RECORDED, CORRECTED = "Support24hUsageRecorded", "Support24hUsageCorrected"


@dataclasses.dataclass(frozen=True)
class Episode:
    ticket_id: str
    reference: str
    customer_id: str
    customer_email: str
    company_id: str | None
    department: str | None
    urgency: str | None
    opened_at: object
    provider_fault: bool = False
    resolved_at: object = None
    last_message_id: str | None = None   # the record the next correction corrects


def billing_decision(urgency, provider_fault):
    if urgency == "high" and provider_fault:
        return False, "urgent and caused by a fault of the provider: not billable"
    if provider_fault:
        return True, "the provider's fault, but not urgent: billable"
    return True, "24-hour support used without a fault of the provider: billable"


def apply(episode, event, calendar):
    """(episode, [usage events]) after one ticket event. `calendar`: Soporte 24 Horas's."""
    data, at = event.data, event.occurred_at
    if event.type == "TicketOpened":
        return Episode(ticket_id=data["ticket_id"], reference=data.get("reference", ""),
                       customer_id=data["requester_id"], customer_email=data["requester_email"],
                       company_id=data.get("company_id"), department=data.get("department"),
                       urgency=data.get("urgency"), opened_at=at), []
    if episode is None:
        return None, []
    if event.type in ("TicketRouted", "TicketReclassified"):
        return dataclasses.replace(episode, department=data["department"]), []
    if event.type == "UrgencyChanged":
        return _record_if_resolved(dataclasses.replace(episode, urgency=data["urgency"]), at, calendar)
    if event.type == "ProviderFaultMarked":
        return _record_if_resolved(dataclasses.replace(episode, provider_fault=data["provider_fault"]), at, calendar)
    if event.type == "TicketResolved" and episode.department == SUPPORT_24H:
        return _record(dataclasses.replace(episode, resolved_at=at), at, calendar)
    if event.type in REOPENING_TICKET_EVENTS and episode.last_message_id:
        reopened = dataclasses.replace(episode, resolved_at=None)
        return _record(reopened, at, calendar, billable=(False, "reopened: recorded again when resolved"))
    return episode, []


def _record_if_resolved(episode, at, calendar):
    if episode.resolved_at is None or episode.last_message_id is None:
        return episode, []
    return _record(episode, at, calendar)


def _record(episode, at, calendar, billable=None):
    billable, reason = billable or billing_decision(episode.urgency, episode.provider_fault)
    end = episode.resolved_at or at
    data = {
        "usage_id": str(uuid.uuid5(USAGE_NAMESPACE, episode.ticket_id)),
        "ticket_id": episode.ticket_id,
        "ticket_reference": episode.reference,
        "customer_id": episode.customer_id,
        "customer_email": episode.customer_email,
        "company_id": episode.company_id,
        "opened_at": episode.opened_at.isoformat(),
        "resolved_at": episode.resolved_at.isoformat() if episode.resolved_at else None,
        "wall_minutes": round((end - episode.opened_at).total_seconds() / 60, 2),
        "business_minutes": round(calendar.seconds_between(episode.opened_at, end) / 60, 2),
        "urgency": episode.urgency,
        "provider_fault": episode.provider_fault,
        "billable": billable,
        "reason": reason,
        "corrects": episode.last_message_id,
    }
    event = NewEvent(CORRECTED if episode.last_message_id else RECORDED, data, actor="system:sla")
    return dataclasses.replace(episode, last_message_id=str(event.event_id)), [event]


def to_json(episode):
    values = dict(vars(episode))  # its fields, all plain values (clocks.to_json says why not asdict)
    for key in ("opened_at", "resolved_at"):
        values[key] = values[key].isoformat() if values[key] else None
    return values


def from_json(values):
    import datetime as dt

    values = dict(values)
    for key in ("opened_at", "resolved_at"):
        values[key] = dt.datetime.fromisoformat(values[key]) if values[key] else None
    return Episode(**values)
