// The staff console (agents, supervisors, admins): /console opens the first queue of the user;
// /console/queues/<department> is a department's open tickets in arrival order, with each one's
// SLA state, filters, and "Take" for an unassigned ticket; supervisors and admins see breaches and
// warnings first (unless they choose arrival order) and reassign selected tickets to an agent of
// the department. The queue follows its department live (live.js). The ticket workspace is
// pages/workspace.js; the supervisors' dashboard and agents' page are pages/supervision.js.
"use strict";

import {app, catalog, isSupervisor, navigate} from "../app.js";
import {get, post, query} from "../api.js";
import {h, replace, uid} from "../dom.js";
import {dateTime, label, t} from "../i18n.js";
import {field, form, values} from "../forms.js";
import {follow, swapKeeping} from "../live.js";
import {alertText, assigneeText, canTake, departmentLabel, OPEN, SEARCH_DELAY_MS, slaFirst, slaLines, staffDepartments,
  staffOnly, staffStatus} from "../staff.js";

const PAGE_SIZE = 50;
// Filters the queue endpoint takes (contracts.QueueFiltersSchema: status, urgency, assignee me |
// none | <id>, text); the others ("hide those waiting for the customer") are applied here, to the
// page of tickets loaded. Each is written for both places (FILTERS), so either list may change.
const API_FILTERS = ["status", "urgency", "assignee", "text"];
const FILTERS = {
  status: (item, value) => item.status === value,
  urgency: (item, value) => item.urgency === value,
  assignee: (item, value) => (value === "none" ? !item.assignee_id
    : item.assignee_id === (value === "me" ? app.me.user_id : value)),
  waiting: (item, value) => value !== "hide" || item.status !== "waiting_for_customer",
  text: (item, value) => {
    const needle = value.trim().toLowerCase();
    const haystack = [item.reference, item.title, item.requester_name, item.requester_email].join(" ").toLowerCase();
    return haystack.includes(needle) || haystack.includes(`#${needle.replace(/^#/, "")}`);
  },
};

// -- /console ---------------------------------------------------------------------------------

export async function start() {
  if (!staffOnly("/tickets")) return null;
  const departments = await staffDepartments();
  if (!departments.length) {
    return {title: t("console.title"), content: [h("h1", {}, t("console.title")), h("p", {}, t("console.no_departments"))]};
  }
  navigate(`/console/queues/${encodeURIComponent(departments[0])}`, {replace: true});
  return null;
}

// -- /console/queues/<department> ---------------------------------------------------------------

function readFilters() {
  const params = new URLSearchParams(location.search);
  const filters = {cursor: params.get("cursor") || "", order: params.get("order") === "arrival" ? "arrival" : ""};
  for (const name of Object.keys(FILTERS)) filters[name] = (params.get(name) || "").trim();
  return filters;
}

/** Whether `item` passes the filters the API did not apply already. */
function matches(item, filters) {
  return Object.entries(FILTERS).every(([name, passes]) =>
    API_FILTERS.includes(name) || !filters[name] || passes(item, filters[name]));
}

export async function queue({params: [raw]}) {
  const department = decodeURIComponent(raw);
  if (!staffOnly("/tickets")) return null;
  const departments = await staffDepartments();
  const data = await catalog();
  const names = {};
  for (const code of new Set([...departments, department])) names[code] = await departmentLabel(code);
  const urgencyNames = Object.fromEntries(data.urgencies.map((item) => [item.code, label(item.name, item.code)]));
  const filters = readFilters();
  const supervising = isSupervisor(app.me);
  const sortsBySla = () => supervising && filters.order !== "arrival";
  const selected = new Map(); // ticket_id -> {item, version}: the rows chosen for reassignment, as read when chosen
  const reading = new Set(); // the reads of chosen rows' versions still under way
  const flash = app.flash;
  app.flash = null;

  const alert = h("div", {class: "alert", role: "alert"});
  const notice = h("div", {class: "queue-notice", role: "status"}, flash ? h("p", {class: "notice"}, flash) : null);
  const count = h("p", {class: "queue-count", role: "status"});
  const rule = h("p", {class: "rule"}, t("console.queue.rule"));
  const bulkCount = h("p", {class: "bulk-count", role: "status"});
  let results = h("div", {class: "queue-results"});
  let items = [];
  let nextCursor = null;
  let loaded = "";
  let left = false;
  let loading = 0; // the latest request: an earlier answer arriving later is dropped

  async function load() {
    const params = {limit: PAGE_SIZE, cursor: filters.cursor};
    for (const name of API_FILTERS) params[name] = filters[name].trim();
    const serial = ++loading;
    const response = await get(`/api/v1/queues/${encodeURIComponent(department)}${query(params)}`);
    if (serial !== loading) return {...response, ok: false};
    if (!response.ok) {
      alertText(alert, response.data.message);
      return response;
    }
    items = response.data.items;
    nextCursor = response.data.next_cursor;
    return response;
  }

  function filtersQuery(extra = {}) {
    const {cursor, ...rest} = filters;
    return query({...rest, ...extra});
  }

  function table(shown) {
    const captionId = uid("queue-caption");
    const columns = [t("console.col.ticket"), t("ticket.status"), t("ticket.urgency"), t("console.col.assignee"),
                     t("console.col.arrival"), t("console.col.sla"), t("console.col.action")];
    const now = Date.now();
    const choose = (item) => h("td", {class: "select", "data-label": t("console.col.select")},
      h("input", {type: "checkbox", name: "selected", value: item.ticket_id, checked: selected.has(item.ticket_id),
                  "data-key": `select-${item.ticket_id}`, "aria-label": t("console.bulk.select", {reference: item.reference}),
                  onchange: (event) => choice(item, event.currentTarget)}));
    return h("div", {class: "table-wrap", role: "region", "aria-labelledby": captionId, tabindex: "0"},
      h("table", {class: "tickets queue"},
        h("caption", {id: captionId, class: "visually-hidden"}, t("console.queue.caption", {department: names[department]})),
        h("thead", {}, h("tr", {}, supervising ? h("th", {scope: "col"}, t("console.col.select")) : null,
          columns.map((text) => h("th", {scope: "col"}, text)))),
        h("tbody", {}, shown.map((item) => h("tr", {"data-ticket": item.ticket_id},
          supervising ? choose(item) : null,
          h("td", {"data-label": columns[0]},
            h("span", {class: "reference"}, item.reference), " ",
            h("a", {href: `/console/tickets/${item.ticket_id}`, "data-key": `open-${item.ticket_id}`}, item.title),
            h("span", {class: "requester"}, item.requester_name || item.requester_email)),
          h("td", {"data-label": columns[1]}, staffStatus(item.status)),
          h("td", {"data-label": columns[2]}, item.urgency
            ? h("span", {class: `badge urgency-${item.urgency}`}, urgencyNames[item.urgency] || item.urgency)
            : t("ticket.no_urgency")),
          h("td", {"data-label": columns[3]}, assigneeText(item)),
          h("td", {"data-label": columns[4]}, h("time", {datetime: item.opened_at}, dateTime(item.opened_at))),
          h("td", {"data-label": columns[5]}, slaLines(item.sla, item.opened_at, now)),
          h("td", {"data-label": columns[6]}, !item.assignee_id && canTake(item)
            ? h("button", {type: "button", class: "primary take", "data-key": `take-${item.ticket_id}`,
                           onclick: (event) => take(item, event.currentTarget)},
                t("console.take"), h("span", {class: "visually-hidden"}, ` ${item.reference}`))
            : "—"))))));
  }

  function draw() {
    const listed = items.filter((item) => matches(item, filters));
    const shown = sortsBySla() ? slaFirst(listed) : listed;
    replace(rule, t("console.queue.rule"), sortsBySla() ? ` ${t("console.queue.rule_sla_first")}` : null);
    for (const id of [...selected.keys()]) if (!items.some((item) => item.ticket_id === id)) selected.delete(id);
    bulkCount.textContent = t("console.bulk.selected", {count: selected.size});
    const filtered = shown.length !== items.length;
    const body = [];
    if (!shown.length) {
      const any = Object.keys(FILTERS).some((name) => filters[name]);
      body.push(h("p", {}, t(any ? "console.queue.none_matching" : filters.cursor ? "console.queue.none_after"
                                 : "console.queue.none")));
    } else {
      body.push(table(shown));
    }
    if (filters.cursor || nextCursor) {
      body.push(h("nav", {class: "pager", "aria-label": t("list.pages")},
        filters.cursor ? h("a", {href: `${location.pathname}${filtersQuery()}`}, t("console.queue.first")) : null,
        nextCursor ? h("a", {href: `${location.pathname}${filtersQuery({cursor: nextCursor})}`, rel: "next"},
                       t("console.queue.more")) : null));
    }
    const fresh = h("div", {class: "queue-results"}, body);
    if (results.isConnected) swapKeeping(results, fresh);
    results = fresh;
    count.textContent = items.length
      ? (filtered ? t("console.queue.count_filtered", {shown: shown.length, total: items.length})
                  : t("console.queue.count", {total: items.length}))
      : "";
  }

  async function reload() {
    const response = await load();
    if (left || !response.ok) return;
    const now = JSON.stringify([items, nextCursor]);
    if (now === loaded) return;
    loaded = now;
    draw();
  }

  async function take(item, button) {
    button.disabled = true;
    alertText(alert, "");
    let version = item.version;
    if (version === undefined) {
      // Queue rows carry no version: read the ticket's now, and take it only if nobody did meanwhile.
      const fresh = await get(`/api/v1/tickets/${item.ticket_id}`);
      if (!fresh.ok || (fresh.data.assignee_id && fresh.data.assignee_id !== app.me.user_id)) {
        alertText(alert, fresh.ok ? t("console.take.already", {reference: item.reference, name: assigneeText(fresh.data)})
                                  : fresh.data.message);
        button.disabled = false;
        await reload();
        return;
      }
      version = fresh.data.version;
    }
    const response = await post(`/api/v1/tickets/${item.ticket_id}/assign`, {},
                                {"If-Match": `"${version}"`, "Idempotency-Key": crypto.randomUUID()});
    if (!response.ok) {
      alertText(alert, response.data.message);
      button.disabled = false;
      await reload();
      return;
    }
    const done = h("p", {class: "notice", tabindex: "-1"}, t("console.take.done", {reference: item.reference}), " ",
      h("a", {href: `/console/tickets/${item.ticket_id}`}, t("console.take.open", {reference: item.reference})));
    replace(notice, done);
    await reload();
    done.focus();
  }

  async function choice(item, box) {
    if (!box.checked) {
      selected.delete(item.ticket_id);
      bulkCount.textContent = t("console.bulk.selected", {count: selected.size});
      return;
    }
    // Queue rows carry no version: the ticket's is read now, and the reassignment is sent with it
    // (If-Match), so a ticket that changes after it was chosen is refused, not reassigned blindly.
    const read = get(`/api/v1/tickets/${item.ticket_id}`);
    reading.add(read);
    const fresh = await read;
    reading.delete(read);
    if (!box.checked) return;
    if (!fresh.ok) {
      box.checked = false;
      alertText(alert, `${item.reference}: ${fresh.data.message}`);
      return;
    }
    selected.set(item.ticket_id, {item, version: fresh.data.version});
    bulkCount.textContent = t("console.bulk.selected", {count: selected.size});
  }

  async function reassign(agentSelect, button) {
    await Promise.all([...reading]);
    const agent = agentsOfDepartment.find((person) => person.user_id === agentSelect.value);
    if (!selected.size || !agent) {
      alertText(alert, t(selected.size ? "console.bulk.no_agent" : "console.bulk.none_selected"));
      (selected.size ? agentSelect : alert).focus();
      return;
    }
    button.disabled = true;
    alertText(alert, "");
    const chosen = [...selected.values()];
    const refused = [];
    for (const {item, version} of chosen) {
      const response = await post(`/api/v1/tickets/${item.ticket_id}/assign`, {agent_id: agent.user_id},
                                  {"If-Match": `"${version}"`, "Idempotency-Key": crypto.randomUUID()});
      if (!response.ok) refused.push([item, response.data.message]);
    }
    selected.clear();
    const done = chosen.length - refused.length;
    const report = h("div", {class: `bulk-report ${refused.length ? "refused" : "done"}`, tabindex: "-1"},
      h("p", {},
        t("console.bulk.done", {name: agent.name || agent.email, done, total: chosen.length})),
      refused.length ? [h("p", {}, t("console.bulk.refused")),
        h("ul", {}, refused.map(([item, message]) =>
          h("li", {}, t("console.bulk.refused_one", {reference: item.reference, message}))))] : null);
    replace(alert, report);
    button.disabled = false;
    await reload();
    draw();
    report.focus();
  }

  let agentsOfDepartment = [];
  function bulkForm() {
    const id = uid("bulk-agent");
    const agentSelect = h("select", {id, name: "agent_id"},
      h("option", {value: ""}, t("console.bulk.choose")),
      agentsOfDepartment.map((person) => h("option", {value: person.user_id}, person.name || person.email)));
    const button = h("button", {type: "submit", class: "primary"}, t("console.bulk.submit"));
    const element = h("form", {class: "bulk", "aria-label": t("console.bulk.title")},
      bulkCount,
      agentsOfDepartment.length
        ? [h("div", {class: "field"}, h("label", {for: id}, t("console.bulk.agent")), agentSelect), button]
        : h("p", {}, t("console.bulk.no_agents")));
    element.addEventListener("submit", (event) => {
      event.preventDefault();
      reassign(agentSelect, button);
    });
    return element;
  }

  const form = filterForm(filters, urgencyNames, async (changed) => {
    const serverSide = Object.keys(changed).some((name) => API_FILTERS.includes(name) && changed[name] !== filters[name]);
    Object.assign(filters, changed);
    if (serverSide) filters.cursor = ""; // another selection: from its first page
    history.replaceState({}, "", `${location.pathname}${filtersQuery({cursor: filters.cursor})}`);
    if (serverSide) await reload();
    else draw();
  }, supervising);

  if (supervising) {
    const staff = await get("/api/v1/agents");
    if (staff.ok) {
      agentsOfDepartment = staff.data.agents.filter((person) => person.role === "agent" && person.active
        && (person.departments || []).includes(department));
    }
  }
  const first = await load();
  loaded = JSON.stringify([items, nextCursor]);
  const tabs = h("nav", {class: "queue-tabs", "aria-label": t("console.queues")},
    h("ul", {}, departments.map((code) => h("li", {},
      h("a", {href: `/console/queues/${encodeURIComponent(code)}`, "aria-current": code === department ? "page" : null},
        names[code])))));
  const content = h("div", {class: "console"},
    tabs,
    h("h1", {}, t("console.queue.title", {department: names[department]})),
    h("p", {class: "console-new-ticket-link"}, h("a", {href: "/console/new-ticket"}, t("console.new.link"))),
    rule,
    alert, notice);
  if (!first.ok) return {title: t("console.queue.title", {department: names[department]}), content};
  draw();
  content.append(form, supervising ? bulkForm() : null, count, results);
  const stop = follow({queue: department}, {changed: reload});
  const tick = setInterval(draw, 60 * 1000); // SLA states move on with the clock
  return {title: t("console.queue.title", {department: names[department]}), content,
          cleanup: () => { left = true; stop(); clearInterval(tick); form.dispatchEvent(new Event("leave")); }};
}

function filterForm(filters, urgencyNames, apply, supervising) {
  const searchId = uid("queue-text");
  const search = h("input", {id: searchId, name: "text", type: "search", value: filters.text, maxlength: 200,
                             autocomplete: "off"});
  let typing = null;
  const now = (changed = {}) => { // every change applies what the search box says too
    clearTimeout(typing);
    apply({text: search.value.trim(), ...changed});
  };
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(now, SEARCH_DELAY_MS);
  });
  const select = (name, text, options) => {
    const id = uid(`queue-${name}`);
    const control = h("select", {id, name}, options.map(([value, words]) =>
      h("option", {value, selected: value === filters[name]}, words)));
    control.addEventListener("change", () => now({[name]: control.value}));
    return h("div", {class: "field"}, h("label", {for: id}, text), control);
  };
  const waitingId = uid("queue-waiting");
  const waiting = h("input", {id: waitingId, name: "waiting", type: "checkbox", checked: filters.waiting === "hide"});
  waiting.addEventListener("change", () => now({waiting: waiting.checked ? "hide" : ""}));
  const orderId = uid("queue-order");
  const order = h("input", {id: orderId, name: "order", type: "checkbox", checked: filters.order !== "arrival"});
  order.addEventListener("change", () => now({order: order.checked ? "" : "arrival"}));
  const element = h("form", {class: "filters queue-filters", role: "search", "aria-label": t("console.filters")},
    select("status", t("ticket.status"), [["", t("list.all")], ...OPEN.map((code) => [code, t(`console.status.${code}`)])]),
    select("urgency", t("ticket.urgency"), [["", t("console.filter.any_urgency")], ...Object.entries(urgencyNames)]),
    select("assignee", t("console.col.assignee"), [["", t("console.filter.anyone")], ["me", t("console.filter.me")],
                                                  ["none", t("console.filter.nobody")]]),
    h("div", {class: "field"}, h("label", {for: searchId}, t("console.filter.search")), search),
    h("div", {class: "field check"}, waiting, h("label", {for: waitingId}, t("console.filter.hide_waiting"))),
    supervising ? h("div", {class: "field check"}, order, h("label", {for: orderId}, t("console.queue.sla_first"))) : null);
  element.addEventListener("submit", (event) => {
    event.preventDefault();
    now();
  });
  element.addEventListener("leave", () => clearTimeout(typing));
  return element;
}
