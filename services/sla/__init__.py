"""SLA: business calendars, SLA clocks and the 24-hour support usage ledger (issue 5)."""
