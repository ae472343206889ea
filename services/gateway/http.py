"""HTTP plumbing of the gateway: JSON in with limits, errors out as JSON, never a bare 500 body.

Every remote error the services may raise (`helpdesk.errors`) maps to a status here, once.
"""
import json
import logging

import eventlet
from marshmallow import ValidationError
from nameko.exceptions import RemoteError, UnknownService
import socket

from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from helpdesk import errors

log = logging.getLogger(__name__)

RPC_TIMEOUT = 10  # seconds a request waits for a service before answering 503


class ApiError(Exception):
    def __init__(self, status, error, message, fields=None):
        super().__init__(message)
        self.status, self.error, self.message, self.fields = status, error, message, fields


def json_response(payload, status=200, headers=None):
    return Response(
        json.dumps(payload, ensure_ascii=False, default=str),
        status=status,
        headers=headers,
        mimetype="application/json",
    )


def error_body(error, message, fields=None):
    body = {"error": error, "message": message}
    if fields:
        body["fields"] = fields
    return body


def too_large(max_bytes):
    return ApiError(413, "payload_too_large",
                    f"the request may be at most {max_bytes / 1024 / 1024:.0f} MB, and an attachment at most 2 MB")


def read_json(request, schema, max_bytes):
    """The body as sent, once `schema` accepts it (the owning service loads it again: the gateway
    checks early for clear errors; the service is the trust boundary). 413 past `max_bytes`,
    415/400/422 for the rest."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise too_large(max_bytes)
    mimetype = request.mimetype or ""
    if mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json",
                       {"Content-Type": [f"expected application/json, got {mimetype or 'none'}"]})
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise too_large(max_bytes)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {exc}")
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "the body must be a JSON object")
    validate(schema, data)
    return data


def validate(schema, data):
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid_input", "some fields are invalid", flatten(exc.messages))


def query_args(request, schema):
    """Query parameters (one value each), validated by `schema`; 422 naming the parameter."""
    data = {key: request.args.get(key) for key in request.args}
    validate(schema, data)
    return data


def if_match(request):
    """The version in `If-Match` ("3" or 3), or None. Refuses anything else."""
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    value = raw.strip().removeprefix("W/").strip('"')
    if not (value.isascii() and value.isdigit() and len(value) < 19):
        raise ApiError(422, "invalid_input", "If-Match must be a ticket version",
                       {"If-Match": ["send the ticket's version, e.g. \"3\""]})
    return int(value)


def flatten(messages, prefix=""):
    """marshmallow's nested error dict → {"itil.category": [...]} (one key per offending field)."""
    flat = {}
    for key, value in messages.items():
        # "_schema" is marshmallow's key for an error of the whole (nested) object
        name = prefix.rstrip(".") or key if key == "_schema" else f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def call(method, *args, timeout=RPC_TIMEOUT):
    with eventlet.Timeout(timeout, ApiError(503, "service_unavailable", "a service did not answer in time")):
        return method(*args)


SESSION_COOKIE = "helpdesk_session"


def session_token(request):
    """The caller's session token: `Authorization: Bearer …` (API clients) or the portal's cookie."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(SESSION_COOKIE) or None


class NoDelayWebServer(WebServer):
    """nameko's web server with Nagle off. Without TCP_NODELAY, the tail of an answer over about
    12 KB waits for the client's delayed ACK (40 ms on Linux) on a kept-alive connection. Linux
    hands the option on from the listening socket to every accepted one."""

    def start(self):
        super().start()
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class ApiEndpoint(HttpRequestHandler):
    """`public=False` (the default) refuses a request without credentials before any worker runs:
    an endpoint is closed unless it says otherwise. The handler then resolves the session through
    `Auth`, which refuses invalid, expired and revoked ones."""

    server = NoDelayWebServer()

    def __init__(self, method, url, public=False, **kwargs):
        self.public = public
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        if not self.public and session_token(request) is None:
            return self.response_from_exception(ApiError(401, "unauthenticated", "log in first"))
        return super().handle_request(request)

    def response_from_exception(self, exc):
        if isinstance(exc, ApiError):
            return json_response(error_body(exc.error, exc.message, exc.fields), exc.status)
        if isinstance(exc, errors.InvalidInput):
            return json_response(error_body("invalid_input", "some fields are invalid", flatten(exc.errors)), 422)
        if isinstance(exc, errors.NotFound):
            return json_response(error_body("not_found", str(exc.args[0]) if exc.args else "not found"), 404)
        if isinstance(exc, errors.Conflict):
            body = error_body("conflict", exc.message)
            if exc.current_version is not None:
                body["current_version"] = exc.current_version
            return json_response(body, 409)
        if isinstance(exc, errors.Unauthorized):
            return json_response(error_body("unauthenticated", str(exc.args[0]) if exc.args else "log in first"), 401)
        if isinstance(exc, errors.Forbidden):
            return json_response(error_body(exc.code, exc.message), 403)
        if isinstance(exc, errors.PayloadTooLarge):
            return json_response(error_body("payload_too_large", str(exc.args[0]) if exc.args else "too large"), 413)
        if isinstance(exc, errors.TooManyRequests):
            return json_response(error_body("too_many_requests", exc.message), 429,
                                 headers={"Retry-After": str(exc.retry_after)})
        if isinstance(exc, HTTPException):
            return json_response(error_body(exc.name.lower().replace(" ", "_"), exc.description), exc.code)
        if isinstance(exc, UnknownService):
            return json_response(error_body("service_unavailable", "a service is not running"), 503)
        if isinstance(exc, RemoteError):
            log.error("remote error: %s", exc)
        else:
            log.exception("unexpected error", exc_info=exc)
        return json_response(error_body("internal_error", "something went wrong on our side"), 500)


http = ApiEndpoint.decorator
