// "Revisar el estado de un ticket" (000 §2.2) / "Entradas" (004 §4): open and closed tickets,
// filtered by status, searched by reference or text, a page at a time. Group users see their
// company's tickets with who opened each (000 §3.1).
"use strict";

import {app, requireLogin} from "../app.js";
import {get, query} from "../api.js";
import {h, replace} from "../dom.js";
import {dateTime, t} from "../i18n.js";
import {departmentName, statusBadge} from "./ticket-parts.js";

const STATUSES = ["open", "new", "assigned", "in_progress", "waiting_for_customer", "resolved", "reopened", "closed"];
const PAGE_SIZE = 20;

export async function render() {
  if (!requireLogin()) return null;
  const params = new URLSearchParams(location.search);
  const filters = {status: params.get("status") || "", text: params.get("text") || "", cursor: params.get("cursor") || ""};
  const showRequester = app.me.is_group || app.me.company_admin || app.me.role !== "customer";

  const statusSelect = h("select", {id: "filter-status", name: "status"},
    h("option", {value: ""}, t("list.all")),
    STATUSES.map((code) => h("option", {value: code, selected: code === filters.status}, t(`status.${code}`))));
  const search = h("input", {id: "filter-text", name: "text", type: "search", value: filters.text, maxlength: 200});
  const filterForm = h("form", {class: "filters", role: "search", "aria-label": t("list.filters")},
    h("div", {class: "field"}, h("label", {for: "filter-status"}, t("list.status")), statusSelect),
    h("div", {class: "field"}, h("label", {for: "filter-text"}, t("list.search")), search),
    h("div", {class: "actions"}, h("button", {type: "submit"}, t("list.apply"))));
  filterForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = query({status: statusSelect.value, text: search.value.trim()});
    history.pushState({}, "", `/tickets${next}`);
    app.render({focus: false});
  });

  const response = await get(`/api/v1/tickets${query({...filters, limit: PAGE_SIZE})}`);
  const results = h("div", {class: "results", "aria-live": "polite"});
  if (!response.ok) {
    results.append(h("p", {class: "error", role: "alert"}, response.data.message));
  } else if (!response.data.items.length) {
    results.append(h("p", {}, filters.status || filters.text ? t("list.none_matching") : t("list.none")),
                   h("p", {}, h("a", {href: "/tickets/new", class: "button primary"}, t("nav.new_ticket"))));
  } else {
    const departments = {};
    for (const item of response.data.items) departments[item.department] = await departmentName(item.department);
    const table = h("table", {class: "tickets"},
      h("caption", {class: "visually-hidden"}, t("list.caption")),
      h("thead", {}, h("tr", {},
        [t("ticket.reference"), t("ticket.subject"), t("ticket.status"), t("ticket.department"),
         showRequester ? t("ticket.requester") : null, t("ticket.updated")]
          .filter(Boolean).map((text) => h("th", {scope: "col"}, text)))),
      h("tbody", {}, response.data.items.map((item) => h("tr", {},
        h("td", {"data-label": t("ticket.reference")}, item.reference),
        h("td", {"data-label": t("ticket.subject")}, h("a", {href: `/tickets/${item.ticket_id}`}, item.title)),
        h("td", {"data-label": t("ticket.status")}, statusBadge(item.status)),
        h("td", {"data-label": t("ticket.department")}, departments[item.department]),
        showRequester ? h("td", {"data-label": t("ticket.requester")}, item.requester_name || item.requester_email) : null,
        h("td", {"data-label": t("ticket.updated")}, h("time", {datetime: item.updated_at}, dateTime(item.updated_at)))))));
    results.append(h("div", {class: "table-wrap"}, table));
    const pager = h("nav", {class: "pager", "aria-label": t("list.pages")},
      filters.cursor ? h("a", {href: `/tickets${query({status: filters.status, text: filters.text})}`}, t("list.first")) : null,
      response.data.next_cursor
        ? h("a", {href: `/tickets${query({status: filters.status, text: filters.text, cursor: response.data.next_cursor})}`, rel: "next"}, t("list.next"))
        : null);
    results.append(pager);
  }
  return {title: t("list.title"), content: [
    h("div", {class: "title-row"}, h("h1", {}, t("list.title")),
      h("a", {href: "/tickets/new", class: "button primary"}, t("nav.new_ticket"))),
    filterForm, results]};
}
