"""Notifier: turns events into emails (and, later, email replies into follow-ups)."""
SCHEMA = "notifier"
STORAGE = ("inbox",)
SUBSCRIPTIONS = ("tickets", "identity", "sla")
