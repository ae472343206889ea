"""Every metric of the system, defined once, and the endpoint each process serves them on.

Counters and the latency histogram are incremented where the thing happened, once: an append or
a mail counted after its transaction committed (`helpdesk.db.after_commit`), an event relayed after
its checkpoint moved, an RPC when its answer is sent, an HTTP request when it is answered. The
gauges (`SAMPLED`) are read when Prometheus scrapes, from each nameko container's `Probe`: relay
lag from the checkpoints table, queue depths by passive declares, parked events by a count.

Every metric has a `service` label: the nameko service it was counted in (a process may run two,
as the notifier's does). `Metrics()` (helpdesk.extensions) puts a service's container here; its
process then answers on METRICS_PORT (0 or empty: no endpoint):

    GET /metrics         Prometheus text format
    GET /healthz/live    200 while the process runs
    GET /healthz/ready   200 while every service of the process reaches its database and broker,
                         else 503 naming what it does not reach
"""
import collections
import json
import logging
import threading
import time

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)

prometheus_client.disable_created_metrics()  # a `_created` series per counter says nothing we read
REGISTRY = CollectorRegistry()  # ours only: what a scrape shows is what this module defines

# -- counted where it happens -------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "helpdesk_http_requests_total",
    "HTTP requests the gateway answered, by route (the URL rule, never the raw path), method and "
    "status.", ["service", "route", "method", "status"], registry=REGISTRY)
HTTP_DURATION = Histogram(
    "helpdesk_http_request_duration_seconds",
    "Time from a request's arrival to its answer's headers (a streamed body, a download or the "
    "live feed, goes on after), by route and method.", ["service", "route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=REGISTRY)
RPC_CALLS = Counter(
    "helpdesk_rpc_calls_total", "RPC requests a service worked on, by method (answered or not).",
    ["service", "method"], registry=REGISTRY)
RPC_ERRORS = Counter(
    "helpdesk_rpc_errors_total",
    "RPC requests that raised, by method and exception type (refusals such as NotFound included).",
    ["service", "method", "error"], registry=REGISTRY)
EVENTS_APPENDED = Counter(
    "helpdesk_events_appended_total",
    "Events committed to a service's event store, by stream category.", ["service", "category"],
    registry=REGISTRY)
EVENTS_RELAYED = Counter(
    "helpdesk_events_relayed_total",
    "Events a relay published and checkpointed, by relay (`events`: the service's exchange; "
    "`billing`: the usage contract). A window republished after a failure counts when it is "
    "checkpointed.", ["service", "relay"], registry=REGISTRY)
INBOX_DELIVERIES = Counter(
    "helpdesk_inbox_deliveries_total",
    "Events delivered to a consumer's inbox, by source and outcome (applied, duplicate, parked), "
    "each counted once its transaction committed.", ["service", "source", "outcome"],
    registry=REGISTRY)
MAILS = Counter(
    "helpdesk_mails_total",
    "Mails by outcome: sent (the SMTP server took it), retried (refused or unreachable, tried "
    "again later), failed (given up: permanently refused, or out of retries).",
    ["service", "outcome"], registry=REGISTRY)
SLA_ALERTS = Counter(
    "helpdesk_sla_alerts_total",
    "SLA alerts raised (recorded once each), by kind (warning, breach), clock and department.",
    ["service", "kind", "clock", "department"], registry=REGISTRY)
USAGE_RECORDS = Counter(
    "helpdesk_usage_records_total",
    "24-hour support usage records written for billing, by type (recorded, corrected); the "
    "`billing` relay publishes them (helpdesk_events_relayed_total{relay=\"billing\"}).",
    ["service", "type"], registry=REGISTRY)

# -- read at scrape time ------------------------------------------------------------------------
Sampled = collections.namedtuple("Sampled", "name documentation labels")

RELAY_LAG_EVENTS = Sampled(
    "helpdesk_relay_lag_events",
    "The log's head position minus a relay's checkpoint: an upper bound of the events waiting to "
    "be published (positions may have gaps).", ("service", "relay"))
RELAY_LAG_SECONDS = Sampled(
    "helpdesk_relay_lag_seconds",
    "How long the oldest event after a relay's checkpoint has waited (0: nothing waits).",
    ("service", "relay"))
CONSUMER_WAITING = Sampled(
    "helpdesk_consumer_waiting_messages",
    "Messages ready in a subscription's queue (`<service>.from.<source>`), not yet taken by a "
    "worker (a passive declare).", ("service", "source"))
CONSUMER_LAG_SECONDS = Sampled(
    "helpdesk_consumer_lag_seconds",
    "0 when a subscription's queue is empty; else now minus the later of the last time it was "
    "seen empty and the occurred_at of the newest event the consumer handled: an upper bound of "
    "how long the oldest waiting message has waited.", ("service", "source"))
INBOX_PARKED = Sampled(
    "helpdesk_inbox_parked_events",
    "Events parked in a consumer's inbox, waiting for a predecessor (healed after the gap "
    "timeout).", ("service", "source"))
DLQ_MESSAGES = Sampled(
    "helpdesk_dlq_messages",
    "Messages in a subscription's dead-letter queue (`<queue>.dlq`): events that failed every "
    "retry, waiting for `python -m helpdesk.dlq replay`.", ("service", "queue"))
SAMPLED = (RELAY_LAG_EVENTS, RELAY_LAG_SECONDS, CONSUMER_WAITING, CONSUMER_LAG_SECONDS, INBOX_PARKED,
           DLQ_MESSAGES)

COUNTED = (HTTP_REQUESTS, HTTP_DURATION, RPC_CALLS, RPC_ERRORS, EVENTS_APPENDED, EVENTS_RELAYED,
           INBOX_DELIVERIES, MAILS, SLA_ALERTS, USAGE_RECORDS)


def exposed_names():
    """Every series name a scrape may show (a counter's `_total`, a histogram's `_bucket`, `_sum`,
    `_count`): what dashboards and alert rules may name."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    names = {sampled.name for sampled in SAMPLED}
    for metric in COUNTED:
        for family in metric.describe():
            names.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
    return names


# -- the hooks the library calls ----------------------------------------------------------------
def http_answered(service, route, method, status, seconds):
    HTTP_REQUESTS.labels(service, route, method, str(status)).inc()
    HTTP_DURATION.labels(service, route, method).observe(seconds)


def rpc_answered(service, method, exc_info):
    RPC_CALLS.labels(service, method).inc()
    if exc_info is not None:
        RPC_ERRORS.labels(service, method, exc_info[0].__name__).inc()


# -- the gauges: one Probe per nameko container, read at scrape time ----------------------------
class Probe:
    """What a service's container can tell about itself at scrape time, and whether it is ready.
    Built by `helpdesk.extensions.Metrics` from the container's parts:

    `relays()`: {relay: {"behind", "waiting_seconds"}} (helpdesk.relay.lag) or {};
    `subscriptions`: [(source, queue name, dlq name, newest())], newest() the epoch seconds of the
    newest event handled (None: none yet);
    `depths(queue names)`: {queue: messages ready}; `parked()`: {source: events parked};
    `checks`: [(what, check())], each raising unless it reaches what it names.
    Until a queue is first seen, "seen empty" is the probe's start (a restart's backlog reads
    younger until the consumer handles an event)."""

    def __init__(self, service, relays=dict, subscriptions=(), depths=None, parked=dict, checks=(),
                 clock=time.time):
        self.service, self.relays, self.subscriptions = service, relays, list(subscriptions)
        self.depths, self.parked, self.checks, self.clock = depths, parked, list(checks), clock
        self._lock = threading.Lock()  # green under eventlet: a scrape and a ping at once
        started = clock()
        self._seen_empty = {queue: started for _, queue, _, _ in self.subscriptions}

    def consumer_lag(self):
        """{source: {"queue", "waiting", "lag_seconds"}} of each subscription (CONSUMER_LAG_SECONDS)."""
        if not self.subscriptions:
            return {}
        with self._lock:
            depths = self.depths([queue for _, queue, _, _ in self.subscriptions])
            now, lags = self.clock(), {}
            for source, queue, _, newest in self.subscriptions:
                waiting = depths[queue]
                if not waiting:
                    self._seen_empty[queue] = now
                    lag = 0.0
                else:
                    lag = max(0.0, now - max(self._seen_empty[queue], newest() or 0.0))
                lags[source] = {"queue": queue, "waiting": waiting, "lag_seconds": round(lag, 3)}
            return lags

    def dead_letters(self):
        """{dlq name: messages}."""
        names = [dlq for _, _, dlq, _ in self.subscriptions]
        return self.depths(names) if names else {}

    def unready(self):
        """What the service does not reach now (empty: ready)."""
        missing = []
        for what, check in self.checks:
            try:
                check()
            except Exception as exc:
                log.warning("%s: not ready: %s unreachable (%s: %s)", self.service, what, type(exc).__name__, exc)
                missing.append(what)
        return missing

    def families(self):
        """The SAMPLED gauges' families of this service (a part that fails is left out, logged)."""
        values = {sampled: [] for sampled in SAMPLED}
        service = self.service
        for read in (self._relay_values, self._consumer_values, self._parked_values, self._dlq_values):
            try:
                for sampled, labels, value in read():
                    values[sampled].append(((service, *labels), value))
            except Exception as exc:
                log.warning("%s: metrics: %s failed (%s: %s)", service, read.__name__, type(exc).__name__, exc)
        return values

    def _relay_values(self):
        for relay, lag in self.relays().items():
            yield RELAY_LAG_EVENTS, (relay,), lag["behind"]
            yield RELAY_LAG_SECONDS, (relay,), lag["waiting_seconds"]

    def _consumer_values(self):
        for source, lag in self.consumer_lag().items():
            yield CONSUMER_WAITING, (source,), lag["waiting"]
            yield CONSUMER_LAG_SECONDS, (source,), lag["lag_seconds"]

    def _parked_values(self):
        for source, count in self.parked().items():
            yield INBOX_PARKED, (source,), count

    def _dlq_values(self):
        for queue, count in self.dead_letters().items():
            yield DLQ_MESSAGES, (queue,), count


_probes = []  # of every container of this process that has Metrics()
_probes_lock = threading.Lock()


class _ProbesCollector:
    """Puts the probes' gauges into every scrape of REGISTRY."""

    def describe(self):
        return [GaugeMetricFamily(s.name, s.documentation, labels=s.labels) for s in SAMPLED]

    def collect(self):
        with _probes_lock:
            probes = list(_probes)
        families = {s: GaugeMetricFamily(s.name, s.documentation, labels=s.labels) for s in SAMPLED}
        for probe in probes:
            for sampled, values in probe.families().items():
                for labels, value in values:
                    families[sampled].add_metric([str(label) for label in labels], float(value))
        return list(families.values())


REGISTRY.register(_ProbesCollector())


def add_probe(probe):
    with _probes_lock:
        _probes.append(probe)


def remove_probe(probe):
    with _probes_lock:
        if probe in _probes:
            _probes.remove(probe)


def render():
    """(body, content type) of a scrape of REGISTRY."""
    return prometheus_client.generate_latest(REGISTRY), prometheus_client.CONTENT_TYPE_LATEST


def application(environ, start_response):
    """The endpoint as a WSGI application (served by `Endpoint`)."""
    path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
    if method not in ("GET", "HEAD"):
        status, body, content_type = "405 Method Not Allowed", b"GET only\n", "text/plain"
    elif path == "/metrics":
        status = "200 OK"
        body, content_type = render()
    elif path == "/healthz/live":
        status, body, content_type = "200 OK", b"live\n", "text/plain"
    elif path == "/healthz/ready":
        with _probes_lock:
            probes = list(_probes)
        missing = {probe.service: unready for probe in probes if (unready := probe.unready())}
        status = "503 Service Unavailable" if missing or not probes else "200 OK"
        body = json.dumps({"ready": not missing and bool(probes), "services": sorted(p.service for p in probes),
                           "unreachable": missing}).encode()
        content_type = "application/json"
    else:
        status, body, content_type = "404 Not Found", b"/metrics, /healthz/live, /healthz/ready\n", "text/plain"
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [b"" if method == "HEAD" else body]


def port_from(config):
    """METRICS_PORT of the settings as an int; 0 (no endpoint) when unset, empty or 0."""
    value = str(config.get("METRICS_PORT") or "").strip()
    return int(value) if value else 0


class Endpoint:
    """The process's endpoint on one port, served by eventlet.wsgi in a green thread (as nameko's
    own web server is: prometheus_client's start_http_server would be a threaded server under
    monkey patching). Shared by the process's containers: started by the first, stopped with the
    last (`Endpoint.use(port)` / `release()`)."""

    _open = {}  # port -> Endpoint
    _lock = threading.Lock()

    def __init__(self, port, host="0.0.0.0"):
        import eventlet
        import eventlet.wsgi

        self.requested, self.users = port, 0
        self.socket = eventlet.listen((host, port))
        self.port = self.socket.getsockname()[1]
        self.thread = eventlet.spawn(eventlet.wsgi.server, self.socket, application, log_output=False,
                                     max_size=16)

    @classmethod
    def use(cls, port):
        with cls._lock:
            endpoint = cls._open.get(port)
            if endpoint is None:
                endpoint = cls._open[port] = cls(port)
                log.info("metrics and health on port %d (/metrics, /healthz/live, /healthz/ready)", endpoint.port)
            endpoint.users += 1
            return endpoint

    def release(self):
        with self._lock:
            self.users -= 1
            if self.users:
                return
            del self._open[self.requested]
        self.thread.kill()
        self.socket.close()


def serve_in_thread(port, host="0.0.0.0"):
    """The endpoint for a process without eventlet (the inbound SMTP endpoint runs asyncio): the
    standard library's WSGI server in a daemon thread. Returns the server (its `server_port`)."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            """Prometheus scrapes every few seconds: no access-log line for each (the default
            writes one to stderr per request)."""

    server = make_server(host, port, application, handler_class=Quiet)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("metrics and health on port %d (/metrics, /healthz/live, /healthz/ready)", server.server_port)
    return server
