"""Every service in one process, on in-memory stores: the gateway's HTTP API (in process, the
same endpoints), identity, tickets, routing, SLA, content and the notifier, with no broker, no database and no
processes. The service layer's tests (tests/service) run through it in milliseconds.

Events reach the consumers in global order, synchronously, through the wire's envelope: when a
call returns, everything it caused has happened (`settle`), routing's commands and the
notifier's planned mails included (`mails()`). Nothing is sent: mail over SMTP, inbound mail
and the broker's and database's failures are the end-to-end tests' (tests/e2e)."""
import json

from kombu.utils import json as wire_json
from nameko.exceptions import UnknownService
from werkzeug.test import Client

from helpdesk import catalog, config, testing, timezones
from helpdesk.clock import Clock
from helpdesk.events import ENVELOPE, utcnow
from helpdesk.eventstore import InMemoryEventStore

from .gateway.inprocess import InProcessGateway
from .gateway.live import InProcessLive
from .identity.bootstrap import bootstrap as identity_bootstrap
from .identity.seed import DEMO_PASSWORD, seed_into
from .notifier.bootstrap import bootstrap as notifier_bootstrap
from .routing.bootstrap import bootstrap as routing_bootstrap
from .content.bootstrap import bootstrap as content_bootstrap
from .sla.bootstrap import bootstrap as sla_bootstrap
from .tickets.bootstrap import bootstrap as tickets_bootstrap

PUBLIC_URL = "http://helpdesk.test"
# what the end-to-end harness sets (helpdesk.testing.RunningSystem), so both see the same system
TEST_ENVIRONMENT = {"LINK_SECRET": testing.LINK_SECRET, "TRUSTED_PROXIES": "127.0.0.1", "FAKE_NOW": testing.FAKE_NOW,
                    "PUBLIC_URL": PUBLIC_URL, **testing.GENEROUS_LIMITS}


class Port:
    """A service's handlers as its RPC proxy answers them: arguments and answers through JSON as
    nameko's serializer sends them, the services' errors raised as they are; the system settles
    after every call."""

    def __init__(self, system, handlers):
        self._system, self._handlers = system, handlers

    def __getattr__(self, name):
        method = getattr(self._handlers, name)

        def call(*args):
            try:
                result = method(*wire_json.loads(wire_json.dumps(args)))
            finally:
                self._system.settle()
            return wire_json.loads(wire_json.dumps(result))
        return call


class Absent:
    """A service that is not part of the system: every call finds nobody, as RPC to a stopped one."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, method):
        def call(*args, **kwargs):
            raise UnknownService(self._name)
        return call


def consumer(handlers, apply):
    """A consumer's `apply(work, event)`, each event in a transaction of its own."""
    def consume(event):
        with handlers.uow() as work:
            apply(work, event)
    return consume


class System:
    def __init__(self, environment=None, seed=True):
        self.config = config.load(env={**TEST_ENVIRONMENT, **(environment or {})})
        provider_catalog = catalog.load(self.config)
        self.stores = {name: InMemoryEventStore(name) for name in ("identity", "tickets", "sla", "content")}
        self.identity = identity_bootstrap(self.config, provider_catalog, utcnow, self.stores["identity"])
        identity = Port(self, self.identity)
        self.tickets = tickets_bootstrap(self.config, provider_catalog, identity, utcnow, self.stores["tickets"])
        self.routing = routing_bootstrap(self.config, provider_catalog, Clock(self.config.get("FAKE_NOW")),
                                         store=InMemoryEventStore("routing"))
        self.sla = sla_bootstrap(self.config, utcnow, self.stores["sla"])
        self.notifier = notifier_bootstrap(self.config, utcnow, store=InMemoryEventStore("notifier"))
        self.content = content_bootstrap(provider_catalog, utcnow, self.stores["content"],
                                         time_zone=timezones.default_from(self.config),
                                         download_max_bytes=self.config.get("DOWNLOAD_MAX_BYTES"))
        self.ports = {"identity": identity, "tickets": Port(self, self.tickets), "routing": Port(self, self.routing),
                      "sla": Port(self, self.sla), "notifier": Port(self, self.notifier),
                      "content": Port(self, self.content),
                      "notifier_inbound": Absent("notifier_inbound")}
        self.live = InProcessLive()
        self.gateway = InProcessGateway(self.config, self.ports, self.live)
        self.consumers = {
            "tickets": [consumer(self.routing, self.routing.apply_ticket_event),
                        consumer(self.sla, self.sla.apply_ticket_event),
                        consumer(self.notifier, self.notifier.apply_ticket_event),
                        lambda event: self.live.hub.ticket_event(ENVELOPE.dump(event))],
            "identity": [consumer(self.routing, self.routing.apply_identity_event),
                         consumer(self.notifier, self.notifier.apply_identity_event)],
            "sla": [consumer(self.notifier, self.notifier.plan_mails)],
            "content": [consumer(self.notifier, self.notifier.plan_mails), self.tickets.apply_content_event],
        }
        self.positions = {source: 0 for source in self.consumers}
        self._settling = False
        if seed:
            seed_into(self.identity, self.config)
            self.settle()

    def settle(self):
        """Delivers every event not yet delivered, in global order per source, then sends routing's
        commands, until nothing moves. Called again while it runs (a command's own events), it
        leaves them to the loop already running."""
        if self._settling:
            return
        self._settling = True
        try:
            moved = True
            while moved:
                moved = False
                for source, consumers in self.consumers.items():
                    for event in self.stores[source].read_all(self.positions[source]):
                        on_the_wire = ENVELOPE.load(json.loads(json.dumps(dict(ENVELOPE.dump(event), source=source),
                                                                          default=str)))
                        for consume in consumers:
                            consume(on_the_wire)
                        self.positions[source] = event.global_position
                        moved = True
                moved = self.routing.send_pending(self.ports["tickets"]) > 0 or moved
        finally:
            self._settling = False

    def mails(self, recipient=None):
        """The mails the notifier planned (plans.Mail), in the order planned; to `recipient` only if given."""
        planned = self.notifier.uow.repositories["outbox"].rows.values()
        return [mail for mail in planned if recipient is None or mail.recipient.lower() == recipient.lower()]

    def client(self, ip="127.0.0.1"):
        return Api(self, ip)


class _Chunks:
    """A streamed answer's body, chunk by chunk; `close()` ends it as a client leaving."""

    def __init__(self, response):
        self._response, self._chunks = response, iter(response.response)

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._chunks)

    def close(self):
        self._response.close()


class Answer:
    """What an HTTP client reads of a response (the shape of requests' Response the tests use)."""

    def __init__(self, response):
        self.status_code, self.headers = response.status_code, response.headers
        self.content = response.get_data()
        self.text = self.content.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.content)


class Api:
    """A client of the in-process HTTP API, speaking from its own client address (through the
    trusted-proxy header, as the end-to-end tests' client does), with a bearer token once logged in."""

    def __init__(self, system, ip, token=None):
        self.system, self.ip, self.token = system, ip, token
        self._client = Client(system.gateway, use_cookies=False)

    def call(self, method, path, body=None, token=None, headers=None):
        headers, data = testing.api_request(self.ip, token if token is not None else self.token, body, headers)
        return Answer(self._client.open(path, method=method, data=data, headers=headers,
                                        environ_base={"REMOTE_ADDR": "127.0.0.1"}))

    def stream(self, path, token=None):
        """A streamed answer (server-sent events), unread: (status, headers, iterator of chunks)."""
        headers, _ = testing.api_request(self.ip, token if token is not None else self.token, None, None)
        response = self._client.open(path, method="GET", headers=headers, buffered=False,
                                     environ_base={"REMOTE_ADDR": "127.0.0.1"})
        return response.status_code, response.headers, _Chunks(response)

    def login(self, email, password=DEMO_PASSWORD):
        response = self.call("POST", "/api/v1/auth/login", {"email": email, "password": password})
        if response.status_code != 200:
            raise AssertionError(f"login of {email} answered {response.status_code}: {response.text}")
        self.token = response.json()["token"]
        return self
