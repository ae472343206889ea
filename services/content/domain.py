"""What the home page offers besides tickets (manual 000, 2.1): announcements, recommended
downloads and the network status (Estado de red: the state of every component of the catalogue,
incidents with their timeline, scheduled maintenance). Pure: no I/O, no clock, no uuid: the handlers give `now` and
the ids, and each decision returns the events it causes.

Streams: `announcement-<id>`, `download-<id>`, `incident-<id>`, `maintenance-<id>`. The state of each is a plain
dict (JSON, as the read model keeps it), folded from its events by `evolve`.
"""
import datetime as dt

from helpdesk import contracts
from helpdesk.events import NewEvent
from helpdesk.refusals import Forbidden, IllegalTransition, RuleBroken

LANGUAGES = ("es", "en")
STAFF = frozenset({"agent", "supervisor", "admin"})

DRAFT, PUBLISHED, ARCHIVED = "draft", "published", "archived"

# An incident's impact on the components it affects, mildest first: a component shows the worst
# impact of the open incidents affecting it, else "maintenance" during a window, else operational.
OPERATIONAL, MAINTENANCE = "operational", "maintenance"
IMPACTS = ("degraded", "partial_outage", "major_outage")
COMPONENT_STATES = (OPERATIONAL, MAINTENANCE, *IMPACTS)
INVESTIGATING, IDENTIFIED, MONITORING, RESOLVED = "investigating", "identified", "monitoring", "resolved"
INCIDENT_STATUSES = (INVESTIGATING, IDENTIFIED, MONITORING, RESOLVED)
SCHEDULED, CANCELLED = "scheduled", "cancelled"

TITLE_MAX, BODY_MAX = 200, 20_000
RELEASE_MAX, URL_MAX = 40, 2000


def require_staff(actor):
    if (actor or {}).get("role") not in STAFF:
        raise Forbidden("only_staff")


def _by(actor):
    return {"user_id": actor["user_id"], "name": actor.get("name") or "", "role": actor["role"]}


def _event(type_, actor, now, **data):
    return NewEvent(type=type_, data=dict(data, by=_by(actor), at=now.isoformat()), actor=actor["user_id"])


def texts(value, field, limit, required=True):
    """{es, en} with at least one language written (both when `required` is "both"), stripped."""
    value = value or {}
    cleaned = {language: (value.get(language) or "").strip() for language in LANGUAGES}
    for language, text in cleaned.items():
        if len(text) > limit:
            raise RuleBroken(f"{field}.{language}", "too_long", max=limit)
    if required and not any(cleaned.values()):
        raise RuleBroken(field, "write_in_one_language")
    return {language: text for language, text in cleaned.items() if text}


def _audience(audience, services):
    """None (everyone) or the sorted service codes whose customers see it."""
    if not audience:
        return None
    unknown = sorted(set(audience) - set(services))
    if unknown:
        raise RuleBroken("audience", "unknown_services", services=", ".join(unknown))
    return sorted(set(audience))


def _components(components, catalog):
    chosen = list(dict.fromkeys(components or ()))
    if not chosen:
        raise RuleBroken("components", "choose_a_component")
    unknown = [code for code in chosen if code not in catalog.components]
    if unknown:
        raise RuleBroken("components", "unknown_components", components=", ".join(unknown))
    return chosen


# -- announcements ----------------------------------------------------------------------------

def draft_announcement(announcement_id, actor, now, command, catalog):
    require_staff(actor)
    return [_event("AnnouncementDrafted", actor, now, announcement_id=str(announcement_id),
                   title=texts(command.get("title"), "title", TITLE_MAX),
                   body=texts(command.get("body"), "body", BODY_MAX),
                   pinned=bool(command.get("pinned")),
                   audience=_audience(command.get("audience"), catalog.services))]


def edit_announcement(state, actor, now, command, catalog):
    require_staff(actor)
    if state["status"] == ARCHIVED:
        raise IllegalTransition("announcement_archived")
    changes = {}
    for name, limit in (("title", TITLE_MAX), ("body", BODY_MAX)):
        if name in command:
            changes[name] = texts(command[name], name, limit)
    if "pinned" in command:
        changes["pinned"] = bool(command["pinned"])
    if "audience" in command:
        changes["audience"] = _audience(command["audience"], catalog.services)
    changes = {name: value for name, value in changes.items() if state.get(name) != value}
    if not changes:
        return []
    return [_event("AnnouncementEdited", actor, now, announcement_id=state["id"], **changes)]


def publish_announcement(state, actor, now, publish_at=None):
    """Published now, or at `publish_at` (shown from then on); a published one can be moved."""
    require_staff(actor)
    if state["status"] == ARCHIVED:
        raise IllegalTransition("announcement_archived")
    when = publish_at or now
    if state["status"] == PUBLISHED and state["publish_at"] == when.isoformat():
        return []
    return [_event("AnnouncementPublished", actor, now, announcement_id=state["id"], publish_at=when.isoformat())]


def archive_announcement(state, actor, now):
    require_staff(actor)
    if state["status"] == ARCHIVED:
        return []
    return [_event("AnnouncementArchived", actor, now, announcement_id=state["id"])]


def visible_to(state, now, services=None):
    """Whether an announcement (or a download) is shown at `now` to a reader using `services` (None: anyone, not
    logged in: only announcements for everyone; staff see every audience)."""
    if state["status"] != PUBLISHED or state["publish_at"] > now.isoformat():
        return False
    return state["audience"] is None or services == "all" or bool(set(state["audience"]) & set(services or ()))


# -- recommended downloads ----------------------------------------------------------------------
# A download is a file we keep (attached once uploaded: DownloadFileAttached) or a link to one
# kept elsewhere; published, it is shown like an announcement (visible_to: everyone, or the
# customers of its audience's services).

def _link(value):
    """An http(s) address (None: no link), refused when it could run or hide where it goes."""
    if value in (None, ""):
        return None
    value = str(value).strip()
    scheme, _, rest = value.partition("://")
    if scheme.lower() not in ("https", "http") or not rest or len(value) > URL_MAX \
            or any(c.isspace() or ord(c) < 32 for c in value) or "@" in rest.split("/", 1)[0]:
        raise RuleBroken("link", "link_http_address")
    return value


def _sha256(value):
    if value in (None, ""):
        return None
    value = str(value).strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise RuleBroken("sha256", "sha256_hex")
    return value


def _download_fields(command, catalog, partial=False):
    fields = {}
    if not partial or "title" in command:
        fields["title"] = texts(command.get("title"), "title", TITLE_MAX)
    if not partial or "description" in command:
        fields["description"] = texts(command.get("description"), "description", BODY_MAX, required=False)
    if not partial or "category" in command:
        if command.get("category") not in contracts.DOWNLOAD_CATEGORIES:
            raise RuleBroken("category", "unknown_download_category")
        fields["category"] = command["category"]
    if not partial or "release" in command:  # the file's version ("2.4.1"); `version` is the stream's
        release = (command.get("release") or "").strip()
        if len(release) > RELEASE_MAX:
            raise RuleBroken("release", "too_long", max=RELEASE_MAX)
        fields["release"] = release or None
    if not partial or "audience" in command:
        fields["audience"] = _audience(command.get("audience"), catalog.services)
    if not partial or "link" in command or "sha256" in command:
        fields["link"] = _link(command.get("link"))
        fields["sha256"] = _sha256(command.get("sha256")) if fields["link"] else None
        if command.get("sha256") and not fields["link"]:
            raise RuleBroken("sha256", "sha256_only_for_links")
    return fields


def add_download(download_id, actor, now, command, catalog):
    """A new download (a draft): a link now, or a file uploaded next (attach_file)."""
    require_staff(actor)
    return [_event("DownloadAdded", actor, now, download_id=str(download_id), **_download_fields(command, catalog))]


def edit_download(state, actor, now, command, catalog):
    """New words, category, release, audience or link; a link given replaces the file."""
    require_staff(actor)
    if state["status"] == ARCHIVED:
        raise IllegalTransition("download_archived")
    changes = _download_fields(command, catalog, partial=True)
    if "link" in changes and changes["link"] is None and state.get("file") is None and state["status"] == PUBLISHED:
        raise RuleBroken("link", "download_needs_file_or_link")
    changes = {name: value for name, value in changes.items() if state.get(name) != value}
    if changes.get("link"):
        changes["file"] = None
    if not changes:
        return []
    return [_event("DownloadEdited", actor, now, download_id=state["id"], **changes)]


def may_attach(state, actor):
    """Staff may upload a file to a download not archived."""
    require_staff(actor)
    if state["status"] == ARCHIVED:
        raise IllegalTransition("download_archived")


def attach_file(state, actor, now, file):
    """The uploaded file (`file`: {id, name, size, type, sha256}, checked by the caller) is now
    what the download gives, instead of the one or the link it had."""
    may_attach(state, actor)
    if state.get("file") and state["file"]["id"] == file["id"]:
        return []
    return [_event("DownloadFileAttached", actor, now, download_id=state["id"], file=dict(file))]


def publish_download(state, actor, now):
    require_staff(actor)
    if state["status"] == ARCHIVED:
        raise IllegalTransition("download_archived")
    if state["status"] == PUBLISHED:
        return []
    if not state.get("file") and not state.get("link"):
        raise RuleBroken("file", "download_needs_file_or_link")
    return [_event("DownloadPublished", actor, now, download_id=state["id"], publish_at=now.isoformat())]


def archive_download(state, actor, now):
    require_staff(actor)
    if state["status"] == ARCHIVED:
        return []
    return [_event("DownloadArchived", actor, now, download_id=state["id"])]


# -- incidents ----------------------------------------------------------------------------------

def declare_incident(incident_id, actor, now, command, catalog):
    require_staff(actor)
    impact = command.get("impact")
    if impact not in IMPACTS:
        raise RuleBroken("impact", "unknown_impact")
    status = command.get("status") or INVESTIGATING
    if status not in INCIDENT_STATUSES or status == RESOLVED:
        raise RuleBroken("status", "unknown_incident_status")
    started_at = command.get("started_at") or now
    if started_at > now:
        raise RuleBroken("started_at", "not_in_the_future")
    components = _components(command.get("components"), catalog)
    return [_event("IncidentDeclared", actor, now, incident_id=str(incident_id),
                   title=texts(command.get("title"), "title", TITLE_MAX),
                   message=texts(command.get("message"), "message", BODY_MAX),
                   components=components, services=services_of(components, catalog),
                   impact=impact, status=status, started_at=started_at.isoformat())]


def services_of(components, catalog):
    """The services whose components these are (whose subscribers hear of it), sorted."""
    return sorted({catalog.components[code].service for code in components})


def link_tickets(state, actor, now, tickets):
    """Tickets the incident caused ({ticket_id, reference, title}, checked by the caller): each
    update is then mailed to their customers. A ticket linked already is not linked again."""
    require_staff(actor)
    if state["status"] == RESOLVED:
        raise IllegalTransition("incident_resolved")
    known = {item["ticket_id"] for item in state["tickets"]}
    new = [dict(item) for item in {item["ticket_id"]: item for item in tickets}.values() if item["ticket_id"] not in known]
    if not new:
        return []
    return [_event("IncidentTicketsLinked", actor, now, incident_id=state["id"], tickets=new)]


def update_incident(state, actor, now, command, catalog):
    """A new entry of the timeline: its status (resolved ends the incident), what is known, and
    optionally a new impact or set of components. The event names the tickets linked then (whose
    customers are mailed it) and, when resolving with `resolve_tickets`, asks that they be
    resolved with its message."""
    require_staff(actor)
    if state["status"] == RESOLVED:
        raise IllegalTransition("incident_resolved")
    status = command.get("status")
    if status not in INCIDENT_STATUSES:
        raise RuleBroken("status", "unknown_incident_status")
    if command.get("resolve_tickets") and status != RESOLVED:
        raise RuleBroken("resolve_tickets", "resolve_tickets_only_when_resolved")
    data = {"status": status, "message": texts(command.get("message"), "message", BODY_MAX),
            "title": state["title"], "tickets": [item["ticket_id"] for item in state["tickets"]],
            "resolve_tickets": bool(command.get("resolve_tickets")) and bool(state["tickets"])}
    if command.get("impact") is not None:
        if command["impact"] not in IMPACTS:
            raise RuleBroken("impact", "unknown_impact")
        data["impact"] = command["impact"]
    if command.get("components") is not None:
        data["components"] = _components(command["components"], catalog)
    data["services"] = services_of(data.get("components") or state["components"], catalog)
    return [_event("IncidentUpdated", actor, now, incident_id=state["id"], **data)]


# -- maintenance --------------------------------------------------------------------------------

def schedule_maintenance(maintenance_id, actor, now, command, catalog):
    require_staff(actor)
    starts_at, ends_at = command.get("starts_at"), command.get("ends_at")
    if not starts_at or not ends_at or ends_at <= starts_at:
        raise RuleBroken("ends_at", "ends_after_it_starts")
    if ends_at <= now:
        raise RuleBroken("ends_at", "not_in_the_past")
    return [_event("MaintenanceScheduled", actor, now, maintenance_id=str(maintenance_id),
                   title=texts(command.get("title"), "title", TITLE_MAX),
                   message=texts(command.get("message"), "message", BODY_MAX, required=False),
                   components=_components(command.get("components"), catalog),
                   starts_at=starts_at.isoformat(), ends_at=ends_at.isoformat())]


def cancel_maintenance(state, actor, now):
    require_staff(actor)
    if state["status"] == CANCELLED:
        return []
    if state["ends_at"] <= now.isoformat():
        raise IllegalTransition("maintenance_over")
    return [_event("MaintenanceCancelled", actor, now, maintenance_id=state["id"])]


# -- state --------------------------------------------------------------------------------------

KINDS = {"announcement": "AnnouncementDrafted", "download": "DownloadAdded", "incident": "IncidentDeclared",
         "maintenance": "MaintenanceScheduled"}


def evolve(state, event):
    """The state after `event` (a RecordedEvent): a new dict, never the one given changed."""
    data, at = event.data, event.data["at"]
    if event.type == "AnnouncementDrafted":
        return {"kind": "announcement", "id": data["announcement_id"], "status": DRAFT, "title": data["title"],
                "body": data["body"], "pinned": data["pinned"], "audience": data["audience"],
                "publish_at": None, "created_at": at, "updated_at": at, "version": event.stream_position}
    if event.type == "DownloadAdded":
        fields = ("title", "description", "category", "release", "audience", "link", "sha256")
        return {"kind": "download", "id": data["download_id"], "status": DRAFT, **{name: data[name] for name in fields},
                "file": None, "pinned": False, "publish_at": None, "created_at": at, "updated_at": at,
                "version": event.stream_position}
    if event.type == "IncidentDeclared":
        entry = {"at": at, "status": data["status"], "message": data["message"], "by": data["by"]["name"],
                 "impact": data["impact"]}
        return {"kind": "incident", "id": data["incident_id"], "status": data["status"], "title": data["title"],
                "impact": data["impact"], "components": data["components"], "started_at": data["started_at"],
                "ended_at": None, "updates": [entry], "tickets": [], "created_at": at, "updated_at": at,
                "version": event.stream_position}
    if event.type == "MaintenanceScheduled":
        return {"kind": "maintenance", "id": data["maintenance_id"], "status": SCHEDULED, "title": data["title"],
                "message": data["message"], "components": data["components"], "starts_at": data["starts_at"],
                "ends_at": data["ends_at"], "created_at": at, "updated_at": at, "version": event.stream_position}
    state = dict(state, updated_at=at, version=event.stream_position)
    if event.type == "AnnouncementEdited":
        state.update({name: data[name] for name in ("title", "body", "pinned", "audience") if name in data})
    elif event.type == "DownloadEdited":
        state.update({name: data[name] for name in ("title", "description", "category", "release", "audience", "link",
                                                    "sha256", "file") if name in data})
    elif event.type == "DownloadFileAttached":
        state.update(file=data["file"], link=None, sha256=None)
    elif event.type in ("AnnouncementPublished", "DownloadPublished"):
        state.update(status=PUBLISHED, publish_at=data["publish_at"])
    elif event.type in ("AnnouncementArchived", "DownloadArchived"):
        state.update(status=ARCHIVED)
    elif event.type == "IncidentUpdated":
        entry = {"at": at, "status": data["status"], "message": data["message"], "by": data["by"]["name"],
                 "impact": data.get("impact") or state["impact"]}
        state.update({name: data[name] for name in ("impact", "components") if name in data})
        state.update(status=data["status"], updates=[*state["updates"], entry])
        if data["status"] == RESOLVED:
            state["ended_at"] = at
    elif event.type == "IncidentTicketsLinked":
        state["tickets"] = [*state["tickets"], *data["tickets"]]
    elif event.type == "MaintenanceCancelled":
        state.update(status=CANCELLED)
    return state


def fold(events):
    state = None
    for event in events:
        state = evolve(state, event)
    return state


def component_states(catalog, incidents, maintenances, now):
    """{component code: state} at `now`: the worst impact of the open incidents affecting it, else
    maintenance while a window is on, else operational."""
    states = {code: OPERATIONAL for code in catalog.components}
    moment = now.isoformat()
    for window in maintenances:
        if window["status"] == SCHEDULED and window["starts_at"] <= moment < window["ends_at"]:
            for code in window["components"]:
                if code in states:
                    states[code] = MAINTENANCE
    for incident in incidents:
        if incident["status"] == RESOLVED:
            continue
        for code in incident["components"]:
            if code in states and (states[code] not in IMPACTS
                                   or IMPACTS.index(incident["impact"]) > IMPACTS.index(states[code])):
                states[code] = incident["impact"]
    return states


# -- history ------------------------------------------------------------------------------------

# How much of an interval counts as down time in a component's uptime (as Statuspage counts it):
# a major outage all of it, a partial outage half, a degradation none (shown, not counted).
DOWN_SHARE = {"major_outage": 1.0, "partial_outage": 0.5, "degraded": 0.0}


def impact_intervals(incident, now):
    """[(start, end, impact)] of an incident, its impact as its timeline says at each moment
    (aware datetimes; an open incident runs until `now`)."""
    entries = incident["updates"]
    moments = [dt.datetime.fromisoformat(incident["started_at"])]
    moments += [dt.datetime.fromisoformat(entry["at"]) for entry in entries[1:]]
    end = dt.datetime.fromisoformat(incident["ended_at"]) if incident["ended_at"] else now
    intervals = []
    for index, entry in enumerate(entries):
        if entry["status"] == RESOLVED:
            break
        start = max(moments[index], moments[0])
        stop = moments[index + 1] if index + 1 < len(moments) else end
        if stop > start:
            intervals.append((start, min(stop, end), entry.get("impact") or incident["impact"]))
    return intervals


def history(component_codes, incidents, now, zone, days=90):
    """Per component, over the last `days` days (in `zone`, today included): its uptime (the
    share of the time not down, DOWN_SHARE) and, for each day it had an incident, the worst
    impact and its minutes: {code: {"uptime": float, "days": {date: {"worst", "minutes"}}}}."""
    today = now.astimezone(zone).date()
    first = today - dt.timedelta(days=days - 1)
    since = dt.datetime.combine(first, dt.time(), zone)
    span = (now - since).total_seconds()
    result = {code: {"uptime": 1.0, "days": {}} for code in component_codes}
    down = {code: 0.0 for code in component_codes}
    for incident in incidents:
        for start, end, impact in impact_intervals(incident, now):
            start, end = max(start, since), min(end, now)
            if end <= start:
                continue
            for code in incident["components"]:
                if code not in result:
                    continue
                down[code] += (end - start).total_seconds() * DOWN_SHARE[impact]
                moment = start
                while moment < end:  # split by local days
                    day = moment.astimezone(zone).date()
                    next_day = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone)
                    piece = min(end, next_day) - moment
                    entry = result[code]["days"].setdefault(day.isoformat(), {"worst": impact, "minutes": 0})
                    if IMPACTS.index(impact) > IMPACTS.index(entry["worst"]):
                        entry["worst"] = impact
                    entry["minutes"] += round(piece.total_seconds() / 60)
                    moment = next_day
    for code in component_codes:
        result[code]["uptime"] = max(0.0, 1 - down[code] / span) if span > 0 else 1.0
    return {"since": first.isoformat(), "until": today.isoformat(), "days": days, "components": result}
