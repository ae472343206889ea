// The supervisors' part of the staff console (supervisors and admins only): /console/dashboard,
// the SLA service's figures per day and department (GET /api/v1/dashboard) drawn as inline SVG
// charts, each with a table of the same figures; /console/agents, the staff with their
// departments and open tickets, and what nobody took per department (GET /api/v1/agents).
"use strict";

import {get, query} from "../api.js";
import {h, uid} from "../dom.js";
import {form, field, showErrors} from "../forms.js";
import {day, number, t} from "../i18n.js";
import {dataTable, departmentLabel, staffPage} from "../staff.js";

const SVG = "http://www.w3.org/2000/svg";

/** An SVG element with presentation attributes only (the CSP allows no style attribute). */
function s(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined) element.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function chart(label, width, height, ...children) {
  return s("svg", {viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, class: "chart",
                   preserveAspectRatio: "xMinYMin meet"}, children);
}

const integer = (value) => number(value || 0);
const hours = (value) => (value === null || value === undefined ? t("dashboard.no_value")
  : number(value, {maximumFractionDigits: 1}));
const percent = (share) => number(share || 0, {style: "percent", maximumFractionDigits: 0});

function shareText(measured) {
  if (!measured.with_target) return t("dashboard.no_target");
  return t("dashboard.share_of", {share: percent(measured.share_within_target), within: integer(measured.within_target),
                                  targeted: integer(measured.with_target)});
}

/** Every day from `since` to `until` (both "YYYY-MM-DD"), included. */
function daysBetween(since, until) {
  const result = [];
  for (let at = Date.parse(`${since}T00:00:00Z`); at <= Date.parse(`${until}T00:00:00Z`); at += 86400000) {
    result.push(new Date(at).toISOString().slice(0, 10));
  }
  return result;
}

function dailySection(data) {
  const perDay = new Map(daysBetween(data.since, data.until).map((iso) => [iso, {opened: 0, resolved: 0}]));
  for (const row of data.days) {
    const found = perDay.get(row.day) || {opened: 0, resolved: 0};
    found.opened += row.opened;
    found.resolved += row.resolved;
    perDay.set(row.day, found);
  }
  const entries = [...perDay.entries()];
  const peak = Math.max(1, ...entries.map(([, f]) => Math.max(f.opened, f.resolved)));
  const width = 720, height = 220, left = 36, bottom = 28, top = 10;
  const slot = (width - left) / Math.max(1, entries.length);
  const bar = Math.max(1, slot * 0.38);
  const y = (value) => top + (height - top - bottom) * (1 - value / peak);
  const bars = entries.map(([iso, figures], index) => {
    const x = left + index * slot + slot * 0.1;
    const last = entries.length - 1;
    const labelled = index === 0 || index === last || (index % 7 === 0 && last - index >= 4);
    return s("g", {},
      s("rect", {x, y: y(figures.opened), width: bar, height: y(0) - y(figures.opened), class: "bar-opened"}),
      s("rect", {x: x + bar, y: y(figures.resolved), width: bar, height: y(0) - y(figures.resolved), class: "bar-resolved"}),
      labelled ? s("text", {x: x + bar, y: height - 8, "text-anchor": "middle", class: "chart-label"},
                   day(iso, {day: "numeric", month: "short"})) : null);
  });
  const axis = [0, Math.round(peak / 2), peak].filter((v, i, all) => all.indexOf(v) === i).map((value) => s("g", {},
    s("line", {x1: left, x2: width, y1: y(value), y2: y(value), class: "chart-grid"}),
    s("text", {x: left - 6, y: y(value) + 4, "text-anchor": "end", class: "chart-label"}, integer(value))));
  const total = entries.reduce((sum, [, f]) => ({opened: sum.opened + f.opened, resolved: sum.resolved + f.resolved}),
                               {opened: 0, resolved: 0});
  const summary = t("dashboard.daily.summary", {opened: integer(total.opened), resolved: integer(total.resolved),
    since: day(data.since), until: day(data.until), peak: integer(Math.max(0, ...entries.map(([, f]) => f.opened)))});
  const listed = entries.filter(([, f]) => f.opened || f.resolved);
  return h("section", {class: "dashboard-part", "aria-labelledby": "dashboard-daily"},
    h("h2", {id: "dashboard-daily"}, t("dashboard.daily.title")),
    legend([["bar-opened", t("dashboard.opened")], ["bar-resolved", t("dashboard.resolved")]]),
    chart(summary, width, height, axis, bars),
    listed.length
      ? dataTable(t("dashboard.daily.caption"), [t("dashboard.day"), t("dashboard.opened"), t("dashboard.resolved")],
                  listed.map(([iso, f]) => [h("time", {datetime: iso}, day(iso)), integer(f.opened), integer(f.resolved)]),
                  "daily")
      : h("p", {}, t("dashboard.daily.none")));
}

function legend(items) {
  return h("ul", {class: "legend", "aria-hidden": "true"}, items.map(([className, text]) =>
    h("li", {}, h("span", {class: `swatch ${className}`}), text)));
}

async function departmentsSection(data) {
  const rows = [];
  for (const item of data.departments) {
    rows.push({item, name: item.department ? await departmentLabel(item.department) : t("dashboard.no_department")});
  }
  const width = 720, rowHeight = 44, left = 190, right = 60;
  const height = rows.length * rowHeight + 10;
  const span = width - left - right;
  const bars = rows.map(({item, name}, index) => {
    const top = 6 + index * rowHeight;
    const first = item.first_response.share_within_target || 0;
    const resolution = item.resolution.share_within_target || 0;
    return s("g", {},
      s("text", {x: left - 8, y: top + 24, "text-anchor": "end", class: "chart-label"}, name),
      s("rect", {x: left, y: top + 4, width: span, height: 16, class: "bar-track"}),
      s("rect", {x: left, y: top + 4, width: span * first, height: 16, class: "bar-first"}),
      s("rect", {x: left, y: top + 22, width: span, height: 16, class: "bar-track"}),
      s("rect", {x: left, y: top + 22, width: span * resolution, height: 16, class: "bar-resolution"}),
      s("text", {x: width - right + 6, y: top + 17, class: "chart-label"},
        item.first_response.with_target ? percent(first) : t("dashboard.no_value")),
      s("text", {x: width - right + 6, y: top + 35, class: "chart-label"},
        item.resolution.with_target ? percent(resolution) : t("dashboard.no_value")));
  });
  const details = rows.map(({item, name}) => t("dashboard.departments.line", {department: name,
    first: shareText(item.first_response), resolution: shareText(item.resolution)})).join(" ");
  const columns = [t("dashboard.department"), t("dashboard.opened"), t("dashboard.resolved"), t("dashboard.first_hours"),
                   t("dashboard.first_share"), t("dashboard.resolution_hours"), t("dashboard.resolution_share"),
                   t("dashboard.breaches")];
  const line = (name, item) => [name, integer(item.opened), integer(item.resolved),
    hours(item.first_response.average_business_hours), shareText(item.first_response),
    hours(item.resolution.average_business_hours), shareText(item.resolution),
    `${integer(item.breaches.first_response)} / ${integer(item.breaches.resolution)}`];
  const table = dataTable(t("dashboard.departments.caption"), columns,
                          [...rows.map(({item, name}) => line(name, item)), line(t("dashboard.total"), data.total)],
                          "per-department");
  for (const [index, {item}] of rows.entries()) {
    table.querySelectorAll("tbody tr")[index].dataset.department = item.department || "";
  }
  return h("section", {class: "dashboard-part", "aria-labelledby": "dashboard-departments"},
    h("h2", {id: "dashboard-departments"}, t("dashboard.departments.title")),
    legend([["bar-first", t("dashboard.legend.first")], ["bar-resolution", t("dashboard.legend.resolution")]]),
    chart(t("dashboard.departments.summary", {details}), width, height, bars),
    table);
}

function usageSection(data) {
  const usage = data.total.support_24h_usage;
  const minutes = (value) => number(value || 0, {maximumFractionDigits: 0});
  const all = Math.max(1, usage.billable + usage.not_billable);
  const width = 720, left = 150, span = width - left - 80;
  const rows = [["bar-billable", t("dashboard.usage.billable"), usage.billable],
                ["bar-not-billable", t("dashboard.usage.not_billable"), usage.not_billable]];
  const bars = rows.map(([className, name, count], index) => s("g", {},
    s("text", {x: left - 8, y: 24 + index * 34, "text-anchor": "end", class: "chart-label"}, name),
    s("rect", {x: left, y: 10 + index * 34, width: span, height: 20, class: "bar-track"}),
    s("rect", {x: left, y: 10 + index * 34, width: span * (count / all), height: 20, class: className}),
    s("text", {x: left + span + 8, y: 25 + index * 34, class: "chart-label"}, integer(count))));
  const summary = t("dashboard.usage.summary", {billable: integer(usage.billable),
    billable_minutes: minutes(usage.billable_business_minutes), not_billable: integer(usage.not_billable),
    not_billable_minutes: minutes(usage.not_billable_business_minutes)});
  return h("section", {class: "dashboard-part", "aria-labelledby": "dashboard-usage"},
    h("h2", {id: "dashboard-usage"}, t("dashboard.usage.title")),
    chart(summary, width, 80, bars),
    dataTable(t("dashboard.usage.caption"),
              [t("dashboard.usage.kind"), t("dashboard.usage.records"), t("dashboard.usage.minutes")],
              [[t("dashboard.usage.billable"), integer(usage.billable), minutes(usage.billable_business_minutes)],
               [t("dashboard.usage.not_billable"), integer(usage.not_billable),
                minutes(usage.not_billable_business_minutes)]], "usage"));
}

// -- /console/dashboard -----------------------------------------------------------------------

export async function dashboard() {
  const refused = staffPage("supervisors");
  if (refused) return refused.page;
  const params = new URLSearchParams(location.search);
  const wanted = {since: params.get("since") || "", until: params.get("until") || ""};
  const figures = h("div", {class: "dashboard-figures", "aria-live": "polite"});
  const since = field({name: "since", label: t("dashboard.since"), type: "date", value: wanted.since});
  const until = field({name: "until", label: t("dashboard.until"), type: "date", value: wanted.until});

  async function show(range, element) {
    element.setAttribute("aria-busy", "true");
    const response = await get(`/api/v1/dashboard${query(range)}`);
    element.removeAttribute("aria-busy");
    if (!response.ok) {
      if (element.tagName === "FORM") showErrors(element, response.data);
      else figures.replaceChildren(h("p", {class: "error"}, response.data.message));
      return false;
    }
    const data = response.data;
    since.control.value = data.since;
    until.control.value = data.until;
    figures.replaceChildren(
      h("p", {class: "period"}, t("dashboard.period", {since: day(data.since), until: day(data.until), zone: data.time_zone})),
      dailySection(data), await departmentsSection(data), usageSection(data));
    return true;
  }

  const rangeForm = form({label: t("dashboard.range"), fields: [since, until], submit: t("dashboard.submit"),
    className: "filters dashboard-range", onSubmit: async (element) => {
      const range = {since: since.control.value, until: until.control.value};
      if (await show(range, element)) history.replaceState({}, "", `${location.pathname}${query(range)}`);
    }});
  const content = h("div", {class: "console supervision"},
    h("h1", {}, t("dashboard.title")), rangeForm, figures);
  await show(wanted, figures);
  return {title: t("dashboard.title"), content};
}

// -- /console/agents --------------------------------------------------------------------------

export async function agents() {
  const refused = staffPage("supervisors");
  if (refused) return refused.page;
  const response = await get("/api/v1/agents");
  const content = h("div", {class: "console supervision"}, h("h1", {}, t("agents.title")));
  if (!response.ok) {
    content.append(h("div", {class: "alert", role: "alert"}, h("p", {}, response.data.message)));
    return {title: t("agents.title"), content};
  }
  const names = {};
  const codes = new Set([...response.data.agents.flatMap((person) => person.departments || []),
                         ...Object.keys(response.data.unassigned || {})]);
  for (const code of codes) names[code] = await departmentLabel(code);
  const columns = [t("agents.name"), t("agents.email"), t("agents.role"), t("agents.departments"), t("agents.active"),
                   t("agents.open_tickets")];
  const staff = response.data.agents;
  const table = staff.length
    ? dataTable(t("agents.caption"), columns, staff.map((person) => [person.name || person.email,
        person.email, t(`agents.role.${person.role}`),
        (person.departments || []).length ? person.departments.map((code) => names[code]).join(", ") : t("agents.no_departments"),
        person.active ? t("console.yes") : t("console.no"), integer(person.open_tickets)]), "staff")
    : h("p", {}, t("agents.none"));
  if (staff.length) {
    for (const [index, person] of staff.entries()) table.querySelectorAll("tbody tr")[index].dataset.email = person.email;
  }
  const unassigned = Object.entries(response.data.unassigned || {});
  const headingId = uid("unassigned");
  content.append(table,
    h("section", {class: "dashboard-part", "aria-labelledby": headingId},
      h("h2", {id: headingId}, t("agents.unassigned.title")),
      dataTable(t("agents.unassigned.caption"), [t("dashboard.department"), t("agents.unassigned.count")],
                unassigned.map(([code, count]) => [names[code] || code, integer(count)]), "unassigned")));
  return {title: t("agents.title"), content};
}
