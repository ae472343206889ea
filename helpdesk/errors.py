"""Errors that cross service boundaries. nameko re-raises them as the same class in the caller
(`deserialize_to_instance`), so the gateway maps them to HTTP, and words them, in one place.

An error holds no English: a stable `code` (the API body's "error"), a catalogue key `message`
with its `params` (helpdesk/locales), and for InvalidInput the problems of each field
(helpdesk.problems). nameko carries exception arguments across RPC as JSON after stringifying
every number and None, and rebuilds the exception with them; so each error's one argument is
JSON text, and what the caller gets back equals what was raised (tested).
"""
import json

from nameko.exceptions import deserialize_to_instance

from .problems import field_problems


class ServiceError(Exception):
    """`message` is a catalogue key; `details` are what a caller may act on (e.g. a version)."""

    default_code = "error"

    def __init__(self, message, params=None, *, code=None, **details):
        if message.startswith("{"):  # rebuilt by nameko from the JSON argument
            wire = json.loads(message)
            message, params, code, details = wire["message"], wire["params"], wire["code"], wire["details"]
        self.message, self.params = message, dict(params or {})
        self.code, self.details = code or self.default_code, details
        super().__init__(json.dumps({"code": self.code, "message": message, "params": self.params,
                                     "details": details}, ensure_ascii=False, default=str))


@deserialize_to_instance
class InvalidInput(ServiceError):
    """The command is malformed or breaks a rule. `errors` maps each field to its problems."""

    default_code = "invalid_input"

    def __init__(self, errors, message="invalid_fields", params=None, **details):
        if isinstance(errors, str):  # the JSON argument, from nameko
            super().__init__(errors)
        else:
            super().__init__(message, params, fields=field_problems(errors), **details)

    @property
    def errors(self):
        return self.details["fields"]


def invalid(field, code, **params):
    """InvalidInput naming one field and one problem: `invalid("cc", "invalid_email", value="x@")`."""
    return InvalidInput({field: [{"code": code, "params": params}]})


@deserialize_to_instance
class NotFound(ServiceError):
    """No such thing, or not one the caller may see (the two answer alike)."""

    default_code = "not_found"


@deserialize_to_instance
class Conflict(ServiceError):
    """The command does not fit the current state (illegal transition, stale version). `code`
    names a case callers act on (e.g. "ticket_closed")."""

    default_code = "conflict"

    @property
    def current_version(self):
        return self.details.get("current_version")


@deserialize_to_instance
class Unauthorized(ServiceError):
    """No valid credentials: a bad password, or a missing, expired, revoked or forged token."""

    default_code = "unauthenticated"


@deserialize_to_instance
class Forbidden(ServiceError):
    """Authenticated, but not allowed. `code` says why (e.g. "password_change_required")."""

    default_code = "forbidden"


@deserialize_to_instance
class TooManyRequests(ServiceError):
    default_code = "too_many_requests"

    @property
    def retry_after(self):
        return int(self.details["retry_after"])


@deserialize_to_instance
class PayloadTooLarge(ServiceError):
    """An uploaded file over its limit; the parameters state the limit."""

    default_code = "payload_too_large"


EXPECTED = (InvalidInput, NotFound, Conflict, Unauthorized, Forbidden, TooManyRequests, PayloadTooLarge)
