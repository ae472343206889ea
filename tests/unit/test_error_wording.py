"""Errors are codes with parameters until the gateway words them, once, in the caller's language:
the catalogues agree, every code the code raises is in them, marshmallow's messages of the real
contracts are codes, the codes survive nameko's RPC, and the gateway's body is as documented."""
import inspect as pyinspect
import json
import re
import string
from pathlib import Path

import pytest
from marshmallow import ValidationError, fields
from nameko.exceptions import deserialize, serialize
from werkzeug.test import EnvironBuilder

from helpdesk import contracts, errors, i18n
from helpdesk.problems import FIELD_CODES, VALIDATOR_CODES, CodedSchema, Problem, field_problems
from services.gateway.http import PRINCIPAL_LANGUAGE, ApiEndpoint, ApiError, caller_language

ROOT = Path(__file__).resolve().parents[2]


def parameters(template):
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_language_has_every_code_with_the_same_parameters():
    spanish, english = i18n.catalogue("es"), i18n.catalogue("en")
    assert set(spanish) == set(english), set(spanish) ^ set(english)
    for code in spanish:
        assert parameters(spanish[code]) == parameters(english[code]), code
        assert spanish[code].strip() and english[code].strip(), code


def raised_codes():
    """Every code literal the services, the library and the gateway raise or declare."""
    second_argument = re.compile(r"\b(?:RuleBroken|invalid)\(\s*[^,()]+,\s*\"([a-z_]+)\"")
    first_argument = re.compile(r"\b(?:Forbidden|IllegalTransition|AttachmentRefused|Problem|NotFound|Conflict|"
                                r"Unauthorized|TooManyRequests|PayloadTooLarge|problem)\(\s*\"([a-z_]+)\"")
    api_error = re.compile(r"\bApiError\(\s*\d+,\s*\"[a-z_]+\",\s*\"([a-z_]+)\"")
    found = {}
    for path in [*ROOT.glob("services/**/*.py"), *ROOT.glob("helpdesk/*.py")]:
        source = path.read_text(encoding="utf-8")
        for pattern in (second_argument, first_argument, api_error):
            for code in pattern.findall(source):
                found.setdefault(code, path.relative_to(ROOT))
    return found


def test_every_code_raised_in_the_code_is_in_the_catalogue():
    found = raised_codes()
    assert {"invalid_email", "unknown_itil_category", "only_staff", "ticket_closed", "attachment_active_content",
            "wrong_email_or_password", "log_in_first", "role_not_allowed"} <= set(found)  # the scan works
    missing = {code: str(path) for code, path in found.items() if code not in i18n.catalogue("es")}
    assert not missing
    for code in ["no_ticket", "no_attachment"]:  # TicketsService.parse_id: f"no_{what}"
        assert code in i18n.catalogue("es")


def command_schemas():
    found = [cls for _, cls in pyinspect.getmembers(contracts, pyinspect.isclass)
             if issubclass(cls, contracts.StrictSchema)]
    return found  # the ticket list and queue filters among them


def walk(field):
    yield field
    for inner in (getattr(field, "inner", None), getattr(field, "key_field", None), getattr(field, "value_field", None)):
        if isinstance(inner, fields.Field):
            yield from walk(inner)


@pytest.mark.parametrize("schema_class", command_schemas(), ids=lambda cls: cls.__name__)
def test_every_message_of_every_command_schema_is_a_code_of_the_catalogue(schema_class):
    """Structural: whatever input fails, marshmallow can only answer with a Problem."""
    schema = schema_class()
    catalogue = i18n.catalogue("es")
    assert all(isinstance(message, Problem) and message in catalogue for message in schema.error_messages.values())
    for name, declared in schema.fields.items():
        for field in walk(declared):
            for key, message in field.error_messages.items():
                assert isinstance(message, Problem) and message.code in catalogue, (name, key, message)
            for validator in field.validators:
                for attribute in ("error", "message_min", "message_max", "message_all", "message_equal"):
                    message = getattr(validator, attribute, None)
                    if message is not None:
                        assert isinstance(message, Problem) and message.code in catalogue, (name, attribute)


def test_the_mapping_tables_name_only_codes_of_the_catalogue():
    codes = set(FIELD_CODES.values()) | {p.code for messages in VALIDATOR_CODES.values() for p in messages.values()}
    assert codes <= set(i18n.catalogue("en"))


def problems_of(schema, data):
    with pytest.raises(ValidationError) as refused:
        schema.load(data)
    return field_problems(refused.value.messages)


def test_marshmallow_errors_of_the_real_contracts_become_codes_with_parameters():
    found = problems_of(contracts.RegisterSchema(), {
        "email": "x@", "password": "", "name": "n" * 101, "phone": "abc", "language": "fr", "nick": "x"})
    assert found == {
        "email": [{"code": "invalid_email", "params": {"value": "x@"}}],
        "password": [{"code": "length_between", "params": {"min": 1, "max": 1024}}],  # never the password
        "name": [{"code": "length_between", "params": {"min": 1, "max": 100}}],
        "phone": [{"code": "invalid_phone", "params": {}}],
        "language": [{"code": "not_one_of", "params": {"choices": "es, en"}}],
        "nick": [{"code": "unknown_field", "params": {}}],
    }
    found = problems_of(contracts.OpenTicketSchema(), {
        "ticket_id": "nope", "itil": {"type": "problem", "service": "hosting", "category": "slowness"},
        "title": "", "description": 5, "cc": "ana@example.es, x@", "attachment": "file"})
    assert {name: [p["code"] for p in problems] for name, problems in found.items()} == {
        "ticket_id": ["invalid_uuid"], "itil.type": ["not_one_of"], "title": ["length_between"],
        "description": ["not_text"], "cc": ["invalid_email"], "attachment": ["not_an_object"]}
    assert problems_of(contracts.OpenTicketSchema(), {"title": "t\x00", "description": "d", "department": "x"}) == {
        "title": [{"code": "unstorable_characters", "params": {}}]}
    assert found["cc"][0]["params"] == {"value": "x@"}
    assert problems_of(contracts.OpenTicketSchema(), {"title": "t", "description": "d"})["department"] == [
        {"code": "department_or_itil", "params": {}}]
    found = problems_of(contracts.SolutionDecisionSchema(), {
        "ticket_id": "7f0c9a4e-3a3b-4c59-9a39-6f6f2b1b8d10", "recipient": "a@example.es", "resolution": -1,
        "decision": "maybe", "token": "t" * 10, "text": None})
    assert {name: [p["code"] for p in problems] for name, problems in found.items()} == {
        "resolution": ["number_too_small"], "decision": ["not_one_of"], "text": ["null"]}
    found = problems_of(contracts.CreateUserSchema(), {"email": "a@example.es", "name": "A", "role": "agent",
                                                       "departments": ["", 3], "is_group": "maybe"})
    assert {name: [p["code"] for p in problems] for name, problems in found.items()} == {
        "departments.0": ["length_between"], "departments.1": ["not_text"], "is_group": ["not_a_boolean"]}
    assert problems_of(contracts.EmailReplySchema(), {"sender": "a@example.es", "received_at": "2026-01-01T10:00"}) == {
        "received_at": [{"code": "datetime_needs_offset", "params": {}}]}
    assert problems_of(contracts.LoginSchema(), {})["email"] == [{"code": "required", "params": {}}]
    assert problems_of(contracts.ListFiltersSchema(), {"limit": "x"})["limit"][0]["code"] == "not_an_integer"
    assert problems_of(contracts.CcChangeSchema(), {"cc": ["a@example.es"] * 3 + [f"u{i}@example.es" for i in range(11)]}
                       )["cc"] == [{"code": "cc_too_many", "params": {"max": 10}}]


@pytest.mark.parametrize("code,params,spanish,english", [
    ("invalid_email", {"value": "x@"}, "«x@» no es una dirección de correo válida.", "'x@' is not a valid email address."),
    ("urgency_required", {"kind": "incident"}, "Para una incidencia hay que indicar la urgencia.",
     "An urgency is required for an incident."),
    ("urgency_not_allowed", {"kind": "request"}, "Con una solicitud no se indica urgencia.",
     "There is no urgency for a request."),
    ("not_in_this_status", {"status": "waiting_for_customer"},
     "No es posible mientras el ticket está en estado «a la espera del cliente».",
     "Not possible while the ticket is waiting for the customer."),
    ("unknown_departments", {"departments": ["ventas", "zoo"]}, "Departamentos desconocidos: ventas, zoo.",
     "Unknown departments: ventas, zoo."),
])
def test_texts_are_the_catalogues_with_their_parameters(code, params, spanish, english):
    assert (i18n.text(code, params, "es"), i18n.text(code, params, "en")) == (spanish, english)


def test_an_unknown_code_or_language_reads_as_the_generic_spanish_text():
    assert i18n.text("no_such_code", {}, "en") == i18n.catalogue("en")["invalid"]
    assert i18n.text("required", {}, "fr") == i18n.catalogue("es")["required"]


@pytest.mark.parametrize("header,language", [
    (None, "es"), ("", "es"), ("en", "en"), ("en-GB,en;q=0.9", "en"), ("es-ES,es;q=0.9,en;q=0.8", "es"),
    ("fr-FR, en;q=0.5, es;q=0.4", "en"), ("es;q=0.2, en;q=0.8", "en"), ("en;q=0, es;q=0.1", "es"),
    ("fr, de", "es"), ("*", "es"), ("en;q=nonsense", "es"), ("EN-us", "en"),
])
def test_accept_language_is_negotiated_with_q_values_and_spanish_by_default(header, language):
    assert i18n.negotiate(header) == language


def request(headers=None, principal_language=None):
    req = EnvironBuilder(headers=headers or {}).get_request()
    if principal_language:
        req.environ[PRINCIPAL_LANGUAGE] = principal_language
    return req


def test_the_profile_language_wins_over_the_header():
    assert caller_language(request({"Accept-Language": "en"})) == "en"
    assert caller_language(request({"Accept-Language": "en"}, principal_language="es")) == "es"
    assert caller_language(request({"Accept-Language": "es"}, principal_language="en")) == "en"
    assert caller_language(request()) == "es"


ERROR_CASES = [  # what services raise, as the gateway receives it after the RPC
    errors.invalid("cc", "invalid_email", value="x@"),
    errors.InvalidInput({"itil": {"category": [Problem("unknown_itil_category", category="wifi", kind="incident",
                                                       choices=["slowness", "total_outage"])]}}),
    errors.Conflict("ticket_changed", current_version=3),
    errors.Conflict("ticket_closed", code="ticket_closed", current_version=None),
    errors.Forbidden("email_not_verified", code="email_not_verified"),
    errors.TooManyRequests("too_many_logins", retry_after=42),
    errors.NotFound("no_ticket", {"id": "7f0c9a4e"}),
    errors.PayloadTooLarge("attachment_too_large", {"max_mb": "2", "max_bytes": 2097152}),
    errors.Unauthorized("wrong_email_or_password"),
]


def over_rpc(exc):
    """What a nameko caller gets back: serialize, JSON on the wire, deserialize_to_instance."""
    return deserialize(json.loads(json.dumps(serialize(exc))))


@pytest.mark.parametrize("exc", ERROR_CASES, ids=lambda exc: f"{type(exc).__name__}-{exc.message}")
def test_codes_and_parameters_survive_nameko_rpc(exc):
    back = over_rpc(exc)
    assert type(back) is type(exc)
    assert (back.code, back.message, back.params, back.details) == (exc.code, exc.message, exc.params, exc.details)


def test_the_rebuilt_errors_keep_what_callers_act_on():
    assert over_rpc(errors.Conflict("ticket_changed", current_version=3)).current_version == 3
    assert over_rpc(errors.TooManyRequests("too_many_logins", retry_after=42)).retry_after == 42
    assert over_rpc(errors.invalid("cc", "cc_too_many", max=10)).errors == {
        "cc": [{"code": "cc_too_many", "params": {"max": 10}}]}


def answer(exc, language):
    response = ApiEndpoint("GET", "/x").response_from_exception(exc, language)
    return response.status_code, json.loads(response.get_data()), response.headers


def test_the_gateway_words_field_errors_in_the_language_with_parallel_codes():
    exc = over_rpc(ERROR_CASES[1])
    status, spanish, _ = answer(exc, "es")
    assert status == 422 and spanish == {
        "error": "invalid_input", "message": "Algunos campos no son válidos.",
        "fields": {"itil.category": ["Categoría desconocida para una incidencia: «wifi»; indique una de estas: "
                                     "slowness, total_outage."]},
        "field_codes": {"itil.category": ["unknown_itil_category"]}}
    _, english, _ = answer(exc, "en")
    assert english["message"] == "Some fields are invalid." and english["fields"] == {
        "itil.category": ["Unknown category 'wifi' for an incident; give one of: slowness, total_outage."]}
    assert english["field_codes"] == spanish["field_codes"]


@pytest.mark.parametrize("exc,status,code", [
    (ERROR_CASES[2], 409, "conflict"), (ERROR_CASES[3], 409, "ticket_closed"), (ERROR_CASES[4], 403, "email_not_verified"),
    (ERROR_CASES[5], 429, "too_many_requests"), (ERROR_CASES[6], 404, "not_found"),
    (ERROR_CASES[7], 413, "payload_too_large"), (ERROR_CASES[8], 401, "unauthenticated"),
    (ApiError(403, "forbidden", "role_not_allowed"), 403, "forbidden"),
    (RuntimeError("internals"), 500, "internal_error"),
])
def test_every_error_keeps_its_status_and_code_and_reads_in_both_languages(exc, status, code):
    exc = over_rpc(exc) if isinstance(exc, errors.ServiceError) else exc
    got_status, spanish, headers = answer(exc, "es")
    _, english, _ = answer(exc, "en")
    assert (got_status, spanish["error"], english["error"]) == (status, code, code)
    assert spanish["message"] != english["message"] and "fields" not in spanish and "internals" not in spanish["message"]
    if code == "too_many_requests":
        assert headers["Retry-After"] == "42"
    if isinstance(exc, errors.Conflict) and exc.current_version is not None:
        assert spanish["current_version"] == 3


def test_a_schema_that_is_not_coded_still_answers_a_code():
    class Plain(CodedSchema.__base__):  # a bare marshmallow Schema: English messages
        n = fields.Integer()
    assert problems_of(Plain(), {"n": "x"}) == {"n": [{"code": "invalid", "params": {}}]}
