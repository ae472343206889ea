// The staff console's page to open a ticket for a customer who phoned or wrote (manual 000 §3.2),
// a module of its own: loaded only when a technician opens it.
"use strict";

import {app, catalog, navigate} from "../app.js";
import {get, post, query} from "../api.js";
import {h, replace} from "../dom.js";
import {label, t} from "../i18n.js";
import {field, form, showErrors, values} from "../forms.js";
import {SEARCH_DELAY_MS, staffOnly} from "../staff.js";

/** A ticket opened by staff for a customer who phoned or wrote (manual 000 §3.2): the customer
 * found with GET /api/v1/people, then POST /api/v1/tickets with `on_behalf_of` and `channel`. */
export async function newTicket() {
  if (!staffOnly("/tickets/new")) return null;
  const data = await catalog();
  const options = (items) => items.map((item) => [item.code, label(item.name, item.code)]);

  const search = field({name: "customer_search", label: t("console.new.search"), type: "search", required: false,
    hint: t("console.new.search_hint"), api: "on_behalf_of", autocomplete: "off", attrs: {maxlength: 200}});
  const found = h("p", {class: "customer-found", role: "status", "aria-live": "polite"});
  const choices = h("div", {class: "customer-choices"});
  const customer = h("fieldset", {class: "choice customer"}, h("legend", {}, t("console.new.customer")),
    search.wrapper, found, choices);

  let serial = 0;
  let typing = null;
  async function find() {
    clearTimeout(typing);
    const text = search.control.value.trim();
    const mine = ++serial;
    if (text.length < 2) { replace(choices); found.textContent = ""; return; }
    const response = await get(`/api/v1/people${query({kind: "customer", text})}`);
    if (mine !== serial) return;
    if (!response.ok) { replace(choices); found.textContent = response.data.message || t("error.unknown"); return; }
    const items = response.data.items || [];
    found.textContent = items.length ? t("console.new.found", {count: items.length}) : t("console.new.none_found");
    replace(choices, items.map((person) => h("label", {class: "radio"},
      h("input", {type: "radio", name: "customer", value: person.user_id}), " ",
      t("console.new.customer_line", {name: person.name || person.email, email: person.email,
                                      company: person.company_name || t("console.new.no_company")}))));
  }
  search.control.addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(find, SEARCH_DELAY_MS); });
  search.control.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); find(); }
  });

  const channel = field({name: "channel", label: t("console.new.channel"), type: "select", required: true,
    value: "phone", options: [["phone", t("console.new.channel_phone")], ["email", t("console.new.channel_email")]]});
  const department = field({name: "department", label: t("new.department"), type: "select", required: true,
    options: [["", t("new.choose")], ...options(data.departments)]});
  const urgency = field({name: "urgency", label: t("new.urgency"), type: "select", value: "medium",
    options: options(data.urgencies)});
  const title = field({name: "title", label: t("new.title"), required: true, attrs: {maxlength: 200}});
  const description = field({name: "description", label: t("new.description"), type: "textarea", required: true,
    rows: 8, attrs: {maxlength: 20000}});

  const element = form({
    label: t("console.new.title"),
    fields: [customer, channel, department, urgency, title, description],
    submit: t("new.submit"),
    onSubmit: async (target, key) => {
      const chosen = choices.querySelector("input[name=customer]:checked");
      if (!chosen) return showErrors(target, {message: t("form.fix"), fields: {on_behalf_of: [t("console.new.choose_customer")]}});
      const raw = values(target);
      const body = {on_behalf_of: chosen.value, channel: raw.channel, department: raw.department,
                    title: raw.title, description: raw.description};
      if (raw.urgency) body.urgency = raw.urgency;
      const response = await post("/api/v1/tickets", body, {"Idempotency-Key": key});
      if (!response.ok) return showErrors(target, response.data || {});
      app.flash = t("console.new.opened", {reference: response.data.reference});
      navigate(`/console/tickets/${encodeURIComponent(response.data.ticket_id)}`);
    },
  });
  return {title: t("console.new.title"), cleanup: () => clearTimeout(typing),
          content: [h("h1", {}, t("console.new.title")), h("p", {}, t("console.new.intro")), element]};
}
