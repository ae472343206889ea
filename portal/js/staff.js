// What every staff page shares (the queue, the workspace, the supervisors' pages, the forms):
// who may see a console page, departments and badges in the user's language, and the SLA clocks'
// states. Kept apart from the pages so that each page loads only this and its own module.
"use strict";

import {app, catalog, isStaff, isSupervisor, navigate, requireLogin} from "./app.js";
import {h, replace, uid} from "./dom.js";
import {dateTime, label, t} from "./i18n.js";

export const OPEN = ["new", "assigned", "in_progress", "waiting_for_customer", "reopened"]; // in a queue
const HOUR = 3600 * 1000;
const WARNING_FRACTION = 0.2; // "warning" in the last 20 % of the time to the due time (or its last hour)
export const SEARCH_DELAY_MS = 250; // a search waits this long after the last key

/** Staff only: strangers log in first, customers go to their own pages (`elsewhere`). */
export function staffOnly(elsewhere) {
  if (!requireLogin()) return false;
  if (!isStaff(app.me)) {
    navigate(elsewhere, {replace: true});
    return false;
  }
  return true;
}

/** The guard of a page for `who` ("supervisors": supervisors and admins; "admins"): null when the
 * user may see it; else {page}: null when sent elsewhere (strangers log in first, customers go to
 * their own tickets), or a not-found page telling agents (or supervisors) the page is not theirs. */
export function staffPage(who) {
  if (!staffOnly("/tickets")) return {page: null};
  const allowed = who === "admins" ? app.me.role === "admin" : isSupervisor(app.me);
  if (allowed) return null;
  return {page: {title: t("notfound.title"), content: [h("h1", {}, t("notfound.title")),
    h("p", {}, t(who === "admins" ? "console.admin_only" : "supervision.forbidden")),
    h("p", {}, h("a", {href: "/console"}, t("nav.console")))]}};
}

/** The departments whose queues the user works: an agent's own, every one for supervisors and admins. */
export async function staffDepartments() {
  if (app.me.role === "agent") return [...(app.me.departments || [])];
  return (await catalog()).departments.map((item) => item.code);
}

export async function departmentLabel(code) {
  const found = (await catalog()).departments.find((item) => item.code === code);
  return found ? label(found.name, code) : code;
}

/** Whether the user may take `ticket` for themselves: an agent of its department, while open. */
export function canTake(ticket) {
  const me = app.me;
  return me.role === "agent" && (me.departments || []).includes(ticket.department)
    && OPEN.includes(ticket.status) && ticket.assignee_id !== me.user_id;
}

export function staffStatus(status) {
  return h("span", {class: `badge status-${status}`}, t(`console.status.${status}`));
}

export async function urgencyBadge(code) {
  if (!code) return t("ticket.no_urgency");
  const found = (await catalog()).urgencies.find((item) => item.code === code);
  return h("span", {class: `badge urgency-${code}`}, found ? label(found.name, code) : code);
}

export function assigneeText(ticket) {
  if (!ticket.assignee_id) return t("console.assignee.none");
  if (ticket.assignee_id === app.me.user_id) return t("console.assignee.me");
  return ticket.assignee_name || t("console.assignee.other");
}

/** One SLA clock's state at `now`: breached (due time passed, or the SLA service says so),
 * warning (in the last 20 % of the time from opening to the due time, or its last hour), ok;
 * paused (waiting for the customer) or stopped when it has no due time. */
export function slaState({due, start, now, breached, paused}) {
  if (breached) return "breached";
  if (!due) return paused ? "paused" : "stopped";
  const left = Date.parse(due) - now;
  if (left < 0) return "breached";
  const span = Math.max(0, Date.parse(due) - Date.parse(start));
  return left <= Math.max(WARNING_FRACTION * span, HOUR) ? "warning" : "ok";
}

const SLA_MARK = {ok: "✓", warning: "!", breached: "✗", paused: "‖", stopped: "–"};
const SLA_RANK = {breached: 0, warning: 1}; // "breaches and warnings first": the rest after, in arrival order

/** The worse state of a queue row's two clocks at `now` (breached, warning, or anything else). */
export function worstSla(item, now = Date.now()) {
  if (!item.sla) return "none";
  const breached = item.sla.breached || [];
  const states = [["first_response", item.sla.first_response_due_at, false],
                  ["resolution", item.sla.resolution_due_at, Boolean(item.sla.resolution_paused)]]
    .map(([clock, due, paused]) => slaState({due, start: item.opened_at, now, breached: breached.includes(clock), paused}));
  return states.includes("breached") ? "breached" : states.includes("warning") ? "warning" : "ok";
}

/** `items` (in arrival order) with SLA breaches first, then warnings, then the rest, each group
 * keeping the arrival order (the sort is stable). */
export function slaFirst(items, now = Date.now()) {
  const rank = (item) => SLA_RANK[worstSla(item, now)] ?? 2;
  return [...items].sort((a, b) => rank(a) - rank(b));
}

/** The ticket's SLA clocks (GET …'s `sla`, null when the SLA service has none yet), in words. */
export function slaLines(sla, openedAt, now = Date.now()) {
  if (!sla) return h("p", {class: "sla sla-none"}, t("console.sla.none"));
  const breached = sla.breached || [];
  const clocks = [["first_response", sla.first_response_due_at, false],
                  ["resolution", sla.resolution_due_at, Boolean(sla.resolution_paused)]];
  return h("ul", {class: "sla"}, clocks.map(([clock, due, paused]) => {
    const state = slaState({due, start: openedAt, now, breached: breached.includes(clock), paused});
    const params = {clock: t(`console.sla.${clock}`), state: t(`console.sla.${state}`), time: due ? dateTime(due) : ""};
    const text = !due ? t("console.sla.line", params)
      : state === "breached" ? t("console.sla.line_overdue", params) : t("console.sla.line_due", params);
    return h("li", {class: `sla-${state}`}, h("span", {class: "sla-mark", "aria-hidden": "true"}, SLA_MARK[state]), " ", text);
  }));
}

/** A short line in the alert region (role=alert): the API's message, in the user's language. */
export function alertText(region, text) {
  replace(region, text ? h("p", {}, text) : null);
}

/** A table of figures with its caption, in a labelled region that the keyboard can scroll. */
export function dataTable(caption, columns, rows, className = "") {
  const captionId = uid("figures-caption");
  return h("div", {class: "table-wrap", role: "region", "aria-labelledby": captionId, tabindex: "0"},
    h("table", {class: `tickets figures ${className}`},
      h("caption", {id: captionId}, caption),
      h("thead", {}, h("tr", {}, columns.map((text) => h("th", {scope: "col"}, text)))),
      h("tbody", {}, rows.map(([head, ...cells]) => h("tr", {},
        h("th", {scope: "row", "data-label": columns[0]}, head),
        cells.map((cell, index) => h("td", {"data-label": columns[index + 1]}, cell)))))));
}
