"""SLA entrypoints. Until issue 5 it only answers health checks."""
from helpdesk.extensions import Health


class SlaService(Health):
    name = "sla"
