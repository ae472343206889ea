"""The portal over HTTP, below the browser: every page path gets the same shell with the strict
headers, the public settings it draws from, the session question that never errors, and the
CSRF defences of the session cookie."""
import pytest
import requests

from services.gateway import portal
from services.identity.seed import DEMO_PASSWORD

PAGES = ["/", "/login", "/register", "/verify-email", "/forgot-password", "/reset-password", "/password",
         "/profile", "/tickets", "/tickets/new", "/tickets/5d7c2e1e-0000-4000-8000-000000000000", "/solution",
         "/console", "/console/queues/networks", "/console/tickets/5d7c2e1e-0000-4000-8000-000000000000",
         "/console/dashboard", "/console/agents", "/console/new-ticket", "/console/admin", "/console/admin/users",
         "/console/admin/companies", "/console/admin/settings", "/console/content", "/announcements",
         "/network-status"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_path_serves_the_shell_with_strict_headers(system, path):
    response = requests.get(system.url(path), timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Content-Security-Policy"] == portal.CONTENT_SECURITY_POLICY
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["X-Content-Type-Options"] == "nosniff"
    assert '<script type="module" src="/portal/js/main.js">' in response.text


def test_an_unknown_page_is_the_shell_with_404_and_an_unknown_api_path_json(system):
    page = requests.get(system.url("/no/such/page"), timeout=10)
    assert page.status_code == 404 and '<script type="module"' in page.text
    assert requests.get(system.url("/console/admin/robots"), timeout=10).status_code == 404
    assert page.headers["Content-Security-Policy"] == portal.CONTENT_SECURITY_POLICY
    api = requests.get(system.url("/api/v1/no-such-thing"), timeout=10)
    assert api.status_code == 404 and api.json()["error"] == "not_found"


def test_site_and_catalogue_are_public_and_labelled_in_both_languages(system):
    site = requests.get(system.url("/api/v1/site"), timeout=10).json()
    assert site["ticket_form"] in ("department", "itil", "both") and site["time_zone"] == "Europe/Madrid"
    assert site["attachment"]["max_bytes"] == 2 * 1024 * 1024 and "pdf" in site["attachment"]["extensions"]
    catalog = requests.get(system.url("/api/v1/catalog"), timeout=10).json()
    support = next(d for d in catalog["departments"] if d["code"] == "support_24h")
    assert support["urgent_only"] and "urgent" in support["description"]["en"]
    assert {d["name"]["es"] for d in catalog["departments"]} >= {"Comercial", "Soporte 24 Horas"}
    incident = next(t for t in catalog["itil_types"] if t["code"] == "incident")
    assert incident["urgency_required"] and incident["name"] == {"es": "Incidencia", "en": "Incident"}
    assert [u["code"] for u in catalog["urgencies"]] == ["high", "medium"]


def _cookie_session(system, email="cliente@demo.example"):
    session = requests.Session()
    login = session.post(system.url("/api/v1/auth/login"),
                         json={"email": email, "password": DEMO_PASSWORD}, timeout=20)
    assert login.status_code == 200
    return session


def test_the_session_question_answers_strangers_and_dead_sessions_with_no_user(system):
    assert requests.get(system.url("/api/v1/auth/session"), timeout=10).json() == {"user": None}
    browser = _cookie_session(system)
    assert browser.get(system.url("/api/v1/auth/session"), timeout=10).json()["user"]["email"] == "cliente@demo.example"
    stale = dict(browser.cookies)
    assert browser.post(system.url("/api/v1/auth/logout"), json={}, timeout=10).status_code == 204
    answer = requests.get(system.url("/api/v1/auth/session"), cookies=stale, timeout=10)
    assert answer.status_code == 200 and answer.json() == {"user": None}
    assert "helpdesk_session=;" in answer.headers["Set-Cookie"]  # the dead cookie is dropped


def test_a_cookie_write_from_another_site_is_refused_and_changes_nothing(system):
    browser = _cookie_session(system)
    profile = browser.get(system.url("/api/v1/me"), timeout=10).json()
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        refused = browser.patch(system.url("/api/v1/me"), json={"name": "Pwned"}, headers=headers, timeout=10)
        assert refused.status_code == 403 and refused.json()["error"] == "cross_origin_request"
    # a cross-site HTML form can only send form encodings, which the API never takes
    form = browser.post(system.url("/api/v1/tickets"), data={"department": "sales", "title": "x", "description": "y"},
                        timeout=10)
    assert form.status_code == 415
    # and no CORS preflight is ever answered with permission
    preflight = requests.options(system.url("/api/v1/me"), headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "PATCH"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert browser.get(system.url("/api/v1/me"), timeout=10).json()["name"] == profile["name"]
    same_site = browser.patch(system.url("/api/v1/me"), json={"name": profile["name"]},
                              headers={"Origin": system.base_url, "Sec-Fetch-Site": "same-origin"}, timeout=10)
    assert same_site.status_code == 200
