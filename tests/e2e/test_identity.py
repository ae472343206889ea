"""Identity through HTTP and a real SMTP server: registration, verification, sessions, passwords.

Every password and token a test uses is remembered in SECRETS; the last test greps the whole
database and every service log for them.
"""
import re
import time
import uuid

import psycopg2
import pytest

from .conftest import Api, as_user, link_token, wait_for_mail

SECRETS = set()
TICKET = {"department": "networks", "title": "Sin conexión", "description": "Desde las 9:00"}


SESSION_MOMENT = 1.1  # seconds: the gateway's GATEWAY_SESSION_CACHE_SECONDS (1), and a little


def new_address(prefix="user"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


def remember(*values):
    SECRETS.update(v for v in values if v)
    return values[0] if len(values) == 1 else values


def register(api, email, password="a perfectly fine secret", **extra):
    remember(password)
    body = dict({"email": email, "password": password, "name": "Ana Pérez"}, **extra)
    return api.call("POST", "/api/v1/auth/register", body)


def registered_and_verified(system, email, password="a perfectly fine secret"):
    api = Api(system)
    assert register(api, email, password).status_code == 202
    token = remember(link_token(wait_for_mail(system, email)[0]))
    assert api.call("POST", "/api/v1/auth/verify-email", {"token": token}).status_code == 200
    return api


def sql(database_url, statement, args=()):
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(statement, args)
    finally:
        conn.close()


def test_register_verify_login_open_a_ticket_logout(system):
    email, password = new_address(), "correct horse battery staple"
    api = Api(system)
    response = register(api, email, password)
    assert response.status_code == 202

    (mail,) = wait_for_mail(system, email)
    assert "Confirme su dirección" in mail["Subject"]
    token = remember(link_token(mail))
    text = mail.get_body(("plain",)).get_content()
    assert f"{system.base_url}/verify-email#token=" in text

    refused = api.call("POST", "/api/v1/auth/login", {"email": email, "password": password})
    assert refused.status_code == 403 and refused.json()["error"] == "email_not_verified"

    # following the link: the portal page, which posts the token from the fragment
    page = api.call("GET", "/verify-email")
    assert page.status_code == 200 and "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    verified = api.call("POST", "/api/v1/auth/verify-email", {"token": token})
    assert verified.status_code == 200 and verified.json()["user"]["email"] == email
    # the first confirmation logs the new account in (cookie for the portal, token for API clients)
    assert "HttpOnly" in verified.headers["Set-Cookie"]
    first_session = remember(verified.json()["token"])
    assert api.call("GET", "/api/v1/me", token=first_session).json()["email"] == email
    again = api.call("POST", "/api/v1/auth/verify-email", {"token": token})
    assert again.status_code == 422 and "token" in again.json()["fields"]

    login = api.call("POST", "/api/v1/auth/login", {"email": email, "password": password})
    assert login.status_code == 200, login.text
    session = remember(login.json()["token"])
    cookie = login.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert login.json()["user"]["email"] == email and login.json()["user"]["role"] == "customer"

    api.token = session
    opened = api.call("POST", "/api/v1/tickets", TICKET)
    assert opened.status_code == 201, opened.text
    assert opened.json()["requester_email"] == email
    assert api.call("GET", "/api/v1/me").json()["email"] == email

    assert api.call("POST", "/api/v1/auth/logout").status_code == 204
    assert api.call("GET", "/api/v1/me").status_code == 401
    assert api.call("POST", "/api/v1/tickets", TICKET).status_code == 401
    assert api.call("GET", f"/api/v1/tickets/{opened.json()['ticket_id']}").status_code == 401


def test_the_session_cookie_works_like_the_bearer_token(system):
    import requests

    api = registered_and_verified(system, new_address())
    login = requests.post(system.url("/api/v1/auth/login"), timeout=10,
                          json={"email": api.system.mails()[-1]["X-Envelope-To"], "password": "a perfectly fine secret"})
    assert login.status_code == 200
    remember(login.json()["token"])
    me = requests.get(system.url("/api/v1/me"), cookies=login.cookies, timeout=10)
    assert me.status_code == 200


def test_tampered_and_expired_tokens_are_refused(system, database_url):
    email = new_address()
    api = registered_and_verified(system, email).login(email, "a perfectly fine secret")
    token = remember(api.token)
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    for bad in (tampered, token + "x", "x" * 43, ""):
        assert api.call("GET", "/api/v1/me", token=bad or "-").status_code == 401
    assert api.call("GET", "/api/v1/me").status_code == 200

    sql(database_url, "UPDATE identity.sessions SET expires_at = now() - interval '1 second'"
                      " WHERE user_id = (SELECT user_id FROM identity.users WHERE email = %s)", (email,))
    time.sleep(SESSION_MOMENT)  # the gateway asks identity again once its moment of memory is over
    expired = api.call("GET", "/api/v1/me")
    assert expired.status_code == 401 and expired.json()["error"] == "unauthenticated"

    # a verification token with a forged MAC, and an expired one
    other = new_address()
    assert register(Api(system), other).status_code == 202
    genuine = remember(link_token(wait_for_mail(system, other)[0]))
    forged = genuine.split(".")[0] + ".forgedmacforgedmacforgedmacforgedmacforgedm"
    assert api.call("POST", "/api/v1/auth/verify-email", {"token": forged}).status_code == 422
    sql(database_url, "UPDATE identity.link_tokens SET expires_at = now() - interval '1 second'"
                      " WHERE email = %s", (other,))
    assert api.call("POST", "/api/v1/auth/verify-email", {"token": genuine}).status_code == 422


def test_a_logout_ends_the_session_at_once_and_a_change_elsewhere_within_a_second(system):
    """The gateway remembers a live session for a second (GATEWAY_SESSION_CACHE_SECONDS), so a
    burst of requests asks identity once (issue 11); what ends a session still ends it in time."""
    email, old, new = new_address(), "my first long secret", "my second long secret"
    registered_and_verified(system, email, old)
    laptop, phone, tablet = (as_user(system, email, old) for _ in range(3))
    remember(laptop.token, phone.token, tablet.token, new)
    for device in (laptop, phone, tablet):
        assert device.call("GET", "/api/v1/me").status_code == 200  # each session now remembered

    assert laptop.call("POST", "/api/v1/auth/logout").status_code == 204
    assert laptop.call("GET", "/api/v1/me").status_code == 401  # through this gateway: at once

    changed = phone.call("POST", "/api/v1/me/password", {"current_password": old, "new_password": new})
    assert changed.status_code == 200, changed.text
    assert phone.call("GET", "/api/v1/me").status_code == 401  # the old token, at once
    time.sleep(SESSION_MOMENT)
    assert tablet.call("GET", "/api/v1/me").status_code == 401  # another session: within the second
    assert phone.call("GET", "/api/v1/me", token=remember(changed.json()["token"])).status_code == 200


def test_a_reset_token_works_once_and_ends_every_session(system):
    email, old, new = new_address(), "my first long secret", "my second long secret"
    registered_and_verified(system, email, old)
    laptop = as_user(system, email, old)
    phone = as_user(system, email, old)
    remember(laptop.token, phone.token, new)

    anonymous = Api(system)
    assert anonymous.call("POST", "/api/v1/auth/forgot-password", {"email": email}).status_code == 202
    (mail,) = [m for m in wait_for_mail(system, email, count=2) if "contraseña" in m["Subject"].lower()]
    token = remember(link_token(mail))
    assert f"{system.base_url}/reset-password#token=" in mail.get_body(("plain",)).get_content()

    weak = anonymous.call("POST", "/api/v1/auth/reset-password", {"token": token, "password": "password"})
    assert weak.status_code == 422 and "password" in weak.json()["fields"]  # and the token still works:
    assert anonymous.call("POST", "/api/v1/auth/reset-password", {"token": token, "password": new}).status_code == 200
    reused = anonymous.call("POST", "/api/v1/auth/reset-password", {"token": token, "password": "another long secret"})
    assert reused.status_code == 422

    assert laptop.call("GET", "/api/v1/me").status_code == 401
    assert phone.call("GET", "/api/v1/me").status_code == 401
    refused = anonymous.call("POST", "/api/v1/auth/login", {"email": email, "password": old})
    assert refused.status_code == 401
    assert as_user(system, email, new).call("GET", "/api/v1/me").status_code == 200
    changed = wait_for_mail(system, email, count=3)
    assert any("ha cambiado" in m["Subject"] for m in changed)


def test_answers_do_not_reveal_whether_an_account_exists(system):
    known = new_address("known")
    registered_and_verified(system, known)
    unknown = new_address("nobody")
    api = Api(system)

    def same(path, body_known, body_unknown):
        a, b = api.call("POST", path, body_known), api.call("POST", path, body_unknown)
        assert (a.status_code, a.json()) == (b.status_code, b.json()), path
        return a

    reg = same("/api/v1/auth/register",
               {"email": known, "password": "yet another secret", "name": "X"},
               {"email": unknown, "password": "yet another secret", "name": "X"})
    assert reg.status_code == 202
    assert same("/api/v1/auth/forgot-password", {"email": known}, {"email": unknown}).status_code == 202
    assert same("/api/v1/auth/resend-verification", {"email": known}, {"email": unknown}).status_code == 202
    login = same("/api/v1/auth/login", {"email": known, "password": "wrong password here"},
                 {"email": new_address("nobody"), "password": "wrong password here"})
    assert login.status_code == 401
    remember("yet another secret", "wrong password here")
    # the owner of the known address hears about the second registration; nobody else does
    assert any("Ya tiene una cuenta" in m["Subject"] for m in wait_for_mail(system, known, count=2))


def login(api, email, password):
    return api.call("POST", "/api/v1/auth/login", {"email": email, "password": password})


def test_an_attacker_failing_from_one_address_does_not_keep_the_owner_out(system):
    email, password = new_address(), "the real long secret"
    registered_and_verified(system, email, password)
    attacker = Api(system)
    answers = [login(attacker, email, "guess guess").status_code for _ in range(20)]
    assert answers[0] == 401 and answers[-1] == 429
    blocked = login(attacker, email, "guess guess")
    assert blocked.json()["error"] == "too_many_requests" and int(blocked.headers["Retry-After"]) > 0
    # the owner, from another address, gets in with the right password at once
    assert login(Api(system), email, password).status_code == 200
    remember("guess guess")


def test_the_attackers_waits_grow_while_it_keeps_failing(system):
    email = new_address()
    registered_and_verified(system, email, "the real long secret")
    attacker = Api(system)
    for _ in range(5):
        assert login(attacker, email, "guess guess").status_code == 401
    waits = []
    for _ in range(3):
        refused = login(attacker, email, "guess guess")
        assert refused.status_code == 429
        waits.append(int(refused.headers["Retry-After"]))
        time.sleep(waits[-1] + 0.1)
        assert login(attacker, email, "guess guess").status_code == 401  # counted: the next wait doubles
    assert waits == sorted(set(waits)) and waits[-1] >= 2 * waits[0], waits


def test_an_office_behind_one_address_is_not_locked_out_by_its_colleagues_typos(system):
    office = Api(system)  # one NAT address
    for _ in range(30):
        assert login(office, new_address("colleague"), "a typo in it").status_code == 401
    email = new_address("colleague")
    registered_and_verified(system, email, "the real long secret")
    assert login(office, email, "the real long secret").status_code == 200
    remember("a typo in it")


def test_a_successful_login_forgets_that_clients_failures(system):
    email, password = new_address(), "the real long secret"
    registered_and_verified(system, email, password)
    owner = Api(system)
    for _ in range(5):
        assert login(owner, email, "my usual typo").status_code == 401
    time.sleep(1.1)
    assert login(owner, email, password).status_code == 200
    assert login(owner, email, "my usual typo").status_code == 401  # not 429: a fresh start
    remember("my usual typo")


def test_an_account_created_by_staff_must_change_its_password_first(system):
    admin = as_user(system, "admin@helpdesk.example")
    companies = admin.call("GET", "/api/v1/admin/companies").json()["items"]
    demo = next(c for c in companies if c["name"] == "Demo S.L.")
    email = new_address("staffmade")
    created = admin.call("POST", "/api/v1/admin/users",
                         {"email": email, "name": "Luis", "role": "customer", "company_id": demo["company_id"],
                          "language": "en"})
    assert created.status_code == 201, created.text
    assert created.json()["must_change_password"] is True

    (mail,) = wait_for_mail(system, email)
    assert "support centre login" in mail["Subject"]  # in the user's language
    initial = re.search(r"([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})",
                        mail.get_body(("plain",)).get_content()).group(1)
    remember(initial)
    user = as_user(system, email, initial)
    remember(user.token)
    blocked = user.call("POST", "/api/v1/tickets", TICKET)
    assert blocked.status_code == 403 and blocked.json()["error"] == "password_change_required"
    assert user.call("GET", "/api/v1/me").json()["must_change_password"] is True

    changed = user.call("POST", "/api/v1/me/password",
                        {"current_password": initial, "new_password": "now my very own secret"})
    assert changed.status_code == 200, changed.text
    remember("now my very own secret", changed.json()["token"])
    assert user.call("GET", "/api/v1/me").status_code == 401  # the old session ended
    user.token = changed.json()["token"]
    assert user.call("POST", "/api/v1/tickets", TICKET).status_code == 201
    duplicate = admin.call("POST", "/api/v1/admin/users",
                           {"email": email, "name": "Luis", "role": "customer", "company_id": demo["company_id"]})
    assert duplicate.status_code == 409


def test_an_email_change_is_confirmed_from_the_new_address(system):
    old, new = new_address("old"), new_address("new")
    api = registered_and_verified(system, old).login(old, "a perfectly fine secret")
    remember(api.token)
    wrong = api.call("POST", "/api/v1/me/email", {"new_email": new, "password": "not my password"})
    assert wrong.status_code == 422 and "password" in wrong.json()["fields"]
    assert api.call("POST", "/api/v1/me/email",
                    {"new_email": new, "password": "a perfectly fine secret"}).status_code == 202
    token = remember(link_token(wait_for_mail(system, new)[0]))
    assert api.call("GET", "/api/v1/me").json()["email"] == old  # not before confirmation
    assert api.call("POST", "/api/v1/auth/verify-email", {"token": token}).status_code == 200
    assert api.call("GET", "/api/v1/me").json()["email"] == new
    assert any("ha cambiado" in m["Subject"] for m in wait_for_mail(system, old, count=2))


def test_admins_move_agents_between_departments_and_deactivate_accounts(system):
    admin = as_user(system, "admin@helpdesk.example")
    users = admin.call("GET", "/api/v1/admin/users").json()["items"]
    agent = next(u for u in users if u["email"] == "agent-billing@helpdesk.example")
    moved = admin.call("PATCH", f"/api/v1/admin/users/{agent['user_id']}", {"departments": ["billing", "sales"]})
    assert moved.status_code == 200 and moved.json()["departments"] == ["billing", "sales"]
    bad = admin.call("PATCH", f"/api/v1/admin/users/{agent['user_id']}", {"departments": ["marketing"]})
    assert bad.status_code == 422 and "departments" in bad.json()["fields"]
    assert admin.call("PATCH", f"/api/v1/admin/users/{uuid.uuid4()}", {"active": False}).status_code == 404

    email = new_address("leaver")
    registered_and_verified(system, email)
    user = as_user(system, email, "a perfectly fine secret")
    remember(user.token)
    leaver = next(u for u in admin.call("GET", "/api/v1/admin/users").json()["items"] if u["email"] == email)
    off = admin.call("PATCH", f"/api/v1/admin/users/{leaver['user_id']}", {"active": False})
    assert off.status_code == 200 and off.json()["active"] is False
    assert user.call("GET", "/api/v1/me").status_code == 401
    refused = Api(system).call("POST", "/api/v1/auth/login", {"email": email, "password": "a perfectly fine secret"})
    assert refused.status_code == 403 and refused.json()["error"] == "account_disabled"
    assert admin.call("PATCH", f"/api/v1/admin/users/{leaver['user_id']}", {"active": True}).status_code == 200
    assert as_user(system, email, "a perfectly fine secret").call("GET", "/api/v1/me").status_code == 200
    own = admin.call("GET", "/api/v1/me").json()["user_id"]
    assert admin.call("PATCH", f"/api/v1/admin/users/{own}", {"active": False}).status_code == 422


@pytest.mark.parametrize("body,field", [
    ({"email": "a@example.com", "password": "12345678", "name": "A"}, "password"),
    ({"email": "a@example.com", "password": "short", "name": "A"}, "password"),
    ({"email": "not-an-address", "password": "a fine secret here", "name": "A"}, "email"),
    ({"email": "a@example.com", "password": "a fine secret here"}, "name"),
    ({"email": "a@example.com", "password": "a fine secret here", "name": "A", "role": "admin"}, "role"),
    ({"email": "a@example.com", "password": "a fine secret here", "name": "A", "language": "fr"}, "language"),
])
def test_registration_input_errors_name_the_field(system, body, field):
    response = Api(system).call("POST", "/api/v1/auth/register", body)
    assert response.status_code == 422 and field in response.json()["fields"]


def test_no_password_or_token_reaches_an_event_a_table_or_a_log(system, database_url):
    """Runs last in this module: every secret the flows above used, searched for everywhere."""
    assert len(SECRETS) > 15
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT table_schema, table_name FROM information_schema.tables"
                        " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
                        " AND table_type = 'BASE TABLE'")
            tables = cur.fetchall()
            dump = []
            for schema, table in tables:
                cur.execute(f'SELECT t::text FROM "{schema}"."{table}" t')
                dump += [row[0] for row in cur.fetchall()]
    finally:
        conn.close()
    assert any("identity" == schema for schema, _ in tables) and len(dump) > 50
    haystacks = {"database": "\n".join(dump)}
    for path in system.logs.glob("*.log"):
        haystacks[path.name] = path.read_text(errors="replace")
    leaks = [(secret, where) for secret in SECRETS for where, text in haystacks.items() if secret in text]
    assert leaks == []
