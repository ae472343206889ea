"""Routing: which department works a ticket (rules), which agent takes it (shifts, load)."""
SCHEMA = "routing"
STORAGE = ("inbox",)
SUBSCRIPTIONS = ("tickets", "identity")
