"""Every HTTP route of the gateway is in the OpenAPI document, and every documented path exists."""
import re

from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from helpdesk import contracts
from services.gateway.openapi import build_spec
from services.gateway.service import GatewayService

NOT_API = {"/", "/portal/{asset}", "/{page}", "/{unknown}", "/tickets/{ticket_id}", "/api/{rest}",  # portal pages
           "/console/{page}", "/console/{kind}/{name}", "/console/admin/{page}",  # and assets, JSON 404
           "/feeds/{kind}.atom"}  # Atom feeds, for feed readers


def routes():
    found = set()
    for attribute in vars(GatewayService).values():
        for entrypoint in getattr(attribute, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", entrypoint.url)
            path = re.sub(r"\{any\([^)]*\):(\w+)\}", r"{\1}", path)
            for method in entrypoint.method.split(","):
                found.add((method.lower(), path))
    return found


def documented():
    spec = build_spec("http://localhost")
    return {(method, path) for path, item in spec["paths"].items() for method in item if method != "parameters"}


def test_every_route_is_documented_and_every_documented_path_exists():
    actual = {(m, p) for m, p in routes() if p not in NOT_API and not p.startswith("/{")}
    # the one action route stands for one documented path per action
    actual.discard(("post", "/api/v1/tickets/{ticket_id}/{action}"))
    actual |= {("post", f"/api/v1/tickets/{{ticket_id}}/{action}") for action in contracts.TICKET_ACTIONS}
    assert actual == documented()


def test_closed_operations_declare_their_401_and_body_operations_their_422():
    spec = build_spec("http://localhost")
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            if operation["security"]:
                assert "401" in operation["responses"], (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "415", "422"} <= set(operation["responses"]), (method, path)
