"""The example billing consumer (deploy/billing-consumer/, pika, not nameko) against a real RabbitMQ.

The consumer runs as a subprocess, as the billing team would run it. This process publishes with
kombu (it runs under eventlet, see conftest.py; pika stays in the subprocess). Every message
published here follows docs/asyncapi.yaml, and the document's own examples are checked against
its schemas.
"""
import datetime as dt
import fcntl
import importlib.util
import json
import pathlib
import subprocess
import sys
import time
import uuid

import kombu
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "billing-consumer" / "billing_consumer.py"
ASYNCAPI = ROOT / "docs" / "asyncapi.yaml"

BILLING = kombu.Exchange("billing", type="topic", durable=True)
RECORDED, CORRECTED = "Support24hUsageRecorded", "Support24hUsageCorrected"
ROUTING_KEYS = {RECORDED: "support24h.usage.recorded.v1", CORRECTED: "support24h.usage.corrected.v1"}
QUEUE, DLQ = "billing.ledger", "billing.ledger.dlq"


def load_consumer_module():
    """The consumer as a module, for its pure parts (its directory name has a hyphen)."""
    spec = importlib.util.spec_from_file_location("billing_consumer", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------------ messages

def usage_record(type_=RECORDED, corrects=None, **data):
    """A message body as the sla service publishes it (docs/asyncapi.yaml)."""
    opened = dt.datetime(2026, 3, 2, 9, 15, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    resolved = opened + dt.timedelta(minutes=90)
    record = {
        "usage_id": str(uuid.uuid4()), "ticket_id": str(uuid.uuid4()), "ticket_reference": "#000042",
        "customer_id": str(uuid.uuid4()), "customer_email": "ana@example.com", "company_id": None,
        "opened_at": opened.isoformat(), "resolved_at": resolved.isoformat(),
        "wall_minutes": 90, "business_minutes": 90, "urgency": "medium", "provider_fault": False,
        "billable": True, "reason": "24-hour support used without a fault of the provider: billable",
        "corrects": corrects,
    }
    record.update(data)
    return {"message_id": str(uuid.uuid4()), "type": type_, "schema_version": 1,
            "occurred_at": resolved.isoformat(), "data": record}


def correction_of(message, **changes):
    """The whole new record, naming the message it corrects; the same usage_id."""
    data = {**message["data"], **changes, "corrects": message["message_id"]}
    return {**usage_record(CORRECTED), "data": data}


def publish(uri, body, *, raw=None, routing_key=None):
    """Publish as the contract says: persistent, confirmed, message_id/type/timestamp properties,
    schema_version header. `raw` publishes those bytes instead of `body` (malformed messages)."""
    with kombu.Connection(uri, transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer()
        producer.publish(
            raw if raw is not None else json.dumps(body),
            exchange=BILLING, routing_key=routing_key or ROUTING_KEYS[body["type"]],
            content_type="application/json", content_encoding="utf-8", delivery_mode=2,
            message_id=body["message_id"] if body else None, type=body["type"] if body else None,
            timestamp=int(time.time()), headers={"schema_version": 1})


def run_consumer(uri, ledger, *extra, expect=0):
    """One run of the consumer that exits once the queue stays idle for a second."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--amqp-url", uri, "--ledger", str(ledger), "--idle-exit", "1",
         *extra],
        capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == expect, result.stderr
    return result


def declare(uri):
    """Deploy-time topology, so what is published before the first run waits in the queue."""
    subprocess.run([sys.executable, str(SCRIPT), "--amqp-url", uri, "--declare-only"],
                   check=True, capture_output=True, timeout=60)


def ledger_lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def without_received_at(record):
    assert dt.datetime.fromisoformat(record["received_at"]).tzinfo is not None
    return {key: value for key, value in record.items() if key != "received_at"}


def first_dead_letter(uri):
    """The first message in the DLQ, left in place (not acked: back in the queue on close)."""
    with kombu.Connection(uri) as connection:
        message = connection.default_channel.basic_get(DLQ, no_ack=False)
        body = message.body  # py-amqp decodes it when the content encoding is utf-8
        return (body.encode("utf-8") if isinstance(body, str) else body), message.headers


# ------------------------------------------------------------------------------------ the contract

@pytest.fixture(scope="module")
def asyncapi():
    return yaml.safe_load(ASYNCAPI.read_text(encoding="utf-8"))


def conforms(asyncapi, body):
    """Validation errors of `body` against the contract's schema for its type."""
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    schema = {"$ref": f"#/components/schemas/{body['type']}", "components": asyncapi["components"]}
    validator = jsonschema_rs.Draft7Validator(schema, validate_formats=True)
    return [error.message for error in validator.iter_errors(body)]


def test_the_contract_document_agrees_with_the_consumer_and_its_examples(asyncapi):
    consumer = load_consumer_module()
    assert asyncapi["asyncapi"].startswith("3.")
    channels = asyncapi["channels"]
    assert {c["address"] for c in channels.values()} == set(ROUTING_KEYS.values())
    exchange = asyncapi["components"]["channelBindings"]["billingExchange"]["amqp"]["exchange"]
    assert exchange == {"name": consumer.EXCHANGE, "type": "topic", "durable": True,
                        "autoDelete": False}
    for channel in channels.values():
        assert channel["bindings"]["$ref"] == "#/components/channelBindings/billingExchange"
    for name, message in asyncapi["components"]["messages"].items():
        assert message["bindings"]["amqp"]["messageType"] == name
        for example in message["examples"]:
            assert conforms(asyncapi, example["payload"]) == [], example["name"]
            assert example["headers"] == {"schema_version": 1}
            assert consumer.parse_message(json.dumps(example["payload"]).encode())
    # The consumer's binding key matches both routing keys.
    assert {consumer.BINDING_KEY.replace("*", word) for word in ("recorded", "corrected")} == set(
        ROUTING_KEYS.values())
    # The test's own messages follow the contract too.
    recorded = usage_record()
    assert conforms(asyncapi, recorded) == []
    assert conforms(asyncapi, correction_of(recorded, provider_fault=True)) == []


@pytest.mark.parametrize("body, reason", [
    (b"not json", "not JSON"),
    (b"\xff\xfe\x00garbage", "not JSON"),
    (b"[1, 2]", "not an object"),
    (b'{"type": "Support24hUsageRecorded"}', "message_id"),
    (b'{"message_id": "42", "type": "Support24hUsageRecorded"}', "not a UUID"),
    (b'{"message_id": "5f0d8c1e-6a3b-4f7e-9a52-2b1c9d0e7f31"}', "type"),
    (b'{"message_id": "5f0d8c1e-6a3b-4f7e-9a52-2b1c9d0e7f31", "type": "X", "n": NaN}', "not JSON"),
])
def test_malformed_bodies_are_refused_with_a_reason(body, reason):
    consumer = load_consumer_module()
    with pytest.raises(consumer.Invalid, match=reason):
        consumer.parse_message(body)


def test_the_amqp_message_id_must_name_the_same_message_as_the_body():
    consumer = load_consumer_module()
    body = usage_record()

    class Properties:
        message_id = str(uuid.uuid4())

    with pytest.raises(consumer.Invalid, match="differs"):
        consumer.parse_message(json.dumps(body).encode(), Properties)
    Properties.message_id = body["message_id"].upper()  # the same UUID, written differently
    assert consumer.parse_message(json.dumps(body).encode(), Properties) == body


def test_the_standing_record_follows_the_corrects_links_not_the_ledger_order():
    consumer = load_consumer_module()
    first = usage_record()
    fault = correction_of(first, provider_fault=True)
    reopened = correction_of(fault, resolved_at=None, billable=False,
                             reason="reopened: recorded again when resolved")
    other = usage_record()
    # A redelivery made the last correction arrive before the one it corrects.
    assert consumer.effective_records([first, other, reopened, fault]) == [reopened, other]
    assert consumer.effective_records([first]) == [first]


# ------------------------------------------------------------------------------------ the consumer

def test_each_message_is_recorded_once_even_when_delivered_twice_and_across_a_restart(vhost, rabbit,
                                                                                      tmp_path):
    name, uri = vhost
    ledger = tmp_path / "ledger.jsonl"
    declare(uri)
    recorded = usage_record()
    corrected = correction_of(recorded, provider_fault=True,
                              reason="the provider's fault, but not urgent: billable")
    for body in (recorded, recorded, corrected, corrected):  # each one twice, same message_id
        publish(uri, body)
    publish(uri, None, raw=b"{this is not json", routing_key=ROUTING_KEYS[RECORDED])

    result = run_consumer(uri, ledger)

    assert [without_received_at(r) for r in ledger_lines(ledger)] == [recorded, corrected]
    assert "2 duplicates" in result.stderr and "1 dead-lettered" in result.stderr
    assert rabbit.queue_depth(name, DLQ) == 1      # kept and visible, not lost
    assert rabbit.queue_depth(name, QUEUE) == 0    # everything else acked
    body, headers = first_dead_letter(uri)
    assert body == b"{this is not json"
    assert headers["x-death"][0]["reason"] == "rejected"
    assert headers["x-death"][0]["queue"] == QUEUE

    # Restart: the ledger's message ids are loaded again, so a late duplicate is absorbed.
    publish(uri, recorded)
    result = run_consumer(uri, ledger)
    assert [without_received_at(r) for r in ledger_lines(ledger)] == [recorded, corrected]
    assert "0 recorded, 1 duplicates" in result.stderr
    assert rabbit.queue_depth(name, QUEUE) == 0
    assert rabbit.queue_depth(name, DLQ) == 1

    # The bill: the correction replaces the record it corrects.
    effective = subprocess.run([sys.executable, str(SCRIPT), "--ledger", str(ledger), "--effective"],
                               capture_output=True, text=True, timeout=60, check=True).stdout
    assert [without_received_at(json.loads(line)) for line in effective.splitlines()] == [corrected]


def test_an_urgent_provider_fault_record_is_kept_as_given_not_billed(vhost, tmp_path, asyncapi):
    _, uri = vhost
    ledger, table = tmp_path / "ledger.jsonl", tmp_path / "ledger.csv"
    declare(uri)
    free = usage_record(urgency="high", provider_fault=True, billable=False,
                        reason="urgent and caused by a fault of the provider: not billable",
                        company_id="7d1e2f30-4a5b-4c6d-8e7f-9a0b1c2d3e4f")
    assert conforms(asyncapi, free) == []
    billed = usage_record(urgency="high", provider_fault=False, billable=True,
                          wall_minutes=12.5, business_minutes=12.5)
    publish(uri, free)
    publish(uri, billed)

    run_consumer(uri, ledger, "--csv", str(table))

    lines = ledger_lines(ledger)
    assert [without_received_at(r) for r in lines] == [free, billed]  # recorded, not recomputed
    assert lines[0]["data"]["billable"] is False
    rows = table.read_text(encoding="utf-8").splitlines()
    header = rows[0].split(",")
    first = dict(zip(header, rows[1].split(",")))
    assert len(rows) == 3
    assert (first["message_id"], first["billable"], first["provider_fault"], first["urgency"]) == (
        free["message_id"], "false", "true", "high")
    assert first["company_id"] == free["data"]["company_id"] and first["corrects"] == ""

    # The CSV is a view of the ledger: rebuilt at start, so it cannot lose or double a row.
    table.write_text("broken\n", encoding="utf-8")
    publish(uri, free)
    run_consumer(uri, ledger, "--csv", str(table))
    assert table.read_text(encoding="utf-8").splitlines() == rows


def test_a_torn_last_line_is_cut_and_its_message_recorded_when_redelivered(vhost, tmp_path):
    """A crash in the middle of a write leaves a line without its newline; that message was never
    acked, so the broker delivers it again."""
    _, uri = vhost
    ledger = tmp_path / "ledger.jsonl"
    declare(uri)
    kept, torn = usage_record(), usage_record()
    complete = json.dumps({**kept, "received_at": "2026-03-02T10:00:00+00:00"}) + "\n"
    ledger.write_text(complete + json.dumps(torn)[:40], encoding="utf-8")
    publish(uri, kept)  # a duplicate of the complete line
    publish(uri, torn)  # the redelivery of the torn one

    run_consumer(uri, ledger)

    assert [without_received_at(r) for r in ledger_lines(ledger)] == [kept, torn]
    assert ledger.read_text(encoding="utf-8").startswith(complete)


def test_a_second_consumer_on_the_same_ledger_is_refused(vhost, rabbit, tmp_path):
    name, uri = vhost
    ledger = tmp_path / "ledger.jsonl"
    declare(uri)
    publish(uri, usage_record())
    with open(ledger, "ab") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = run_consumer(uri, ledger, expect=3)
    assert "locked by another consumer" in result.stderr
    assert rabbit.queue_depth(name, QUEUE) == 1  # untouched
    assert ledger.read_text() == ""


def test_a_corrupt_ledger_line_stops_the_consumer_before_it_consumes(vhost, rabbit, tmp_path):
    name, uri = vhost
    ledger = tmp_path / "ledger.jsonl"
    declare(uri)
    publish(uri, usage_record())
    ledger.write_text("{not a record}\n", encoding="utf-8")
    result = run_consumer(uri, ledger, expect=3)
    assert f"{ledger}:1" in result.stderr
    assert rabbit.queue_depth(name, QUEUE) == 1


def test_sigterm_stops_gracefully_and_nothing_acked_is_lost(vhost, rabbit, tmp_path):
    name, uri = vhost
    ledger = tmp_path / "ledger.jsonl"
    declare(uri)
    bodies = [usage_record() for _ in range(20)]
    for body in bodies:
        publish(uri, body)
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--amqp-url", uri, "--ledger", str(ledger)],
        stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (ledger.exists() and ledger.read_text()):
            time.sleep(0.05)
        process.terminate()
        _, errors = process.communicate(timeout=30)
        assert process.returncode == 0, errors
    finally:
        if process.poll() is None:
            process.kill()
    recorded = [without_received_at(r) for r in ledger_lines(ledger)]
    assert recorded == bodies[:len(recorded)]
    # What was not recorded is still queued (prefetched messages were handed back).
    assert rabbit.queue_depth(name, QUEUE) == len(bodies) - len(recorded)
