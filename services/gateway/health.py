"""The system's health, as `/api/v1/health` reports it: every process answers, and the outbox
relays keep up.

- every nameko service answers `ping` (its workers and database);
- the inbound mail endpoint, a process of its own, answers `NOOP health` with 250, which it
  does only while the broker takes its mail (services/notifier/inbound.py);
- no relay's oldest unpublished event has waited more than HEALTH_RELAY_MAX_WAIT seconds (the
  services' pings say how far behind their relays are: helpdesk.relay.lag). A relay that stopped
  (its broker channel stuck, its process hung) shows here even when few events are waiting.

`judge` is pure; `probe_inbound` is the one network call of its own.
"""
import smtplib

from helpdesk.contracts import INBOUND_HEALTH_PROBE

DEFAULT_RELAY_MAX_WAIT = 30.0
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


def judge(statuses, relays, max_wait):
    """(body, HTTP status) from each process's status and each relay's lag."""
    judged = {name: dict(lag, status="ok" if lag["waiting_seconds"] <= max_wait else "behind")
              for name, lag in sorted(relays.items())}
    healthy = (all(status == "ok" for status in statuses.values())
               and all(relay["status"] == "ok" for relay in judged.values()))
    body = {"status": "ok" if healthy else "degraded", "services": statuses, "relays": judged}
    return body, 200 if healthy else 503
