// Pieces of a ticket that several pages show.
"use strict";

import {catalog} from "../app.js";
import {h} from "../dom.js";
import {dateTime, fileSize, label, t} from "../i18n.js";

export function statusBadge(status) {
  return h("span", {class: `badge status-${status}`}, t(`status.${status}`));
}

export async function departmentName(code) {
  if (!code) return t("ticket.no_department");
  const found = (await catalog()).departments.find((item) => item.code === code);
  return found ? label(found.name, code) : code;
}

export async function itilText(itil) {
  if (!itil) return "";
  const data = await catalog();
  const type = data.itil_types.find((item) => item.code === itil.type);
  const service = data.services.find((item) => item.code === itil.service);
  const category = type && type.categories.find((item) => item.code === itil.category);
  return [type && label(type.name), service && label(service.name), category && label(category.name)]
    .filter(Boolean).join(" › ");
}

export async function urgencyName(code) {
  if (!code) return t("ticket.no_urgency");
  const found = (await catalog()).urgencies.find((item) => item.code === code);
  return found ? label(found.name, code) : code;
}

/** A ticket's history, oldest first. The customer's page passes `internal: false`: entries for
 * staff alone are left out even if they came (the API never sends them to customers). Staff see
 * them marked, with their label ("Nota interna"). */
export function historyList(ticket, {internal = false} = {}) {
  const entries = ticket.history.filter((entry) => internal || !entry.internal);
  return h("ol", {class: "history"}, entries.map((entry) => h("li", {class: `entry entry-${entry.type}${entry.internal ? " internal" : ""}`},
    h("p", {class: "entry-head"},
      h("span", {class: "entry-summary"},
        entry.internal ? h("span", {class: "internal-label"},
          t(entry.type === "InternalNoteAdded" ? "console.internal_note" : "console.internal_only")) : null,
        entry.internal ? " " : null,
        entry.summary),
      h("span", {class: "entry-meta"},
        h("time", {datetime: entry.at}, dateTime(entry.at)),
        entry.channel ? ` · ${t(`channel.${entry.channel}`)}` : "")),
    entry.body ? h("p", {class: "entry-body"}, entry.body) : null,
    entry.attachment ? attachmentLink(ticket, entry.attachment) : null)));
}

export function attachmentLink(ticket, attachment) {
  return h("p", {class: "entry-file"},
    h("a", {href: `/api/v1/tickets/${ticket.ticket_id}/attachments/${attachment.id}`, download: attachment.name},
      t("ticket.download", {name: attachment.name})),
    ` (${fileSize(attachment.size)})`);
}
