"""The two customer manuals, walked through HTTP as the customer and as staff, from opening to CLOSED.

- Manual 000 (department flow): open a ticket to a department with addresses in copy, follow it
  up with the staff, refuse and then approve the solution, close one yourself, follow up a closed
  ticket with a new one; 24-hour support opens tickets for customers who phoned.
- Manual 004 (ITIL flow): an account created by the provider, its generic password changed, an
  Incidencia and a Solicitud, information asked and given with a document, solution approved.

Every step reads the ticket back (GET /api/v1/tickets/{id}) and checks its status and its history.
Then lists, queues and merging.
"""
import base64
import re
import struct
import urllib.parse
import uuid
import zlib

import pytest

from helpdesk.testing import wait_until

from .conftest import as_user, wait_for_mail

CUSTOMER = "cliente@demo.example"          # Demo S.L., plain customer
GROUP_USER = "soporte@demo.example"        # Demo S.L., group user: sees the company's tickets
NETWORKS = "agent-networks@helpdesk.example"
SALES = "agent-sales@helpdesk.example"
SUPPORT_24H = "agent-support-24h@helpdesk.example"
SUPERVISOR = "supervisor@helpdesk.example"
ADMIN = "admin@helpdesk.example"
NEW_PASSWORD = "una clave nueva y larga"
# The seed's names (services/identity/seed.py): the history shows who did what by name.
SEEDED_NAMES = {CUSTOMER: "Ana Cliente", GROUP_USER: "Soporte Demo (grupo)", NETWORKS: "Agente networks",
                SALES: "Agente sales", SUPPORT_24H: "Agente support_24h", SUPERVISOR: "Supervisión",
                ADMIN: "Administración"}


# -- helpers ------------------------------------------------------------------------------------

def png_image():
    """A valid 1×1 PNG, built here so the test needs no file."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1×1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\x00\x00")            # filter byte + one red pixel
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = png_image()


def attachment(filename, content):
    return {"filename": filename, "content_base64": base64.b64encode(content).decode()}


def marker():
    """A word no other test uses, to find this test's tickets by text."""
    return f"z{uuid.uuid4().hex[:10]}"


def open_ticket(api, **body):
    response = api.call("POST", "/api/v1/tickets", body)
    assert response.status_code == 201, response.text
    return response.json()


def act(api, ticket_id, action, body=None):
    response = api.call("POST", f"/api/v1/tickets/{ticket_id}/{action}", {} if body is None else body)
    assert response.status_code == 200, response.text
    return response.json()


def get(api, ticket_id):
    response = api.call("GET", f"/api/v1/tickets/{ticket_id}")
    assert response.status_code == 200, response.text
    return response.json()


def types(ticket):
    return [entry["type"] for entry in ticket["history"]]


def step(actor, ticket_id, action, command, *, status, entry, viewers=(), **shown):
    """`actor` does `action` with `command`; the answer and every viewer's GET show `status`, and
    the history ends with an `entry` carrying `shown` (e.g. body=...). Returns the actor's answer."""
    answer = act(actor, ticket_id, action, command)
    assert answer["status"] == status, answer
    for viewer in (actor, *viewers):
        ticket = get(viewer, ticket_id)
        assert ticket["status"] == status
        last = ticket["history"][-1]
        assert last["type"] == entry, types(ticket)
        for key, value in shown.items():
            assert last[key] == value, (key, last)
    return answer


def routed(api, ticket_id, timeout=5):
    """The ticket once the routing service gave it a department (issue 5: ITIL tickets are routed by
    rules, asynchronously); as it is after `timeout` seconds where no routing service runs yet."""
    wait_until(lambda: get(api, ticket_id)["department"] is not None, timeout=timeout, interval=0.1)
    return get(api, ticket_id)


def seeded(system, email):
    """A seeded account with its profile as the seed made it, in Spanish like the manuals (tests
    that run earlier in the session may edit profiles)."""
    api = as_user(system, email)
    restored = api.call("PATCH", "/api/v1/me", {"name": SEEDED_NAMES[email], "language": "es"})
    assert restored.status_code == 200, restored.text
    return api


def user_id(admin, email):
    response = admin.call("GET", "/api/v1/admin/users")
    assert response.status_code == 200, response.text
    (found,) = [u for u in response.json()["items"] if u["email"] == email]
    return found["user_id"]


def initial_password(mail):
    text = mail.get_body(("plain",)).get_content()
    return re.search(r"([a-z2-9]{4}(?:-[a-z2-9]{4}){3})", text).group(1)


def new_company(admin, name):
    response = admin.call("POST", "/api/v1/admin/companies", {"name": f"{name} {uuid.uuid4().hex[:6]}"})
    assert response.status_code == 201, response.text
    return response.json()["company_id"]


def new_customer(system, admin, email, company_id, **fields):
    """A customer account made by the admin, its generic password already changed."""
    created = admin.call("POST", "/api/v1/admin/users",
                         dict(email=email, name=email, role="customer", company_id=company_id, **fields))
    assert created.status_code == 201, created.text
    generic = initial_password(wait_for_mail(system, email)[0])
    user = as_user(system, email, generic)
    changed = user.call("POST", "/api/v1/me/password", {"current_password": generic, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200, changed.text
    user.token = changed.json()["token"]
    return user


def walk(api, path, **params):
    """Every item of a paginated list, following next_cursor; and the number of pages."""
    items, cursor, pages = [], None, 0
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        response = api.call("GET", f"{path}?{urllib.parse.urlencode(query)}")
        assert response.status_code == 200, response.text
        page = response.json()
        pages += 1
        assert len(page["items"]) <= int(params.get("limit", 25))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items, pages
        assert pages < 1000, "pagination does not end"


# -- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def customer(system):
    return seeded(system, CUSTOMER)


@pytest.fixture(scope="module")
def group_user(system):
    return seeded(system, GROUP_USER)


@pytest.fixture(scope="module")
def agent(system):
    return seeded(system, NETWORKS)


@pytest.fixture(scope="module")
def sales_agent(system):
    return seeded(system, SALES)


@pytest.fixture(scope="module")
def supervisor(system):
    return seeded(system, SUPERVISOR)


@pytest.fixture(scope="module")
def admin(system):
    return seeded(system, ADMIN)


@pytest.fixture(scope="module")
def customer_b(system, admin):
    """A customer of another company."""
    company = new_company(admin, "Otra Empresa")
    return new_customer(system, admin, f"cliente-b-{uuid.uuid4().hex[:8]}@example.com", company)


# -- manual 000: the department flow --------------------------------------------------------------

def test_manual_000_department_ticket_from_opening_to_closed(system, customer, agent, customer_b):
    # 2.2: the customer opens a ticket to a department (Redes), with others in copy, comma-separated
    ticket = open_ticket(customer, department="networks", title="Sin conexión en la sede de Murcia",
                         description="Desde las 9:00 no hay tráfico en el enlace principal.",
                         cc="a@x.es,b@y.es")
    tid = ticket["ticket_id"]
    assert ticket["status"] == "new" and ticket["department"] == "networks"
    assert ticket["cc"] == ["a@x.es", "b@y.es"]
    assert ticket["urgency"] == "medium" and ticket["channel"] == "portal"
    assert re.fullmatch(r"#\d{6}", ticket["reference"])
    (opened,) = get(customer, tid)["history"]
    assert opened["type"] == "TicketOpened"
    assert opened["summary"] == "Ana Cliente abrió el ticket «Sin conexión en la sede de Murcia»"
    assert opened["by"] == {"name": "Ana Cliente", "role": "customer"}

    # the networks agent takes it ({}: "assign it to me") and starts work
    step(agent, tid, "assign", {}, status="assigned", entry="TicketAssigned", viewers=[customer],
         summary="Agente networks asignó el ticket a Agente networks")
    assert get(customer, tid)["assignee_name"] == "Agente networks"
    step(agent, tid, "start", {}, status="in_progress", entry="WorkStarted", viewers=[customer])

    # a public reply, then a request for information: the ticket waits for the customer
    step(agent, tid, "comments", {"body": "Estamos revisando el enlace."}, status="in_progress",
         entry="StaffReplied", viewers=[customer], body="Estamos revisando el enlace.",
         by={"name": "Agente networks", "role": "agent"})
    step(agent, tid, "information-requests", {"body": "¿Puede enviarnos una captura del router?"},
         status="waiting_for_customer", entry="InformationRequested", viewers=[customer],
         body="¿Puede enviarnos una captura del router?")

    # the customer answers with a comment and a document: back to the agent
    answer = step(customer, tid, "comments",
                  {"body": "Adjunto la captura.", "attachment": attachment("captura.png", PNG)},
                  status="in_progress", entry="CustomerCommented", viewers=[agent], body="Adjunto la captura.",
                  by={"name": "Ana Cliente", "role": "customer"})
    sent = answer["history"][-1]["attachment"]
    assert (sent["name"], sent["type"], sent["size"]) == ("captura.png", "image/png", len(PNG))

    # an internal note: the agent's history has it, the customer's never does
    note = "El router del cliente tiene firmware antiguo; no comentar aún."
    step(agent, tid, "notes", {"body": note}, status="in_progress", entry="InternalNoteAdded",
         body=note, internal=True)
    seen_by_customer = customer.call("GET", f"/api/v1/tickets/{tid}")
    assert "InternalNoteAdded" not in types(seen_by_customer.json())
    assert note not in seen_by_customer.text
    assert "InternalNoteAdded" in types(get(agent, tid))

    # resolved; the customer refuses the solution with a reason: reopened
    step(agent, tid, "resolve", {"solution": "Reiniciado el puerto del switch."}, status="resolved",
         entry="TicketResolved", viewers=[customer], body="Reiniciado el puerto del switch.")
    assert get(customer, tid)["solution"] == "Reiniciado el puerto del switch."
    step(customer, tid, "refuse", {"reason": "Sigue sin funcionar desde las 12:00."}, status="reopened",
         entry="SolutionRefused", viewers=[agent], body="Sigue sin funcionar desde las 12:00.")

    # resolved again; the customer approves with a comment: CLOSED
    step(agent, tid, "resolve", {"solution": "Sustituido el transceptor SFP."}, status="resolved",
         entry="TicketResolved", viewers=[customer], body="Sustituido el transceptor SFP.")
    step(customer, tid, "approve", {"comment": "Ahora sí funciona, gracias."}, status="closed",
         entry="SolutionApproved", viewers=[agent], body="Ahora sí funciona, gracias.")

    final = get(customer, tid)
    assert types(final) == [
        "TicketOpened", "TicketAssigned", "WorkStarted", "StaffReplied", "InformationRequested",
        "CustomerCommented", "TicketResolved", "SolutionRefused", "TicketResolved", "SolutionApproved"]
    assert [entry["position"] for entry in final["history"]] == sorted(e["position"] for e in final["history"])
    assert len(get(agent, tid)["history"]) == len(final["history"]) + 1  # + the internal note

    # a closed ticket takes no more comments: a new ticket follows it up
    refused = customer.call("POST", f"/api/v1/tickets/{tid}/comments", {"body": "Otra cosa"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "ticket_closed" and "cerrado" in refused.json()["message"]
    assert get(customer, tid)["version"] == final["version"]
    follow_up = open_ticket(customer, department="networks", title="Vuelve a fallar el enlace",
                            description="Continuación del ticket anterior.", follows_up=tid)
    assert follow_up["follows_up"] == tid and follow_up["ticket_id"] != tid
    assert get(customer, follow_up["ticket_id"])["follows_up"] == tid

    # the document: the customer downloads exactly what they sent; another company's customer cannot
    path = f"/api/v1/tickets/{tid}/attachments/{sent['id']}"
    download = customer.call("GET", path)
    assert download.status_code == 200
    assert download.content == PNG
    assert download.headers["Content-Type"] == "image/png"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert 'filename="captura.png"' in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert agent.call("GET", path).content == PNG
    elsewhere = customer.call("GET", f"/api/v1/tickets/{follow_up['ticket_id']}/attachments/{sent['id']}")
    assert elsewhere.status_code == 404  # a file is reached only through its own ticket
    outsider = customer_b.call("GET", path)
    assert outsider.status_code == 404 and outsider.json()["error"] == "not_found"


def test_a_file_on_an_internal_note_is_for_staff_only(customer, agent):
    ticket = open_ticket(customer, department="networks", title="Router sin sincronismo", description="LED rojo")
    noted = act(agent, ticket["ticket_id"], "notes", {"body": "Configuración actual",
                                                      "attachment": attachment("config.txt", b"vlan 20\n")})
    file_id = noted["history"][-1]["attachment"]["id"]
    path = f"/api/v1/tickets/{ticket['ticket_id']}/attachments/{file_id}"
    assert agent.call("GET", path).content == b"vlan 20\n"
    hidden = customer.call("GET", path)
    assert hidden.status_code == 404 and hidden.json()["error"] == "not_found"
    assert file_id not in customer.call("GET", f"/api/v1/tickets/{ticket['ticket_id']}").text


def test_addresses_in_copy_with_an_account_see_the_ticket_whatever_the_case(system, customer, admin):
    """Manual 000: the people in "Dirección de correo" follow the ticket. Email addresses are
    case-insensitive: the CC'd colleague sees the ticket in the list and can open it."""
    company = new_company(admin, "Copia S.L.")
    local = f"copia-{uuid.uuid4().hex[:8]}"
    colleague = new_customer(system, admin, f"{local}@example.com", company)
    word = marker()
    ticket = open_ticket(customer, department="sales", title=f"Presupuesto {word}", description="Fibra 1 Gb",
                         cc=f"{local.upper()}@Example.COM")
    listed, _ = walk(colleague, "/api/v1/tickets", text=word)
    assert [t["ticket_id"] for t in listed] == [ticket["ticket_id"]]
    assert colleague.call("GET", f"/api/v1/tickets/{ticket['ticket_id']}").status_code == 200


def test_the_customer_closes_a_ticket_at_any_time(customer, agent):
    """Manual 000, 2.2: "Cerrar ticket", whatever the ticket's status."""
    for actions in ([], [("assign", {})], [("assign", {}), ("start", {}),
                                           ("information-requests", {"body": "¿Modelo del equipo?"})]):
        ticket = open_ticket(customer, department="networks", title="Consulta de cobertura",
                             description="¿Llega la fibra a mi calle?")
        for action, body in actions:
            act(agent, ticket["ticket_id"], action, body)
        before = get(customer, ticket["ticket_id"])["status"]
        closed = step(customer, ticket["ticket_id"], "close", {"reason": "Ya lo he resuelto por teléfono."},
                      status="closed", entry="TicketClosed", viewers=[agent],
                      body="Ya lo he resuelto por teléfono.", summary="Ana Cliente cerró el ticket")
        assert closed["status"] == "closed", before
        again = customer.call("POST", f"/api/v1/tickets/{ticket['ticket_id']}/close", {})
        assert again.status_code == 409, again.text


def test_a_closed_ticket_cannot_be_followed_up_by_another_company(customer, customer_b):
    ticket = open_ticket(customer, department="billing", title="Factura duplicada", description="Enero")
    act(customer, ticket["ticket_id"], "close", {})
    response = customer_b.call("POST", "/api/v1/tickets", {
        "department": "billing", "title": "Sigue", "description": "x", "follows_up": ticket["ticket_id"]})
    assert response.status_code == 422 and "follows_up" in response.json()["fields"]


def test_24h_support_opens_a_ticket_for_a_customer_who_phoned(system, customer, admin):
    """Manual 000, 3.2: customers may phone 24-hour support; the technician opens the ticket."""
    technician = seeded(system, SUPPORT_24H)
    word = marker()
    ticket = open_ticket(technician, department="support_24h", urgency="high", channel="phone",
                         on_behalf_of=user_id(admin, CUSTOMER), title=f"Caída total del CPD {word}",
                         description="La clienta llama: sin servicio en todos los racks.")
    assert ticket["channel"] == "phone" and ticket["requester_email"] == CUSTOMER
    assert ticket["opened_by"] == technician.call("GET", "/api/v1/me").json()["user_id"]
    (opened,) = ticket["history"]
    assert opened["by"] == {"name": "Agente support_24h", "role": "agent"}
    assert opened["summary"].endswith("(por teléfono)"), opened["summary"]

    # the customer finds it in their list and reads the same history
    listed, _ = walk(customer, "/api/v1/tickets", text=word)
    assert [t["ticket_id"] for t in listed] == [ticket["ticket_id"]]
    assert listed[0]["channel"] == "phone"
    seen = get(customer, ticket["ticket_id"])
    assert seen["history"][0]["summary"] == opened["summary"]
    assert "por teléfono" in seen["history"][0]["summary"]


# -- manual 004: the ITIL flow ------------------------------------------------------------------

def test_manual_004_itil_incident_from_account_creation_to_closed(system, admin, supervisor, agent):
    # 1/ the provider creates the account; the access data arrive by email
    email = f"izar-{uuid.uuid4().hex[:8]}@example.com"
    company = new_company(admin, "IzarLink Cliente")
    created = admin.call("POST", "/api/v1/admin/users", {
        "email": email, "name": "Iñaki Cliente", "role": "customer", "company_id": company})
    assert created.status_code == 201, created.text
    (mail,) = wait_for_mail(system, email)
    generic = initial_password(mail)
    assert email in mail.get_body(("plain",)).get_content()

    # 2/ the generic password must be changed before anything else
    customer = as_user(system, email, generic)
    blocked = customer.call("GET", "/api/v1/tickets")
    assert blocked.status_code == 403 and blocked.json()["error"] == "password_change_required"
    changed = customer.call("POST", "/api/v1/me/password",
                            {"current_password": generic, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200, changed.text
    customer.token = changed.json()["token"]
    assert as_user(system, email, NEW_PASSWORD).token

    # 3/ an Incidencia: service, category, urgency, title, description, a file
    ticket = open_ticket(customer, itil={"type": "incident", "service": "internet_access",
                                         "category": "packet_loss"},
                         urgency="high", title="Pérdida de paquetes hacia el exterior",
                         description="Un 20 % de pérdida desde las 8:00.",
                         attachment=attachment("mtr.txt", b"HOST: router  Loss%  20.0\n"))
    tid = ticket["ticket_id"]
    assert ticket["status"] == "new" and ticket["department"] is None
    assert ticket["itil"] == {"type": "incident", "service": "internet_access", "category": "packet_loss"}
    assert ticket["urgency"] == "high"
    assert ticket["history"][0]["attachment"]["name"] == "mtr.txt"

    # it reaches Redes: routed by the rules (packet loss is a network matter), or, where no routing
    # service runs yet, sent there by a supervisor
    if routed(supervisor, tid)["department"] is None:
        step(supervisor, tid, "reclassify", {"department": "networks", "reason": "Es de red"},
             status="new", entry="TicketReclassified", viewers=[customer, agent], body="Es de red")
    reached = get(customer, tid)
    assert reached["department"] == "networks" and reached["status"] == "new"
    how = types(reached)[-1]
    assert how in ("TicketRouted", "TicketReclassified")

    # 5/ the agent takes it and asks for information; the customer answers with a document only
    step(agent, tid, "assign", {}, status="assigned", entry="TicketAssigned", viewers=[customer])
    step(agent, tid, "information-requests", {"body": "Envíe el informe de su equipo, por favor."},
         status="waiting_for_customer", entry="InformationRequested", viewers=[customer])
    answer = step(customer, tid, "comments", {"attachment": attachment("informe.pdf", PDF)},
                  status="in_progress", entry="CustomerCommented", viewers=[agent])
    document = answer["history"][-1]["attachment"]
    assert (document["name"], document["type"], document["size"]) == ("informe.pdf", "application/pdf", len(PDF))
    assert agent.call("GET", f"/api/v1/tickets/{tid}/attachments/{document['id']}").content == PDF

    # 6/ RESUELTO, then the customer approves the solution (the comment is optional): CERRADO
    step(agent, tid, "resolve", {"solution": "Cambiada la ruta de salida."}, status="resolved",
         entry="TicketResolved", viewers=[customer])
    step(customer, tid, "approve", {}, status="closed", entry="SolutionApproved", viewers=[agent])
    assert types(get(customer, tid)) == [
        "TicketOpened", how, "TicketAssigned", "InformationRequested",
        "CustomerCommented", "TicketResolved", "SolutionApproved"]

    # 4/ the customer filters their tickets by status
    closed, _ = walk(customer, "/api/v1/tickets", status="closed")
    assert [t["ticket_id"] for t in closed] == [tid]
    assert walk(customer, "/api/v1/tickets", status="open")[0] == []


def test_manual_004_itil_request_has_no_urgency(customer, supervisor):
    ticket = open_ticket(customer, itil={"type": "request", "service": "internet_access",
                                         "category": "admin_billing"},
                         title="Copia de la factura de marzo", description="La necesito para contabilidad.")
    assert ticket["itil"]["type"] == "request" and ticket["itil"]["category"] == "admin_billing"
    assert ticket["urgency"] is None and ticket["department"] is None and ticket["status"] == "new"
    seen = get(supervisor, ticket["ticket_id"])
    assert seen["itil"] == ticket["itil"] and types(seen)[0] == "TicketOpened"
    assert seen["urgency"] is None


def test_moving_an_itil_ticket_reads_well_in_its_history(customer, supervisor):
    """The history is for people: an ITIL ticket given its first department, or moved on, must
    never tell the customer it came "from None"."""
    ticket = open_ticket(customer, itil={"type": "incident", "service": "hosting", "category": "slowness"},
                         urgency="medium", title="La web va lenta", description="Tarda 10 s en cargar")
    routed(supervisor, ticket["ticket_id"])
    act(supervisor, ticket["ticket_id"], "reclassify", {"department": "datacenters", "reason": "Es del CPD"})
    history = get(customer, ticket["ticket_id"])["history"]
    assert "TicketReclassified" in types({"history": history})
    for entry in history:
        assert "None" not in entry["summary"], entry["summary"]


# -- lists and queues ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def listed(customer, group_user, agent):
    """Tickets marked with one word: five of the customer's (three to networks, one of them closed),
    one of the group user's; oldest first."""
    word = marker()
    mine = [open_ticket(customer, department=department, title=f"{word} {n}", description="lista")
            for n, department in enumerate(["networks", "sales", "networks", "sales", "networks"])]
    act(customer, mine[2]["ticket_id"], "close", {})
    theirs = open_ticket(group_user, department="networks", title=f"{word} grupo", description="lista")
    return {"word": word, "mine": [t["ticket_id"] for t in mine], "theirs": theirs["ticket_id"]}


def ids(items):
    return [item["ticket_id"] for item in items]


def test_the_customer_lists_their_own_tickets_newest_first(customer, listed):
    items, _ = walk(customer, "/api/v1/tickets", text=listed["word"])
    assert ids(items) == listed["mine"][::-1]  # not the group user's
    assert all(item["requester_email"] == CUSTOMER for item in items)


def test_the_group_user_lists_the_company_tickets(group_user, listed):
    items, _ = walk(group_user, "/api/v1/tickets", text=listed["word"])
    assert ids(items) == [listed["theirs"], *listed["mine"][::-1]]
    mine, _ = walk(group_user, "/api/v1/tickets", text=listed["word"], scope="mine")
    assert ids(mine) == [listed["theirs"]]


@pytest.mark.parametrize("filters,expected", [
    ({"department": "networks"}, [4, 2, 0]),
    ({"department": "sales"}, [3, 1]),
    ({"status": "closed"}, [2]),
    ({"status": "new"}, [4, 3, 1, 0]),
    ({"status": "open"}, [4, 3, 1, 0]),
    ({"status": "new", "department": "networks"}, [4, 0]),
    ({"department": "datacenters"}, []),
])
def test_lists_filter_by_status_and_department(customer, listed, filters, expected):
    items, _ = walk(customer, "/api/v1/tickets", text=listed["word"], **filters)
    assert ids(items) == [listed["mine"][n] for n in expected]


def test_text_search_finds_a_ticket_by_its_reference(customer, listed):
    reference = get(customer, listed["mine"][1])["reference"]
    for text in (reference, reference.lstrip("#")):
        items, _ = walk(customer, "/api/v1/tickets", text=text)
        assert ids(items) == [listed["mine"][1]]


def test_pages_hold_every_ticket_once_in_a_stable_order(group_user, listed):
    everything, _ = walk(group_user, "/api/v1/tickets", text=listed["word"], limit=100)
    assert len(everything) == 6
    for limit in (1, 2, 4, 6):
        paged, pages = walk(group_user, "/api/v1/tickets", text=listed["word"], limit=limit)
        assert ids(paged) == ids(everything)
        assert len(set(ids(paged))) == len(paged)
        assert pages == -(-6 // limit)


def test_a_ticket_opened_while_paging_does_not_shift_the_pages_to_come(customer):
    word = marker()
    before = [open_ticket(customer, department="sales", title=f"{word} {n}", description="páginas")["ticket_id"]
              for n in range(3)]
    first = customer.call("GET", f"/api/v1/tickets?text={word}&limit=1").json()
    late = open_ticket(customer, department="sales", title=f"{word} tardío", description="páginas")
    rest, _ = walk(customer, "/api/v1/tickets", text=word, limit=1, cursor=first["next_cursor"])
    assert ids(first["items"]) + ids(rest) == before[::-1]
    assert ids(walk(customer, "/api/v1/tickets", text=word)[0]) == [late["ticket_id"], *before[::-1]]


def test_the_department_queue_is_in_arrival_order(agent, sales_agent, customer, listed):
    queue, _ = walk(agent, "/api/v1/queues/networks", limit=7)
    arrivals = [item["arrival"] for item in queue]
    assert arrivals == sorted(arrivals) and len(set(arrivals)) == len(arrivals)  # oldest first, once
    assert {item["department"] for item in queue} == {"networks"}
    assert {item["status"] for item in queue} <= {"new", "assigned", "in_progress", "waiting_for_customer",
                                                  "reopened"}
    mine = [ticket_id for ticket_id in ids(queue) if ticket_id in listed["mine"] + [listed["theirs"]]]
    assert mine == [listed["mine"][0], listed["mine"][4], listed["theirs"]]  # the closed one left it

    for who in (sales_agent, customer):
        refused = who.call("GET", "/api/v1/queues/networks")
        assert refused.status_code == 403, refused.text
    assert agent.call("GET", "/api/v1/queues/marketing").status_code == 404


# -- merging ------------------------------------------------------------------------------------

def test_the_agent_merges_a_duplicate_into_another_ticket_of_the_customer(customer, agent):
    original = open_ticket(customer, department="networks", title="Cortes intermitentes", description="Desde ayer")
    duplicate = open_ticket(customer, department="networks", title="Cortes intermitentes (otra vez)",
                            description="Lo mismo")
    merged = step(agent, duplicate["ticket_id"], "merge", {"into": original["ticket_id"]}, status="closed",
                  entry="TicketMerged", viewers=[customer])
    assert merged["merged_into"] == original["ticket_id"]
    assert get(customer, duplicate["ticket_id"])["merged_into"] == original["ticket_id"]
    assert original["reference"] in merged["history"][-1]["summary"]

    target = get(customer, original["ticket_id"])
    assert target["status"] == "new" and target["merged_into"] is None
    assert types(target) == ["TicketOpened", "DuplicateMerged"]
    assert duplicate["reference"] in target["history"][-1]["summary"]
    assert target["history"][-1]["by"] == {"name": "Agente networks", "role": "agent"}

    # a merged (closed) duplicate takes no more work
    again = agent.call("POST", f"/api/v1/tickets/{duplicate['ticket_id']}/comments", {"body": "x"})
    assert again.status_code == 409
