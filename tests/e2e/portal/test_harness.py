"""The browser harness itself: a smoke test on what the gateway serves at / (only generic things,
so it holds for the placeholder and for the portal), and each check proven to catch a failure on
pages served by a tiny local server."""
import email.message
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from helpdesk.testing import free_port, wait_until

from ..conftest import Api
from . import browser as b

GOOD_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
GOOD_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Good page</title>
<link rel="stylesheet" href="/style.css"><script type="module" src="/app.js"></script></head>
<body><main><h1>Hello</h1><p>A page that passes every check.</p></main></body></html>"""


# -- on the running system ---------------------------------------------------------------------

def test_the_gateway_root_loads_and_every_check_runs(portal, tmp_path):
    page = portal("es", "desktop")
    response = page.goto("/")
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/html")
    page.wait_for_load_state("networkidle")
    assert b.document_response(page).status == 200
    b.check_same_origin(page)
    assert 0 < b.check_weight(page)
    b.check_accessible(page)
    b.csp_problems(b.document_response(page).headers_array())  # runs; asserted by the portal's own tests
    assert b.screenshot(page, "harness-root", directory=tmp_path).stat().st_size > 0


def test_a_phone_context_speaks_english_in_madrid(portal):
    page = portal("en", "phone")
    page.goto("/")
    seen = page.evaluate("""() => ({language: navigator.language, width: innerWidth,
        zone: Intl.DateTimeFormat().resolvedOptions().timeZone, touch: navigator.maxTouchPoints > 0})""")
    assert seen == {"language": "en-GB", "width": 390, "zone": "Europe/Madrid", "touch": True}
    assert page.url.startswith(b.browser_log(page).origin)


# -- the checks, against pages served here ----------------------------------------------------

class Site:
    """Pages served by tests/e2e/portal/site_server.py in a process of its own."""

    def __init__(self, root):
        self.root, self.port, self.routes = root, free_port(), {}
        self.origin = f"http://127.0.0.1:{self.port}"
        self.other_origin = f"http://localhost:{self.port}"  # same server, another origin
        self._write()

    def add(self, path, body, content_type="text/html; charset=utf-8", headers=(), status=200):
        name = f"body{len(self.routes)}"
        (self.root / name).write_bytes(body.encode() if isinstance(body, str) else body)
        self.routes[path] = {"status": status, "body": name,
                             "headers": [["Content-Type", content_type], *map(list, headers)]}
        self._write()
        return self.origin + path

    def _write(self):
        (self.root / "routes.json").write_text(json.dumps(self.routes))


@pytest.fixture
def site(tmp_path):
    site = Site(tmp_path)
    server = subprocess.Popen([sys.executable, str(Path(__file__).with_name("site_server.py")),
                               str(tmp_path), str(site.port)])
    import requests

    def up():
        try:
            return requests.get(site.origin + "/", timeout=1) is not None
        except requests.ConnectionError:
            return False

    assert wait_until(up, timeout=10, interval=0.05), "the local site did not start"
    site.add("/style.css", "main { max-width: 40rem; margin: auto; }", "text/css")
    site.add("/app.js", "document.documentElement.dataset.ready = 'yes';", "text/javascript")
    yield site
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def visit(pages, site):
    def go(path, lang="en", device="desktop", **kwargs):
        page = pages(lang, device, origin=site.origin, **kwargs)
        page.goto(path)
        page.wait_for_load_state("networkidle")
        return page
    return go


def test_a_good_page_passes_check_page(site, visit, tmp_path):
    site.add("/good", GOOD_PAGE, headers=[("Content-Security-Policy", GOOD_CSP)])
    page = visit("/good")
    assert page.evaluate("document.documentElement.dataset.ready") == "yes"
    b.check_page(page, "good", directory=tmp_path)
    assert (tmp_path / "good.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("headers, problem", [
    ([], "no Content-Security-Policy header"),
    ([("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'; "
       "frame-ancestors 'none'")], "script-src allows 'unsafe-inline'"),
    ([("Content-Security-Policy", "default-src 'self' 'unsafe-eval'; frame-ancestors 'none'")],
     "default-src allows 'unsafe-eval'"),
    ([("Content-Security-Policy", "default-src 'self'")], "no frame-ancestors 'none'"),
    ([("Content-Security-Policy", "default-src 'self'; frame-ancestors 'self'")], "no frame-ancestors 'none'"),
])
def test_check_csp_catches_a_missing_or_weak_policy(site, visit, headers, problem):
    site.add("/page", GOOD_PAGE, headers=headers)
    with pytest.raises(AssertionError, match=problem):
        b.check_csp(visit("/page"))


def test_check_csp_accepts_a_good_policy_and_reads_every_csp_header(site, visit):
    site.add("/page", GOOD_PAGE, headers=[("Content-Security-Policy", GOOD_CSP)])
    b.check_csp(visit("/page"))
    assert b.csp_problems({"Content-Security-Policy": GOOD_CSP}) == []
    assert b.csp_problems([("content-security-policy", "default-src 'self'"),
                           ("content-security-policy", "frame-ancestors 'none'")]) == []
    assert b.csp_problems([("Content-Security-Policy", GOOD_CSP),
                           ("Content-Security-Policy", "style-src 'unsafe-inline'")]) != []


def test_check_same_origin_catches_a_script_from_another_origin(site, visit):
    site.add("/foreign", GOOD_PAGE.replace('src="/app.js"', f'src="{site.other_origin}/app.js"'))
    page = visit("/foreign", allow_errors=[r"localhost"])  # CORS refuses the module script, too
    with pytest.raises(AssertionError, match=f"script: {site.other_origin}/app.js"):
        b.check_same_origin(page)
    site.add("/own", GOOD_PAGE)
    b.check_same_origin(visit("/own"))


def test_check_weight_counts_fetched_json_and_images(site, visit):
    site.add("/data.json", json.dumps({"rows": ["x" * 100] * 1000}), "application/json")  # ~104 KB
    site.add("/picture.png", b"\x89PNG" + b"\0" * 60_000, "image/png")
    site.add("/fetch.js", "fetch('/data.json').then(r => r.json())"
             ".then(d => { document.body.dataset.rows = d.rows.length; });", "text/javascript")
    site.add("/heavy", GOOD_PAGE.replace("/app.js", "/fetch.js").replace(
        "</main>", '<img src="/picture.png" alt="" width="1" height="1"></main>'))
    page = visit("/heavy")
    assert page.evaluate("document.body.dataset.rows") == "1000"
    with pytest.raises(AssertionError, match=r"first load 1\d\d,\d\d\d bytes > 150,000") as failure:
        b.check_weight(page)
    assert "/data.json" in str(failure.value) and "/picture.png" in str(failure.value)
    assert b.check_weight(page, limit=200_000) > 160_000
    site.add("/light", GOOD_PAGE)
    assert b.check_weight(visit("/light")) < 2_000


def test_check_accessible_catches_serious_violations_and_says_where(site, visit):
    site.add("/bad", """<!doctype html><html><head><title>Bad</title></head><body>
        <img src="/picture.png"><input type="text"><a href="/x"></a></body></html>""")
    site.add("/picture.png", b"\x89PNG", "image/png")
    page = visit("/bad", allow_errors=[r"picture\.png"])  # not a real PNG
    with pytest.raises(AssertionError) as failure:
        b.check_accessible(page)
    report = str(failure.value)
    for rule in ("image-alt (critical)", "label (critical)", "html-has-lang (serious)", "link-name (serious)"):
        assert rule in report, report
    assert "at img:" in report
    site.add("/good", GOOD_PAGE)
    b.check_accessible(visit("/good"))


def test_the_log_collects_console_and_page_errors_failed_requests_and_csp_violations(site, visit):
    site.add("/inline.js", "console.log('fine'); console.error('oops from the page');", "text/javascript")
    site.add("/noisy", """<!doctype html><html lang="en"><head><title>Noisy</title>
        <script src="/inline.js"></script><script>window.inlineRan = true;</script>
        <script src="/throws.js"></script><script src="/missing.js"></script></head>
        <body><img src="http://127.0.0.1:9/unreachable.png" alt="x"></body></html>""",
             headers=[("Content-Security-Policy",
                       "default-src 'self'; img-src *; frame-ancestors 'none'")])
    site.add("/throws.js", "throw new Error('boom');", "text/javascript")
    page = visit("/noisy")
    errors = b.browser_log(page).unexpected()
    text = "\n".join(errors)
    assert "console error: oops from the page" in text
    assert "page error: Error: boom" in text or "page error: boom" in text, text
    assert "404" in text and "missing.js" in text, text  # console: failed to load resource
    assert "Content Security Policy" in text and "inline script" in text, text  # the blocked inline script
    assert "request failed: GET http://127.0.0.1:9/unreachable.png" in text, text
    assert page.evaluate("window.inlineRan === undefined")
    # expected errors are allowed by pattern; whatever is left fails the test at teardown
    b.browser_log(page).allow.append(r".")
    assert b.browser_log(page).unexpected() == []


def test_close_context_returns_what_was_not_allowed(chromium, site):
    site.add("/oops", "<!doctype html><title>x</title><script>console.error('left over')</script>")
    context = b.new_context(chromium, site.origin)
    page = context.new_page()
    page.goto("/oops")
    page.wait_for_load_state("networkidle")
    errors = b.close_context(context)
    assert len(errors) == 1 and "left over" in errors[0]


# -- mail links --------------------------------------------------------------------------------

def test_the_link_of_a_verification_mail_opens_a_portal_page(system, portal):
    address = f"harness-{uuid.uuid4().hex[:8]}@example.com"
    registered = Api(system).call("POST", "/api/v1/auth/register", {
        "email": address, "password": "harness secret 2026 horse", "name": "Ana Pérez"})
    assert registered.status_code == 202, registered.text
    link = b.mail_link(system, address)
    assert link.startswith(f"{system.base_url}/verify-email#token=")
    page = portal("es", allow_errors=[r"."])  # only the helper is under test here, not the page
    assert page.goto(link).status == 200
    assert page.url == link


def test_links_in_a_mail_are_the_portals_with_their_fragments():
    mail = email.message.EmailMessage()
    mail.set_content("Confirme su dirección: http://127.0.0.1:4321/verify-email#token=abc.DEF_12-x.\n"
                     "Ver la incidencia (http://127.0.0.1:4321/tickets/T-1), o https://example.com/help\n"
                     "Otra: http://127.0.0.1:43210/not-ours\n")
    mail.add_alternative("<p><a href='http://127.0.0.1:4321/html-only'>x</a></p>", subtype="html")
    assert b.links_in(mail, "http://127.0.0.1:4321") == [
        "http://127.0.0.1:4321/verify-email#token=abc.DEF_12-x",
        "http://127.0.0.1:4321/tickets/T-1",
    ]
