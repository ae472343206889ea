"""Content's application layer: load the command, decide with the domain, append and update the
read model in one transaction (helpdesk.application), answer with the document as readers see it
(Markdown as a tree of safe nodes: markdown.py). Wired in bootstrap.py; called by the nameko
adapter (service.py) and by the in-process system (services/system.py)."""
import base64
import binascii
import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from helpdesk import contracts, errors, i18n
from helpdesk.application import translated
from helpdesk.contracts import load
from helpdesk.events import stream_name
from helpdesk.eventstore import NO_STREAM, WrongExpectedVersion
from helpdesk.files import FileRefused

from . import domain, downloads, markdown, published, search

RECENT_INCIDENTS = dt.timedelta(days=7)  # resolved incidents the status page still lists
ABANDONED_UPLOAD = dt.timedelta(days=1)  # an upload not finished by then is dropped (prune_uploads)
DOWNLOAD_MAX_BYTES = 50 * 2**20


def _utc(moment):
    return moment.astimezone(dt.timezone.utc) if moment else None


def _refused(exc):
    """A file refused (helpdesk.files, downloads.py) as the error that crosses services."""
    if exc.code == "download_too_large":
        return errors.PayloadTooLarge(exc.code, exc.params)
    return errors.invalid("file", exc.code, **exc.params)


def _id(value, what):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise errors.NotFound(f"no_{what}", {"id": str(value)})


class Content:
    """`uow`: the unit of work (repositories.py); `catalog`: the services and their components;
    `clock()`: the time now, aware; `zone`: where the history's days begin (DEFAULT_TIME_ZONE);
    `download_max_bytes`: the largest file of a download (CONTENT.download_max_mb)."""

    def __init__(self, uow, catalog, clock, zone=ZoneInfo("Europe/Madrid"), download_max_bytes=DOWNLOAD_MAX_BYTES):
        self.uow, self.catalog, self.clock, self.zone = uow, catalog, clock, zone
        self.download_max_bytes = download_max_bytes

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

    def _visible_announcements(self, work, reader, limit, kind="announcement"):
        """Published announcements (or downloads) shown now to `reader` (domain.visible_to),
        pinned first then newest."""
        now = self._now()
        return [state for state in work.documents.listing(kind, [domain.PUBLISHED], 500)
                if domain.visible_to(state, now, reader)][:limit]

    def _listed(self, principal, query, kind):
        """What a reader may list of `kind`: anyone the published ones for everyone (customers
        also those for the services they use: `services` in the principal), staff every one of
        the status asked for."""
        query = load(contracts.ContentListSchema, query)
        staff = (principal or {}).get("role") in domain.STAFF
        if query.get("status") and not staff:
            raise errors.Forbidden("only_staff")
        with self.uow() as work:
            if staff and query.get("status"):
                found = work.documents.listing(kind, [query["status"]], query["limit"])
            else:
                reader = "all" if staff else (principal or {}).get("services")
                found = self._visible_announcements(work, reader, query["limit"], kind)
            counts = work.files.counts([state["id"] for state in found]) if kind == "download" else {}
        return [self.shown(state, staff, counts.get(state["id"], 0)) for state in found]

    def _readable(self, work, principal, kind, document_id):
        """An announcement or download the reader may see (staff: any), else not found."""
        staff = (principal or {}).get("role") in domain.STAFF
        state = self._existing(work, kind, document_id)
        reader = "all" if staff else (principal or {}).get("services")
        if not staff and not domain.visible_to(state, self._now(), reader):
            raise errors.NotFound(f"no_{kind}", {"id": str(document_id)})
        return state

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
        return self._listed(principal, query, "announcement")

    def announcement(self, principal, announcement_id):
        with self.uow() as work:
            state = self._readable(work, principal, "announcement", announcement_id)
        return self.shown(state, (principal or {}).get("role") in domain.STAFF)

    # -- recommended downloads ----------------------------------------------------------------
    def add_download(self, principal, command):
        command = load(contracts.DownloadSchema, command)
        return self._create("download", lambda new_id: domain.add_download(
            new_id, principal, self._now(), command, self.catalog))

    def edit_download(self, principal, download_id, command):
        command = load(contracts.DownloadChangeSchema, command)
        return self._staff_download(self._change(principal, "download", download_id, lambda state: domain.edit_download(
            state, principal, self._now(), command, self.catalog)))

    def publish_download(self, principal, download_id):
        return self._staff_download(self._change(principal, "download", download_id, lambda state: domain.publish_download(
            state, principal, self._now())))

    def archive_download(self, principal, download_id):
        return self._staff_download(self._change(principal, "download", download_id, lambda state: domain.archive_download(
            state, principal, self._now())))

    def downloads(self, principal, query):
        return self._listed(principal, query, "download")

    def download(self, principal, download_id):
        with self.uow() as work:
            state = self._readable(work, principal, "download", download_id)
            count = work.files.counts([state["id"]]).get(state["id"], 0)
        return self.shown(state, (principal or {}).get("role") in domain.STAFF, count)

    def _staff_download(self, state):
        with self.uow() as work:
            return self.shown(state, staff=True, count=work.files.counts([state["id"]]).get(state["id"], 0))

    def start_upload(self, principal, download_id, filename, size):
        """A file for a download begins: its name and size are judged before any byte; the
        answer says in how many pieces of how many bytes to send it (upload_piece)."""
        try:
            name = downloads.check_start(filename, int(size), self.download_max_bytes)
        except FileRefused as exc:
            raise _refused(exc)
        file_id = uuid.uuid4()
        with self.uow() as work:
            state = self._existing(work, "download", download_id)
            translated(lambda: domain.may_attach(state, principal), state["version"])
            work.files.start(file_id, state["id"], name, int(size), self._now())
        return {"file_id": str(file_id), "piece_bytes": downloads.PIECE_BYTES, "pieces": downloads.pieces(int(size))}

    def upload_piece(self, principal, file_id, index, data_base64):
        """One piece of a file being uploaded, in its own transaction (a piece sent again replaces it)."""
        translated(lambda: domain.require_staff(principal))
        try:
            data = base64.b64decode(data_base64, validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise errors.invalid("file", "base64_invalid")
        with self.uow() as work:
            found = work.files.file(_id(file_id, "upload"))
            if found is None or found["complete"]:
                raise errors.NotFound("no_upload", {"id": str(file_id)})
            index, size = int(index), found["size"]
            if not 0 <= index < downloads.pieces(size):
                raise errors.invalid("index", "number_between", min=0, max=downloads.pieces(size) - 1)
            expected = min(downloads.PIECE_BYTES, size - index * downloads.PIECE_BYTES)
            if len(data) != expected:
                raise errors.invalid("file", "upload_piece_size", expected=expected, received=len(data))
            work.files.put_piece(found["file_id"], index, data)
        return {"file_id": found["file_id"], "index": index}

    def finish_upload(self, principal, download_id, file_id):
        """Every piece received: the file is judged by its content (downloads.content_type) and
        its checksum computed piece by piece; it then becomes the download's file (the one before
        is dropped). A file refused is dropped too."""
        with self.uow() as work:
            state = self._existing(work, "download", download_id)
            translated(lambda: domain.may_attach(state, principal), state["version"])
            found = work.files.file(_id(file_id, "upload"))
            if found is None or found["download_id"] != state["id"] or found["complete"]:
                raise errors.NotFound("no_upload", {"id": str(file_id)})
            count, size = work.files.received(found["file_id"])
            if count != downloads.pieces(found["size"]) or size != found["size"]:
                raise errors.invalid("file", "upload_incomplete", received=size, size=found["size"])
            try:
                digest, kind = downloads.Digest(), None
                for index in range(count):
                    piece = work.files.piece(found["file_id"], index)
                    if index == 0:
                        kind = downloads.content_type(found["name"], piece, complete=count == 1)
                    digest.add(piece)
            except FileRefused as exc:
                refused = exc
            else:
                refused = None
        if refused is not None:
            with self.uow() as work:
                work.files.drop([found["file_id"]])
            raise _refused(refused)
        described = {"id": found["file_id"], "name": found["name"], "size": digest.size, "type": kind,
                     "sha256": digest.hexdigest()}
        with self.uow() as work:
            state = self._existing(work, "download", download_id)
            events = translated(lambda: domain.attach_file(state, principal, self._now(), described), state["version"])
            state = self._record(work, "download", state["id"], events, state["version"])
            work.files.complete(found["file_id"], kind, described["sha256"])
            work.files.drop([other for other in work.files.files_of(state["id"]) if other != found["file_id"]])
            count = work.files.counts([state["id"]]).get(state["id"], 0)
        return self.shown(state, staff=True, count=count)

    def open_file(self, principal, download_id, count=True, resumed_if=None):
        """What a download gives the reader: its link, or its file and how it is cut in pieces
        (file_piece). `count`: a fetch begins; a resumed one does not count again, unless its
        If-Range (`resumed_if`) names another file: then it gets, and counts, the whole."""
        with self.uow() as work:
            state = self._readable(work, principal, "download", download_id)
            current = f'"{state["file"]["sha256"]}"' if state.get("file") else None
            if count or (resumed_if is not None and resumed_if != current):
                work.files.count_download(state["id"])
        if state.get("link"):
            return {"link": state["link"], "sha256": state.get("sha256")}
        if not state.get("file"):
            raise errors.NotFound("no_file", {"id": str(download_id)})
        return {"file": state["file"], "pieces": downloads.pieces(state["file"]["size"]),
                "piece_bytes": downloads.PIECE_BYTES}

    def file_piece(self, principal, download_id, file_id, index):
        """One piece of the download's file (base64), to a reader who may see the download."""
        with self.uow() as work:
            state = self._readable(work, principal, "download", download_id)
            if not state.get("file") or state["file"]["id"] != str(file_id):
                raise errors.NotFound("no_file", {"id": str(file_id)})
            data = work.files.piece(state["file"]["id"], int(index))
        if data is None:
            raise errors.NotFound("no_file", {"id": str(file_id)})
        return base64.b64encode(data).decode("ascii")

    def prune_uploads(self):
        """Drops the pieces of uploads begun over ABANDONED_UPLOAD ago and never finished."""
        with self.uow() as work:
            abandoned = work.files.abandoned(self._now() - ABANDONED_UPLOAD)
            work.files.drop(abandoned)
        return len(abandoned)

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
    def search(self, query, limit=10, services=()):
        """Announcements, downloads, incidents and maintenance anyone may read that have any word of `query`
        (stemmed, accents ignored), best first, each with a snippet whose matching words are
        marked ([[text, hit], ...]) and the page that shows it."""
        asked = search.query_words(query)
        with self.uow() as work:
            found = work.documents.find(asked, self._now(), limit, list(services or ()))
        results = []
        matches = search.matcher(asked)
        for state, rank, text in found:
            anchor = {"announcement": "/announcements#announcement-", "download": "/downloads#download-",
                      "incident": "/network-status#incident-",
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
    def shown(state, staff=False, count=0):
        """The document as the API gives it: Markdown also as safe trees (`*_tree`); an
        announcement's or download's audience and an incident's tickets only to staff; a
        download with how often it was fetched (`count`)."""
        shown = dict(state)
        for name in ("body", "message", "description"):
            if isinstance(state.get(name), dict):
                shown[f"{name}_tree"] = {language: markdown.tree(text) for language, text in state[name].items()}
        if state["kind"] == "incident":
            if not staff:
                shown.pop("tickets", None)  # which tickets (and whose) is staff's to know
            shown["updates"] = [dict(entry, message_tree={language: markdown.tree(text)
                                                          for language, text in entry["message"].items()})
                                for entry in state["updates"]]
        if state["kind"] in ("announcement", "download") and not staff:
            shown.pop("audience", None)
        if state["kind"] == "download":
            shown["downloads"] = count
        return shown
