// The staff console's content page (/console/content, every staff role): write and publish
// announcements (now or from a time, pinned, for everyone or the customers of some services,
// archived), add recommended downloads (a file uploaded as it is, or a link), declare incidents
// on the catalogue's components and add to their timeline until resolved, schedule and cancel
// maintenance windows. Through /api/v1/announcements, /downloads, /incidents and /maintenances;
// what customers then see is pages/content.js. Texts are written in es and/or en (Markdown for bodies and messages).
"use strict";

import {app, catalog} from "../app.js";
import {get, post, put} from "../api.js";
import {h, replace, uid} from "../dom.js";
import {field, form, say, showErrors, values} from "../forms.js";
import {dateTime, label, t, usePart} from "../i18n.js";
import {staffOnly} from "../staff.js";
import {DOWNLOAD_CATEGORIES, fileSize, written} from "./content.js";

const IMPACTS = ["degraded", "partial_outage", "major_outage"];
const STATUSES = ["investigating", "identified", "monitoring", "resolved"];

/** Two fields, es and en, for one text; `api` names the field for the API's errors. */
function bilingual(name, labelKey, {textarea = false, required = false} = {}) {
  return ["es", "en"].map((code) => field({
    name: `${name}_${code}`, api: `${name}.${code}`, label: `${t(labelKey)} (${t(`language.${code}`)})`,
    type: textarea ? "textarea" : "text", rows: textarea ? 4 : undefined, required: required && code === "es",
    attrs: {lang: code, maxlength: textarea ? 20000 : 200}}));
}

function texts(data, name) {
  return {es: data[`${name}_es`] || "", en: data[`${name}_en`] || ""};
}

/** Checkboxes of every component, grouped by service, named `components`. */
async function componentChoices(legend) {
  const services = (await catalog()).services;
  return h("fieldset", {class: "choices components"}, h("legend", {}, legend),
    services.flatMap((service) => (service.components || []).map((component) => {
      const id = uid("component");
      return h("div", {class: "choice"},
        h("input", {type: "checkbox", id, name: "components", value: component.code, "data-api": "components",
                    "aria-describedby": `${id}-error`}),
        h("label", {for: id}, `${label(service.name, service.code)}: ${label(component.name, component.code)}`),
        h("p", {class: "field-error", id: `${id}-error`, hidden: true}));
    })));
}

/** Who sees it: nobody chosen is everyone; else the customers of the services ticked (`audience`). */
async function audienceChoices() {
  const services = (await catalog()).services;
  return h("fieldset", {class: "choices audience"}, h("legend", {}, t("publish.audience")),
    h("p", {class: "hint"}, t("publish.audience_hint")),
    services.map((service) => {
      const id = uid("audience");
      return h("div", {class: "choice"},
        h("input", {type: "checkbox", id, name: "audience", value: service.code, "data-api": "audience"}),
        h("label", {for: id}, label(service.name, service.code)));
    }));
}

const audience = (element) => {
  const picked = [...element.querySelectorAll("input[name=audience]:checked")].map((box) => box.value);
  return picked.length ? picked : null;
};

const chosen = (element) => [...element.querySelectorAll("input[name=components]:checked")].map((box) => box.value);
const iso = (local) => (local ? new Date(local).toISOString() : null); // a datetime-local, in the browser's zone

function section(id, title, ...children) {
  return h("section", {class: "dashboard-part", "aria-labelledby": id}, h("h2", {id}, title), children);
}

export async function content() {
  if (!staffOnly("/tickets")) return null;
  await Promise.all([usePart("publish"), usePart("content")]);
  const alert = h("div", {class: "alert", role: "alert"});
  const announcementList = h("div", {class: "publish-list", "aria-live": "polite"});
  const incidentList = h("div", {class: "publish-list", "aria-live": "polite"});
  const windowList = h("div", {class: "publish-list", "aria-live": "polite"});

  async function act(path, body, done, element) {
    const response = await post(path, body);
    if (!response.ok) {
      if (element && response.data.fields) showErrors(element, response.data);
      else replace(alert, h("p", {}, response.data.message));
      return null;
    }
    replace(alert);
    replace(done.region, h("p", {class: "status", role: "status"}, done.text));
    return response.data;
  }

  // -- announcements --
  async function drawAnnouncements() {
    const lists = await Promise.all(["draft", "published"].map((status) => get(`/api/v1/announcements?status=${status}&limit=50`)));
    const items = lists.flatMap((response) => (response.ok ? response.data.items : []));
    replace(announcementList, items.length ? h("ul", {class: "plain"}, items.map((item) => {
      const name = written(item.title)[0];
      const region = h("span", {});
      const shownFrom = item.publish_at ? t("publish.announcement.from", {time: dateTime(item.publish_at)}) : "";
      return h("li", {"data-announcement": item.id},
        h("strong", {}, name), " · ", t(`publish.announcement.${item.status}`), shownFrom ? ` · ${shownFrom}` : "",
        item.pinned ? ` · ${t("publish.announcement.pinned")}` : "", " ",
        item.status === "draft" ? h("button", {type: "button", "aria-label": t("publish.announcement.publish_named", {title: name}),
          onclick: async () => {
            if (await act(`/api/v1/announcements/${item.id}/publish`, {}, {region, text: t("publish.announcement.done_published")})) {
              await drawAnnouncements();
            }
          }}, t("publish.announcement.publish")) : null, " ",
        h("button", {type: "button", class: "danger", "aria-label": t("publish.announcement.archive_named", {title: name}),
          onclick: async () => {
            if (await act(`/api/v1/announcements/${item.id}/archive`, {}, {region, text: ""})) await drawAnnouncements();
          }}, t("publish.announcement.archive")), " ", region);
    })) : h("p", {}, t("publish.announcement.none")));
  }

  const when = field({name: "when", label: t("publish.announcement.when"), type: "select", value: "now",
                      options: [["now", t("publish.announcement.now")], ["draft", t("publish.announcement.keep_draft")],
                                ["later", t("publish.announcement.later")]]});
  const at = field({name: "publish_at", api: "publish_at", label: t("publish.announcement.at"), type: "datetime-local"});
  const pinnedId = uid("pinned");
  const announcementForm = form({
    label: t("publish.announcement.new"), submit: t("publish.announcement.submit"),
    fields: [...bilingual("title", "publish.title", {required: true}), ...bilingual("body", "publish.body", {textarea: true, required: true}),
             h("div", {class: "field check"}, h("input", {type: "checkbox", id: pinnedId, name: "pinned"}),
               h("label", {for: pinnedId}, t("publish.announcement.pin"))), await audienceChoices(), when, at],
    onSubmit: async (element) => {
      const data = values(element);
      const drafted = await post("/api/v1/announcements", {title: texts(data, "title"), body: texts(data, "body"),
                                                           pinned: data.pinned, audience: audience(element)});
      if (!drafted.ok) return showErrors(element, drafted.data);
      if (data.when !== "draft") {
        const published = await post(`/api/v1/announcements/${drafted.data.id}/publish`,
                                     {publish_at: data.when === "later" ? iso(data.publish_at) : null});
        if (!published.ok) return showErrors(element, published.data);
      }
      element.reset();
      say(element, t(data.when === "draft" ? "publish.announcement.done_draft" : "publish.announcement.done_published"));
      await drawAnnouncements();
    }});

  // -- recommended downloads --
  const downloadList = h("div", {class: "publish-list", "aria-live": "polite"});
  async function drawDownloads() {
    const lists = await Promise.all(["draft", "published"].map((status) => get(`/api/v1/downloads?status=${status}&limit=100`)));
    const items = lists.flatMap((response) => (response.ok ? response.data.items : []));
    replace(downloadList, items.length ? h("ul", {class: "plain"}, items.map((item) => {
      const name = written(item.title)[0];
      const region = h("span", {});
      return h("li", {"data-download": item.id},
        h("strong", {}, name), " · ", t(`publish.announcement.${item.status}`), " · ",
        item.file ? `${item.file.name}, ${fileSize(item.file.size)}` : item.link ? t("content.downloads.external")
          : t("publish.download.no_file"),
        " · ", t("content.downloads.count", {count: item.downloads}), " ",
        item.status === "draft" ? h("button", {type: "button", "aria-label": t("publish.announcement.publish_named", {title: name}),
          onclick: async () => {
            if (await act(`/api/v1/downloads/${item.id}/publish`, {}, {region, text: t("publish.download.published")})) {
              await drawDownloads();
            }
          }}, t("publish.announcement.publish")) : null, " ",
        h("button", {type: "button", class: "danger", "aria-label": t("publish.announcement.archive_named", {title: name}),
          onclick: async () => {
            if (await act(`/api/v1/downloads/${item.id}/archive`, {}, {region, text: ""})) await drawDownloads();
          }}, t("publish.announcement.archive")), " ", region);
    })) : h("p", {}, t("content.downloads.none")));
  }

  const category = field({name: "category", label: t("publish.download.category"), type: "select", required: true, value: "",
                          options: [["", t("new.choose")], ...DOWNLOAD_CATEGORIES.map((code) => [code, t(`content.downloads.category.${code}`)])]});
  const release = field({name: "release", label: t("publish.download.release"), attrs: {maxlength: 40}});
  const maxBytes = (app.site.download || {}).max_bytes || 50 * 1048576;
  const file = field({name: "file", api: "file", label: t("publish.download.file"), type: "file",
                      hint: t("publish.download.file_hint", {size: fileSize(maxBytes)})});
  const link = field({name: "link", label: t("publish.download.link"), type: "url", hint: t("publish.download.link_hint"),
                      attrs: {maxlength: 2000}});
  const checksum = field({name: "sha256", label: t("publish.download.sha256"), attrs: {maxlength: 64, pattern: "[0-9a-fA-F]{64}"}});
  const publishNowId = uid("publish-now");
  const downloadForm = form({
    label: t("publish.download.new"), submit: t("publish.download.submit"),
    fields: [...bilingual("title", "publish.title", {required: true}), ...bilingual("description", "publish.body", {textarea: true}),
             category, release, file, link, checksum, await audienceChoices(),
             h("div", {class: "field check"}, h("input", {type: "checkbox", id: publishNowId, name: "publish_now", checked: true}),
               h("label", {for: publishNowId}, t("publish.download.publish_now")))],
    onSubmit: async (element) => {
      const data = values(element);
      const chosenFile = file.control.files[0];
      if (chosenFile && chosenFile.size > maxBytes) {
        const problem = t("publish.download.too_large", {size: fileSize(maxBytes)});
        return showErrors(element, {message: problem, fields: {file: [problem]}});
      }
      const added = await post("/api/v1/downloads", {title: texts(data, "title"), description: texts(data, "description"),
        category: data.category, release: data.release || null, link: chosenFile ? null : data.link || null,
        sha256: chosenFile ? null : data.sha256 || null, audience: audience(element)});
      if (!added.ok) return showErrors(element, added.data);
      if (chosenFile) {
        say(element, t("publish.download.uploading", {name: chosenFile.name, size: fileSize(chosenFile.size)}));
        const uploaded = await put(`/api/v1/downloads/${added.data.id}/file?name=${encodeURIComponent(chosenFile.name)}`, chosenFile);
        if (!uploaded.ok) {
          await drawDownloads();
          return showErrors(element, uploaded.data);
        }
      }
      if (data.publish_now) {
        const published = await post(`/api/v1/downloads/${added.data.id}/publish`);
        if (!published.ok) {
          await drawDownloads();
          return showErrors(element, published.data);
        }
      }
      element.reset();
      say(element, t(data.publish_now ? "publish.download.published" : "publish.download.saved"));
      await drawDownloads();
    }});

  /** The ids of the tickets `typed` names ("#000012, 000015"), looked up as the merge form does;
   * {problem} naming the first not found. */
  async function ticketsNamed(typed) {
    const ids = [];
    for (const part of typed.split(/[\s,;]+/).filter(Boolean)) {
      const digits = part.replace(/^#/, "");
      const reference = /^\d{1,12}$/.test(digits) ? `#${digits.padStart(6, "0")}` : null;
      const found = reference ? await get(`/api/v1/tickets?text=${encodeURIComponent(reference.slice(1))}&limit=50`) : null;
      const item = found && found.ok ? found.data.items.find((ticket) => ticket.reference === reference) : null;
      if (!item) return {problem: t("publish.incident.no_ticket", {reference: part})};
      ids.push(item.ticket_id);
    }
    return {ids};
  }

  function linkForm(incident, name) {
    const references = field({name: "references", api: "tickets", label: t("publish.incident.references"),
                              hint: t("publish.incident.references_hint"), required: true});
    return form({label: t("publish.incident.link_named", {title: name}), submit: t("publish.incident.link"),
      fields: [references], onSubmit: async (element) => {
        const named = await ticketsNamed(references.control.value);
        if (named.problem) return showErrors(element, {message: named.problem, fields: {tickets: [named.problem]}});
        const answer = await post(`/api/v1/incidents/${incident.id}/tickets`, {tickets: named.ids});
        if (!answer.ok) return showErrors(element, answer.data);
        replace(alert, h("p", {}, t("publish.incident.linked", {title: name, count: answer.data.tickets.length})));
        await drawIncidents();
      }});
  }

  // -- incidents --
  async function drawIncidents() {
    const status = await get("/api/v1/status");
    const listed = status.ok ? status.data.incidents.filter((item) => item.status !== "resolved") : [];
    const open = await Promise.all(listed.map(async (item) => { // the staff's view: with its tickets
      const full = await get(`/api/v1/incidents/${item.id}`);
      return full.ok ? full.data : item;
    }));
    replace(incidentList, open.length ? open.map((incident) => {
      const name = written(incident.title)[0];
      const headingId = uid("incident");
      const updateStatus = field({name: "status", label: t("publish.incident.status"), type: "select", value: incident.status,
                                  options: STATUSES.map((code) => [code, t(`content.network.incident.${code}`)])});
      const impact = field({name: "impact", label: t("publish.incident.impact"), type: "select", value: incident.impact,
                            options: IMPACTS.map((code) => [code, t(`content.network.state.${code}`)])});
      const resolveId = uid("resolve-tickets");
      const resolveBox = h("div", {class: "field check"},
        h("input", {type: "checkbox", id: resolveId, name: "resolve_tickets", "data-api": "resolve_tickets",
                    "aria-describedby": `${resolveId}-error`}),
        h("label", {for: resolveId}, t("publish.incident.resolve_tickets")),
        h("p", {class: "field-error", id: `${resolveId}-error`, hidden: true}));
      const update = form({label: t("publish.incident.update_named", {title: name}), submit: t("publish.incident.update"),
        fields: [updateStatus, impact, ...bilingual("message", "publish.message", {textarea: true, required: true}),
                 (incident.tickets || []).length ? resolveBox : null].filter(Boolean),
        onSubmit: async (element) => {
          const data = values(element);
          const answer = await post(`/api/v1/incidents/${incident.id}/updates`,
            {status: data.status, impact: data.impact, message: texts(data, "message"),
             resolve_tickets: Boolean(data.resolve_tickets)});
          if (!answer.ok) return showErrors(element, answer.data);
          replace(alert, h("p", {}, t("publish.incident.updated", {title: name})));
          await drawIncidents();
        }});
      return h("section", {class: "panel", "aria-labelledby": headingId, "data-incident": incident.id},
        h("h3", {id: headingId}, name), h("p", {class: "meta"}, t(`content.network.incident.${incident.status}`), " · ",
          t(`content.network.state.${incident.impact}`), " · ", t("content.network.started", {time: dateTime(incident.started_at)})),
        h("p", {class: "linked"}, (incident.tickets || []).length
          ? [t("publish.incident.linked_tickets"), " ", incident.tickets.map((ticket, index) => [index ? ", " : "",
              h("a", {href: `/console/tickets/${ticket.ticket_id}`, title: ticket.title}, ticket.reference)])]
          : t("publish.incident.no_linked")),
        linkForm(incident, name), update);
    }) : h("p", {}, t("content.network.no_incidents")));
  }

  const impact = field({name: "impact", label: t("publish.incident.impact"), type: "select", required: true, value: "",
                        options: [["", t("new.choose")], ...IMPACTS.map((code) => [code, t(`content.network.state.${code}`)])]});
  const incidentForm = form({
    label: t("publish.incident.new"), submit: t("publish.incident.submit"),
    fields: [...bilingual("title", "publish.title", {required: true}), await componentChoices(t("publish.components")),
             impact, ...bilingual("message", "publish.message", {textarea: true, required: true})],
    onSubmit: async (element) => {
      const data = values(element);
      const declared = await post("/api/v1/incidents", {title: texts(data, "title"), message: texts(data, "message"),
                                                        components: chosen(element), impact: data.impact});
      if (!declared.ok) return showErrors(element, declared.data);
      element.reset();
      say(element, t("publish.incident.declared"));
      await drawIncidents();
    }});

  // -- maintenance --
  async function drawWindows() {
    const status = await get("/api/v1/status");
    const windows = status.ok ? status.data.maintenances : [];
    replace(windowList, windows.length ? h("ul", {class: "plain"}, windows.map((window) => {
      const name = written(window.title)[0];
      const region = h("span", {});
      return h("li", {"data-maintenance": window.id}, h("strong", {}, name), " · ",
        t("content.network.window", {start: dateTime(window.starts_at), end: dateTime(window.ends_at)}), " ",
        h("button", {type: "button", class: "danger", "aria-label": t("publish.maintenance.cancel_named", {title: name}),
          onclick: async () => {
            if (await act(`/api/v1/maintenances/${window.id}/cancel`, {}, {region, text: ""})) await drawWindows();
          }}, t("publish.maintenance.cancel")), " ", region);
    })) : h("p", {}, t("content.network.no_maintenances")));
  }

  const starts = field({name: "starts_at", label: t("publish.maintenance.starts"), type: "datetime-local", required: true});
  const ends = field({name: "ends_at", label: t("publish.maintenance.ends"), type: "datetime-local", required: true});
  const windowForm = form({
    label: t("publish.maintenance.new"), submit: t("publish.maintenance.submit"),
    fields: [...bilingual("title", "publish.title", {required: true}), await componentChoices(t("publish.components")),
             starts, ends, ...bilingual("message", "publish.message", {textarea: true})],
    onSubmit: async (element) => {
      const data = values(element);
      const scheduled = await post("/api/v1/maintenances", {title: texts(data, "title"), message: texts(data, "message"),
        components: chosen(element), starts_at: iso(data.starts_at), ends_at: iso(data.ends_at)});
      if (!scheduled.ok) return showErrors(element, scheduled.data);
      element.reset();
      say(element, t("publish.maintenance.scheduled"));
      await drawWindows();
    }});

  await Promise.all([drawAnnouncements(), drawDownloads(), drawIncidents(), drawWindows()]);
  const page = h("div", {class: "console publish"},
    h("h1", {}, t("publish.title_page")), h("p", {}, t("publish.intro"), " ",
      h("a", {href: "/network-status"}, t("content.network.see")), " · ", h("a", {href: "/announcements"}, t("content.announcements.all")),
      " · ", h("a", {href: "/downloads"}, t("content.downloads.title"))),
    alert,
    section("publish-incidents", t("content.network.incidents"), incidentList,
      h("details", {class: "panel"}, h("summary", {}, t("publish.incident.new")), incidentForm)),
    section("publish-announcements", t("content.announcements.title"), announcementList,
      h("details", {class: "panel"}, h("summary", {}, t("publish.announcement.new")), announcementForm)),
    section("publish-downloads", t("content.downloads.title"), downloadList,
      h("details", {class: "panel"}, h("summary", {}, t("publish.download.new")), downloadForm)),
    section("publish-maintenance", t("content.network.maintenances"), windowList,
      h("details", {class: "panel"}, h("summary", {}, t("publish.maintenance.new")), windowForm)));
  return {title: t("publish.title_page"), content: page};
}
