"""The browser side of the portal tests: Debian's Chromium driven by Playwright (its own browser
download is never used), what a browser context saw (requests, console, page errors), and the
checks every page test runs (`check_page`).

Playwright's sync API next to eventlet: tests/conftest.py monkey-patches the whole test process,
and Playwright runs an asyncio loop (in a greenlet of its own) that talks to its node driver over
pipes. `start_playwright()` keeps that loop out of eventlet's hub; see `_outside_eventlet`.
"""
import asyncio
import os
import concurrent.futures
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium phones home, and this closed network refuses it.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

LOCALES = {"es": "es-ES", "en": "en-GB"}
LANGUAGES = tuple(LOCALES)
TIMEZONE = "Europe/Madrid"
DEVICES = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
              "device_scale_factor": 3},
}
MAX_FIRST_LOAD = 150_000  # bytes, uncompressed: document + scripts + styles + fetched JSON + images
ROOT = Path(__file__).resolve().parents[3]
# docs/portal.md shows the pictures `make screenshots` writes into docs/portal/; a plain test run
# writes them under var/ so that it leaves the working tree as it found it.
SCREENSHOTS = Path(os.environ.get("PORTAL_SCREENSHOTS") or ROOT / "var" / "portal-screenshots")
SERIOUS = ("serious", "critical")


# -- Playwright beside eventlet ---------------------------------------------------------------

def start_playwright():
    """Starts Playwright's sync API; returns the context manager (give it to `stop_playwright`)."""
    from playwright.sync_api import sync_playwright

    manager = sync_playwright()
    restore = _outside_eventlet()
    try:
        playwright = manager.start()
    finally:
        restore()
    return manager, playwright


def stop_playwright(manager):
    import greenlet

    # eventlet's hub re-parents every greenlet that blocked in a green call (the driver's
    # subprocess.Popen does): when the dispatcher fiber ends at stop, control would fall into the
    # hub, which then waits forever. Make it come back here.
    fiber = getattr(manager, "_dispatcher_fiber", None)
    if fiber is not None and not fiber.dead:
        fiber.parent = greenlet.getcurrent()
    manager.__exit__()
    _restore_asyncio_os()


_saved_os = []


def _outside_eventlet():
    """With eventlet's monkey-patching in force, makes the asyncio loop Playwright creates next
    independent of eventlet's hub (returns a function that undoes the policy change):
    - the loop polls with the real select.poll (eventlet's green one would park it in the hub);
    - the driver's exit is seen through a pidfd (the default child watcher is a thread, which is a
      green thread here and never runs while the loop blocks in the real poll);
    - asyncio's pipe transports use the real os.read/os.write (the green ones trampoline into the
      hub on EAGAIN and never come back);
    - work for an executor (Playwright's file writes) runs inline."""
    try:
        from eventlet import patcher
    except ImportError:
        return lambda: None
    if not patcher.is_monkey_patched("os") and not patcher.is_monkey_patched("select"):
        return lambda: None
    import asyncio.unix_events

    selectors, select = patcher.original("selectors"), patcher.original("select")

    class RealPollSelector(selectors._PollLikeSelector):
        _selector_cls = select.poll
        _EVENT_READ = select.POLLIN
        _EVENT_WRITE = select.POLLOUT

    class InlineExecutor(concurrent.futures.ThreadPoolExecutor):
        """Runs what the loop hands to an executor (Playwright writes files so) at once: a pool's
        threads are green threads here and would never run."""

        def submit(self, fn, /, *args, **kwargs):
            future = concurrent.futures.Future()
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:
                future.set_exception(exc)
            return future

    class Policy(asyncio.DefaultEventLoopPolicy):
        def new_event_loop(self):
            loop = asyncio.SelectorEventLoop(RealPollSelector())
            loop.set_default_executor(InlineExecutor())
            self.get_child_watcher().attach_loop(loop)
            return loop

    previous = asyncio.get_event_loop_policy()
    policy = Policy()
    policy.set_child_watcher(asyncio.PidfdChildWatcher())
    asyncio.set_event_loop_policy(policy)
    if not _saved_os:
        _saved_os.append(asyncio.unix_events.os)
        asyncio.unix_events.os = patcher.original("os")
    return lambda: asyncio.set_event_loop_policy(previous)


def _restore_asyncio_os():
    if _saved_os:
        import asyncio.unix_events

        asyncio.unix_events.os = _saved_os.pop()


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


# -- what a browser context saw ---------------------------------------------------------------

@dataclass
class BrowserLog:
    """Everything one browser context did, from its creation: every request, and every console
    error, uncaught page error, failed request and 5xx response as a line in `errors` (CSP
    violations arrive as console errors). `allow` holds regexes of errors a test expects."""

    origin: str
    lang: str
    device: str
    requests: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    allow: list = field(default_factory=list)

    def unexpected(self):
        return [e for e in self.errors if not any(re.search(p, e) for p in self.allow)]

    def attach(self, context):
        context.on("request", lambda request: self.requests.append(request))
        context.on("console", self._console)
        context.on("weberror", lambda error: self.errors.append(f"page error: {error.error}"))
        context.on("requestfailed", self._failed)
        context.on("response", self._response)

    def _console(self, message):
        if message.type in ("error", "assert"):
            location = message.location or {}
            if urlsplit(location.get("url", "")).path == "/favicon.ico":
                return  # Chromium's own request for an icon the page did not declare
            where = f" ({location.get('url', '')}:{location.get('lineNumber', '')})" if location else ""
            self.errors.append(f"console {message.type}: {message.text}{where}")

    def _failed(self, request):
        failure = request.failure or ""
        if "ERR_ABORTED" in failure:  # cancelled (e.g. navigating away), not failed
            return
        self.errors.append(f"request failed: {request.method} {request.url}: {failure}")

    def _response(self, response):
        if response.status >= 500:
            self.errors.append(f"server error: {response.status} {response.request.method} {response.url}")


_logs = {}  # BrowserContext -> BrowserLog


def new_context(browser, origin, lang="es", device="desktop", **options):
    """A browser context speaking `lang` ("es"/"en" or a locale) in Madrid's time zone, sized as
    `device` ("desktop"/"phone"), with relative URLs resolved against `origin`."""
    locale = LOCALES.get(lang, lang)
    settings = {"locale": locale, "timezone_id": TIMEZONE, "base_url": origin, **DEVICES[device], **options}
    context = browser.new_context(**settings)
    context.set_default_timeout(15_000)
    log = BrowserLog(origin=_origin(origin), lang=locale.split("-")[0], device=device)
    log.attach(context)
    _logs[context] = log
    return context


def browser_log(page_or_context):
    context = getattr(page_or_context, "context", page_or_context)
    return _logs[context]


def close_context(context):
    """Closes the context; returns its log's unexpected errors."""
    log = _logs.pop(context)
    errors = log.unexpected()
    context.close()
    return errors


# -- the checks -------------------------------------------------------------------------------

def _origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def document_response(page):
    """The response to the page's latest main-frame navigation (after redirects)."""
    log = browser_log(page)
    for request in reversed(log.requests):
        if request.is_navigation_request() and request.frame == page.main_frame:
            while request.redirected_to:
                request = request.redirected_to
            return request.response()
    raise AssertionError(f"{page.url}: no navigation recorded")


def csp_problems(headers):
    """What is wrong with the Content-Security-Policy of a document's response headers (a list of
    (name, value) pairs or a dict); [] when it is good: present, without 'unsafe-inline' or
    'unsafe-eval', and with frame-ancestors 'none'."""
    pairs = headers.items() if isinstance(headers, dict) else [(h["name"], h["value"]) if isinstance(h, dict)
                                                               else h for h in headers]
    policies = [value for name, value in pairs if name.lower() == "content-security-policy"]
    if not policies:
        return ["no Content-Security-Policy header"]
    problems = []
    ancestors_none = False
    for policy in policies:
        for directive in filter(None, (d.strip() for d in policy.split(";"))):
            name, *sources = directive.split()
            name = name.lower()
            for bad in ("'unsafe-inline'", "'unsafe-eval'"):
                if bad in (s.lower() for s in sources):
                    problems.append(f"{name} allows {bad}: {directive}")
            if name == "frame-ancestors" and [s.lower() for s in sources] == ["'none'"]:
                ancestors_none = True
    if not ancestors_none:
        problems.append("no frame-ancestors 'none' (the page could be framed: clickjacking)")
    return problems


def check_csp(page):
    """The page's document carries a Content-Security-Policy header without 'unsafe-inline' and
    'unsafe-eval' and with frame-ancestors 'none'."""
    response = document_response(page)
    problems = csp_problems(response.headers_array())
    assert not problems, f"{response.url}: Content-Security-Policy:\n  " + "\n  ".join(problems)


def check_same_origin(page):
    """Every request the context made since its creation went to the portal's own origin (no
    CDN, no external font, script or image)."""
    log = browser_log(page)
    foreign = sorted({f"{r.resource_type}: {r.url}" for r in log.requests
                      if not r.url.startswith(("data:", "blob:")) and _origin(r.url) != log.origin})
    assert not foreign, f"requests outside {log.origin}:\n  " + "\n  ".join(foreign)


def first_load(page):
    """[(url, resource type, uncompressed body bytes)] of the page's latest load: the document and
    every request made after it (scripts, styles, fetched JSON, images, fonts). A live stream
    (EventSource) counts 0: it stays open while the page does, so its body never ends, and what
    it carries is news of changes, not the page; nor do the answers to what the user sent (a
    POST's or PATCH's): they are the user's actions, not the page's weight; and an API resource
    read again (the same path: a live refetch after a change) counts once, the first time."""
    log = browser_log(page)
    start = None
    for index in range(len(log.requests) - 1, -1, -1):
        request = log.requests[index]
        if request.is_navigation_request() and request.frame == page.main_frame:
            start = index
            break
    assert start is not None, f"{page.url}: no navigation recorded"
    loaded, read = [], set()
    for request in log.requests[start:]:
        if request.redirected_to:  # the redirect itself; its target is in the list too
            continue
        path = urlsplit(request.url).path
        again = path.startswith("/api/") and path in read
        if request.method == "GET":
            read.add(path)
        if request.resource_type == "eventsource" or request.method not in ("GET", "HEAD") or again:
            loaded.append((request.url, request.resource_type, 0))
            continue
        response = request.response()
        try:
            size = len(response.body()) if response else 0
        except Exception:  # no body (204, 304, a redirect, a request that failed)
            size = 0
        loaded.append((request.url, request.resource_type, size))
    return loaded


def check_weight(page, limit=MAX_FIRST_LOAD):
    """The page's first load weighs at most `limit` bytes uncompressed."""
    loaded = first_load(page)
    total = sum(size for _, _, size in loaded)
    listing = "\n  ".join(f"{size:>9,} {kind:<10} {url}" for url, kind, size in
                          sorted(loaded, key=lambda item: -item[2]))
    assert total <= limit, f"{page.url}: first load {total:,} bytes > {limit:,}:\n  {listing}"
    return total


def check_accessible(page, context=None):
    """axe-core finds no violation of impact serious or critical (`context`: an axe context,
    e.g. a selector, to check only part of the page)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context=context)
    serious = [v for v in results.response["violations"] if v.get("impact") in SERIOUS]
    assert not serious, f"{page.url}: accessibility violations:\n" + format_violations(serious)
    return results.response["violations"]


def format_violations(violations):
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}  [{v.get('helpUrl', '')}]")
        for node in v["nodes"][:10]:
            lines.append(f"    at {', '.join(map(str, node['target']))}: {node.get('html', '')[:160]}")
            summary = node.get("failureSummary", "").replace("\n", " ")
            if summary:
                lines.append(f"      {summary[:300]}")
        if len(v["nodes"]) > 10:
            lines.append(f"    … and {len(v['nodes']) - 10} more")
    return "\n".join(lines)


_screenshots = set()


def screenshot(page, name, directory=SCREENSHOTS):
    """Saves the page as <directory>/<name>.png: the full page on a desktop, the viewport on a
    phone, at CSS pixels (small files). A name is used once per test run."""
    path = Path(directory) / f"{name}.png"
    assert path not in _screenshots, f"screenshot {path} taken twice in this run: give each one its own name"
    _screenshots.add(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    phone = browser_log(page).device == "phone"
    page.screenshot(path=str(path), full_page=not phone, scale="css", animations="disabled")
    return path


def check_page(page, name, *, limit=MAX_FIRST_LOAD, axe_context=None, directory=SCREENSHOTS):
    """Every check of a portal page, once it has loaded: the document's CSP, same origin only,
    first-load weight, accessibility (axe), and its screenshot docs/portal/<name>.png. Runs them
    all and reports every failure together."""
    page.wait_for_load_state("networkidle")
    failures = []
    for check in (check_csp, check_same_origin, lambda p: check_weight(p, limit),
                  lambda p: check_accessible(p, axe_context)):
        try:
            check(page)
        except AssertionError as exc:
            failures.append(str(exc))
    screenshot(page, name, directory)
    assert not failures, f"page {name!r} ({page.url}):\n\n" + "\n\n".join(failures)


# -- mail -------------------------------------------------------------------------------------

_URL = re.compile(r"""https?://[^\s<>"'()\[\]]+""")


def mail_text(mail):
    return mail.get_body(("plain",)).get_content()


def links_in(mail, base_url):
    """The links into the portal (`base_url` + path, fragment kept) in a mail's text part."""
    return [url.rstrip(".,;:") for url in _URL.findall(mail_text(mail))
            if url == base_url or url.startswith(base_url.rstrip("/") + "/")]


def mail_links(system, address, n=1, timeout=15):
    """Waits for the n-th mail (1-based) to `address`; returns its portal links."""
    from ..conftest import wait_for_mail

    mail = wait_for_mail(system, address, count=n, timeout=timeout)[n - 1]
    links = links_in(mail, system.base_url)
    assert links, f"no link to {system.base_url} in mail {n} to {address} ({mail['Subject']}):\n{mail_text(mail)}"
    return links


def mail_link(system, address, n=1, timeout=15):
    """The one portal link of the n-th mail to `address` (fails if there are several different)."""
    links = list(dict.fromkeys(mail_links(system, address, n, timeout)))
    assert len(links) == 1, f"mail {n} to {address} has {len(links)} portal links: {links}"
    return links[0]
