"""A ticket's history for people: every event as one timeline entry, in Spanish or English.

The customer view leaves out what is staff's alone (internal notes), so it cannot leak by a
template or a client forgetting to filter: the entries are never built for them. Nor does it name
the services that act on their own: a customer reads "El ticket pasó a Redes: …", never
"routing dirigió…"; staff read who did it ("Enrutado automático").

Each entry says how it came (`channel`: portal, email, phone, or system for what the helpdesk did
by itself), in a field and, for email and phone, in its summary ("… (por correo)").
"""
from .domain import INTERNAL_EVENTS, SYSTEM

STATUS_NAMES = {
    "es": {"new": "nuevo", "assigned": "asignado", "in_progress": "en curso",
           "waiting_for_customer": "esperando al cliente", "resolved": "resuelto", "closed": "cerrado",
           "reopened": "reabierto"},
    "en": {"new": "new", "assigned": "assigned", "in_progress": "in progress",
           "waiting_for_customer": "waiting for customer", "resolved": "resolved", "closed": "closed",
           "reopened": "reopened"},
}

SUMMARIES = {
    "es": {
        "TicketOpened": "{who} abrió el ticket «{title}»",
        "TicketAssigned": "{who} asignó el ticket a {agent_name}",
        "WorkStarted": "{who} empezó a trabajar en el ticket",
        "StaffReplied": "{who} respondió",
        "InformationRequested": "{who} pidió más información",
        "CustomerCommented": "{who} añadió un comentario",
        "InternalNoteAdded": "{who} añadió una nota interna",
        "CcChanged": "{who} cambió las direcciones en copia",
        "TicketReclassified": "{who} pasó el ticket de {previous} a {department}",
        "TicketRouted": "{who} dirigió el ticket a {department}{because}",
        "UrgencyChanged": "{who} cambió la urgencia de {previous} a {urgency}",
        "TicketResolved": "{who} resolvió el ticket",
        "ProviderFaultMarked": "{who} marcó el ticket como {fault}",
        "SolutionApproved": "{who} aprobó la solución",
        "SolutionRefused": "{who} rechazó la solución",
        "TicketReopened": "{who} reabrió el ticket",
        "TicketClosed": "{who} cerró el ticket",
        "TicketMerged": "{who} fusionó este ticket con el {into_reference}",
        "DuplicateMerged": "{who} fusionó aquí el ticket duplicado {duplicate_reference}",
    },
    "en": {
        "TicketOpened": "{who} opened the ticket \"{title}\"",
        "TicketAssigned": "{who} assigned the ticket to {agent_name}",
        "WorkStarted": "{who} started work on the ticket",
        "StaffReplied": "{who} replied",
        "InformationRequested": "{who} asked for more information",
        "CustomerCommented": "{who} added a comment",
        "InternalNoteAdded": "{who} added an internal note",
        "CcChanged": "{who} changed the addresses in copy",
        "TicketReclassified": "{who} moved the ticket from {previous} to {department}",
        "TicketRouted": "{who} routed the ticket to {department}{because}",
        "UrgencyChanged": "{who} changed the urgency from {previous} to {urgency}",
        "TicketResolved": "{who} resolved the ticket",
        "ProviderFaultMarked": "{who} marked the ticket as {fault}",
        "SolutionApproved": "{who} approved the solution",
        "SolutionRefused": "{who} refused the solution",
        "TicketReopened": "{who} reopened the ticket",
        "TicketClosed": "{who} closed the ticket",
        "TicketMerged": "{who} merged this ticket into {into_reference}",
        "DuplicateMerged": "{who} merged the duplicate {duplicate_reference} into this ticket",
    },
}
# What the helpdesk did by itself, as customers read it: nobody named.
SYSTEM_SUMMARIES = {
    "es": {"TicketRouted": "El ticket pasó a {department}{because}",
           "TicketAssigned": "El ticket se asignó a {agent_name}",
           "TicketOpened": "Se abrió el ticket «{title}»"},
    "en": {"TicketRouted": "The ticket was moved to {department}{because}",
           "TicketAssigned": "The ticket was assigned to {agent_name}",
           "TicketOpened": "The ticket \"{title}\" was opened"},
}
# The services that act on tickets, as staff read them (by.user_id "system:<service>").
SYSTEM_NAMES = {"routing": {"es": "Enrutado automático", "en": "Automatic routing"},
                "notifier": {"es": "Correo entrante", "en": "Incoming mail"}}
SYSTEM_NAME = {"es": "El helpdesk", "en": "The helpdesk"}  # a service not listed above
NOTHING = {"es": "ninguno", "en": "none"}  # a department or urgency set for the first time
# How an entry came: the event's channel. Staff work in the helpdesk itself (the portal).
CHANNELS = {"portal": "portal", "staff": "portal", "email": "email", "phone": "phone", "system": "system"}
CHANNEL_LABELS = {"es": {"portal": "en el portal", "email": "por correo", "phone": "por teléfono",
                         "system": "automático"},
                  "en": {"portal": "in the portal", "email": "by email", "phone": "by phone",
                         "system": "automatic"}}
VIA = {"es": {"phone": " (por teléfono)", "email": " (por correo)"},
       "en": {"phone": " (by phone)", "email": " (by email)"}}
FAULT = {"es": {True: "fallo del proveedor", False: "no debido al proveedor"},
         "en": {True: "the provider's fault", False: "not the provider's fault"}}
# A ticket opened in another department than the one asked for (the catalogue's urgent-only rule).
PLACED_ELSEWHERE = {"es": "Pidió {requested_department}; va a {department} porque {reason}",
                    "en": "Asked for {requested_department}; goes to {department} because {reason}"}
# The text an entry shows in full, besides its summary.
BODY_FIELDS = ("body", "solution", "reason", "comment", "note", "description")


def entries(events, staff_view, language="es", department_names=None):
    """`department_names`: code -> {language: name} (the catalogue), to show names, not codes."""
    language = language if language in SUMMARIES else "es"
    return [entry(event, language, department_names, staff_view) for event in events
            if staff_view or event.type not in INTERNAL_EVENTS]


def channel_of(event):
    return CHANNELS.get(event.channel, "portal")


def _system_name(by, language):
    service = str(by.get("user_id") or "").removeprefix("system:") or by.get("name", "")
    return SYSTEM_NAMES.get(service, SYSTEM_NAME)[language]


def _localised(value, language, department_names=None):
    if isinstance(value, dict) and language in value:  # text given in each language (routing reasons)
        return value[language]
    return value


def entry(event, language, department_names=None, staff_view=False):
    data = event.data
    by = data.get("by") or {}
    automatic = by.get("role") == SYSTEM
    channel = channel_of(event)
    names = department_names or {}
    values = {key: (NOTHING[language] if value is None else _localised(value, language, names))
              for key, value in data.items()}
    for key in ("department", "previous", "requested_department"):
        if event.type in ("TicketRouted", "TicketReclassified", "TicketOpened") and data.get(key) in names:
            values[key] = names[data[key]].get(language, data[key])
    values.update(
        who=_system_name(by, language) if automatic else (by.get("name") or by.get("role") or "?"),
        fault=FAULT[language][bool(data.get("provider_fault"))],
        because=f": {values['reason']}" if data.get("reason") else "",
    )
    values.setdefault("agent_name", data.get("agent_name") or "?")
    body = next((values[f] for f in BODY_FIELDS if data.get(f) and event.type != "TicketOpened"), None)
    if event.type == "TicketOpened" and data.get("requested_department"):
        body = PLACED_ELSEWHERE[language].format_map(_Missing(values))
    result = {
        "position": event.stream_position,
        "at": event.occurred_at.isoformat(),
        "type": event.type,
        "by": {"name": values["who"] if automatic else by.get("name", ""), "role": by.get("role", "")},
        "summary": _summary(event.type, language, automatic and not staff_view).format_map(_Missing(values))
                   + VIA[language].get(channel, ""),
        "channel": channel,
        "channel_label": CHANNEL_LABELS[language][channel],
        "internal": event.type in INTERNAL_EVENTS,
    }
    if automatic and not staff_view:
        result["by"]["name"] = ""  # customers are not told which service did it
    if body and body not in result["summary"]:  # a reason the summary already says is not repeated
        result["body"] = body
    if data.get("attachment"):
        result["attachment"] = data["attachment"]
    if event.type == "CcChanged":
        result["cc"] = data["cc"]
    return result


def _summary(event_type, language, impersonal):
    if impersonal and event_type in SYSTEM_SUMMARIES[language]:
        return SYSTEM_SUMMARIES[language][event_type]
    return SUMMARIES[language][event_type]


class _Missing(dict):
    def __missing__(self, key):
        return "?"
