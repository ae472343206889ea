"""API errors over HTTP in the caller's language: the session's profile language, else
Accept-Language, else Spanish; always with the same stable codes."""
import re
import uuid

import pytest

from .conftest import as_user, wait_for_mail

BAD_REGISTRATION = {"email": "x@", "password": "a perfectly fine secret", "name": "Ana"}
SPANISH = {"error": "invalid_input", "message": "Algunos campos no son válidos.",
           "fields": {"email": ["«x@» no es una dirección de correo válida."]},
           "field_codes": {"email": ["invalid_email"]}}
ENGLISH = {"error": "invalid_input", "message": "Some fields are invalid.",
           "fields": {"email": ["'x@' is not a valid email address."]},
           "field_codes": {"email": ["invalid_email"]}}


@pytest.mark.parametrize("accept_language,expected", [
    ("en", ENGLISH), ("en-GB,en;q=0.9", ENGLISH), ("fr-FR, en;q=0.5, es;q=0.4", ENGLISH),
    ("es", SPANISH), ("es-ES, en;q=0.8", SPANISH), (None, SPANISH), ("de", SPANISH),
])
def test_a_public_endpoint_answers_in_the_accept_language(api, accept_language, expected):
    headers = {"Accept-Language": accept_language} if accept_language else {}
    response = api.call("POST", "/api/v1/auth/register", BAD_REGISTRATION, headers=headers)
    assert response.status_code == 422 and response.json() == expected


def test_a_user_with_an_english_profile_reads_english_whatever_the_browser_says(system):
    admin = as_user(system, "admin@helpdesk.example")
    companies = admin.call("GET", "/api/v1/admin/companies").json()["items"]
    demo = next(c for c in companies if c["name"] == "Demo S.L.")
    email = f"english-{uuid.uuid4().hex[:8]}@example.com"
    created = admin.call("POST", "/api/v1/admin/users", {
        "email": email, "name": "Liz", "role": "customer", "company_id": demo["company_id"], "language": "en"})
    assert created.status_code == 201, created.text
    (mail,) = wait_for_mail(system, email)
    initial = re.search(r"([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})",
                        mail.get_body(("plain",)).get_content()).group(1)
    user = as_user(system, email, initial)
    spanish_browser = {"Accept-Language": "es-ES,es;q=0.9"}

    blocked = user.call("GET", "/api/v1/tickets", headers=spanish_browser)
    assert blocked.status_code == 403 and blocked.json() == {
        "error": "password_change_required",
        "message": "Change the password you were given before doing anything else."}
    weak = user.call("POST", "/api/v1/me/password", {"current_password": initial, "new_password": "short"},
                     headers=spanish_browser)
    assert weak.status_code == 422 and weak.json()["fields"] == {"new_password": ["Use at least 8 characters."]}
    assert weak.json()["field_codes"] == {"new_password": ["password_too_short"]}

    # the same refusal to a Spanish profile, whatever its browser says
    spanish_user = as_user(system, "cliente@demo.example")
    refused = spanish_user.call("POST", "/api/v1/me/password", {"current_password": "wrong", "new_password": "x" * 9},
                                headers={"Accept-Language": "en"})
    assert refused.status_code == 422 and refused.json()["fields"] == {
        "current_password": ["Esta no es su contraseña actual."]}


def test_a_bad_address_in_copy_is_named_in_spanish(system):
    customer = as_user(system, "cliente@demo.example")
    response = customer.call("POST", "/api/v1/tickets", {
        "department": "networks", "title": "Sin conexión", "description": "Desde las 9:00", "cc": "jefa@demo.example, x@"},
        headers={"Accept-Language": "en"})
    assert response.status_code == 422 and response.json() == {
        "error": "invalid_input", "message": "Algunos campos no son válidos.",
        "fields": {"cc": ["«x@» no es una dirección de correo válida."]},
        "field_codes": {"cc": ["invalid_email"]}}


def test_errors_before_any_session_follow_the_header(api):
    english = api.call("GET", "/api/v1/tickets", headers={"Accept-Language": "en"})
    spanish = api.call("GET", "/api/v1/tickets")
    assert (english.status_code, english.json()) == (401, {"error": "unauthenticated", "message": "Log in first."})
    assert (spanish.status_code, spanish.json()) == (401, {"error": "unauthenticated", "message": "Inicie sesión primero."})
    malformed = api.call("POST", "/api/v1/auth/login", b'{"email": ', headers={
        "Content-Type": "application/json", "Accept-Language": "en"})
    assert malformed.status_code == 400 and malformed.json() == {
        "error": "malformed_json", "message": "The body is not valid JSON (line 1, column 11)."}
