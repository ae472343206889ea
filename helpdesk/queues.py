"""The broker's durable queues of the helpdesk: which type each is, and changing them all to the
configured type (BROKER.queue_type) on a broker that has them of the other one.

    python -m helpdesk.queues status              # every queue of ours: type, messages
    python -m helpdesk.queues convert             # to BROKER.queue_type (QUEUE_TYPE), or:
    python -m helpdesk.queues convert --to quorum

RabbitMQ cannot change a queue's type, and refuses to declare a queue again with other
arguments: a service started with `quorum` on a broker whose queues are classic stops at its
first declare (PRECONDITION_FAILED). `convert` is for that moment, with every service stopped
(nothing consumes; events not yet relayed wait in each service's outbox). For each queue it
moves the messages to a holding queue `<name>.converting` of the new type, deletes the queue,
declares it again as the services declare it (type, arguments, binding), and moves the messages
back, in order, headers kept. Each move publishes with a confirm before it acks, so a crash
duplicates a message, never loses one (consumers' inboxes absorb duplicates); run it again after
a crash and it finishes the queue it was on (a holding queue left behind is emptied first).

The queues: every subscription (main, retries, dead letters: helpdesk.migrate.consumed_queues),
the services' own (the notifier's inbound mail), and nameko's RPC request queues (`rpc-<service>`,
found on the broker). RPC reply queues are transient and are not touched.
"""
import argparse
import sys
from urllib.parse import quote, unquote, urlsplit

import kombu
import requests
from nameko.rpc import get_rpc_exchange

from . import config
from .messaging import CLASSIC, QUEUE_TYPES, Publisher, durable_queue, move_messages, queue_type

HOLDING_SUFFIX = ".converting"


class Broker:
    """The management API of the vhost of `amqp_uri` (what the queues are) and AMQP (what is in them)."""

    def __init__(self, amqp_uri, management_url):
        self.amqp_uri = amqp_uri
        path = urlsplit(amqp_uri).path
        self.vhost = unquote(path[1:]) if len(path) > 1 else "/"
        parts = urlsplit(management_url)
        self.api = f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}{parts.path.rstrip('/')}/api"
        self.auth = (unquote(parts.username or "guest"), unquote(parts.password or "guest"))

    def queues(self):
        """{name: (type, messages)} of every queue of the vhost."""
        found = requests.get(f"{self.api}/queues/{quote(self.vhost, safe='')}", auth=self.auth, timeout=10)
        found.raise_for_status()
        return {queue["name"]: (queue.get("type") or CLASSIC, queue.get("messages") or 0) for queue in found.json()}


def wanted_queues(settings, kind, existing):
    """Every durable queue of ours as the services declare it with type `kind`, by name."""
    from .extensions import consumer_settings
    from .migrate import consumed_queues

    queues = {}
    for main, retries, dlq in consumed_queues(consumer_settings(settings)["retry_delays"], kind=kind):
        queues.update({queue.name: queue for queue in (main, *retries, dlq)})
    exchange = get_rpc_exchange(settings)
    for name in existing:
        if name.startswith("rpc-"):  # nameko's RpcConsumer: rpc-<service>, bound on "<service>.*"
            queues[name] = durable_queue(name, kind, exchange=exchange, routing_key=f"{name[4:]}.*", consumed=True)
    return queues


def convert(settings, kind, report=print):
    """Brings every queue of ours to type `kind`; returns {queue: messages moved} of those changed."""
    if kind not in QUEUE_TYPES:
        raise ValueError(f"unknown queue type {kind!r}")
    broker = Broker(settings["AMQP_URI"], settings["RABBIT_MANAGEMENT_URL"])
    existing = broker.queues()
    changed = {}
    publisher = Publisher(settings["AMQP_URI"])
    try:
        with kombu.Connection(settings["AMQP_URI"]) as connection:
            for name, queue in sorted(wanted_queues(settings, kind, existing).items()):
                holding, current = name + HOLDING_SUFFIX, existing.get(name)
                if holding not in existing and (current is None or current[0] == kind):
                    continue  # as wanted, or not there (declared as wanted when the services start)
                channel = connection.default_channel
                if current is not None and current[0] != kind:
                    if holding not in existing:
                        durable_queue(holding, kind)(channel).declare()
                    move_messages(connection, publisher, name, holding)
                    channel.queue_delete(name)
                queue(channel).declare()
                changed[name] = move_messages(connection, publisher, holding, name)
                channel.queue_delete(holding)
                report(f"{name}: {current[0] if current else 'absent'} -> {kind} ({changed[name]} messages kept)")
    finally:
        publisher.close()
    return changed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="every queue of ours, its type and messages")
    converting = commands.add_parser("convert", help="every queue of ours to one type (services stopped)")
    converting.add_argument("--to", choices=QUEUE_TYPES, help="default: BROKER.queue_type (QUEUE_TYPE)")
    args = parser.parse_args(argv)
    settings = config.load()
    if args.command == "status":
        existing = Broker(settings["AMQP_URI"], settings["RABBIT_MANAGEMENT_URL"]).queues()
        for name in sorted(wanted_queues(settings, queue_type(settings), existing)):
            kind, messages = existing.get(name, ("absent", 0))
            print(f"{name}\t{kind}\t{messages}")
        return 0
    changed = convert(settings, args.to or queue_type(settings))
    print(f"{len(changed)} queues converted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
