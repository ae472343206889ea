"""Tickets: owns the ticket aggregate (event-sourced) and its read models."""
SCHEMA = "tickets"
STORAGE = ("eventstore",)
