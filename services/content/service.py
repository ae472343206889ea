"""Content entrypoints: the gateway's RPCs in, the handlers (handlers.py) do the work; its events
are published by the relay (the notifier will mail incident updates from them)."""
from nameko.dependency_providers import Config
from nameko.timer import timer

from helpdesk import catalog, errors, timezones
from helpdesk.events import utcnow
from helpdesk.eventstore import PostgresEventStore
from helpdesk.extensions import Application, EventStore, Health, Metrics, StreamOwner, rpc

from .bootstrap import bootstrap


def wire(config, database):
    return bootstrap(catalog.load(config), utcnow, PostgresEventStore(database, "content"), database,
                     timezones.default_from(config), config.get("DOWNLOAD_MAX_BYTES"))


class ContentService(Health, StreamOwner):
    name = "content"
    config = Config()
    metrics = Metrics()  # helpdesk.metrics: /metrics and /healthz on METRICS_PORT
    store = EventStore()
    app = Application(wire)

    @rpc(expected_exceptions=errors.EXPECTED)
    def draft_announcement(self, principal, command):
        return self.app.draft_announcement(principal, command)

    @rpc(expected_exceptions=errors.EXPECTED)
    def edit_announcement(self, principal, announcement_id, command):
        return self.app.edit_announcement(principal, announcement_id, command)

    @rpc(expected_exceptions=errors.EXPECTED)
    def publish_announcement(self, principal, announcement_id, command):
        return self.app.publish_announcement(principal, announcement_id, command)

    @rpc(expected_exceptions=errors.EXPECTED)
    def archive_announcement(self, principal, announcement_id):
        return self.app.archive_announcement(principal, announcement_id)

    @rpc(expected_exceptions=errors.EXPECTED)
    def announcements(self, principal, query):
        return self.app.announcements(principal, query)

    @rpc(expected_exceptions=errors.EXPECTED)
    def announcement(self, principal, announcement_id):
        return self.app.announcement(principal, announcement_id)

    @rpc(expected_exceptions=errors.EXPECTED)
    def add_download(self, principal, command):
        return self.app.add_download(principal, command)

    @rpc(expected_exceptions=errors.EXPECTED)
    def edit_download(self, principal, download_id, command):
        return self.app.edit_download(principal, download_id, command)

    @rpc(expected_exceptions=errors.EXPECTED)
    def publish_download(self, principal, download_id):
        return self.app.publish_download(principal, download_id)

    @rpc(expected_exceptions=errors.EXPECTED)
    def archive_download(self, principal, download_id):
        return self.app.archive_download(principal, download_id)

    @rpc(expected_exceptions=errors.EXPECTED)
    def downloads(self, principal, query):
        return self.app.downloads(principal, query)

    @rpc(expected_exceptions=errors.EXPECTED)
    def download(self, principal, download_id):
        return self.app.download(principal, download_id)

    @rpc(expected_exceptions=errors.EXPECTED)
    def start_upload(self, principal, download_id, filename, size):
        return self.app.start_upload(principal, download_id, filename, size)

    @rpc(expected_exceptions=errors.EXPECTED)
    def upload_piece(self, principal, file_id, index, data_base64):
        return self.app.upload_piece(principal, file_id, index, data_base64)

    @rpc(expected_exceptions=errors.EXPECTED)
    def finish_upload(self, principal, download_id, file_id):
        return self.app.finish_upload(principal, download_id, file_id)

    @rpc(expected_exceptions=errors.EXPECTED)
    def open_file(self, principal, download_id, count=True, resumed_if=None):
        return self.app.open_file(principal, download_id, count, resumed_if)

    @rpc(expected_exceptions=errors.EXPECTED)
    def file_piece(self, principal, download_id, file_id, index):
        return self.app.file_piece(principal, download_id, file_id, index)

    @timer(interval=3600)
    def prune_uploads(self):
        """Uploads begun a day ago and never finished give their space back."""
        self.app.prune_uploads()

    @rpc(expected_exceptions=errors.EXPECTED)
    def declare_incident(self, principal, command):
        return self.app.declare_incident(principal, command)

    @rpc(expected_exceptions=errors.EXPECTED)
    def update_incident(self, principal, incident_id, command):
        return self.app.update_incident(principal, incident_id, command)

    @rpc(expected_exceptions=errors.EXPECTED)
    def link_tickets(self, principal, incident_id, tickets):
        return self.app.link_tickets(principal, incident_id, tickets)

    @rpc(expected_exceptions=errors.EXPECTED)
    def schedule_maintenance(self, principal, command):
        return self.app.schedule_maintenance(principal, command)

    @rpc(expected_exceptions=errors.EXPECTED)
    def cancel_maintenance(self, principal, maintenance_id):
        return self.app.cancel_maintenance(principal, maintenance_id)

    @rpc(expected_exceptions=errors.EXPECTED)
    def incident(self, principal, incident_id):
        return self.app.incident(principal, incident_id)

    @rpc(expected_exceptions=errors.EXPECTED)
    def status(self):
        return self.app.status()

    @rpc(expected_exceptions=errors.EXPECTED)
    def search(self, query, limit=10, services=()):
        return self.app.search(query, limit, services)

    @rpc(expected_exceptions=errors.EXPECTED)
    def statuspage(self, language, page):
        return self.app.statuspage(language, page)

    @rpc(expected_exceptions=errors.EXPECTED)
    def feed(self, kind, language, site, provider):
        return self.app.feed(kind, language, site, provider)

    @rpc(expected_exceptions=errors.EXPECTED)
    def history(self, days=90):
        return self.app.history(days)

    @rpc(expected_exceptions=errors.EXPECTED)
    def open_incidents_of(self, service):
        return self.app.open_incidents_of(service)
