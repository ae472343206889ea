"""SLA: business calendars, SLA clocks and alerts, the 24-hour support usage ledger, and the
supervisors' dashboard (a read model of them)."""
SCHEMA = "sla"
STORAGE = ("eventstore", "inbox")
SUBSCRIPTIONS = ("tickets",)
REBUILDS = ("services.sla.projection:DashboardRebuild",)
