"""HTTP plumbing of the gateway: JSON in with limits, errors out as JSON, never a bare 500 body.

Every remote error the services may raise (`helpdesk.errors`) maps to a status here, once, and
is worded here, once, in the caller's language (`caller_language`, helpdesk.i18n).
"""
import json
import logging
import re
from functools import partial

import socket
import time
import unicodedata
import urllib.parse
import uuid

import eventlet
from eventlet.event import Event
from marshmallow import ValidationError
from nameko.exceptions import RemoteError, UnknownService

from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from helpdesk import contracts, errors, i18n, idempotency, metrics
from helpdesk.extensions import SignatureCheckedOnce
from helpdesk.outages import is_outage
from helpdesk.problems import field_problems, problem

log = logging.getLogger(__name__)

RPC_TIMEOUT = 10  # seconds a request waits for a service before answering 503
RETRY_AFTER_SECONDS = 5  # what a 503 tells the client to wait: the broker or a database is coming back
# the session's profile language, put in the request's environ by Auth once it resolved the session
PRINCIPAL_LANGUAGE = "helpdesk.principal_language"


class ApiError(Exception):
    """An error as the API answers it: HTTP `status`, the body's stable `error` code, a catalogue
    key `message` with its `params`, the problems of each field (`fields`, helpdesk.problems),
    and what else the body or headers carry (`extra`, e.g. current_version; `headers`)."""

    def __init__(self, status, error, message, params=None, fields=None, extra=None, headers=None):
        super().__init__(error, message)
        self.status, self.error, self.message, self.params = status, error, message, dict(params or {})
        self.fields = field_problems(fields) if fields else None
        self.extra, self.headers = dict(extra or {}), headers


def json_response(payload, status=200, headers=None):
    return Response(
        json.dumps(payload, ensure_ascii=False, default=str),
        status=status,
        headers=headers,
        mimetype="application/json",
    )


def caller_language(request):
    """The session's profile language when there is one, else the request's Accept-Language."""
    return i18n.language_of(request.environ.get(PRINCIPAL_LANGUAGE), request.headers.get("Accept-Language"))


def error_body(language, error, message, params=None, fields=None):
    """The error body, worded in `language`; `field_codes` parallels `fields` for clients that act
    on codes."""
    body = {"error": error, "message": i18n.text(message, params, language)}
    if fields:
        body["fields"] = {name: [i18n.text(p["code"], p["params"], language) for p in problems]
                          for name, problems in fields.items()}
        body["field_codes"] = {name: [p["code"] for p in problems] for name, problems in fields.items()}
    return body


def too_large(max_bytes):
    return ApiError(413, "payload_too_large", "request_too_large",
                    {"max_mb": f"{max_bytes / 1024 / 1024:.0f}", "attachment_max_mb": 2})


def read_json(request, schema, max_bytes):
    """The body as sent, once `schema` accepts it (the owning service loads it again: the gateway
    checks early for clear errors; the service is the trust boundary). 413 past `max_bytes`,
    415/400/422 for the rest."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise too_large(max_bytes)
    mimetype = request.mimetype or ""
    if mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "send_json",
                       fields={"Content-Type": [problem("expected_json", got=mimetype or "-")]})
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise too_large(max_bytes)
    try:
        data = json.loads(raw)
    except RecursionError:  # nested beyond the interpreter's stack: far beyond MAX_JSON_DEPTH
        raise too_deep(None)
    except UnicodeDecodeError:
        raise ApiError(400, "malformed_json", "body_not_utf8")
    except json.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json", "body_not_json", {"line": exc.lineno, "column": exc.colno})
    except ValueError:
        raise ApiError(400, "malformed_json", "body_not_json", {"line": 1, "column": 1})
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "body_not_object")
    deep = contracts.nested_too_deep(data)
    if deep is not None:
        raise too_deep(deep)
    validate(schema, data)
    return data


def too_deep(field):
    """400 for JSON nested beyond contracts.MAX_JSON_DEPTH, refused before any schema (each level
    of a nested value is a level of recursion there), naming the top-level field when known."""
    fields = {field: [problem("nested_too_deep", max_depth=contracts.MAX_JSON_DEPTH)]} if field else None
    return ApiError(400, "malformed_json", "body_too_deep", {"max_depth": contracts.MAX_JSON_DEPTH}, fields=fields)


def validate(schema, data):
    """`schema`: a schema class (its shared instance loads: contracts.schema) or an instance."""
    try:
        return contracts.schema(schema).load(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid_input", "invalid_fields", fields=exc.messages)


def read_exactly(stream, size):
    """`size` bytes of a request body (fewer only when it ends first): a socket gives what arrived."""
    parts, missing = [], size
    while missing > 0:
        part = stream.read(missing)
        if not part:
            break
        parts.append(part)
        missing -= len(part)
    return b"".join(parts)


RANGE = re.compile(r"^bytes=(\d{0,18})-(\d{0,18})$")


def byte_range(header):
    """A single `Range: bytes=a-b` as (first, last): `a-` is (a, None), `-n` (None, n), the last n
    bytes. Anything else (several ranges, other units, nonsense) is None: the whole file is sent,
    as RFC 9110 allows a server to."""
    found = RANGE.match((header or "").strip())
    if not found or found.groups() == ("", ""):
        return None
    first, last = (int(value) if value else None for value in found.groups())
    if first is not None and last is not None and last < first:
        return None
    if first is None and not last:
        return None
    return first, last


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
        raise ApiError(422, "invalid_input", "invalid_fields",
                       fields={"If-Match": [problem("if_match_version")]})
    return int(value)


def idempotency_key(request):
    """The request's `Idempotency-Key`, or a new one: every ticket command then runs once, even
    when the broker redelivers it. Refuses a key that is not 1-200 printable ASCII characters."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return str(uuid.uuid4())
    if not idempotency.valid_key(key):
        raise ApiError(422, "invalid_input", "invalid_fields",
                       fields={"Idempotency-Key": [problem("idempotency_key_format", max=idempotency.KEY_MAX)]})
    return key


def unavailable(message):
    """503 with Retry-After: the request met an outage (a service, the broker or a database not
    there for a moment), not a fault of its own; the same request may be sent again."""
    return ApiError(503, "service_unavailable", message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def call(method, *args, timeout=RPC_TIMEOUT):
    with eventlet.Timeout(timeout, unavailable("service_timeout")):
        return method(*args)


SESSION_COOKIE = "helpdesk_session"


def session_token(request):
    """The caller's session token: `Authorization: Bearer …` (API clients) or the portal's cookie."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(SESSION_COOKIE) or None


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def cross_site_write(request, public_url):
    """CSRF defence in depth for the portal's cookie: a state-changing request that a browser says
    comes from another origin (`Origin`, or `Sec-Fetch-Site: cross-site`) is refused. The first line
    of defence is the cookie's SameSite=Lax plus JSON-only bodies, which no cross-site form can send
    without a CORS preflight that we never answer. Requests without these headers (API clients)
    are not browsers riding a cookie, and pass."""
    if request.method not in UNSAFE_METHODS:
        return False
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return True
    origin = request.headers.get("Origin")
    if not origin:
        return False
    allowed = {public_url.rstrip("/"), f"{request.scheme}://{request.host}"}
    return origin.rstrip("/") not in allowed


class NoDelayWebServer(WebServer):
    """nameko's web server with Nagle off. Without TCP_NODELAY, the tail of an answer over about
    12 KB waits for the client's delayed ACK (40 ms on Linux) on a kept-alive connection. Linux
    hands the option on from the listening socket to every accepted one."""

    def start(self):
        super().start()
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class ApiEndpoint(SignatureCheckedOnce, HttpRequestHandler):
    """`public=False` (the default) refuses a request without credentials before any worker runs:
    an endpoint is closed unless it says otherwise. The handler then resolves the session through
    `Auth`, which refuses invalid, expired and revoked ones."""

    server = NoDelayWebServer()

    def __init__(self, method, url, public=False, **kwargs):
        self.public = public
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        """nameko's handle_request, through `answer`: the checks every request passes, and the
        caller's language for errors, which only the request tells (nameko's own passes the error
        alone)."""
        request.shallow = False

        def run():
            context_data = self.server.context_data_from_headers(request)
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            event = Event()
            self.container.spawn_worker(self, args, kwargs, context_data=context_data,
                                        handle_result=partial(self.handle_result, event))
            return self.response_from_result(event.wait())
        return answer(request, self.public, self.container.config.get("PUBLIC_URL", ""), run,
                      route=self.url, service=self.container.service_name)

    def response_from_exception(self, exc, language=i18n.DEFAULT_LANGUAGE):
        return error_response(exc, language)


def answer(request, public, public_url, run, route, service="gateway"):
    """The one way a request is answered, by nameko's endpoint and the in-process gateway
    (inprocess.py): a cross-site write is refused, a closed endpoint wants credentials before
    anything runs, then `run()`; any error is answered as `error_response` in the caller's language.
    Every answer is counted and timed by its `route`, the URL rule that matched (helpdesk.metrics)."""
    started = time.monotonic()
    try:
        if cross_site_write(request, public_url):
            raise ApiError(403, "cross_origin_request", "cross_origin_request")
        if not public and session_token(request) is None:
            raise ApiError(401, "unauthenticated", "log_in_first")
        response = run()
    except Exception as exc:
        response = error_response(exc, caller_language(request))
    metrics.http_answered(service, route, request.method, response.status_code, time.monotonic() - started)
    return response


def error_response(exc, language=i18n.DEFAULT_LANGUAGE):
    """Every error's answer: its status and code (api_error), worded in `language`."""
    error = api_error(exc)
    body = error_body(language, error.error, error.message, error.params, error.fields)
    body.update(error.extra)
    return json_response(body, error.status, headers=error.headers)


SERVICE_ERROR_STATUS = {
    errors.InvalidInput: 422, errors.NotFound: 404, errors.Conflict: 409, errors.Unauthorized: 401,
    errors.Forbidden: 403, errors.PayloadTooLarge: 413, errors.TooManyRequests: 429,
}


def api_error(exc):
    """Any exception as the ApiError the API answers: the services' errors keep their code,
    message and parameters; an outage is 503 with Retry-After; anything unexpected is logged and
    answers 500 with no internals."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, errors.ServiceError) and type(exc) in SERVICE_ERROR_STATUS:
        extra, headers = {}, None
        if isinstance(exc, errors.Conflict) and exc.current_version is not None:
            extra["current_version"] = exc.current_version
        if isinstance(exc, errors.TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after)}
        return ApiError(SERVICE_ERROR_STATUS[type(exc)], exc.code, exc.message, exc.params,
                        exc.details.get("fields"), extra, headers)
    if isinstance(exc, HTTPException):
        message = f"http_{exc.code}" if f"http_{exc.code}" in i18n.catalogue(i18n.DEFAULT_LANGUAGE) else "http_error"
        return ApiError(exc.code, exc.name.lower().replace(" ", "_"), message, {"status": exc.code})
    if isinstance(exc, UnknownService):
        return unavailable("service_not_running")
    if is_outage(exc):
        log.warning("outage: %s: %s", type(exc).__name__, exc)
        return unavailable("temporarily_unavailable")
    if isinstance(exc, RemoteError):
        log.error("remote error: %s", exc)
    else:
        log.exception("unexpected error", exc_info=exc)
    return ApiError(500, "internal_error", "internal_error")


http = ApiEndpoint.decorator


def content_disposition(filename):
    """RFC 6266 `attachment`, with an ASCII fallback for old clients and the exact name as
    RFC 8187 UTF-8; quotes, backslashes, `%` and line breaks can never reach the header raw."""
    name = "".join(c for c in filename if unicodedata.category(c) not in ("Cc", "Cf")).strip() or "attachment"
    fallback = "".join(
        c if " " <= c <= "~" and c not in '"\\%' else "_"
        for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{urllib.parse.quote(name, safe='')}"
