"""Staff's Markdown as a tree of safe nodes (services/content/markdown.py): the portal builds it
with DOM calls, so whatever is written can only ever be text, allowed tags and safe links."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.content import markdown

ALLOWED = {"p", "ul", "ol", "li", "blockquote", "strong", "em", "code", "pre", "hr", "br", "h3", "h4", "a"}


def nodes(items):
    for item in items:
        if isinstance(item, dict):
            yield item
            yield from nodes(item["c"])


@pytest.mark.parametrize("href", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<b>x</b>",
                                  "vbscript:x", "/relative", "//evil.example/x", "ftp://files.example/x"])
def test_links_other_than_http_https_and_mailto_become_their_text(href):
    found = list(nodes(markdown.tree(f"[pulse aquí]({href})")))
    assert all(node["t"] != "a" for node in found)
    assert "pulse aquí" in markdown.plain_text(f"[pulse aquí]({href})")


def test_safe_links_headings_lists_code_and_images_as_their_description():
    tree = markdown.tree("# Título\n\n[web](https://x.es) y [correo](mailto:soporte@x.es)\n\n"
                         "1. uno\n2. `dos`\n\n```\ncódigo <b>\n```\n\n![un mapa](https://x.es/mapa.png)")
    assert tree[0] == {"t": "h3", "c": ["Título"]}  # under the page's own headings
    assert [n["href"] for n in nodes(tree) if n["t"] == "a"] == ["https://x.es", "mailto:soporte@x.es"]
    assert {"t": "pre", "c": [{"t": "code", "c": ["código <b>\n"]}]} in tree
    assert tree[-1] == {"t": "p", "c": ["un mapa"]}  # nothing is loaded from elsewhere


@given(st.text(max_size=300))
def test_any_text_gives_only_allowed_nodes_and_strings(text):
    tree = markdown.tree(text)
    for node in nodes(tree):
        assert node["t"] in ALLOWED and set(node) <= {"t", "c", "href"}
        assert node["t"] != "a" or node["href"].lower().startswith(markdown.SAFE_SCHEMES)
        assert all(isinstance(child, (str, dict)) for child in node["c"])
