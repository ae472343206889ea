"""The gateway's HTTP API in one process with the services (services/system.py): the same
endpoints (GatewayService's methods and their routes), the same checks and error answers
(http.answer), the same Caller, over in-process ports instead of RPC. A WSGI application."""
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request

from .auth import Caller, trusted_proxies_from
from .http import answer
from .canned import CannedReplies
from .live import InProcessLive
from .service import GatewayService
from .sessions import DEFAULT_TTL, SessionCache


def routes():
    """(method names, url, public, handler name) of every endpoint GatewayService declares."""
    for name, function in vars(GatewayService).items():
        for endpoint in getattr(function, "nameko_entrypoints", ()):
            yield endpoint.method, endpoint.url, endpoint.public, name


class InProcessGateway:
    """`ports`: service name -> an object answering that service's RPC methods; `live`: the
    live updates' front (live.InProcessLive), which the system feeds with the tickets events."""

    def __init__(self, config, ports, live=None):
        self.config, self.ports = config, ports
        self.live = live if live is not None else InProcessLive()
        self.canned = CannedReplies.load(config)
        self.url_map = Map([Rule(url, methods=methods.split(","), endpoint=(public, name, url))
                            for methods, url, public, name in routes()])
        self.trusted_proxies = trusted_proxies_from(config)
        ttl = config.get("GATEWAY_SESSION_CACHE_SECONDS")
        self.sessions = SessionCache(ttl=DEFAULT_TTL if ttl in (None, "") else float(ttl))

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            (public, name, route), values = self.url_map.bind_to_environ(environ).match()
        except HTTPException as exc:
            return exc(environ, start_response)
        response = answer(request, public, self.config.get("PUBLIC_URL", ""),
                          lambda: getattr(self._service(request), name)(request, **values), route=route)
        return response(environ, start_response)

    def _service(self, request):
        """A GatewayService as nameko would inject it for this request."""
        service = object.__new__(GatewayService)
        service.config = self.config
        service.caller = Caller(request, self.ports["identity"], self.trusted_proxies, self.sessions)
        for name, port in self.ports.items():
            setattr(service, name, port)
        service.live, service.canned = self.live, self.canned
        return service
