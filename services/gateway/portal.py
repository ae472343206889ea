"""Serving the portal (`portal/` at the project root): one HTML shell for every page path, and its
assets. The portal is a client of /api/v1 like any other; the gateway only hands out its files,
with the headers that keep a page safe: a strict Content-Security-Policy (no inline script or
style, nothing from another origin, never framed), no sniffing, no referrer.
"""
import json
from pathlib import Path

from werkzeug.wrappers import Response

from .http import ApiError

PORTAL_DIR = Path(__file__).resolve().parents[2] / "portal"

# Page paths the portal's router knows (besides "/", "/tickets/<id>" and the staff console's
# "/console/queues/<department>" and "/console/tickets/<id>"); each gets the shell.
PAGES = ("register", "login", "verify-email", "forgot-password", "reset-password", "password",
         "profile", "tickets", "solution", "console", "announcements", "downloads", "network-status", "search")
CONSOLE_PAGES = ("dashboard", "agents", "new-ticket", "admin", "content")  # /console/<page>
ADMIN_PAGES = ("users", "companies", "settings")  # /console/admin/<page>

# The message catalogues: i18n/<language>.json for every page, and parts that only some pages
# load (i18n/<part>.<language>.json, by i18n.js usePart), so that no page downloads words it
# never shows.
CATALOGUE_PARTS = ("admin", "publish", "content")

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "font-src 'self'", "connect-src 'self'", "form-action 'self'", "base-uri 'none'",
    "frame-ancestors 'none'", "manifest-src 'self'",
))
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
TYPES = {".js": "text/javascript", ".css": "text/css", ".json": "application/json",
         ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon"}


def shell(status=200):
    """The same document for every page: the router in portal/js picks the page from the path."""
    return Response((PORTAL_DIR / "index.html").read_bytes(), status=status, mimetype="text/html",
                    headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


def messages(language):
    """Every message of `language`, from its catalogue and all its parts (for tests and tools)."""
    merged = {}
    for name in (f"{language}.json", *(f"{part}.{language}.json" for part in CATALOGUE_PARTS)):
        merged.update(json.loads((PORTAL_DIR / "i18n" / name).read_text(encoding="utf-8")))
    return merged


def asset(request, name):
    """A file under portal/ of a known type, revalidated by ETag; anything else is 404."""
    path = (PORTAL_DIR / name).resolve()
    if (PORTAL_DIR not in path.parents or path.suffix not in TYPES or not path.is_file()
            or any(part.startswith(".") for part in path.relative_to(PORTAL_DIR).parts)):
        raise ApiError(404, "not_found", "no_file")
    response = Response(_compact(path), mimetype=TYPES[path.suffix],
                        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})
    response.add_etag()
    return response.make_conditional(request)


def _compact(path):
    """The file's bytes; a JSON file (the message catalogues) without the indentation that keeps
    it readable in the repository: 7% of the catalogues, fetched by every page."""
    raw = path.read_bytes()
    if path.suffix != ".json":
        return raw
    return json.dumps(json.loads(raw), ensure_ascii=False, separators=(",", ":")).encode()
