#!/usr/bin/env python3
"""Billing ledger consumer: an example of a non-nameko consumer of the helpdesk's billing contract.

The helpdesk's `sla` service publishes the usage records of the "Soporte 24 Horas" department
on the durable topic exchange `billing` (the contract: docs/asyncapi.yaml). This program keeps
its own durable queue bound to `support24h.usage.*.v1` and appends every message, once, to a
JSON Lines ledger: one line per message, the message body as published plus `received_at`.

Guarantees, and how they are kept:

* Nothing acknowledged is lost: a message is acked only after its ledger line has been written,
  flushed and fsync'ed. A crash before the ack means the broker delivers the message again.
* Each message is in the ledger once, even when it is delivered more than once (RabbitMQ
  delivers at least once: redeliveries after a crash or a lost connection, a publisher that
  retried). The dedupe key is the body's `message_id` (equal to the AMQP `message_id` property).
  At start-up every message_id already in the ledger is loaded, so duplicates are absorbed
  across restarts too.
* Malformed messages are never dropped silently: they are rejected without requeue, and the
  queue's dead-letter exchange (`billing.dlx`, fanout) puts them in `billing.ledger.dlq`, where
  they stay visible (RabbitMQ dashboard) until someone looks at them.
* The consumer records; it does not interpret. Whether a record is billable is the publisher's
  decision (`data.billable`, `data.reason`), kept exactly as given.

Run one consumer per ledger file (a lock on the file enforces it) and one ledger per queue.

    python billing_consumer.py --amqp-url amqp://user:pass@host:5672/vhost --ledger ledger.jsonl
    python billing_consumer.py --once ...             # drain the queue and exit (cron)
    python billing_consumer.py --declare-only ...     # create exchange + queues, then exit
    python billing_consumer.py --effective --ledger ledger.jsonl   # the records that stand now

Exit status: 0 stopped normally (signal, idle); 1 broker unreachable or lost in --once /
--idle-exit mode; 2 configuration or broker-side refusal (e.g. a queue declared with other
arguments); 3 the ledger is locked by another consumer or is corrupt.
"""
import argparse
import contextlib
import csv
import datetime as dt
import fcntl
import json
import logging
import os
import signal
import sys
import time
import urllib.parse
import uuid

import pika
import pika.exceptions

log = logging.getLogger("billing_consumer")

# --- The contract (docs/asyncapi.yaml) -----------------------------------------------------------
EXCHANGE = "billing"                       # durable topic; publisher and consumers declare it alike
BINDING_KEY = "support24h.usage.*.v1"      # recorded.v1 and corrected.v1 (and later v1 additions)
RECORDED = "Support24hUsageRecorded"
CORRECTED = "Support24hUsageCorrected"

# --- This consumer's own topology ----------------------------------------------------------------
DEFAULT_QUEUE = "billing.ledger"
DEFAULT_DEAD_LETTER_EXCHANGE = "billing.dlx"
PREFETCH = 50                              # unacked messages the broker may hand us at once
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
RECONNECT_DELAY = 5.0                      # seconds between reconnection attempts (daemon mode)

# --- The optional CSV view: one row per ledger line, `data` flattened ----------------------------
CSV_COLUMNS = [
    "message_id", "type", "schema_version", "occurred_at", "received_at",
    "usage_id", "corrects", "ticket_id", "ticket_reference", "customer_id", "customer_email",
    "company_id", "opened_at", "resolved_at", "wall_minutes", "business_minutes", "urgency",
    "provider_fault", "billable", "reason",
]
ENVELOPE_COLUMNS = CSV_COLUMNS[:5]

EXIT_OK, EXIT_BROKER, EXIT_CONFIG, EXIT_LEDGER = 0, 1, 2, 3


class Invalid(ValueError):
    """A message that cannot go in the ledger: it is dead-lettered, never requeued."""


class LedgerError(Exception):
    """The ledger cannot be used: locked by another process, or a complete line is not JSON."""


# =================================================================================================
# Validation
# =================================================================================================

def _refuse_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def canonical_id(value):
    """The dedupe key: a message_id in canonical UUID form, or Invalid."""
    if not isinstance(value, str):
        raise Invalid("message_id missing or not a string")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise Invalid(f"message_id {value[:64]!r} is not a UUID") from None


def parse_message(body, properties=None):
    """The message body as a dict, or Invalid saying why not.

    Deliberately minimal: a JSON object with a UUID `message_id` and a string `type`. Unknown
    fields are kept (additive changes stay on v1, see the contract), and the ledger records
    what was published rather than judging it.
    """
    try:
        message = json.loads(body, parse_constant=_refuse_constant)  # bytes: UTF-8/16/32 detected
    except (UnicodeDecodeError, ValueError) as error:
        raise Invalid(f"body is not JSON: {error}") from None
    if not isinstance(message, dict):
        raise Invalid(f"body is a JSON {type(message).__name__}, not an object")
    key = canonical_id(message.get("message_id"))
    if not isinstance(message.get("type"), str) or not message["type"]:
        raise Invalid("type missing or not a string")
    # The AMQP property and the body must name the same message, or the dedupe key is ambiguous.
    property_id = getattr(properties, "message_id", None)
    if property_id is not None and canonical_id(property_id) != key:
        raise Invalid(f"AMQP message_id {property_id!r} differs from the body's {key}")
    if "received_at" in message:
        raise Invalid("received_at is reserved for the ledger")
    return message


# =================================================================================================
# The ledger
# =================================================================================================

def read_ledger(path):
    """Yield the records of a ledger in order. A torn last line (no newline: a write cut short,
    whose message was therefore never acked) is skipped; any other bad line is LedgerError."""
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return
    with handle:
        for number, raw in enumerate(handle, 1):
            if not raw.endswith(b"\n"):
                return
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
                canonical_id(record["message_id"])
            except (ValueError, KeyError, TypeError) as error:
                raise LedgerError(f"{path}:{number}: not a ledger record ({error})") from None
            yield record


def _fsync_directory(path):
    """Make a file's creation or rename durable: fsync the directory that holds it."""
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Ledger:
    """Append-only JSON Lines file with the set of message_ids it holds.

    `open()` takes an exclusive lock (a second consumer on the same file would each keep its own
    set of ids and could write a message twice), cuts a torn last line, loads the ids and
    rebuilds the CSV view. `append()` returns only once the line is on disk.
    """

    def __init__(self, path, csv_path=None):
        self.path = path
        self.csv_path = csv_path
        self._file = None
        self._csv = None
        self._csv_writer = None
        self._seen = set()

    def open(self):
        existed = os.path.exists(self.path)
        self._file = open(self.path, "ab")          # O_APPEND: every write goes to the end
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            raise LedgerError(f"{self.path} is locked by another consumer") from None
        if not existed:
            _fsync_directory(self.path)
        self._cut_torn_tail()
        self._seen = {canonical_id(record["message_id"]) for record in read_ledger(self.path)}
        log.info("ledger %s: %d messages already recorded", self.path, len(self._seen))
        if self.csv_path:
            self._rebuild_csv()
        return self

    def __contains__(self, message_id):
        return message_id in self._seen

    def __len__(self):
        return len(self._seen)

    def append(self, message):
        """Write `message` + received_at as one line and wait until it is on disk."""
        record = dict(message)
        record["received_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")
        # json.dumps escapes newlines inside strings, so a record is always exactly one line.
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        self._file.write(line.encode("utf-8"))
        self._file.flush()                          # Python's buffer -> the kernel
        os.fsync(self._file.fileno())               # the kernel -> the disk
        self._seen.add(canonical_id(record["message_id"]))
        if self._csv_writer:
            # The CSV is a view: if we crash before this row is written, the next start rebuilds
            # it from the ledger, so it needs no fsync of its own.
            self._csv_writer.writerow(csv_row(record))
            self._csv.flush()
        return record

    def close(self):
        for handle in (self._csv, self._file):      # closing the ledger also releases the lock
            if handle:
                handle.close()
        self._file = self._csv = self._csv_writer = None

    def _cut_torn_tail(self):
        """A crash in the middle of a write can leave a last line without its newline. Its message
        was not acked (we ack after fsync), so the broker will deliver it again: drop the
        fragment, or the next append would be glued to it."""
        offset = 0
        with open(self.path, "rb") as handle:
            for raw in handle:
                if not raw.endswith(b"\n"):
                    log.warning("ledger %s: cutting a torn last line of %d bytes at offset %d "
                                "(never acknowledged; the broker redelivers it)",
                                self.path, len(raw), offset)
                    os.ftruncate(self._file.fileno(), offset)
                    os.fsync(self._file.fileno())
                    return
                offset += len(raw)

    def _rebuild_csv(self):
        """Rewrite the CSV from the ledger (atomically: temp file + rename), then keep appending.
        Rebuilding at every start makes the CSV idempotent too: one row per ledger line."""
        temporary = self.csv_path + ".tmp"
        with open(temporary, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for record in read_ledger(self.path):
                writer.writerow(csv_row(record))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.csv_path)
        _fsync_directory(self.csv_path)
        self._csv = open(self.csv_path, "a", newline="", encoding="utf-8")
        self._csv_writer = csv.writer(self._csv)


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        # Spreadsheets run cells starting with these as formulas (CSV injection): quote them.
        return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
    return json.dumps(value, ensure_ascii=False)  # a nested value (not in v1): kept as JSON


def csv_row(record):
    data = record.get("data") if isinstance(record.get("data"), dict) else {}
    return [_csv_cell(record.get(column) if column in ENVELOPE_COLUMNS else data.get(column))
            for column in CSV_COLUMNS]


# =================================================================================================
# Reading the ledger for billing
# =================================================================================================

def _occurred(record):
    try:
        moment = dt.datetime.fromisoformat(record.get("occurred_at"))
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    except (TypeError, ValueError):
        return dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def effective_records(records):
    """The record that stands for each usage_id (usages in ledger order): a Corrected record
    replaces the one whose message_id it names in `data.corrects`; a record nothing corrects
    stands.

    This follows the `corrects` links rather than ledger order, so it does not matter if a
    correction happens to arrive before the record it corrects. Should two records of one usage
    both stand (not expected from the publisher), the later `occurred_at` wins.
    """
    records = [r for r in records if r.get("type") in (RECORDED, CORRECTED)
               and isinstance(r.get("data"), dict) and r["data"].get("usage_id")]
    corrected = set()
    for record in records:
        target = record["data"].get("corrects")
        if record["type"] == CORRECTED and target:
            try:
                corrected.add(canonical_id(target))
            except Invalid:
                log.warning("message %s corrects %r, which is not a UUID",
                            record["message_id"], target)
    standing = {record["data"]["usage_id"]: None for record in records}  # first-seen order
    for record in records:
        if canonical_id(record["message_id"]) in corrected:
            continue
        usage = record["data"]["usage_id"]
        if standing[usage] is not None:
            log.warning("usage %s: two uncorrected records (%s, %s); the later occurred_at wins",
                        usage, standing[usage]["message_id"], record["message_id"])
            if _occurred(record) < _occurred(standing[usage]):
                continue
        standing[usage] = record
    for usage in [usage for usage, record in standing.items() if record is None]:
        # Every record of this usage is corrected by another: the links form a loop.
        log.warning("usage %s: every record is corrected by another (a loop); left out", usage)
        del standing[usage]
    return list(standing.values())


# =================================================================================================
# AMQP
# =================================================================================================

def describe(url):
    """The broker URL without its password, for logs."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{':%d' % parts.port if parts.port else ''}{parts.path or '/'}"


def connect(url):
    parameters = pika.URLParameters(url)
    parameters.client_properties = {"connection_name": "billing-consumer"}  # shown in the dashboard
    return pika.BlockingConnection(parameters)


def queue_arguments(queue_type, arguments=None):
    """A queue's arguments of `queue_type`: `quorum` in a RabbitMQ cluster (replicated, so the loss
    of a node loses no usage record; a message handed out 20 times without an ack is
    dead-lettered, at least once, instead of looping), `classic` on one node."""
    arguments = dict(arguments or {})
    if queue_type == "quorum":
        arguments["x-queue-type"] = "quorum"
        if "x-dead-letter-exchange" in arguments:
            arguments.update({"x-delivery-limit": 20, "x-dead-letter-strategy": "at-least-once",
                              "x-overflow": "reject-publish"})
    return arguments or None


def declare_topology(channel, queue, dead_letter_exchange, queue_type="classic"):
    """Declare (idempotently) everything this consumer relies on.

    The `billing` exchange is declared with the publisher's arguments (topic, durable), so
    whichever side starts first creates it and the other's declaration is a no-op. Messages
    published before the queue exists are dropped by the exchange: declare the queue
    (`--declare-only`) before the publisher starts.
    """
    dead_letter_queue = f"{queue}.dlq"
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    channel.exchange_declare(dead_letter_exchange, exchange_type="fanout", durable=True)
    channel.queue_declare(dead_letter_queue, durable=True, arguments=queue_arguments(queue_type))
    channel.queue_bind(dead_letter_queue, dead_letter_exchange)
    # A rejected (nack, requeue=False) message goes to the dead-letter exchange, with the reason
    # and the queue it died in in its `x-death` header.
    channel.queue_declare(queue, durable=True,
                          arguments=queue_arguments(queue_type, {"x-dead-letter-exchange": dead_letter_exchange}))
    channel.queue_bind(queue, EXCHANGE, routing_key=BINDING_KEY)
    return dead_letter_queue


class StopFlag:
    """Set by SIGINT/SIGTERM. The consumer finishes the message in hand, then stops; a second
    signal stops at once (safe too: unacked messages are redelivered, a torn line is cut)."""

    def __init__(self):
        self.requested = False

    def install(self):
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, self._handle)

    def _handle(self, number, frame):
        if self.requested:
            raise SystemExit(128 + number)
        log.info("%s received: stopping after the current message", signal.Signals(number).name)
        self.requested = True

    def sleep(self, seconds):
        deadline = time.monotonic() + seconds
        while not self.requested and time.monotonic() < deadline:
            time.sleep(0.1)


def handle_delivery(channel, method, properties, body, ledger):
    """One delivery: dead-letter, ack a duplicate, or record then ack. Returns what happened."""
    try:
        message = parse_message(body, properties)
    except Invalid as reason:
        log.warning("dead-lettering delivery %d (routing key %s, message_id %s): %s",
                    method.delivery_tag, method.routing_key, properties.message_id, reason)
        channel.basic_reject(method.delivery_tag, requeue=False)
        return "dead-lettered"
    message_id = canonical_id(message["message_id"])
    if message_id in ledger:
        log.info("duplicate %s %s (redelivered=%s): acked, not recorded again",
                 message["type"], message_id, method.redelivered)
        channel.basic_ack(method.delivery_tag)
        return "duplicate"
    ledger.append(message)  # raises on I/O errors: we then exit without acking (no loss)
    channel.basic_ack(method.delivery_tag)
    log.debug("recorded %s %s", message["type"], message_id)
    return "recorded"


def consume(connection, args, ledger, stop):
    """Consume until stopped, or until the queue stayed idle for args.idle_exit seconds."""
    channel = connection.channel()
    declare_topology(channel, args.queue, args.dead_letter_exchange, args.queue_type)
    channel.basic_qos(prefetch_count=PREFETCH)
    # The generator yields (None, None, None) after `poll` seconds without a message, which lets
    # us notice a stop request or the idle deadline while waiting.
    poll = 0.5 if args.idle_exit is None else max(0.05, min(0.5, args.idle_exit))
    last_message = time.monotonic()
    counts = {"recorded": 0, "duplicate": 0, "dead-lettered": 0}
    log.info("consuming %s on %s (ledger %s)", args.queue, describe(args.amqp_url), ledger.path)
    try:
        for method, properties, body in channel.consume(args.queue, inactivity_timeout=poll):
            if method is not None:
                counts[handle_delivery(channel, method, properties, body, ledger)] += 1
                last_message = time.monotonic()
            elif args.idle_exit is not None and time.monotonic() - last_message >= args.idle_exit:
                log.info("queue idle for %.1f s: exiting", args.idle_exit)
                break
            if stop.requested:
                break
        channel.cancel()  # hands back (requeues) messages prefetched but not yet processed
    finally:
        log.info("this run: %(recorded)d recorded, %(duplicate)d duplicates, "
                 "%(dead-lettered)d dead-lettered", counts)


def run(args):
    """Main loop: open the ledger, connect, consume; reconnect when the broker goes away."""
    if args.effective:
        for record in effective_records(read_ledger(args.ledger)):
            print(json.dumps(record, ensure_ascii=False))
        return EXIT_OK
    if args.declare_only:
        try:
            with connect(args.amqp_url) as connection:
                dead_letter_queue = declare_topology(connection.channel(), args.queue,
                                                     args.dead_letter_exchange, args.queue_type)
        except pika.exceptions.ChannelClosedByBroker as error:
            log.error("the broker refused: %s", error)
            return EXIT_CONFIG
        except pika.exceptions.AMQPConnectionError as error:
            log.error("cannot connect to %s: %r", describe(args.amqp_url), error)
            return EXIT_BROKER
        log.info("declared exchange %s, queue %s (%s), dead letters %s -> %s",
                 EXCHANGE, args.queue, BINDING_KEY, args.dead_letter_exchange, dead_letter_queue)
        return EXIT_OK

    ledger = Ledger(args.ledger, args.csv).open()
    stop = StopFlag()
    stop.install()
    try:
        while not stop.requested:
            try:
                connection = connect(args.amqp_url)
            except pika.exceptions.AMQPConnectionError as error:
                if args.idle_exit is not None:
                    log.error("cannot connect to %s: %r", describe(args.amqp_url), error)
                    return EXIT_BROKER
                log.warning("cannot connect to %s (%r): retrying in %.0f s",
                            describe(args.amqp_url), error, RECONNECT_DELAY)
                stop.sleep(RECONNECT_DELAY)
                continue
            try:
                consume(connection, args, ledger, stop)
                return EXIT_OK
            except pika.exceptions.ChannelClosedByBroker as error:
                # e.g. 406 PRECONDITION_FAILED: the queue exists with other arguments. Retrying
                # cannot help; a person must look.
                log.error("the broker refused: %s", error)
                return EXIT_CONFIG
            except (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError) as error:
                # Unacked messages go back to the queue; the ledger dedupes what we had written.
                if args.idle_exit is not None:
                    log.error("connection lost: %r", error)
                    return EXIT_BROKER
                log.warning("connection lost (%r): reconnecting in %.0f s", error, RECONNECT_DELAY)
                stop.sleep(RECONNECT_DELAY)
            finally:
                if connection.is_open:
                    with contextlib.suppress(pika.exceptions.AMQPError):  # closing a broken link may fail
                        connection.close()
        return EXIT_OK
    finally:
        ledger.close()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Consume the helpdesk's billing messages into an idempotent JSONL ledger.")
    parser.add_argument("--amqp-url", default=os.environ.get("AMQP_URI") or DEFAULT_AMQP_URL,
                        help=f"broker URL, vhost included (default: $AMQP_URI, else "
                             f"{DEFAULT_AMQP_URL})")
    parser.add_argument("--ledger", default="./ledger.jsonl",
                        help="JSON Lines ledger, appended to (default: %(default)s)")
    parser.add_argument("--csv", metavar="PATH",
                        help="also keep a CSV view, one row per ledger line (rebuilt at start)")
    parser.add_argument("--queue", default=DEFAULT_QUEUE,
                        help="this consumer's durable queue (default: %(default)s); its dead "
                             "letters go to <queue>.dlq")
    parser.add_argument("--dead-letter-exchange", default=DEFAULT_DEAD_LETTER_EXCHANGE,
                        help="fanout exchange for rejected messages (default: %(default)s); give "
                             "each queue its own if you run several")
    parser.add_argument("--queue-type", choices=("classic", "quorum"), default="classic",
                        help="classic on one broker node, quorum on a cluster (default: %(default)s)")
    parser.add_argument("--idle-exit", type=float, metavar="SECONDS",
                        help="exit once no message arrived for SECONDS (tests, cron)")
    parser.add_argument("--once", action="store_true",
                        help="drain the queue and exit (same as --idle-exit 1)")
    parser.add_argument("--declare-only", action="store_true",
                        help="declare the exchanges and queues, then exit")
    parser.add_argument("--effective", action="store_true",
                        help="print the records that stand (corrections applied) as JSON lines; "
                             "reads only the ledger")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log every recorded message, and pika's own messages")
    args = parser.parse_args(argv)
    if args.once and args.idle_exit is None:
        args.idle_exit = 1.0
    if args.idle_exit is not None and args.idle_exit <= 0:
        parser.error("--idle-exit must be positive")
    return args


def main(argv=None):
    args = parse_args(argv)
    # Our start/stop summaries, duplicates and dead letters always; each recorded message and
    # pika's connection chatter only with -v.
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    log.setLevel(logging.DEBUG if args.verbose else logging.INFO)
    try:
        return run(args)
    except LedgerError as error:
        log.error("%s", error)
        return EXIT_LEDGER


if __name__ == "__main__":
    sys.exit(main())
