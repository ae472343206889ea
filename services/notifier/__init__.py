"""Notifier: turns events into emails, and email replies into follow-ups."""
SCHEMA = "notifier"
STORAGE = ("inbox",)
SUBSCRIPTIONS = ("tickets", "identity", "sla", "content")
# Queues it consumes besides its subscriptions, each with retries and dead letters
# (helpdesk.messaging.retrying_queues): the replies that reached the inbound SMTP endpoint.
INBOUND_QUEUE = "notifier.inbound"
QUEUES = (INBOUND_QUEUE,)
