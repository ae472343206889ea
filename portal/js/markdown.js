// Staff's Markdown, as the content service gives it: a tree of allowed nodes ({t, c, href}) and
// strings (services/content/markdown.py), built here with DOM calls. Nothing is parsed as HTML;
// a tag the list does not name becomes its text, a link is kept only with http, https or mailto.
"use strict";

import {h} from "./dom.js";

const TAGS = new Set(["p", "ul", "ol", "li", "blockquote", "strong", "em", "code", "pre", "hr", "br", "h3", "h4", "a"]);
const SAFE_LINK = /^(https?:|mailto:)/i;

function node(item) {
  if (typeof item === "string") return item;
  if (!item || !TAGS.has(item.t)) return item && Array.isArray(item.c) ? item.c.map(node) : "";
  const children = (item.c || []).map(node);
  if (item.t === "a") {
    if (!SAFE_LINK.test(item.href || "")) return children;
    return h("a", {href: item.href, rel: "noopener noreferrer"}, children);
  }
  return h(item.t, {}, children);
}

/** The tree (a list of nodes) as elements, in a div with class `className`. */
export function markdown(tree, className = "markdown") {
  return h("div", {class: className}, (tree || []).map(node));
}
