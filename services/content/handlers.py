"""Content's application layer: load the command, decide with the domain, append and update the
read model in one transaction (helpdesk.application), answer with the document as readers see it
(Markdown as a tree of safe nodes: markdown.py). Wired in bootstrap.py; called by the nameko
adapter (service.py) and by the in-process system (services/system.py)."""
import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from helpdesk import contracts, errors, i18n
from helpdesk.application import translated
from helpdesk.contracts import load
from helpdesk.events import stream_name
from helpdesk.eventstore import NO_STREAM, WrongExpectedVersion

from . import domain, markdown, published, search

RECENT_INCIDENTS = dt.timedelta(days=7)  # resolved incidents the status page still lists


def _utc(moment):
    return moment.astimezone(dt.timezone.utc) if moment else None


def _id(value, what):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise errors.NotFound(f"no_{what}", {"id": str(value)})


class Content:
    """`uow`: the unit of work (repositories.py); `catalog`: the services and their components;
    `clock()`: the time now, aware; `zone`: where the history's days begin (DEFAULT_TIME_ZONE)."""

    def __init__(self, uow, catalog, clock, zone=ZoneInfo("Europe/Madrid")):
        self.uow, self.catalog, self.clock, self.zone = uow, catalog, clock, zone

    # -- plumbing -----------------------------------------------------------------------------
    def _now(self):
        return _utc(self.clock())

    def _record(self, work, kind, document_id, events, expected_version):
        """Appends the events and saves the folded state: one transaction."""
        if not events:
            return work.documents.load(document_id)
        try:
            recorded = work.events.append(stream_name(kind, document_id), events, expected_version)
        except WrongExpectedVersion as exc:
            raise errors.Conflict("content_changed_meanwhile", current_version=exc.actual)
        state = work.documents.load(document_id)
        for event in recorded:
            state = domain.evolve(state, event)
        work.documents.save(state)
        return state

    def _existing(self, work, kind, document_id):
        state = work.documents.load(_id(document_id, kind))
        if state is None or state["kind"] != kind:
            raise errors.NotFound(f"no_{kind}", {"id": str(document_id)})
        return state

    def _create(self, kind, decide):
        """A new document: `decide(new id)` gives its first events."""
        document_id = uuid.uuid4()
        events = translated(lambda: decide(document_id))
        with self.uow() as work:
            return self.shown(self._record(work, kind, document_id, events, NO_STREAM), staff=True)

    def _visible_announcements(self, work, reader, limit):
        """Published announcements shown now to `reader` (domain.visible_to), pinned first then newest."""
        now = self._now()
        return [state for state in work.documents.listing("announcement", [domain.PUBLISHED], 500)
                if domain.visible_to(state, now, reader)][:limit]

    def _change(self, principal, kind, document_id, decide):
        with self.uow() as work:
            state = self._existing(work, kind, document_id)
            events = translated(lambda: decide(state), state["version"])
            return self._record(work, kind, state["id"], events, state["version"])

    # -- announcements ------------------------------------------------------------------------
    def draft_announcement(self, principal, command):
        command = load(contracts.AnnouncementSchema, command)
        return self._create("announcement", lambda new_id: domain.draft_announcement(
            new_id, principal, self._now(), command, self.catalog))

    def edit_announcement(self, principal, announcement_id, command):
        command = load(contracts.AnnouncementChangeSchema, command)
        return self.shown(self._change(principal, "announcement", announcement_id, lambda state: domain.edit_announcement(
            state, principal, self._now(), command, self.catalog)), staff=True)

    def publish_announcement(self, principal, announcement_id, command):
        command = load(contracts.PublishSchema, command)
        return self.shown(self._change(principal, "announcement", announcement_id, lambda state: domain.publish_announcement(
            state, principal, self._now(), _utc(command["publish_at"]))), staff=True)

    def archive_announcement(self, principal, announcement_id):
        return self.shown(self._change(principal, "announcement", announcement_id, lambda state: domain.archive_announcement(
            state, principal, self._now())), staff=True)

    def announcements(self, principal, query):
        """What the reader may see: anyone the published ones for everyone (customers also those
        for the services they use: `services` in the principal, when known), staff every one of
        the status asked for."""
        query = load(contracts.ContentListSchema, query)
        staff = (principal or {}).get("role") in domain.STAFF
        if query.get("status") and not staff:
            raise errors.Forbidden("only_staff")
        with self.uow() as work:
            if staff and query.get("status"):
                found = work.documents.listing("announcement", [query["status"]], query["limit"])
            else:
                reader = "all" if staff else (principal or {}).get("services")
                found = self._visible_announcements(work, reader, query["limit"])
        return [self.shown(state, staff) for state in found]

    def announcement(self, principal, announcement_id):
        staff = (principal or {}).get("role") in domain.STAFF
        with self.uow() as work:
            state = self._existing(work, "announcement", announcement_id)
        reader = "all" if staff else (principal or {}).get("services")
        if not staff and not domain.visible_to(state, self._now(), reader):
            raise errors.NotFound("no_announcement", {"id": str(announcement_id)})
        return self.shown(state, staff)

    # -- incidents and maintenance ------------------------------------------------------------
    def declare_incident(self, principal, command):
        command = load(contracts.IncidentSchema, command)
        command["started_at"] = _utc(command["started_at"])
        return self._create("incident", lambda new_id: domain.declare_incident(
            new_id, principal, self._now(), command, self.catalog))

    def update_incident(self, principal, incident_id, command):
        command = load(contracts.IncidentUpdateSchema, command)
        return self.shown(self._change(principal, "incident", incident_id, lambda state: domain.update_incident(
            state, principal, self._now(), command, self.catalog)), staff=True)

    def link_tickets(self, principal, incident_id, tickets):
        """`tickets`: [{ticket_id, reference, title}] the gateway found the caller may see."""
        tickets = [{"ticket_id": str(item["ticket_id"]), "reference": str(item["reference"]),
                    "title": str(item.get("title") or "")} for item in tickets]
        return self.shown(self._change(principal, "incident", incident_id, lambda state: domain.link_tickets(
            state, principal, self._now(), tickets)), staff=True)

    def schedule_maintenance(self, principal, command):
        command = load(contracts.MaintenanceSchema, command)
        command.update(starts_at=_utc(command["starts_at"]), ends_at=_utc(command["ends_at"]))
        return self._create("maintenance", lambda new_id: domain.schedule_maintenance(
            new_id, principal, self._now(), command, self.catalog))

    def cancel_maintenance(self, principal, maintenance_id):
        return self.shown(self._change(principal, "maintenance", maintenance_id, lambda state: domain.cancel_maintenance(
            state, principal, self._now())))

    def incident(self, principal, incident_id):
        """One incident; staff also see the tickets linked to it."""
        with self.uow() as work:
            return self.shown(self._existing(work, "incident", incident_id),
                              staff=(principal or {}).get("role") in domain.STAFF)

    def status(self):
        """The network status page, public: every component with its state now, grouped by
        service in catalogue order; the open incidents and those resolved in the last week, and
        the maintenance windows on or to come."""
        now = self._now()
        with self.uow() as work:
            shown = work.documents.incidents_since(now - RECENT_INCIDENTS)
            windows = work.documents.listing("maintenance", [domain.SCHEDULED], 500)
        states = domain.component_states(self.catalog, shown, windows, now)
        upcoming = sorted((w for w in windows if w["ends_at"] > now.isoformat()), key=lambda w: w["starts_at"])
        services = {}
        for component in self.catalog.components.values():
            services.setdefault(component.service, []).append(
                {"code": component.code, "name": component.names, "state": states[component.code]})
        worst = max((domain.COMPONENT_STATES.index(state) for state in states.values()), default=0)
        return {"at": now.isoformat(), "overall": domain.COMPONENT_STATES[worst],
                "services": [{"code": code, "components": items} for code, items in services.items()],
                "incidents": [self.shown(item) for item in shown],
                "maintenances": [self.shown(item) for item in upcoming]}

    def history(self, days=90):
        """The last `days` days of every component (uptime, and each day it had an incident),
        computed from the incidents' timelines (domain.history)."""
        days = int(days)
        if not 1 <= days <= 90:
            raise errors.invalid("days", "number_between", min=1, max=90)
        now = self._now()
        with self.uow() as work:
            incidents = work.documents.incidents_since(now - dt.timedelta(days=days + 1))
        return domain.history(list(self.catalog.components), incidents, now, self.zone, days)

    def open_incidents_of(self, service):
        """The open incidents affecting a component of `service` (the new ticket form suggests them)."""
        if service not in self.catalog.services:
            raise errors.invalid("service", "unknown_service", service=service)
        codes = {c.code for c in self.catalog.components.values() if c.service == service}
        with self.uow() as work:
            found = work.documents.listing("incident", list(domain.INCIDENT_STATUSES[:-1]), 100)
        return [self.shown(item) for item in found if codes & set(item["components"])]

    # -- search ---------------------------------------------------------------------------------
    def search(self, query, limit=10):
        """Announcements, incidents and maintenance anyone may read that have any word of `query`
        (stemmed, accents ignored), best first, each with a snippet whose matching words are
        marked ([[text, hit], ...]) and the page that shows it."""
        asked = search.query_words(query)
        with self.uow() as work:
            found = work.documents.find(asked, self._now(), limit)
        results = []
        matches = search.matcher(asked)
        for state, rank, text in found:
            anchor = {"announcement": "/announcements#announcement-", "incident": "/network-status#incident-",
                      "maintenance": "/network-status#maintenance-"}[state["kind"]]
            results.append({"kind": state["kind"], "id": state["id"], "title": state["title"], "rank": rank,
                            "at": state.get("publish_at") or state.get("started_at") or state.get("starts_at"),
                            "snippet": search.snippet(text, matches), "path": anchor + state["id"]})
        return results

    # -- the same, for other programs: Statuspage's summary.json, Atom feeds --------------------
    def statuspage(self, language, page):
        """The status as Statuspage's public summary (v2); `page`: {id, name, url, time_zone}."""
        names = {code: component.names for code, component in self.catalog.components.items()}
        descriptions = {state: i18n.text(f"status_overall_{state}", {}, language) for state in domain.COMPONENT_STATES}
        return published.statuspage_summary(self.status(), page, names, language, descriptions)

    def feed(self, kind, language, site, provider):
        """An Atom feed (XML text) of the announcements or of the status, in `language`."""
        if kind == "announcements":
            with self.uow() as work:
                items = self._visible_announcements(work, None, 50)
            return published.announcements_feed(items, site, language,
                                                 i18n.text("feed_announcements", {"provider": provider}, language))
        words = {status: i18n.text(f"incident_{status}", {}, language) for status in domain.INCIDENT_STATUSES}
        return published.status_feed(self.status(), site, language,
                                     i18n.text("feed_status", {"provider": provider}, language), words)

    # -- what readers get ---------------------------------------------------------------------
    @staticmethod
    def shown(state, staff=False):
        """The document as the API gives it: Markdown also as safe trees (`*_tree`); an
        announcement's audience and an incident's tickets only to staff."""
        shown = dict(state)
        for name in ("body", "message"):
            if isinstance(state.get(name), dict):
                shown[f"{name}_tree"] = {language: markdown.tree(text) for language, text in state[name].items()}
        if state["kind"] == "incident":
            if not staff:
                shown.pop("tickets", None)  # which tickets (and whose) is staff's to know
            shown["updates"] = [dict(entry, message_tree={language: markdown.tree(text)
                                                          for language, text in entry["message"].items()})
                                for entry in state["updates"]]
        if state["kind"] == "announcement" and not staff:
            shown.pop("audience", None)
        return shown
