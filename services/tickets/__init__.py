"""Tickets: owns the ticket aggregate (event-sourced), its attachments and its read models."""
SCHEMA = "tickets"
STORAGE = ("eventstore",)
REBUILDS = ("services.tickets.projection:SummariesRebuild",)
SUBSCRIPTIONS = ("content",)  # an incident resolved with its linked tickets
