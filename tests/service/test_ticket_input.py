"""Bad input to every ticket endpoint is refused with a 4xx and a JSON body that says what is wrong,
never a 5xx: POST /api/v1/tickets, every action of helpdesk.contracts.TICKET_ACTIONS, the lists and
queues, attachments, If-Match, and transitions the ticket's status does not allow.

The cases are generated from tables: for each endpoint, a valid body and its fields (what types
they refuse, whether they are required, how long they may be, which values of the right type mean
nothing). Each case is sent on its own ticket state where the valid body would be accepted, so the
answer is about the bad field and nothing else.
"""
import base64
import dataclasses
import uuid

import pytest

from helpdesk.contracts import TICKET_ACTIONS

from .conftest import as_user

CUSTOMER = "cliente@demo.example"
TICKET = {"department": "networks", "title": "Sin conexión", "description": "Desde las 9:00 no hay tráfico."}
ITIL = {"type": "incident", "service": "internet_access", "category": "packet_loss"}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 100 + b"This program cannot be run"
MAX_ATTACHMENT = 2 * 1024 * 1024


# -- helpers ------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Ref:
    """A value known only at run time: a user's or ticket's id (see the `refs` fixture)."""
    name: str


@dataclasses.dataclass(frozen=True)
class Bad:
    """A value of the right type that must be refused, and the field the error must name."""
    value: object
    field: str | None = None  # None: the field itself


@dataclasses.dataclass(frozen=True)
class Field:
    wrong_types: tuple = ()  # values of a type the field never takes
    required: bool = False
    max_length: int | None = None
    refused: tuple = ()      # Bad(...) values


def text(max_length, required=False, blank_refused=False):
    return Field(wrong_types=(123, ["a"], {"a": "b"}, True, None), required=required, max_length=max_length,
                 refused=(Bad("   "),) if blank_refused else ())


def b64(content):
    return base64.b64encode(content).decode()


def upload(filename="captura.pdf", content=PDF):
    return {"filename": filename, "content_base64": b64(content)}


UUID_FIELD = (123, "not-a-uuid", ["a"], None)
CC = Field(wrong_types=(5, {"a": "b"}, [1], None, True),
           refused=(Bad("a@x.es,not-an-email"), Bad("a@x.es;b@y.es"), Bad("a@x.es,,b@y.es"),
                    Bad(["a@x.es", "bad@"]), Bad(",".join(f"u{n}@x.es" for n in range(11))),
                    Bad("x" * 250 + "@y.es")))
ATTACHMENT = Field(wrong_types=("captura.pdf", ["a"], 5, None), refused=(
    Bad({"filename": "captura.pdf"}, "attachment.content_base64"),
    Bad({"content_base64": b64(PDF)}, "attachment.filename"),
    Bad(dict(upload(), mime="application/pdf"), "attachment.mime"),
    Bad({"filename": "", "content_base64": b64(PDF)}, "attachment.filename"),
    Bad({"filename": "x" * 252 + ".pdf", "content_base64": b64(PDF)}, "attachment.filename"),
    Bad({"filename": "captura.pdf", "content_base64": 5}, "attachment.content_base64"),
))


# Every endpoint that takes a body: (who sends it, a valid body, its fields).
OPEN = ("customer", TICKET, {
    "title": text(200, required=True, blank_refused=True),
    "description": text(20_000, required=True, blank_refused=True),
    "department": Field(wrong_types=(7, ["networks"], None), max_length=50,
                        refused=(Bad("marketing"), Bad("Networks"), Bad(""))),
    "urgency": Field(wrong_types=(1, ["high"]), refused=(Bad("critical"), Bad("low"), Bad("HIGH"))),
    "channel": Field(wrong_types=(1, None), refused=(Bad("fax"),)),
    "cc": CC,
    "attachment": ATTACHMENT,
    "follows_up": Field(wrong_types=UUID_FIELD, refused=(Bad(Ref("missing")), Bad(Ref("other company")))),
    "ticket_id": Field(wrong_types=(123, "not-a-uuid", ["a"])),
})
# The ITIL form, from a valid Incidencia (no department).
OPEN_ITIL = ("customer", {"title": "Pérdida de paquetes", "description": "20 %", "itil": ITIL, "urgency": "high"}, {
    "itil": Field(wrong_types=("incident", ["a"], 5, None), refused=(
        Bad(dict(ITIL, type="wish"), "itil.type"),
        Bad(dict(ITIL, type=None), "itil.type"),
        Bad(dict(ITIL, service="teleport"), "itil.service"),
        Bad(dict(ITIL, service="x" * 101), "itil.service"),
        Bad(dict(ITIL, service=5), "itil.service"),
        Bad(dict(ITIL, category="admin_billing"), "itil.category"),
        Bad({"type": "incident", "service": "hosting"}, "itil.category"),
        Bad(dict(ITIL, priority="p1"), "itil.priority"),
    )),
})

ACTION_FIELDS = {
    "comments": ("customer", {"body": "Adjunto más datos."}, {
        "body": Field(wrong_types=(123, ["a"], {"a": "b"}, True, None), max_length=20_000,
                      refused=(Bad(""), Bad("   "))),
        "attachment": ATTACHMENT}),
    "notes": ("agent", {"body": "Revisar el router."}, {
        "body": Field(wrong_types=(123, ["a"], {"a": "b"}, True, None), max_length=20_000,
                      refused=(Bad(""), Bad("   "))),
        "attachment": ATTACHMENT}),
    "information-requests": ("agent", {"body": "¿Qué modelo de router tiene?"}, {
        "body": text(20_000, required=True, blank_refused=True)}),
    "cc": ("customer", {"cc": "a@x.es"}, {"cc": dataclasses.replace(CC, required=True)}),
    "assign": ("agent", {}, {
        "agent_id": Field(wrong_types=UUID_FIELD, refused=(
            Bad(Ref("missing")), Bad(Ref("sales agent")), Bad(Ref("customer")), Bad(Ref("supervisor"))))}),
    "start": ("agent", {}, {}),
    "reclassify": ("agent", {"department": "sales", "reason": "Es una consulta comercial."}, {
        "department": Field(wrong_types=(7, ["sales"], None), required=True, max_length=50,
                            refused=(Bad("marketing"), Bad("networks"), Bad(""))),
        "reason": text(2000, required=True, blank_refused=True)}),
    "urgency": ("agent", {"urgency": "high"}, {
        "urgency": Field(wrong_types=(1, ["high"], None), required=True,
                         refused=(Bad("critical"), Bad("low"), Bad("")))}),
    "resolve": ("agent", {"solution": "Reiniciado el puerto."}, {
        "solution": text(20_000, required=True, blank_refused=True)}),
    "provider-fault": ("agent", {"provider_fault": True, "note": "Fallo de nuestra fibra."}, {
        "provider_fault": Field(wrong_types=("maybe", ["a"], {"a": "b"}, None, 2), required=True),
        "note": text(2000)}),
    "approve": ("customer", {"comment": "Gracias."}, {"comment": text(20_000)}),
    "refuse": ("customer", {"reason": "Sigue sin funcionar."}, {
        "reason": text(20_000, required=True, blank_refused=True)}),
    "close": ("customer", {"reason": "Ya no hace falta."}, {"reason": text(2000)}),
    "reopen": ("agent", {"reason": "Llamó: sigue sin línea."}, {
        "reason": text(20_000, required=True, blank_refused=True)}),
    "merge": ("agent", {"into": Ref("target")}, {
        "into": Field(wrong_types=UUID_FIELD, required=True, refused=(
            Bad(Ref("missing")), Bad(Ref("self")), Bad(Ref("closed")), Bad(Ref("other company")),
            Bad(Ref("hidden"))))}),
}

ASSIGN, START = ("agent", "assign", {}), ("agent", "start", {})
RESOLVE = ("agent", "resolve", {"solution": "Hecho."})
# What brings a fresh ticket to where each action (with its valid body) is accepted.
READY = {"start": [ASSIGN], "resolve": [ASSIGN, START], "approve": [ASSIGN, RESOLVE],
         "refuse": [ASSIGN, RESOLVE], "reopen": [ASSIGN, RESOLVE]}


def cases(name, valid, fields):
    """(case id, body, field the error must name) for every way to get `fields` wrong."""
    yield f"{name}: unknown field", dict(valid, priority="p1"), "priority"
    for field, spec in fields.items():
        for value in spec.wrong_types:
            yield f"{name}: {field} of type {type(value).__name__} {value!r:.20}", dict(valid, **{field: value}), field
        if spec.required:
            yield f"{name}: {field} missing", {k: v for k, v in valid.items() if k != field}, field
        if spec.max_length:
            yield f"{name}: {field} too long", dict(valid, **{field: "x" * (spec.max_length + 1)}), field
        for bad in spec.refused:
            yield f"{name}: {field} = {bad.value!r:.40}", dict(valid, **{field: bad.value}), bad.field or field


def table(rows):
    return pytest.mark.parametrize("case", rows, ids=[row[0] for row in rows])


def resolved(value, refs):
    if isinstance(value, Ref):
        return refs[value.name]
    if isinstance(value, dict):
        return {k: resolved(v, refs) for k, v in value.items()}
    return value


def assert_names(response, field, status=422):
    """A 4xx JSON error that names `field`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == {422: "invalid_input", 413: "payload_too_large"}.get(status, body["error"])
    assert field in body.get("fields", {}), body


def post(api, ticket_id, action, body, headers=None):
    return api.call("POST", f"/api/v1/tickets/{ticket_id}/{action}", body, headers=headers)


# -- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def actors(system):
    return {"customer": as_user(system, CUSTOMER), "agent": as_user(system, "agent-networks@helpdesk.example"),
            "sales agent": as_user(system, "agent-sales@helpdesk.example"),
            "admin": as_user(system, "admin@helpdesk.example")}


def opened(api, **body):
    response = api.call("POST", "/api/v1/tickets", dict(TICKET, **body))
    assert response.status_code == 201, response.text
    return response.json()["ticket_id"]


@pytest.fixture(scope="module")
def fresh(actors):
    """fresh(action): a new ticket of the customer's, with one internal note (so it has an older
    version), brought to where `action` is accepted."""
    def make(action=None):
        ticket_id = opened(actors["customer"])
        steps = [("agent", "notes", {"body": "Primera nota."})] + READY.get(action, [])
        for who, step, body in steps:
            response = post(actors[who], ticket_id, step, body)
            assert response.status_code == 200, response.text
        return ticket_id
    return make


@pytest.fixture(scope="module")
def refs(system, actors, fresh):
    admin = actors["admin"]
    users = {u["email"]: u["user_id"] for u in admin.call("GET", "/api/v1/admin/users").json()["items"]}
    company = admin.call("POST", "/api/v1/admin/companies", {"name": f"Otra {uuid.uuid4().hex[:6]}"}).json()
    other = admin.call("POST", "/api/v1/admin/users", {
        "email": f"otro-{uuid.uuid4().hex[:8]}@example.com", "name": "Otro", "role": "customer",
        "company_id": company["company_id"]}).json()
    closed = fresh()
    assert post(actors["customer"], closed, "close", {}).status_code == 200
    return {
        "missing": str(uuid.uuid4()),
        "customer": users[CUSTOMER],
        "sales agent": users["agent-sales@helpdesk.example"],
        "supervisor": users["supervisor@helpdesk.example"],
        "target": fresh(),
        "closed": closed,
        "hidden": opened(actors["customer"], department="sales"),  # not the networks agent's to see
        "other company": opened(actors["agent"], on_behalf_of=other["user_id"], channel="phone"),
    }


@pytest.fixture(scope="module")
def ready(fresh):
    """One ticket per action, ready for it; shared by the cases that must be refused anyway."""
    tickets = {}

    def get(action):
        if action not in tickets:
            tickets[action] = fresh(action)
        return tickets[action]
    return get


# -- the tables cover every action --------------------------------------------------------------

def test_the_tables_cover_every_ticket_action():
    assert set(ACTION_FIELDS) == set(TICKET_ACTIONS)
    for action, (_, _, fields) in ACTION_FIELDS.items():
        assert set(fields) == set(TICKET_ACTIONS[action]().fields), action


# -- POST /api/v1/tickets -----------------------------------------------------------------------

def without(body, field):
    return {k: v for k, v in body.items() if k != field}


OPEN_CASES = list(cases("open", OPEN[1], OPEN[2])) + list(cases("open itil", OPEN_ITIL[1], OPEN_ITIL[2]))[1:] + [
    ("open: neither department nor itil", without(TICKET, "department"), "department"),
    ("open: both department and itil", dict(TICKET, itil=ITIL, urgency="high"), "department"),
    ("open: incident without urgency", dict(without(TICKET, "department"), itil=ITIL), "urgency"),
    ("open: request with urgency", dict(without(TICKET, "department"), urgency="high",
                                        itil={"type": "request", "service": "hosting", "category": "technical"}),
     "urgency"),
    ("open: requester named in the body", dict(TICKET, requester_email="otro@x.es"), "requester_email"),
]


@table(OPEN_CASES)
def test_opening_refuses_bad_fields(actors, refs, case):
    _, body, field = case
    assert_names(actors["customer"].call("POST", "/api/v1/tickets", resolved(body, refs)), field)


STAFF_OPENING = [
    ("no on_behalf_of", dict(TICKET, channel="phone"), "on_behalf_of"),
    ("on_behalf_of nobody", dict(TICKET, channel="phone", on_behalf_of=Ref("missing")), "on_behalf_of"),
    ("on_behalf_of an agent", dict(TICKET, channel="phone", on_behalf_of=Ref("sales agent")), "on_behalf_of"),
    ("on_behalf_of not a uuid", dict(TICKET, channel="phone", on_behalf_of="ana"), "on_behalf_of"),
    ("portal is the customer's channel", dict(TICKET, channel="portal", on_behalf_of=Ref("customer")),
     "channel"),
    ("channel unknown", dict(TICKET, channel="fax", on_behalf_of=Ref("customer")), "channel"),
]


@table(STAFF_OPENING)
def test_staff_opening_for_a_customer_refuses_bad_fields(actors, refs, case):
    _, body, field = case
    assert_names(actors["agent"].call("POST", "/api/v1/tickets", resolved(body, refs)), field)


# -- every action -------------------------------------------------------------------------------

ACTION_CASES = [(case_id, action, body, field)
                for action, (_, valid, fields) in ACTION_FIELDS.items()
                for case_id, body, field in cases(action, valid, fields)]


@table(ACTION_CASES)
def test_every_action_refuses_bad_fields(actors, refs, ready, case):
    _, action, body, field = case
    ticket_id = ready(action)
    who = ACTION_FIELDS[action][0]
    before = actors["agent"].call("GET", f"/api/v1/tickets/{ticket_id}").json()["version"]
    assert_names(post(actors[who], ticket_id, action, resolved(body, dict(refs, self=ticket_id))), field)
    assert actors["agent"].call("GET", f"/api/v1/tickets/{ticket_id}").json()["version"] == before


@pytest.mark.parametrize("action", sorted(ACTION_FIELDS))
def test_every_action_accepts_its_valid_body(actors, refs, fresh, action):
    """The control of the table above: the same tickets and bodies, valid, are accepted."""
    who, valid, _ = ACTION_FIELDS[action]
    response = post(actors[who], fresh(action), action, resolved(valid, refs))
    assert response.status_code == 200, response.text


# -- addresses in copy --------------------------------------------------------------------------

CC_MESSAGES = [  # (cc, code, the Spanish message: the customer's profile language)
    ("a@x.es,not-an-email", "invalid_email", "«not-an-email» no es una dirección de correo válida."),
    ("a@x.es;b@y.es", "invalid_email", "«a@x.es;b@y.es» no es una dirección de correo válida."),
    (["a@x.es", "bad@"], "invalid_email", "«bad@» no es una dirección de correo válida."),
    ("a@x.es,,b@y.es", "cc_empty_address", "Hay una dirección vacía (¿dos comas seguidas?)."),
    (",".join(f"u{n}@x.es" for n in range(11)), "cc_too_many", "Indique como máximo 10 direcciones."),
]


@pytest.mark.parametrize("cc,code,named", CC_MESSAGES, ids=[str(c[0])[:30] for c in CC_MESSAGES])
def test_a_bad_address_in_copy_is_named_in_the_error(actors, ready, cc, code, named):
    for response in (actors["customer"].call("POST", "/api/v1/tickets", dict(TICKET, cc=cc)),
                     post(actors["customer"], ready("cc"), "cc", {"cc": cc})):
        assert_names(response, "cc")
        assert response.json()["fields"]["cc"] == [named], response.json()
        assert response.json()["field_codes"]["cc"] == [code], response.json()


def test_addresses_in_copy_are_forgiven_spaces_and_duplicates(actors):
    response = actors["customer"].call("POST", "/api/v1/tickets", dict(TICKET, cc="a@x.es, b@y.es ,A@x.es"))
    assert response.status_code == 201, response.text
    assert response.json()["cc"] == ["a@x.es", "b@y.es"]


# -- attachments --------------------------------------------------------------------------------

ATTACHMENT_CASES = [
    # (case, filename, content_base64, status, message fragment in Spanish, the actors' language)
    ("just over 2 MB", "captura.txt", b64(b"a" * (MAX_ATTACHMENT + 1)), 413, "2 MB"),
    ("2.5 MB", "captura.txt", b64(b"a" * (MAX_ATTACHMENT * 5 // 4)), 413, "2 MB"),
    ("an EXE named .pdf", "factura.pdf", b64(EXE), 422, "No se admiten archivos de tipo"),
    ("a PNG named .pdf", "factura.pdf", b64(PNG_HEADER), 422, ".png"),
    ("HTML named .txt", "nota.txt", b64(b"<html><script>alert(1)</script></html>"), 422, "HTML"),
    ("not base64", "captura.pdf", "esto no es base64!", 422, "base64"),
    ("base64 with non-ASCII", "captura.pdf", "ññññ", 422, "base64"),
    ("empty", "captura.pdf", "", 422, "vacío"),
    ("binary that is no known type", "datos.bin", b64(bytes(range(256)) * 4), 422, "No se reconoce"),
    ("a name of control characters only", "\x01\x02", b64(PDF), 422, "nombre"),
]
SENDERS = [("open", "customer"), ("comments", "customer"), ("notes", "agent")]


@pytest.mark.parametrize("where,who", SENDERS, ids=[s[0] for s in SENDERS])
@pytest.mark.parametrize("case", ATTACHMENT_CASES, ids=[c[0] for c in ATTACHMENT_CASES])
def test_bad_attachments_are_refused_saying_why(actors, ready, where, who, case):
    _, filename, content, status, fragment = case
    file = {"filename": filename, "content_base64": content}
    if where == "open":
        response = actors[who].call("POST", "/api/v1/tickets", dict(TICKET, attachment=file))
    else:
        response = post(actors[who], ready(where), where, {"body": "Adjunto", "attachment": file})
    assert response.status_code == status, response.text
    body = response.json()
    if status == 422:
        assert body["error"] == "invalid_input" and "attachment" in body["fields"], body
        assert fragment in " ".join(body["fields"]["attachment"]), body
        assert len(body["field_codes"]["attachment"]) == len(body["fields"]["attachment"]), body
    else:
        assert body["error"] == "payload_too_large" and fragment in body["message"], body


def test_an_attachment_of_exactly_2_mb_is_accepted(actors, ready):
    content = b"a" * MAX_ATTACHMENT
    response = post(actors["customer"], ready("comments"), "comments",
                    {"attachment": {"filename": "registro.txt", "content_base64": b64(content)}})
    assert response.status_code == 200, response.text
    assert response.json()["history"][-1]["attachment"]["size"] == MAX_ATTACHMENT


# -- text the database cannot store -------------------------------------------------------------

FREE_TEXT = [("open", "title"), ("open", "description"), ("comments", "body"), ("notes", "body"),
             ("information-requests", "body"), ("reclassify", "reason"), ("resolve", "solution"),
             ("provider-fault", "note"), ("approve", "comment"), ("refuse", "reason"), ("close", "reason"),
             ("reopen", "reason")]
HOSTILE = [("NUL character", "antes\u0000después"), ("lone surrogate", "texto \ud800 roto")]


@pytest.mark.parametrize("what,value", HOSTILE, ids=[h[0] for h in HOSTILE])
@pytest.mark.parametrize("where,field", FREE_TEXT, ids=[f"{a}.{f}" for a, f in FREE_TEXT])
def test_text_with_characters_that_cannot_be_stored_is_refused_naming_the_field(
        actors, refs, fresh, where, field, what, value):
    if where == "open":
        response = actors["customer"].call("POST", "/api/v1/tickets", dict(TICKET, **{field: value}))
    else:
        who, valid, _ = ACTION_FIELDS[where]
        response = post(actors[who], fresh(where), where, dict(resolved(valid, refs), **{field: value}))
    assert_names(response, field)


# -- lists and queues ---------------------------------------------------------------------------

LIST_FILTERS = [
    ("status=bogus", "status"), ("status=", "status"), ("limit=0", "limit"), ("limit=101", "limit"),
    ("limit=abc", "limit"), ("limit=1.5", "limit"), ("text=", "text"), ("text=" + "x" * 201, "text"),
    ("text=a%00b", "text"), ("department=" + "x" * 51, "department"), ("department=net%00works", "department"),
    ("scope=everyone", "scope"), ("cursor=not-a-cursor", "cursor"), ("cursor=" + "A" * 101, "cursor"),
    ("cursor=%00", "cursor"), ("priority=high", "priority"),
]


@pytest.mark.parametrize("query,field", LIST_FILTERS, ids=[q[0][:30] for q in LIST_FILTERS])
def test_list_filters_are_checked(actors, query, field):
    assert_names(actors["customer"].call("GET", f"/api/v1/tickets?{query}"), field)


QUEUE_FILTERS = [("limit=0", "limit"), ("limit=abc", "limit"), ("cursor=not-a-cursor", "cursor"),
                 ("status=lost", "status"), ("urgency=low", "urgency"), ("assignee=ana", "assignee"),
                 ("text=", "text"), ("colour=red", "colour")]


@pytest.mark.parametrize("query,field", QUEUE_FILTERS, ids=[q[0] for q in QUEUE_FILTERS])
def test_queue_filters_are_checked(actors, query, field):
    assert_names(actors["agent"].call("GET", f"/api/v1/queues/networks?{query}"), field)


# -- If-Match -----------------------------------------------------------------------------------

BAD_IF_MATCH = ["abc", "-1", "1.5", '""', '"', 'W/"x"', "1 2", "²"]


@pytest.mark.parametrize("value", BAD_IF_MATCH)
def test_a_malformed_if_match_is_refused(actors, ready, value):
    response = post(actors["agent"], ready("notes"), "notes", {"body": "x"}, headers={"If-Match": value})
    assert_names(response, "If-Match")


@pytest.mark.parametrize("action", sorted(ACTION_FIELDS))
def test_a_stale_if_match_is_refused_with_the_current_version(actors, refs, fresh, action):
    who, valid, _ = ACTION_FIELDS[action]
    ticket_id = fresh(action)
    current = actors["agent"].call("GET", f"/api/v1/tickets/{ticket_id}")
    version = current.json()["version"]
    assert current.headers["ETag"] == f'"{version}"' and version >= 1

    stale = post(actors[who], ticket_id, action, resolved(valid, refs), headers={"If-Match": f'"{version - 1}"'})
    assert stale.status_code == 409, stale.text
    assert stale.json()["error"] == "conflict"
    assert str(stale.json()["current_version"]) == str(version)  # its type: the test below
    assert actors["agent"].call("GET", f"/api/v1/tickets/{ticket_id}").json()["version"] == version

    fits = post(actors[who], ticket_id, action, resolved(valid, refs), headers={"If-Match": f'W/"{version}"'})
    assert fits.status_code == 200, fits.text
    assert fits.json()["version"] > version and fits.headers["ETag"] == f'"{fits.json()["version"]}"'


def test_the_current_version_in_a_conflict_is_the_number_the_ticket_shows(actors, ready):
    """`current_version` is what the client sends back as If-Match: the ticket's `version`, a number."""
    ticket_id = ready("notes")
    version = actors["agent"].call("GET", f"/api/v1/tickets/{ticket_id}").json()["version"]
    stale = post(actors["agent"], ticket_id, "notes", {"body": "x"}, headers={"If-Match": f'"{version - 1}"'})
    assert stale.status_code == 409, stale.text
    assert stale.json()["current_version"] == version
    illegal = post(actors["agent"], ticket_id, "start", {})  # not assigned
    assert illegal.status_code == 409, illegal.text
    assert illegal.json().get("current_version", version) == version


# -- unknown actions and tickets ----------------------------------------------------------------

def test_unknown_actions_and_tickets_answer_404(actors, ready):
    ticket_id = ready("notes")
    for path in (f"/api/v1/tickets/{ticket_id}/escalate", f"/api/v1/tickets/{ticket_id}/NOTES",
                 f"/api/v1/tickets/{uuid.uuid4()}/notes", "/api/v1/tickets/not-a-uuid/notes"):
        response = actors["agent"].call("POST", path, {"body": "x"})
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"] == "not_found" and response.json()["message"]


# -- transitions the status does not allow ------------------------------------------------------

CLOSE = ("customer", "close", {})
ILLEGAL = [
    # (case, steps before, who, action, body, fragment of the message, in Spanish: the actors' language)
    ("approve a new ticket", [], "customer", "approve", {}, "nuevo"),
    ("refuse an assigned ticket", [ASSIGN], "customer", "refuse", {"reason": "No"}, "asignado"),
    ("start an unassigned ticket", [], "agent", "start", {}, "Asigne el ticket"),
    ("start twice", [ASSIGN, START], "agent", "start", {}, "en curso"),
    ("resolve an unassigned ticket", [], "agent", "resolve", {"solution": "Hecho"}, "nuevo"),
    ("resolve twice", [ASSIGN, RESOLVE], "agent", "resolve", {"solution": "Hecho"}, "resuelto"),
    ("ask for information on a resolved ticket", [ASSIGN, RESOLVE], "agent", "information-requests",
     {"body": "¿?"}, "resuelto"),
    ("reclassify a resolved ticket", [ASSIGN, RESOLVE], "agent", "reclassify",
     {"department": "sales", "reason": "x"}, "resuelto"),
    ("change the urgency of a resolved ticket", [ASSIGN, RESOLVE], "agent", "urgency", {"urgency": "high"},
     "resuelto"),
    ("comment on a closed ticket", [CLOSE], "customer", "comments", {"body": "Hola"}, "cerrado"),
    ("reply on a closed ticket", [CLOSE], "agent", "comments", {"body": "Hola"}, "cerrado"),
    ("note on a closed ticket", [CLOSE], "agent", "notes", {"body": "Hola"}, "cerrado"),
    ("change the copy of a closed ticket", [CLOSE], "customer", "cc", {"cc": "z@x.es"}, "cerrado"),
    ("assign a closed ticket", [CLOSE], "agent", "assign", {}, "cerrado"),
    ("close a closed ticket", [CLOSE], "customer", "close", {}, "cerrado"),
    ("approve a closed ticket", [ASSIGN, RESOLVE, ("customer", "approve", {})], "customer", "approve", {},
     "cerrado"),
    ("merge a closed ticket", [CLOSE], "agent", "merge", {"into": Ref("target")}, "cerrado"),
    ("reopen an assigned ticket", [ASSIGN], "agent", "reopen", {"reason": "x"}, "asignado"),
    ("reopen a closed ticket", [ASSIGN, RESOLVE, ("customer", "approve", {})], "agent", "reopen", {"reason": "x"},
     "cerrado"),
]


@table(ILLEGAL)
def test_illegal_transitions_answer_409_with_a_clear_message(actors, refs, fresh, case):
    _, steps, who, action, body, fragment = case
    ticket_id = fresh()
    for actor, step, step_body in steps:
        assert post(actors[actor], ticket_id, step, step_body).status_code == 200
    before = actors["agent"].call("GET", f"/api/v1/tickets/{ticket_id}").json()
    response = post(actors[who], ticket_id, action, resolved(body, refs))
    assert response.status_code == 409, response.text
    # a follow-up on a closed ticket has a code of its own (the notifier then opens a new ticket)
    assert response.json()["error"] == ("ticket_closed" if action == "comments" and fragment == "cerrado" else "conflict")
    assert fragment in response.json()["message"], response.json()
    assert actors["agent"].call("GET", f"/api/v1/tickets/{ticket_id}").json()["version"] == before["version"]


# -- actions that are not the actor's -----------------------------------------------------------

STAFF_ONLY = ["notes", "information-requests", "assign", "start", "reclassify", "urgency", "resolve",
              "provider-fault", "merge", "reopen"]
CUSTOMER_ONLY = ["approve", "refuse", "close"]


@pytest.mark.parametrize("action", sorted(ACTION_FIELDS))
def test_every_action_on_a_ticket_the_caller_may_not_see_answers_404(actors, refs, fresh, action):
    """The agent of another department gets exactly what a missing ticket gives, and nothing changes."""
    _, valid, _ = ACTION_FIELDS[action]
    ticket_id = fresh(action)
    before = actors["agent"].call("GET", f"/api/v1/tickets/{ticket_id}").json()["version"]
    response = post(actors["sales agent"], ticket_id, action, resolved(valid, refs))
    assert response.status_code == 404, response.text
    assert response.json() == {"error": "not_found", "message": f"No existe el ticket {ticket_id}."}
    assert actors["agent"].call("GET", f"/api/v1/tickets/{ticket_id}").json()["version"] == before


@pytest.mark.parametrize("action", STAFF_ONLY + CUSTOMER_ONLY)
def test_actions_of_the_other_side_answer_403(actors, refs, fresh, action):
    _, valid, _ = ACTION_FIELDS[action]
    who = "customer" if action in STAFF_ONLY else "agent"
    response = post(actors[who], fresh(action), action, resolved(valid, refs))
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "forbidden" and response.json()["message"]
