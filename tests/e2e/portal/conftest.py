"""Fixtures of the portal's browser tests. They share the session's `system` (tests/e2e/conftest.py):
one running system for the whole e2e run, one Chromium for the whole session.

    def test_login_page(portal):
        page = portal("en", "phone")        # a new browser context, closed after the test
        page.goto("/login")
        check_page(page, "login-en-phone")  # CSP, same origin, weight, axe, screenshot

At the end of every test, whatever a browser context of the test logged as an error (console
errors, uncaught page errors, failed requests, 5xx responses, CSP violations) fails the test,
except what the test allowed: `portal(..., allow_errors=[r"regex"])` or
`browser_log(page).allow.append(r"regex")`.
"""
import pytest

from . import browser as b

HERE = __file__.rsplit("/", 1)[0]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if str(item.path).startswith(HERE + "/"):
            item.add_marker(pytest.mark.browser)


# Package scope: Playwright's asyncio loop runs in a greenlet of this thread, so while it lives
# every later asyncio.run (aiosmtpd in the integration tests) would find "another loop running".
# It stops once the last browser test is done.
@pytest.fixture(scope="package")
def playwright_session():
    manager, playwright = b.start_playwright()
    yield playwright
    b.stop_playwright(manager)


@pytest.fixture(scope="package")
def chromium(playwright_session):
    """Debian's Chromium (/usr/bin/chromium), headless, for the whole session."""
    browser = b.launch_chromium(playwright_session)
    yield browser
    browser.close()


def _contexts(chromium, origin):
    contexts = []

    def open_page(lang="es", device="desktop", *, allow_errors=(), origin=origin, **options):
        """A new page in a new browser context: `lang` "es" (es-ES) / "en" (en-GB) or a locale,
        time zone Europe/Madrid, `device` "desktop" (1280×800) or "phone" (390×844, touch),
        relative URLs against `origin`. `options` go to Browser.new_context."""
        context = b.new_context(chromium, origin, lang, device, **options)
        b.browser_log(context).allow.extend(allow_errors)
        contexts.append(context)
        return context.new_page()

    def close_all():
        failures = []
        for context in contexts:
            errors = b.close_context(context)
            if errors:
                failures.append("\n  ".join(errors))
        if failures:
            pytest.fail("the browser logged errors:\n  " + "\n  ".join(failures), pytrace=False)

    return open_page, close_all


@pytest.fixture
def portal(chromium, system):
    """portal(lang="es", device="desktop", *, allow_errors=(), **context_options) -> Page, with
    base_url = system.base_url; every context is closed after the test and its errors asserted."""
    open_page, close_all = _contexts(chromium, system.base_url)
    yield open_page
    close_all()


@pytest.fixture
def pages(chromium):
    """Like `portal`, without the running system: pages(lang, device, origin=...) -> Page (for
    testing the harness itself against pages a test serves)."""
    open_page, close_all = _contexts(chromium, "http://127.0.0.1")
    yield open_page
    close_all()
