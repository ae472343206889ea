"""Markdown written by staff, shown to anyone without ever becoming markup: the text is parsed
(markdown-it-py, CommonMark, raw HTML off) into a small tree of allowed nodes that the portal
builds with DOM calls (portal/js/markdown.js), never by parsing HTML. A node is
{"t": tag, "c": [children]} (links add "href", only http, https and mailto); a string is text.
Images become their description (the portal loads nothing from elsewhere)."""
import functools

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

_PARSER = MarkdownIt("commonmark", {"html": False, "linkify": False})
_BLOCKS = {"paragraph": "p", "bullet_list": "ul", "ordered_list": "ol", "list_item": "li",
           "blockquote": "blockquote", "strong": "strong", "em": "em"}
SAFE_SCHEMES = ("http://", "https://", "mailto:")
MAX_DEPTH = 20  # nesting beyond this is flattened into text (a page must not recurse without end)


@functools.lru_cache(maxsize=4096)
def tree(text):
    """The Markdown `text` as a list of nodes. Remembered: every status page and feed shows the
    same few texts again (callers only read what it gives)."""
    return _children(SyntaxTreeNode(_PARSER.parse(text or "")), 0)


def _children(node, depth):
    result = []
    for child in node.children:
        result.extend(_node(child, depth + 1))
    return _merged(result)


def _merged(nodes):
    """Adjacent strings joined: fewer nodes to draw."""
    merged = []
    for item in nodes:
        if isinstance(item, str) and merged and isinstance(merged[-1], str):
            merged[-1] += item
        else:
            merged.append(item)
    return merged


def _plain(node):
    if node.type in ("text", "code_inline"):
        return node.content
    if node.type in ("softbreak", "hardbreak"):
        return " "
    return "".join(_plain(child) for child in node.children)


def _node(node, depth):
    kind = node.type
    if depth > MAX_DEPTH:
        return [_plain(node)]
    if kind == "text":
        return [node.content]
    if kind == "softbreak":
        return [" "]
    if kind == "hardbreak":
        return [{"t": "br", "c": []}]
    if kind == "code_inline":
        return [{"t": "code", "c": [node.content]}]
    if kind in ("code_block", "fence"):
        return [{"t": "pre", "c": [{"t": "code", "c": [node.content]}]}]
    if kind == "hr":
        return [{"t": "hr", "c": []}]
    if kind == "heading":  # under the page's own headings: h3 and h4 only
        return [{"t": "h3" if node.tag in ("h1", "h2", "h3") else "h4", "c": _children(node, depth)}]
    if kind == "image":
        return [_plain(node)]
    if kind == "link":
        href = (node.attrs.get("href") or "").strip()
        if href.lower().startswith(SAFE_SCHEMES):
            return [{"t": "a", "href": href, "c": _children(node, depth)}]
        return _children(node, depth)
    if kind in ("inline", "root"):
        return _children(node, depth)
    if kind in _BLOCKS:
        return [{"t": _BLOCKS[kind], "c": _children(node, depth)}]
    return [_plain(node)]


def plain_text(text):
    """The words of the Markdown `text`, for search and for mail."""
    def words(nodes):
        return " ".join(item if isinstance(item, str) else words(item["c"]) for item in nodes)
    return " ".join(words(tree(text)).split())
