"""Gateway entrypoints: HTTP in, RPC to the owning service, JSON out."""
from pathlib import Path

import eventlet
from nameko.dependency_providers import Config
from nameko.rpc import RpcProxy
from werkzeug.wrappers import Response

from .http import ApiError, call, http, json_response, read_json
from .openapi import build_spec
from .schemas import OpenTicketRequest

STATIC = Path(__file__).with_name("static")
SERVICES = ("identity", "tickets", "routing", "sla", "notifier")
HEALTH_TIMEOUT = 3


class GatewayService:
    name = "gateway"
    config = Config()
    tickets = RpcProxy("tickets")
    identity = RpcProxy("identity")
    routing = RpcProxy("routing")
    sla = RpcProxy("sla")
    notifier = RpcProxy("notifier")

    @http("POST", "/api/v1/tickets")
    def open_ticket(self, request):
        schema = OpenTicketRequest()
        command = schema.dump(read_json(request, schema, self.config["MAX_REQUEST_BYTES"]))
        command["channel"] = "portal"
        ticket = call(self.tickets.open_ticket, command)
        location = f"/api/v1/tickets/{ticket['ticket_id']}"
        return json_response(ticket, 201, headers={"Location": location})

    @http("GET", "/api/v1/tickets/<string:ticket_id>")
    def get_ticket(self, request, ticket_id):
        return json_response(call(self.tickets.get_ticket, ticket_id))

    @http("GET", "/api/v1/health")
    def health(self, request):
        replies, statuses = {}, {}
        for name in SERVICES:
            try:
                replies[name] = getattr(self, name).ping.call_async()
            except Exception:  # UnknownService: nobody consumes its RPC queue
                statuses[name] = "down"
        for name, reply in replies.items():
            try:
                with eventlet.Timeout(HEALTH_TIMEOUT):
                    statuses[name] = reply.result()["status"]
            except eventlet.Timeout:
                statuses[name] = "timeout"
            except Exception:
                statuses[name] = "down"
        healthy = all(status == "ok" for status in statuses.values())
        return json_response(
            {"status": "ok" if healthy else "degraded", "services": statuses},
            200 if healthy else 503,
        )

    @http("GET", "/api/v1/openapi.json")
    def openapi(self, request):
        return json_response(build_spec(self.config["PUBLIC_URL"]))

    @http("GET,POST,PUT,PATCH,DELETE", "/api/<path:rest>")
    def unknown_api_path(self, request, rest):
        raise ApiError(404, "not_found", f"no API endpoint {request.method} /api/{rest}")

    @http("GET", "/")
    def portal(self, request):
        return Response((STATIC / "index.html").read_bytes(), mimetype="text/html")
