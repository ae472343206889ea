"""Dead-letter queues: list them, show why messages died, and replay them once the fault is fixed.

    python -m helpdesk.dlq list                       # every *.dlq queue with its depth
    python -m helpdesk.dlq show notifier.from.tickets # the messages and their last error
    python -m helpdesk.dlq replay notifier.from.tickets [--limit N]

Replay moves each message back to the subscription's main queue with its retry count reset,
publishing (confirmed) before acking, so a crash mid-replay duplicates, never loses; the
consumer's inbox absorbs the duplicate.
"""
import argparse
import json
import sys
from urllib.parse import quote

import kombu
import requests

from . import config
from .messaging import ERROR_HEADER, RETRY_COUNT_HEADER, Publisher, dead_letter_queue_name, move_messages


def list_dead_letter_queues(management_url):
    response = requests.get(f"{management_url.rstrip('/')}/api/queues", timeout=10)
    response.raise_for_status()
    return sorted(
        (queue["vhost"], queue["name"], queue.get("messages", 0))
        for queue in response.json()
        if queue["name"].endswith(".dlq")
    )


def _drain(amqp_uri, queue_name, limit):
    """Yields (message) from `queue_name` without acking; the caller acks or requeues."""
    with kombu.Connection(amqp_uri) as connection:
        channel = connection.channel()
        queue = kombu.Queue(queue_name, durable=True)(channel)
        for _ in range(limit):
            message = queue.get(no_ack=False)
            if message is None:
                return
            yield message


def show(amqp_uri, subscription, limit=50):
    shown = []
    for message in _drain(amqp_uri, dead_letter_queue_name(subscription), limit):
        headers = message.headers or {}
        shown.append({
            "message_id": message.properties.get("message_id"),
            "retries": headers.get(RETRY_COUNT_HEADER),
            "error": headers.get(ERROR_HEADER),
            "body": message.body.decode() if isinstance(message.body, bytes) else message.body,
        })
        # not acked: every message returns to the DLQ, in order, when the connection closes
    return shown


def replay(amqp_uri, subscription, limit=10_000):
    """Moves up to `limit` dead letters back to `subscription`'s queue. Returns how many."""
    publisher = Publisher(amqp_uri)
    try:
        with kombu.Connection(amqp_uri) as connection:
            return move_messages(connection, publisher, dead_letter_queue_name(subscription), subscription, limit,
                                 drop_headers=(RETRY_COUNT_HEADER, ERROR_HEADER, "x-death", "x-delivery-count"))
    finally:
        publisher.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list")
    for name in ("show", "replay"):
        command = sub.add_parser(name)
        command.add_argument("subscription", help="main queue name, e.g. notifier.from.tickets")
        command.add_argument("--limit", type=int, default=50 if name == "show" else 10_000)
    args = parser.parse_args(argv)
    settings = config.load()
    if args.command == "list":
        for vhost, name, depth in list_dead_letter_queues(settings["RABBIT_MANAGEMENT_URL"]):
            print(f"{depth:8d}  {name}  (vhost {quote(vhost, safe='')})")
    elif args.command == "show":
        print(json.dumps(show(settings["AMQP_URI"], args.subscription, args.limit), indent=2))
    else:
        moved = replay(settings["AMQP_URI"], args.subscription, args.limit)
        print(f"replayed {moved} message(s) into {args.subscription}")


if __name__ == "__main__":
    sys.exit(main())
