"""Outages answer 503 with Retry-After, never 500; hostile input answers a 4xx naming what is wrong.
The exceptions are the real ones: a refused socket, kombu and py-amqp failing to connect, psycopg2
failing to reach a server, each carried over nameko's RPC as the gateway receives it."""
import json
import socket

import amqp.exceptions
import kombu
import psycopg2
import psycopg2.errors
import pytest
from marshmallow import ValidationError
from nameko.exceptions import RemoteError, UnknownService, deserialize, serialize
from werkzeug.test import EnvironBuilder

from helpdesk import contracts, errors
from helpdesk.problems import field_problems
from services.gateway.http import RETRY_AFTER_SECONDS, ApiError, api_error, read_json
from services.tickets import domain

MAX_BYTES = 3 * 1024 * 1024


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def raised(action):
    try:
        action()
    except Exception as exc:  # noqa: BLE001 - the point is to keep whatever it raised
        return exc
    raise AssertionError("nothing raised")


def refused_socket():
    return raised(lambda: socket.create_connection(("127.0.0.1", closed_port()), timeout=2))


def kombu_down():
    connection = kombu.Connection(f"amqp://guest:guest@127.0.0.1:{closed_port()}//", connect_timeout=2)
    return raised(lambda: connection.ensure_connection(max_retries=1))


def postgres_down():
    return raised(lambda: psycopg2.connect(host="127.0.0.1", port=closed_port(), user="x", connect_timeout=2))


def over_rpc(exc):
    """What the gateway gets when a service raised `exc` (not an expected error): a RemoteError."""
    return deserialize(json.loads(json.dumps(serialize(exc))))


OUTAGES = {
    "RabbitMQ down (ECONNREFUSED)": refused_socket,
    "RabbitMQ down (kombu)": kombu_down,
    "broker closed the connection": lambda: amqp.exceptions.ConnectionForced("CONNECTION_FORCED - shutdown"),
    "recoverable broker error": lambda: amqp.exceptions.RecoverableConnectionError("connection already closed"),
    "service not running": lambda: UnknownService("tickets"),
    "PostgreSQL down, in a service": lambda: over_rpc(postgres_down()),
    "connection killed, in a service": lambda: over_rpc(psycopg2.errors.AdminShutdown(
        "terminating connection due to administrator command")),
    "connection closed, in a service": lambda: over_rpc(psycopg2.InterfaceError("connection already closed")),
    "broker down, in a service": lambda: over_rpc(kombu_down()),
}


@pytest.mark.parametrize("make", OUTAGES.values(), ids=OUTAGES.keys())
def test_an_outage_answers_503_with_retry_after(make):
    error = api_error(make())
    assert (error.status, error.error) == (503, "service_unavailable")
    assert error.headers == {"Retry-After": str(RETRY_AFTER_SECONDS)}


NOT_OUTAGES = {
    "a bug in the gateway": lambda: KeyError("x"),
    "a bug in a service": lambda: over_rpc(TypeError("bad")),
    "a database error that is a bug": lambda: over_rpc(psycopg2.errors.UndefinedColumn("no column")),
    "a file missing": lambda: raised(lambda: open("/nonexistent/file")),
}


@pytest.mark.parametrize("make", NOT_OUTAGES.values(), ids=NOT_OUTAGES.keys())
def test_a_bug_still_answers_500(make):
    assert api_error(make()).status == 500


def test_a_remote_error_keeps_its_class_name():
    assert over_rpc(postgres_down()).exc_type == "OperationalError"
    assert isinstance(over_rpc(postgres_down()), RemoteError)


# -- hostile JSON ---------------------------------------------------------------------------------

def request_with(body):
    return EnvironBuilder(method="POST", data=body, content_type="application/json").get_request()


def refusal(body, schema=None):
    with pytest.raises(ApiError) as refused:
        read_json(request_with(body), schema or contracts.LoginSchema(), MAX_BYTES)
    return refused.value


@pytest.mark.parametrize("depth", [33, 900, 2_000, 100_000])
def test_deeply_nested_json_is_a_400_before_any_schema(depth):
    error = refusal('{"email": ' + "[" * depth + "]" * depth + "}")
    assert (error.status, error.error, error.message) == (400, "malformed_json", "body_too_deep")
    assert error.params == {"max_depth": contracts.MAX_JSON_DEPTH}


def test_a_nested_value_that_parses_names_its_field():
    error = refusal('{"password": "x", "email": ' + "[" * 100 + "]" * 100 + "}")
    assert error.fields == {"email": [{"code": "nested_too_deep", "params": {"max_depth": 32}}]}


def test_a_2000_deep_cc_value_is_refused():
    body = json.dumps({"title": "t", "description": "d", "department": "networks"})[:-1]
    error = refusal(body + ', "cc": ' + "[" * 2_000 + "]" * 2_000 + "}", contracts.OpenTicketSchema())
    assert (error.status, error.error) == (400, "malformed_json")


def test_nesting_up_to_the_bound_reaches_the_schema():
    nested = "[" * 31 + "]" * 31
    error = refusal('{"password": "x", "email": ' + nested + "}")
    assert (error.status, error.error) == (422, "invalid_input")


def test_services_refuse_deep_values_too_naming_the_field():
    """A service is the trust boundary: a command from another service is measured as well."""
    deep = []
    for _ in range(5_000):
        deep = [deep]
    with pytest.raises(ValidationError) as refused:
        contracts.CcChangeSchema().load({"cc": deep})
    assert field_problems(refused.value.messages) == {"cc": [{"code": "nested_too_deep", "params": {"max_depth": 32}}]}


def test_the_depth_is_measured_without_recursion():
    deep = {}
    for _ in range(100_000):
        deep = {"a": deep}
    assert contracts.nested_too_deep({"x": 1, "b": deep}) == "b"
    assert contracts.nested_too_deep({"x": [[{"y": []}]]}) is None


def test_the_company_filter_of_users_must_be_a_uuid():
    with pytest.raises(ValidationError) as refused:
        contracts.UserFiltersSchema().load({"company_id": "notauuid"})
    assert list(field_problems(refused.value.messages)) == ["company_id"]


# -- answers that tell nothing ---------------------------------------------------------------------

AGENT = {"user_id": "a-1", "email": "a@x", "name": "A", "role": "agent", "departments": ["networks"]}
SUPERVISOR = {"user_id": "s-1", "email": "s@x", "name": "S", "role": "supervisor", "departments": []}


def test_assigning_to_a_missing_user_is_refused_like_a_user_who_is_no_agent_there():
    from tests.unit.test_tickets_domain import CATALOG, CUSTOMER, command, recorded  # noqa: PLC0415
    (opening,) = domain.open_ticket(command(), CUSTOMER, CATALOG, reference="#000001")
    ticket = domain.fold([recorded(opening)])
    refusals = set()
    for agent in (None, dict(AGENT, role="customer", departments=[]), dict(AGENT, departments=["sales"])):
        with pytest.raises(domain.RuleBroken) as refused:
            domain.assign(ticket, SUPERVISOR, agent)
        refusals.add((refused.value.field, refused.value.code, repr(refused.value.params)))
    assert refusals == {("agent_id", "assign_to_department_agent", "{}")}


def test_a_taken_ticket_id_answers_without_its_version():
    error = api_error(over_rpc(errors.Conflict("ticket_id_taken")))
    assert (error.status, error.error, error.message, error.params, error.extra) == (
        409, "conflict", "ticket_id_taken", {}, {})

