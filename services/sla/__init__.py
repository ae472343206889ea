"""SLA: business calendars, SLA clocks and alerts, and the 24-hour support usage ledger."""
SCHEMA = "sla"
STORAGE = ("eventstore", "inbox")
SUBSCRIPTIONS = ("tickets",)
