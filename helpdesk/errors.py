"""Errors that cross service boundaries. nameko re-raises them as the same class in the caller
(`deserialize_to_instance`), so the gateway maps them to HTTP in one place."""
from nameko.exceptions import deserialize_to_instance


@deserialize_to_instance
class InvalidInput(Exception):
    """The command is malformed or breaks a rule. `errors` maps each field to its messages."""

    def __init__(self, errors):
        super().__init__(errors)
        self.errors = errors


@deserialize_to_instance
class NotFound(Exception):
    """No such thing, or not one the caller may see (the two answer alike)."""


@deserialize_to_instance
class Conflict(Exception):
    """The command does not fit the current state (illegal transition, stale version)."""

    def __init__(self, message, current_version=None, code="conflict"):
        super().__init__(message, current_version, code)
        # nameko carries exception arguments as text: the version comes back a string
        self.message, self.code = message, code
        self.current_version = None if current_version in (None, "None") else int(current_version)



@deserialize_to_instance
class Unauthorized(Exception):
    """No valid credentials: a bad password, or a missing, expired, revoked or forged token."""


@deserialize_to_instance
class Forbidden(Exception):
    """Authenticated, but not allowed. `code` says why (e.g. "password_change_required")."""

    def __init__(self, message, code="forbidden"):
        super().__init__(message, code)
        self.message, self.code = message, code


@deserialize_to_instance
class TooManyRequests(Exception):
    def __init__(self, message, retry_after):
        super().__init__(message, retry_after)
        self.message, self.retry_after = message, int(retry_after)


@deserialize_to_instance
class PayloadTooLarge(Exception):
    """An uploaded file over its limit; the message states the limit."""


EXPECTED = (InvalidInput, NotFound, Conflict, Unauthorized, Forbidden, TooManyRequests, PayloadTooLarge)
