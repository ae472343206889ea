"""The billing contract (docs/asyncapi.yaml): how usage events leave on the `billing` exchange."""
import kombu

BILLING_EXCHANGE = kombu.Exchange("billing", type="topic", durable=True, delivery_mode=2)
ROUTING_KEYS = {"Support24hUsageRecorded": "support24h.usage.recorded.v1",
                "Support24hUsageCorrected": "support24h.usage.corrected.v1"}
SCHEMA_VERSION = 1


def billing_message(event):
    """(body, routing key, AMQP properties) of a usage event, in the contract's shape."""
    body = {"message_id": str(event.event_id), "type": event.type, "schema_version": SCHEMA_VERSION,
            "occurred_at": event.occurred_at.isoformat(), "data": event.data}
    properties = {"type": event.type, "timestamp": int(event.occurred_at.timestamp()),
                  "headers": {"schema_version": SCHEMA_VERSION}}
    return body, ROUTING_KEYS[event.type], properties


BILLING_RELAY = {"name": "billing", "exchange": BILLING_EXCHANGE, "categories": ("usage",),
                 "message": billing_message}
