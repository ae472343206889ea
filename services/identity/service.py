"""Identity entrypoints. Until issue 3 it only answers health checks."""
from helpdesk.extensions import Health


class IdentityService(Health):
    name = "identity"
