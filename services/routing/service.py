"""Routing entrypoints. Until issue 5 it only answers health checks."""
from helpdesk.extensions import Health


class RoutingService(Health):
    name = "routing"
