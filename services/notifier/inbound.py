"""Inbound mail: the SMTP endpoint the provider's mail server forwards replies to.

    python -m services.notifier.inbound     # on INBOUND_SMTP_HOST:INBOUND_SMTP_PORT (config.yaml; 127.0.0.1:2526)

It takes mail only for the reply addresses of INBOUND_DOMAIN (`reply+<token>@…`, and the bare
`reply@…` that some systems leave after stripping "+tags"); any other recipient is refused with
550. On DATA the raw message, base64 in a JSON body with the envelope and the time received, is
published to the durable queue `notifier.inbound`, persistent and confirmed by the broker, and
only then does the client hear 250: nothing acknowledged is ever lost. When the broker does not
confirm, the answer is 451 and the sending server tries again later.

The size limit (INBOUND_MAX_BYTES, default 8 MiB) is well above the 2 MB attachment limit: a mail
with a 3 MB file (about 4.2 MB once base64-encoded) still arrives, so its sender can be told why
the file was refused, instead of getting a bare SMTP error.

`services.notifier.inbound_service.InboundMailService` consumes the queue. The queue's retry and
dead-letter queues (`notifier.inbound.retry.<n>s`, `notifier.inbound.dlq`) follow the
subscriptions' pattern, so `python -m helpdesk.dlq show|replay notifier.inbound` works for it.

**Health.** `NOOP health` (a NOOP with that argument, which RFC 5321 allows) answers 250 only
while the broker takes mail for the queue (a passive declare through the same publisher), else
451: the gateway's `/api/v1/health` probes the endpoint this way (`services.gateway.health`). The
publisher reconnects by itself after a broker restart (helpdesk.messaging.Publisher).

Recipient addresses carry tokens: they are never logged (aiosmtpd's own INFO log of recipients is
turned down to WARNING).
"""
import asyncio
import base64
import datetime as dt
import logging
import uuid


from helpdesk.contracts import INBOUND_HEALTH_PROBE
from helpdesk.smtpserver import serve
from helpdesk import metrics
from helpdesk.messaging import CLASSIC, Publisher, queue_type, retrying_queues

from . import INBOUND_QUEUE
from .replies import LOCAL_PREFIX, is_reply_address

log = logging.getLogger(__name__)

QUEUE = INBOUND_QUEUE
DEFAULT_DOMAIN = "replies.helpdesk.local"
DEFAULT_MAX_BYTES = 8 * 1024 * 1024


def inbound_queues(retry_delays, kind=CLASSIC):
    """(main queue, retry queues, dead-letter queue): the subscriptions' pattern
    (helpdesk.messaging), for a queue fed through the default exchange."""
    return retrying_queues(QUEUE, retry_delays, kind)


class InboundHandler:
    """aiosmtpd handler: reply addresses only; DATA answered 250 only once the broker has it."""

    def __init__(self, publisher, domain, kind=CLASSIC):
        self.publisher, self.domain = publisher, domain.lower()
        self.queue = inbound_queues((), kind)[0]  # declared as the consumer declares it

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        # aiosmtpd keeps the null sender <> as "", which it then takes for "no MAIL yet". Bounces
        # and DSNs come from <>: they are accepted here and dropped, logged, by the consumer.
        envelope.mail_from = address or "<>"
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_NOOP(self, server, session, envelope, arg):
        if (arg or "").strip().lower() != INBOUND_HEALTH_PROBE:
            return "250 OK"
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.publisher.check, QUEUE)
        except Exception as exc:
            log.warning("health probe: the broker does not take mail (%r)", exc)
            return "451 4.3.0 Cannot queue mail now: the broker is unreachable"
        return "250 2.0.0 OK: mail is being queued"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if not is_reply_address(address, self.domain):
            return (f"550 5.1.1 No such mailbox: this server only takes replies to helpdesk mails "
                    f"({LOCAL_PREFIX}+...@{self.domain})")
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = {
            "id": uuid.uuid4().hex,
            "mail_from": "" if envelope.mail_from == "<>" else envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "received_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "data_base64": base64.b64encode(envelope.original_content or envelope.content).decode(),
        }
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.enqueue, message)
        except Exception as exc:
            log.error("could not queue an inbound mail (answered 451): %r", exc)
            return "451 4.3.0 Cannot take the message now; try again later"
        log.info("queued inbound mail %s (%d bytes)", message["id"], len(envelope.original_content or b""))
        return f"250 2.0.0 Queued as {message['id']}"

    def enqueue(self, message):
        """Published persistent with a confirm; the queue is declared first (idempotent), so the
        message can never go to an exchange with nowhere to put it."""
        self.publisher.declare(self.queue)
        self.publisher.publish(message, routing_key=QUEUE, message_id=message["id"])


def main():

    from helpdesk import config

    settings = config.load()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # it logs recipients: tokens
    host = settings.get("INBOUND_SMTP_HOST") or "127.0.0.1"
    port = int(settings.get("INBOUND_SMTP_PORT") or 2526)
    limit = int(settings.get("INBOUND_MAX_BYTES") or DEFAULT_MAX_BYTES)
    domain = settings.get("INBOUND_DOMAIN") or DEFAULT_DOMAIN
    publisher = Publisher(settings["AMQP_URI"])
    if metrics.port_from(settings):  # ready while the broker takes mail for the queue, as NOOP health says
        metrics.add_probe(metrics.Probe("inbound_smtp", checks=[("broker", lambda: publisher.check(QUEUE))]))
        metrics.serve_in_thread(metrics.port_from(settings))
    try:
        serve(InboundHandler(publisher, domain, queue_type(settings)), host, port,
              f"inbound SMTP on {host}:{port} for {LOCAL_PREFIX}+...@{domain}, to queue {QUEUE}",
              data_size_limit=limit, enable_SMTPUTF8=True)
    finally:
        publisher.close()


if __name__ == "__main__":
    main()
