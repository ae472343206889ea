"""Tickets service entrypoints: nameko RPC in, the handlers (handlers.py) do the work."""
from nameko.dependency_providers import Config
from nameko.timer import timer

from helpdesk import errors
from helpdesk.events import utcnow
from helpdesk.extensions import CatalogProvider, EventStore, Health, Metrics, RpcProxy, StreamOwner, rpc, subscribe

from .bootstrap import bootstrap


class TicketsService(Health, StreamOwner):
    name = "tickets"
    config = Config()
    metrics = Metrics()  # helpdesk.metrics: /metrics and /healthz on METRICS_PORT
    store = EventStore()
    catalog = CatalogProvider()
    identity = RpcProxy("identity")

    @property
    def app(self):
        """The handlers, for this worker: its identity proxy is the worker's own."""
        return bootstrap(self.config, self.catalog, self.identity, utcnow, self.store, self.store.db)

    @subscribe("content")
    def on_content_event(self, event):
        """An incident resolved with its linked tickets: each resolved once (the idempotency key
        makes a redelivery do nothing: no inbox needed)."""
        self.app.apply_content_event(event)

    @timer(interval=3600)
    def forget_expired_answers(self):
        self.app.forget_expired_answers()

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_ticket(self, principal, ticket_id):
        return self.app.get_ticket(principal, ticket_id)

    @rpc(expected_exceptions=errors.EXPECTED)
    def list_tickets(self, principal, filters):
        return self.app.list_tickets(principal, filters)

    @rpc(expected_exceptions=errors.EXPECTED)
    def department_queue(self, principal, department, filters):
        return self.app.department_queue(principal, department, filters)

    @rpc(expected_exceptions=errors.EXPECTED)
    def loads(self, principal):
        return self.app.loads(principal)

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_attachment(self, principal, ticket_id, attachment_id):
        return self.app.get_attachment(principal, ticket_id, attachment_id)

    @rpc(expected_exceptions=errors.EXPECTED)
    def open_ticket(self, principal, command, idempotency_key=None):
        return self.app.open_ticket(principal, command, idempotency_key)

    @rpc(expected_exceptions=errors.EXPECTED)
    def open_ticket_as_system(self, service, requester_id, command):
        return self.app.open_ticket_as_system(service, requester_id, command)

    @rpc(expected_exceptions=errors.EXPECTED)
    def act(self, principal, ticket_id, action, command, expected_version=None, idempotency_key=None):
        return self.app.act(principal, ticket_id, action, command, expected_version, idempotency_key)

    @rpc(expected_exceptions=errors.EXPECTED)
    def decide_by_link(self, command):
        return self.app.decide_by_link(command)

    @rpc(expected_exceptions=errors.EXPECTED)
    def act_as_system(self, service, ticket_id, action, command, cause=None, idempotency_key=None):
        return self.app.act_as_system(service, ticket_id, action, command, cause, idempotency_key)
