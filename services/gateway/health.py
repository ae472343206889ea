"""The system's health, as `/api/v1/health` reports it: every process answers, the outbox
relays keep up, and so do the consumers.

- every nameko service answers `ping` (its workers and database);
- the inbound mail endpoint, a process of its own, answers `NOOP health` with 250, which it
  does only while the broker takes its mail (services/notifier/inbound.py);
- no relay's oldest unpublished event has waited more than HEALTH_RELAY_MAX_WAIT seconds (the
  services' pings say how far behind their relays are: helpdesk.relay.lag). A relay that stopped
  (its broker channel stuck, its process hung) shows here even when few events are waiting;
- no subscription's consumer lags more than HEALTH_CONSUMER_MAX_LAG seconds (the pings of services
  with subscriptions say, per subscription queue, how many messages wait and how long the oldest
  has waited at most: helpdesk.metrics.Probe.consumer_lag).

`judge` is pure; `probe_inbound` is the one network call of its own.
"""
import smtplib

from helpdesk.contracts import INBOUND_HEALTH_PROBE

DEFAULT_RELAY_MAX_WAIT = 30.0
DEFAULT_CONSUMER_MAX_LAG = 60.0
INBOUND = "inbound_smtp"


def inbound_address(config):
    """(host, port) of the inbound endpoint to probe, or None when the system takes no mail."""
    address = str(config.get("INBOUND_HEALTH_ADDRESS") or "").strip()
    if address.lower() == "off":
        return None
    if address:
        host, _, port = address.rpartition(":")
        return host or "127.0.0.1", int(port)
    return str(config.get("INBOUND_SMTP_HOST") or "127.0.0.1"), int(config.get("INBOUND_SMTP_PORT") or 2526)


def probe_inbound(address, timeout):
    """"ok" when the endpoint answers NOOP health with 250; else what went wrong."""
    try:
        with smtplib.SMTP(address[0], address[1], timeout=timeout) as smtp:
            code, _ = smtp.docmd("NOOP", INBOUND_HEALTH_PROBE)
    except (OSError, smtplib.SMTPException):
        return "down"
    return "ok" if code == 250 else "broker_unreachable"


def judge(statuses, relays, max_wait, consumers=None, max_consumer_lag=DEFAULT_CONSUMER_MAX_LAG):
    """(body, HTTP status) from each process's status, each relay's lag and each subscription's
    consumer lag (`consumers`: queue name -> {"waiting", "lag_seconds"})."""
    judged = {name: dict(lag, status="ok" if lag["waiting_seconds"] <= max_wait else "behind")
              for name, lag in sorted(relays.items())}
    lagging = {name: dict(lag, status="ok" if lag["lag_seconds"] <= max_consumer_lag else "behind")
               for name, lag in sorted((consumers or {}).items())}
    healthy = (all(status == "ok" for status in statuses.values())
               and all(part["status"] == "ok" for part in (*judged.values(), *lagging.values())))
    body = {"status": "ok" if healthy else "degraded", "services": statuses, "relays": judged,
            "consumers": lagging}
    return body, 200 if healthy else 503


def settings(config):
    """(HEALTH_RELAY_MAX_WAIT, HEALTH_CONSUMER_MAX_LAG) of the settings, in seconds."""
    return (float(config.get("HEALTH_RELAY_MAX_WAIT") or DEFAULT_RELAY_MAX_WAIT),
            float(config.get("HEALTH_CONSUMER_MAX_LAG") or DEFAULT_CONSUMER_MAX_LAG))
