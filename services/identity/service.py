"""Identity entrypoints: nameko RPC in, the handlers (handlers.py) do the work."""
from nameko.dependency_providers import Config
from nameko.timer import timer

from helpdesk import catalog, errors
from helpdesk.events import utcnow
from helpdesk.eventstore import PostgresEventStore
from helpdesk.extensions import Application, EventStore, Health, Metrics, StreamOwner, rpc

from .bootstrap import bootstrap

PRUNE_INTERVAL = 3600  # seconds between two prunings of the counters


def wire(config, database):
    return bootstrap(config, catalog.load(config), utcnow, PostgresEventStore(database, "identity"), database)


class IdentityService(Health, StreamOwner):
    name = "identity"
    store = EventStore()
    config = Config()
    metrics = Metrics()  # helpdesk.metrics: /metrics and /healthz on METRICS_PORT
    app = Application(wire)

    @timer(interval=PRUNE_INTERVAL)
    def prune(self):
        return self.app.prune()

    @rpc(expected_exceptions=errors.EXPECTED)
    def register(self, command, ip="unknown"):
        return self.app.register(command, ip)

    @rpc(expected_exceptions=errors.EXPECTED)
    def resend_verification(self, command, ip="unknown"):
        return self.app.resend_verification(command, ip)

    @rpc(expected_exceptions=errors.EXPECTED)
    def verify_email(self, command, ip="unknown", user_agent=""):
        return self.app.verify_email(command, ip, user_agent)

    @rpc(expected_exceptions=errors.EXPECTED)
    def login(self, command, ip="unknown", user_agent=""):
        return self.app.login(command, ip, user_agent)

    @rpc(expected_exceptions=errors.EXPECTED)
    def authenticate(self, token):
        return self.app.authenticate(token)

    @rpc(expected_exceptions=errors.EXPECTED)
    def logout(self, token):
        return self.app.logout(token)

    @rpc(expected_exceptions=errors.EXPECTED)
    def forgot_password(self, command, ip="unknown"):
        return self.app.forgot_password(command, ip)

    @rpc(expected_exceptions=errors.EXPECTED)
    def reset_password(self, command):
        return self.app.reset_password(command)

    @rpc(expected_exceptions=errors.EXPECTED)
    def change_password(self, principal, command, ip="unknown", user_agent=""):
        return self.app.change_password(principal, command, ip, user_agent)

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_profile(self, principal):
        return self.app.get_profile(principal)

    @rpc(expected_exceptions=errors.EXPECTED)
    def update_profile(self, principal, command):
        return self.app.update_profile(principal, command)

    @rpc(expected_exceptions=errors.EXPECTED)
    def request_email_change(self, principal, command):
        return self.app.request_email_change(principal, command)

    @rpc(expected_exceptions=errors.EXPECTED)
    def create_company(self, principal, command):
        return self.app.create_company(principal, command)

    @rpc(expected_exceptions=errors.EXPECTED)
    def list_companies(self, principal):
        return self.app.list_companies(principal)

    @rpc(expected_exceptions=errors.EXPECTED)
    def create_user(self, principal, command):
        return self.app.create_user(principal, command)

    @rpc(expected_exceptions=errors.EXPECTED)
    def list_users(self, principal, company_id=None):
        return self.app.list_users(principal, company_id)

    @rpc(expected_exceptions=errors.EXPECTED)
    def find_people(self, principal, filters):
        return self.app.find_people(principal, filters)

    @rpc(expected_exceptions=errors.EXPECTED)
    def contact_card(self, principal, user_id):
        return self.app.contact_card(principal, user_id)

    @rpc(expected_exceptions=errors.EXPECTED)
    def update_user(self, principal, user_id, command):
        return self.app.update_user(principal, user_id, command)

    @rpc(expected_exceptions=errors.EXPECTED)
    def get_principal(self, user_id):
        return self.app.get_principal(user_id)

    @rpc(expected_exceptions=errors.EXPECTED)
    def principal_by_email(self, email, include_deactivated=False):
        return self.app.principal_by_email(email, include_deactivated)
