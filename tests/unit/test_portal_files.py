"""The portal's files: one message catalogue per language with the same keys and placeholders,
every message the code asks for exists, no page code that could turn text into markup or keep a
token where scripts read it, and the gateway hands out only portal files."""
import json
import re

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from helpdesk import contracts
from services.gateway import portal
from services.gateway.http import ApiError
from services.tickets import domain

CATALOGUES = {language: portal.messages(language) for language in contracts.LANGUAGES}
SCRIPTS = {path.relative_to(portal.PORTAL_DIR).as_posix(): path.read_text()
           for path in portal.PORTAL_DIR.rglob("*.js")}
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def test_every_language_has_the_same_messages_with_the_same_placeholders():
    spanish = CATALOGUES["es"]
    for language, messages in CATALOGUES.items():
        assert set(messages) == set(spanish), language
        for key, text in messages.items():
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(spanish[key])), (language, key)
            assert text.strip(), (language, key)


def test_every_message_the_code_asks_for_exists():
    asked = {key for source in SCRIPTS.values() for key in re.findall(r'\bt\("([a-z_.]+)"', source)}
    asked |= {f"status.{status}" for status in (*domain.STATUSES, "open")}
    asked |= {f"channel.{channel}" for channel in (*contracts.OPENING_CHANNELS, "system")}
    asked |= {f"language.{language}" for language in contracts.LANGUAGES}
    asked |= {f"new.how.{mode}" for mode in ("department", "itil")}
    asked |= {f"content.downloads.category.{category}" for category in contracts.DOWNLOAD_CATEGORIES}
    tiles = re.findall(r'"(home\.tile\.[a-z_]+)"', SCRIPTS["js/pages/home.js"])
    asked |= set(tiles) | {f"{tile}.text" for tile in tiles}
    assert len(asked) > 150
    assert asked - set(CATALOGUES["es"]) == set()


@pytest.mark.parametrize("part", portal.CATALOGUE_PARTS)
def test_a_catalogue_part_holds_its_own_keys_and_only_pages_that_load_it_ask_for_them(part):
    for language in contracts.LANGUAGES:
        keys = json.loads((portal.PORTAL_DIR / "i18n" / f"{part}.{language}.json").read_text())
        assert keys and all(key.startswith(f"{part}.") for key in keys), language
    main = json.loads((portal.PORTAL_DIR / "i18n" / "es.json").read_text())
    assert not any(key.startswith(f"{part}.") for key in main)
    askers = {name for name, source in SCRIPTS.items() if re.search(rf'\bt\("{part}\.', source)
              or re.search(rf'"{part}\.[a-z_]+\.[a-z_.]+"', source)}
    assert askers and all(f'usePart("{part}")' in SCRIPTS[name] for name in askers), askers


@pytest.mark.parametrize("pattern", [r"\.innerHTML", r"outerHTML", r"insertAdjacentHTML", r"document\.write",
                                     r"\beval\(", r"new Function", r"localStorage", r"sessionStorage"])
def test_no_page_code_parses_html_or_keeps_tokens(pattern):
    """User text goes in as text nodes only; the session lives in its HttpOnly cookie and mailed
    tokens only in memory, never in storage other scripts could read."""
    offenders = [name for name, source in SCRIPTS.items() if re.search(pattern, source)]
    assert offenders == []


def test_the_shell_has_no_inline_script_or_style():
    shell = (portal.PORTAL_DIR / "index.html").read_text()
    assert "<style" not in shell and " style=" not in shell
    assert all('src="' in tag for tag in re.findall(r"<script[^>]*>", shell))
    assert re.search(r"\bon\w+=", shell) is None


def test_content_security_policy_allows_nothing_inline_and_no_framing():
    policy = portal.CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy and "default-src 'none'" in policy


def _request(path):
    return Request(EnvironBuilder(path=path).get_environ())


@pytest.mark.parametrize("name", ["../config.yaml", "js/../../config.yaml", "i18n/../../pyproject.toml",
                                  "index.html", "js", ".hidden.js", "missing.js", "/etc/passwd"])
def test_only_portal_files_of_known_types_are_served(name):
    with pytest.raises(ApiError) as refused:
        portal.asset(_request(f"/portal/{name}"), name)
    assert refused.value.status == 404


def test_an_asset_is_served_with_its_type_the_page_headers_and_an_etag():
    response = portal.asset(_request("/portal/js/main.js"), "js/main.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Content-Security-Policy"] == portal.CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff" and response.get_etag()[0]
    again = EnvironBuilder(path="/portal/js/main.js", headers={"If-None-Match": f'"{response.get_etag()[0]}"'})
    assert portal.asset(Request(again.get_environ()), "js/main.js").status_code == 304
