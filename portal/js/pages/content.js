// What the home page offers besides tickets (manual 000, 2.1), public: /announcements (the
// published announcements, pinned first), /downloads (Descargas recomendadas: files with their
// SHA-256, or links, by category) and /network-status (Estado de red: every component's
// state now, the incidents of the last week with their timeline, the maintenance windows), from
// the content service (GET /api/v1/announcements, GET /api/v1/status). The home page shows the
// latest of each (`latestAnnouncements`, `statusSummary`). Its words are the catalogue part
// "content" (i18n/content.<language>.json). A text written in one language only is shown in
// it, marked with its `lang`.
"use strict";

import {app, navigate} from "../app.js";
import {api, get} from "../api.js";
import {h, uid} from "../dom.js";
import {dateTime, label, language, number, t, usePart} from "../i18n.js";
import {markdown} from "../markdown.js";

/** [text, its language] of a {es, en} text: the page's language when written in it. */
export function written(texts) {
  const current = language();
  const chosen = texts && texts[current] ? current : ["es", "en"].find((code) => texts && texts[code]);
  return [chosen ? texts[chosen] : "", chosen || current];
}

/** An element `tag` holding the {es, en} text, with `lang` when it is not the page's. */
export function inLanguage(tag, texts, attributes = {}) {
  const [text, lang] = written(texts);
  return h(tag, {...attributes, lang: lang !== language() ? lang : null}, text);
}

function body(trees, className) {
  const [, lang] = written(trees);
  const element = markdown(trees ? trees[lang] : [], className);
  if (lang !== language()) element.lang = lang;
  return element;
}

function announcementItem(item, heading = "h2") {
  return h("article", {class: `announcement${item.pinned ? " pinned" : ""}`, id: `announcement-${item.id}`},
    inLanguage(heading, item.title),
    h("p", {class: "meta"}, item.pinned ? [h("span", {class: "badge"}, t("content.announcements.pinned")), " "] : null,
      h("time", {datetime: item.publish_at}, t("content.announcements.published", {date: dateTime(item.publish_at)}))),
    body(item.body_tree, "markdown entry-body"));
}

export async function announcements() {
  const [response] = await Promise.all([get("/api/v1/announcements?limit=50"), usePart("content")]);
  const content = h("div", {class: "content-page"}, h("h1", {}, t("content.announcements.title")),
    h("p", {class: "feeds"}, h("a", {href: `/feeds/announcements.atom?lang=${language()}`, type: "application/atom+xml"},
      t("content.feeds.announcements"))));
  if (!response.ok) content.append(h("p", {class: "error", role: "alert"}, response.data.message));
  else if (!response.data.items.length) content.append(h("p", {}, t("content.announcements.none")));
  else content.append(...response.data.items.map((item) => announcementItem(item)));
  return {title: t("content.announcements.title"), content};
}

/** The home page's section: the latest three, and "Ver todo". */
export async function latestAnnouncements() {
  const [response] = await Promise.all([get("/api/v1/announcements?limit=3"), usePart("content")]);
  const items = response.ok ? response.data.items : [];
  return h("section", {class: "panel home-announcements", "aria-labelledby": "home-announcements"},
    h("h2", {id: "home-announcements"}, t("content.announcements.latest")),
    items.length ? items.map((item) => announcementItem(item, "h3")) : h("p", {}, t("content.announcements.none")),
    h("p", {}, h("a", {href: "/announcements"}, t("content.announcements.all"))));
}

// -- /downloads: Descargas recomendadas ----------------------------------------------------------

export const DOWNLOAD_CATEGORIES = ["software", "firmware", "manuals", "configuration", "other"];

/** A size in bytes as people read it (KB, MB). */
export function fileSize(bytes) {
  if (bytes >= 1024 * 1024) return t("content.downloads.mb", {size: number(bytes / 1048576, {maximumFractionDigits: 1})});
  return t("content.downloads.kb", {size: number(Math.max(1, Math.round(bytes / 1024)))});
}

function downloadItem(item) {
  const title = written(item.title)[0];
  const href = `/api/v1/downloads/${item.id}/file`; // counted there, then the file or the link
  const file = item.file;
  return h("article", {class: "download", id: `download-${item.id}`},
    inLanguage("h3", item.title),
    h("p", {class: "meta"}, item.release ? [t("content.downloads.release", {release: item.release}), " · "] : null,
      file ? [h("span", {translate: "no"}, file.name), " · ", fileSize(file.size), " · "] : [t("content.downloads.external"), " · "],
      t("content.downloads.count", {count: item.downloads})),
    item.description_tree && Object.keys(item.description_tree).length ? body(item.description_tree, "markdown entry-body") : null,
    h("p", {class: "actions"}, file
      ? h("a", {href, class: "button primary", download: file.name,
                "aria-label": t("content.downloads.get_named", {title, name: file.name, size: fileSize(file.size)})},
          t("content.downloads.get"))
      : h("a", {href, class: "button", rel: "noopener noreferrer external",
                "aria-label": t("content.downloads.open_named", {title})}, t("content.downloads.open"))),
    (file || item).sha256 ? h("p", {class: "checksum"}, h("span", {}, t("content.downloads.sha256")), " ",
      h("code", {translate: "no"}, (file || item).sha256)) : null);
}

export async function downloads() {
  const [response] = await Promise.all([get("/api/v1/downloads?limit=100"), usePart("content")]);
  const content = h("div", {class: "content-page downloads-page"}, h("h1", {}, t("content.downloads.title")),
    h("p", {class: "hint"}, t("content.downloads.intro")));
  if (!response.ok) content.append(h("p", {class: "error", role: "alert"}, response.data.message));
  else if (!response.data.items.length) content.append(h("p", {}, t("content.downloads.none")));
  else {
    for (const category of DOWNLOAD_CATEGORIES) {
      const items = response.data.items.filter((item) => item.category === category);
      if (!items.length) continue;
      const headingId = `downloads-${category}`;
      content.append(h("section", {class: "download-category", "aria-labelledby": headingId},
        h("h2", {id: headingId}, t(`content.downloads.category.${category}`)), items.map(downloadItem)));
    }
  }
  return {title: t("content.downloads.title"), content};
}

// -- the network status -------------------------------------------------------------------------

const MARK = {operational: "✓", maintenance: "⚙", degraded: "!", partial_outage: "!", major_outage: "✗"};

function state(code) {
  return h("span", {class: `badge state state-${code}`},
    h("span", {"aria-hidden": "true"}, MARK[code] || ""), " ", t(`content.network.state.${code}`));
}

function componentNames(codes, catalog) {
  const names = Object.fromEntries(catalog.flatMap((service) => service.components)
    .map((component) => [component.code, label(component.name, component.code)]));
  return codes.map((code) => names[code] || code).join(", ");
}

function incidentItem(incident, services) {
  return h("article", {class: `incident incident-${incident.status}`, id: `incident-${incident.id}`},
    inLanguage("h3", incident.title),
    h("p", {class: "meta"}, state(incident.status === "resolved" ? "operational" : incident.impact), " ",
      t("content.network.affects", {components: componentNames(incident.components, services)})),
    h("p", {class: "meta"}, t("content.network.started", {time: dateTime(incident.started_at)}),
      incident.ended_at ? [" · ", t("content.network.ended", {time: dateTime(incident.ended_at)})] : null),
    h("ol", {class: "timeline", reversed: true}, [...incident.updates].reverse().map((entry) => h("li", {},
      h("p", {class: "entry-meta"}, h("strong", {}, t(`content.network.incident.${entry.status}`)), " · ",
        h("time", {datetime: entry.at}, dateTime(entry.at))),
      body(entry.message_tree, "markdown entry-body")))));
}

function maintenanceItem(window, services) {
  return h("article", {class: "maintenance", id: `maintenance-${window.id}`},
    inLanguage("h3", window.title),
    h("p", {class: "meta"}, t("content.network.window", {start: dateTime(window.starts_at), end: dateTime(window.ends_at)}),
      " · ", t("content.network.affects", {components: componentNames(window.components, services)})),
    window.message_tree && Object.keys(window.message_tree).length ? body(window.message_tree, "markdown entry-body") : null);
}

const SVG = "http://www.w3.org/2000/svg";

/** A component's last days as bars (one per day, its colour its worst state), with the uptime
 * in words: the picture is a summary, the text says it all. */
function historyBars(component, history) {
  const found = history && history.components[component.code];
  if (!found) return null;
  const first = Date.parse(`${history.since}T12:00:00Z`);
  const days = Array.from({length: history.days}, (_, index) => new Date(first + index * 86400000).toISOString().slice(0, 10));
  const bad = Object.keys(found.days).length;
  const uptime = number(found.uptime, {style: "percent", maximumFractionDigits: 2});
  const said = t("content.network.history", {uptime, days: history.days, bad});
  const svg = document.createElementNS(SVG, "svg");
  for (const [name, value] of Object.entries({viewBox: `0 0 ${history.days * 4} 16`, role: "img", "aria-label": said,
                                              class: "uptime-bars", preserveAspectRatio: "none"})) {
    svg.setAttribute(name, value);
  }
  days.forEach((day, index) => {
    const rect = document.createElementNS(SVG, "rect");
    const state = found.days[day] ? found.days[day].worst : "operational";
    for (const [name, value] of Object.entries({x: index * 4, y: 0, width: 3, height: 16, class: `bar-${state}`})) {
      rect.setAttribute(name, value);
    }
    svg.append(rect);
  });
  return h("div", {class: "uptime"}, svg, h("p", {class: "hint"}, said));
}

/** A customer's choice of the services whose incidents they are mailed (PUT /api/v1/status/subscription);
 * a stranger is asked to log in first. Staff are mailed by the console, not here. */
async function subscription(services) {
  const headingId = uid("subscribe");
  const section = h("section", {class: "panel subscribe", "aria-labelledby": headingId},
    h("h2", {id: headingId}, t("content.subscribe.title")));
  if (!app.me) {
    section.append(h("p", {}, h("a", {href: `/login?next=${encodeURIComponent("/network-status")}`},
      t("content.subscribe.log_in"))));
    return section;
  }
  if (app.me.role !== "customer") return null;
  const current = await get("/api/v1/status/subscription");
  const chosen = new Set(current.ok ? current.data.services : []);
  const status = h("p", {class: "status", role: "status", "aria-live": "polite"});
  const boxes = services.map((service) => {
    const id = uid("subscribe-service");
    return h("div", {class: "field check"},
      h("input", {type: "checkbox", id, name: "services", value: service.code, checked: chosen.has(service.code)}),
      h("label", {for: id}, label(service.name, service.code)));
  });
  const element = h("form", {class: "form", "aria-label": t("content.subscribe.title")},
    h("p", {class: "hint"}, t("content.subscribe.hint")),
    h("fieldset", {class: "choice"}, h("legend", {}, t("content.subscribe.services")), boxes),
    h("div", {class: "actions"}, h("button", {type: "submit", class: "primary"}, t("content.subscribe.save"))), status);
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    const picked = [...element.querySelectorAll("input[name=services]:checked")].map((box) => box.value);
    const answer = await api("PUT", "/api/v1/status/subscription", {services: picked});
    status.textContent = !answer.ok ? answer.data.message
      : answer.data.services.length ? t("content.subscribe.saved", {count: answer.data.services.length})
      : t("content.subscribe.none");
  });
  section.append(element);
  return section;
}

export async function networkStatus() {
  const [status, catalogue, , history] = await Promise.all([get("/api/v1/status"), get("/api/v1/catalog"),
    usePart("content"), get("/api/v1/status/history")]);
  const content = h("div", {class: "content-page network-status"}, h("h1", {}, t("content.network.title")));
  if (!status.ok || !catalogue.ok) {
    content.append(h("p", {class: "error", role: "alert"}, (status.ok ? catalogue : status).data.message));
    return {title: t("content.network.title"), content};
  }
  const data = status.data;
  const services = catalogue.data.services;
  const names = Object.fromEntries(services.map((service) => [service.code, label(service.name, service.code)]));
  content.append(
    h("p", {class: `overall state-${data.overall}`, role: "status"}, state(data.overall), " ",
      t(`content.network.overall.${data.overall}`)),
    h("p", {class: "hint"}, t("content.network.checked", {time: dateTime(data.at)}), " ",
      h("a", {href: `/feeds/status.atom?lang=${language()}`, type: "application/atom+xml"}, t("content.feeds.status")), " · ",
      h("a", {href: "/api/v1/status/summary.json", type: "application/json"}, t("content.feeds.summary"))),
    h("section", {class: "components", "aria-labelledby": "network-components"},
      h("h2", {id: "network-components"}, t("content.network.components")),
      data.services.map((service) => h("div", {class: "service"},
        h("h3", {}, names[service.code] || service.code),
        h("ul", {class: "component-list"}, service.components.map((component) =>
          h("li", {"data-component": component.code}, h("span", {class: "component-name"}, label(component.name, component.code)),
            " ", state(component.state), historyBars(component, history.ok ? history.data : null))))))),
    h("section", {class: "incidents", "aria-labelledby": "network-incidents"},
      h("h2", {id: "network-incidents"}, t("content.network.incidents")),
      data.incidents.length ? data.incidents.map((item) => incidentItem(item, services)) : h("p", {}, t("content.network.no_incidents"))),
    await subscription(services),
    h("section", {class: "maintenances", "aria-labelledby": "network-maintenances"},
      h("h2", {id: "network-maintenances"}, t("content.network.maintenances")),
      data.maintenances.length ? data.maintenances.map((item) => maintenanceItem(item, services))
        : h("p", {}, t("content.network.no_maintenances"))));
  return {title: t("content.network.title"), content};
}

// -- /search: the home page's Buscar ------------------------------------------------------------

/** The search box (GET /search?q=), for the home page and the results page. */
export function searchForm(value = "") {
  const id = uid("search");
  const element = h("form", {class: "search", role: "search", action: "/search", method: "get", "aria-label": t("search.title")},
    h("label", {for: id}, t("search.label")),
    h("input", {type: "search", id, name: "q", value, maxlength: 200, required: true, autocomplete: "off"}),
    h("button", {type: "submit"}, t("search.submit")));
  element.addEventListener("submit", (event) => { // the page drawn here, not loaded again (it works without too)
    event.preventDefault();
    const asked = element.querySelector("input").value.trim();
    if (asked) navigate(`/search?q=${encodeURIComponent(asked)}`);
  });
  return element;
}

function snippet(parts) {
  return h("p", {class: "snippet"}, (parts || []).map(([text, hit]) => (hit ? h("mark", {}, text) : text)));
}

export async function results() {
  const asked = (new URLSearchParams(location.search).get("q") || "").trim();
  const content = h("div", {class: "content-page search-page"}, h("h1", {}, t("search.title")), searchForm(asked));
  if (!asked) return {title: t("search.title"), content};
  const response = await get(`/api/v1/search?q=${encodeURIComponent(asked)}&limit=20`);
  if (!response.ok) {
    content.append(h("p", {class: "error", role: "alert"}, response.data.message));
    return {title: t("search.title"), content};
  }
  const items = response.data.items;
  content.append(h("p", {role: "status"}, items.length ? t("search.count", {count: items.length, query: asked})
                                                        : t("search.none", {query: asked})),
    h("ol", {class: "results"}, items.map((item) => h("li", {},
      h("p", {class: "meta"}, h("span", {class: "badge"}, t(`search.kind.${item.kind}`)),
        item.at ? [" ", h("time", {datetime: item.at}, dateTime(item.at))] : null),
      h("h2", {}, h("a", {href: item.path}, item.kind === "ticket" ? `${item.reference} ${item.title}` : written(item.title)[0])),
      item.snippet ? snippet(item.snippet) : null))));
  return {title: `${t("search.title")}: ${asked}`, content};
}

/** The home page's section: the overall state, what is not operational, and the link. */
export async function statusSummary() {
  const [response] = await Promise.all([get("/api/v1/status"), usePart("content")]);
  const section = h("section", {class: "panel home-status", "aria-labelledby": "home-status"},
    h("h2", {id: "home-status"}, t("content.network.title")));
  if (!response.ok) {
    section.append(h("p", {}, response.data.message));
  } else {
    const open = response.data.incidents.filter((item) => item.status !== "resolved");
    section.append(h("p", {class: `overall state-${response.data.overall}`}, state(response.data.overall), " ",
      t(`content.network.overall.${response.data.overall}`)),
    open.length ? h("ul", {}, open.map((item) => h("li", {},
      h("a", {href: `/network-status#incident-${item.id}`}, written(item.title)[0])))) : null);
  }
  section.append(h("p", {}, h("a", {href: "/network-status"}, t("content.network.see"))));
  return section;
}
