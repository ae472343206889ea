"""Notifier: turns events into emails, and email replies into follow-ups."""
SCHEMA = "notifier"
STORAGE = ("inbox",)
SUBSCRIPTIONS = ("tickets", "identity", "sla", "content")
