// The admins' part of the staff console (admins only), three pages under /console/admin/:
//   users      every account, by company and role: create one (customers get their initial
//              credentials by mail and must change the password on first login, as the manual
//              says: 004, 1/), group users and company admins, an agent's departments, their
//              shift (routing.yaml), a customer's contracted services (what announcements for
//              chosen services they read), deactivate and reactivate;
//   companies  the customer companies, and a new one;
//   settings   the catalogue (departments, calendars, services, ITIL types, urgencies) and the
//              routing rules in force, read-only, with the file that changes each.
// Everything is read and written through /api/v1/admin/… (identity's rules decide; this page
// only shows the API's answers, in the user's language).
"use strict";

import {catalog} from "../app.js";
import {get, patch, post, query} from "../api.js";
import {h, replace, uid} from "../dom.js";
import {field, form, say, showErrors, values} from "../forms.js";
import {label, t, usePart} from "../i18n.js";
import {alertText, dataTable, departmentLabel, staffPage} from "../staff.js";

const ROLES = ["customer", "agent", "supervisor", "admin"];
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const TABS = [["users", "admin.users.title"], ["companies", "admin.companies.title"], ["settings", "admin.settings.title"]];

/** The admin pages' own navigation, the current one marked. */
function tabs(current) {
  return h("nav", {class: "admin-tabs", "aria-label": t("admin.title")},
    h("ul", {}, TABS.map(([page, key]) => h("li", {},
      h("a", {href: `/console/admin/${page}`, "aria-current": page === current ? "page" : null}, t(key))))));
}

/** An admin page: the guard, the admin catalogue part, its tabs and heading (`titleKey`), and
 * what `build(content, alert)` adds. */
async function shell(page, titleKey, build) {
  const refused = staffPage("admins");
  if (refused) return refused.page;
  await usePart("admin");
  const title = t(titleKey);
  const content = h("div", {class: `console admin admin-${page}`}, tabs(page), h("h1", {}, title));
  const alert = h("div", {class: "alert", role: "alert"});
  content.append(alert);
  await build(content, alert);
  return {title, content};
}

/** Checkboxes for the catalogue's `kind` ("departments" or "services", the API's field of the
 * same name), those in `chosen` ticked, in a fieldset named by `legend`. */
async function catalogChoices(kind, legend, chosen = []) {
  const items = (await catalog())[kind];
  const boxes = items.map((item) => {
    const id = uid(kind);
    return h("div", {class: "choice"},
      h("input", {type: "checkbox", id, name: kind, value: item.code, checked: chosen.includes(item.code),
                  "data-api": kind, "aria-describedby": `${id}-error`}),
      h("label", {for: id}, label(item.name, item.code)),
      h("p", {class: "field-error", id: `${id}-error`, hidden: true}));
  });
  return h("fieldset", {class: `choices choices-${kind}`}, h("legend", {}, legend), boxes);
}

function ticked(element, kind) {
  return [...element.querySelectorAll(`input[name=${kind}]:checked`)].map((box) => box.value);
}

function checkbox(name, text) {
  const id = uid(name);
  return h("div", {class: "choice"},
    h("input", {type: "checkbox", id, name, "data-api": name, "aria-describedby": `${id}-error`}),
    h("label", {for: id}, text),
    h("p", {class: "field-error", id: `${id}-error`, hidden: true}));
}

/** An agent's shift: the calendar routing.yaml names for them, else each department's own. */
function shiftText(person, rules) {
  if (person.role === "customer") return "–";
  const named = rules && rules.agent_shifts ? rules.agent_shifts[person.email] : null;
  return named ? t("admin.shift.named", {calendar: named}) : t("admin.shift.departments");
}

// -- /console/admin/users ---------------------------------------------------------------------

export function users() {
  return shell("users", "admin.users.title", async (content, alert) => {
    const params = new URLSearchParams(location.search);
    const wanted = {company_id: params.get("company") || "", role: params.get("role") || ""};
    const [companies, rules] = await Promise.all([get("/api/v1/admin/companies"), get("/api/v1/admin/routing")]);
    if (!companies.ok) {
      alertText(alert, companies.data.message);
      return;
    }
    const companyNames = Object.fromEntries(companies.data.items.map((item) => [item.company_id, item.name]));
    const companyOptions = companies.data.items.map((item) => [item.company_id, item.name]);
    const list = h("div", {class: "admin-list", "aria-live": "polite"});
    const manage = h("div", {class: "admin-manage"});

    const company = field({name: "company", label: t("admin.users.company"), type: "select", value: wanted.company_id,
                           options: [["", t("list.all")], ...companyOptions]});
    const role = field({name: "role", label: t("admin.users.role"), type: "select", value: wanted.role,
                        options: [["", t("list.all")], ...ROLES.map((code) => [code, t(`agents.role.${code}`)])]});
    const filters = form({label: t("admin.users.filters"), fields: [company, role], submit: t("list.apply"),
      className: "filters", onSubmit: async () => {
        const chosen = {company: company.control.value, role: role.control.value};
        history.replaceState({}, "", `${location.pathname}${query(chosen)}`);
        await draw({company_id: chosen.company, role: chosen.role});
      }});

    async function draw(shown) {
      const answer = await get(`/api/v1/admin/users${query({company_id: shown.company_id})}`);
      if (!answer.ok) {
        replace(list, h("p", {class: "error"}, answer.data.message));
        return;
      }
      const people = answer.data.items.filter((person) => !shown.role || person.role === shown.role);
      if (!people.length) {
        replace(list, h("p", {}, t("admin.users.none")));
        return;
      }
      const names = {};
      for (const code of new Set(people.flatMap((person) => person.departments || []))) names[code] = await departmentLabel(code);
      const services = Object.fromEntries((await catalog()).services.map((item) => [item.code, label(item.name, item.code)]));
      const columns = [t("agents.name"), t("agents.email"), t("agents.role"), t("admin.users.company"),
                       t("agents.departments"), t("admin.users.services"), t("admin.users.shift"), t("admin.users.state"),
                       t("admin.users.actions")];
      const table = dataTable(t("admin.users.caption", {count: people.length}), columns, people.map((person) => [
        person.name || person.email, person.email,
        [t(`agents.role.${person.role}`), person.is_group ? [" · ", t("admin.users.group")] : null,
         person.company_admin ? [" · ", t("admin.users.company_admin")] : null],
        person.company_id ? companyNames[person.company_id] || person.company_id : "–",
        (person.departments || []).length ? person.departments.map((code) => names[code] || code).join(", ") : "–",
        (person.services || []).length ? person.services.map((code) => services[code] || code).join(", ") : "–",
        shiftText(person, rules.ok ? rules.data : null),
        [person.active ? t("admin.users.active") : t("admin.users.inactive"),
         person.verified ? null : [" · ", t("admin.users.unverified")]],
        h("button", {type: "button", class: "link", "aria-label": t("admin.users.manage_named", {name: person.email}),
                     onclick: () => openManage(person)}, t("admin.users.manage")),
      ]), "people");
      table.querySelectorAll("tbody tr").forEach((row, index) => { row.dataset.email = people[index].email; });
      replace(list, table);
    }

    /** The panel that changes one account: an agent's departments, a customer's services,
     * deactivate / reactivate. */
    async function openManage(person) {
      const headingId = uid("manage");
      const status = h("p", {class: "status", role: "status", "aria-live": "polite"});
      const parts = [h("h2", {id: headingId, tabindex: "-1"}, t("admin.manage.title", {name: person.name || person.email})), status];
      if (person.role !== "customer") {
        const departments = await catalogChoices("departments", t("agents.departments"), person.departments || []);
        parts.push(form({label: t("admin.manage.departments"), fields: [departments], submit: t("admin.manage.save_departments"),
          onSubmit: async (element) => {
            const answer = await patch(`/api/v1/admin/users/${encodeURIComponent(person.user_id)}`,
                                       {departments: ticked(element, "departments")});
            if (!answer.ok) return showErrors(element, answer.data);
            Object.assign(person, answer.data);
            say(element, t("admin.manage.saved"));
            await draw(current());
          }}));
      } else {
        const services = await catalogChoices("services", t("admin.users.services"), person.services || []);
        parts.push(form({label: t("admin.manage.services"), fields: [services], submit: t("admin.manage.save_services"),
          onSubmit: async (element) => {
            const answer = await patch(`/api/v1/admin/users/${encodeURIComponent(person.user_id)}`,
                                       {services: ticked(element, "services")});
            if (!answer.ok) return showErrors(element, answer.data);
            Object.assign(person, answer.data);
            say(element, t("admin.manage.services_saved"));
            await draw(current());
          }}), h("p", {class: "hint"}, t("admin.manage.services_hint")));
      }
      const next = !person.active;
      parts.push(h("button", {type: "button", class: next ? "primary" : "danger", onclick: async (event) => {
        event.currentTarget.disabled = true;
        const answer = await patch(`/api/v1/admin/users/${encodeURIComponent(person.user_id)}`, {active: next});
        if (!answer.ok) {
          status.textContent = answer.data.message;
          event.currentTarget.disabled = false;
          return;
        }
        Object.assign(person, answer.data);
        await draw(current());
        await openManage(person);
        manage.querySelector(".status").textContent = t(next ? "admin.manage.reactivated" : "admin.manage.deactivated",
                                                        {email: person.email});
      }}, t(next ? "admin.manage.reactivate" : "admin.manage.deactivate")));
      if (person.active) parts.push(h("p", {class: "hint"}, t("admin.manage.deactivate_hint")));
      replace(manage, h("section", {class: "panel", "aria-labelledby": headingId}, parts));
      manage.querySelector("h2").focus();
    }

    const current = () => ({company_id: company.control.value, role: role.control.value});
    content.append(filters, list, manage, await createForm(companyOptions, wanted.company_id, async (created) => {
      alertText(alert, "");
      await draw(current());
      return created;
    }));
    await draw(wanted);
  });
}

async function createForm(companyOptions, companyId, created) {
  const headingId = uid("create");
  const fields = [
    field({name: "email", label: t("register.email"), type: "email", required: true, autocomplete: "off"}),
    field({name: "name", label: t("register.name"), required: true, autocomplete: "off"}),
    field({name: "phone", label: t("register.phone"), type: "tel", autocomplete: "off"}),
    field({name: "language", label: t("language.label"), type: "select", value: "es",
           options: ["es", "en"].map((code) => [code, t(`language.${code}`)])}),
    field({name: "role", label: t("admin.users.role"), type: "select", value: "customer",
           options: ROLES.map((code) => [code, t(`agents.role.${code}`)])}),
    field({name: "company_id", label: t("admin.users.company"), type: "select", value: companyId,
           options: [["", t("admin.users.no_company")], ...companyOptions]}),
  ];
  const extra = [checkbox("is_group", t("admin.create.is_group")), checkbox("company_admin", t("admin.create.company_admin")),
                 await catalogChoices("services", t("admin.create.services")),
                 await catalogChoices("departments", t("admin.create.departments"))];
  const element = form({label: t("admin.create.title"), fields, extra, submit: t("admin.create.submit"),
    onSubmit: async (self, key) => {
      const data = values(self);
      const body = {email: data.email.trim(), name: data.name.trim(), language: data.language, role: data.role,
                    is_group: data.is_group, company_admin: data.company_admin, departments: ticked(self, "departments"),
                    services: ticked(self, "services")};
      if (data.phone.trim()) body.phone = data.phone.trim();
      if (data.company_id) body.company_id = data.company_id;
      const answer = await post("/api/v1/admin/users", body, {"Idempotency-Key": key});
      if (!answer.ok) return showErrors(self, answer.data);
      self.reset();
      await created(answer.data);
      say(self, t("admin.create.done", {email: answer.data.email}));
    }});
  return h("section", {class: "panel", "aria-labelledby": headingId},
    h("h2", {id: headingId}, t("admin.create.title")), h("p", {class: "hint"}, t("admin.create.hint")), element);
}

// -- /console/admin/companies -----------------------------------------------------------------

export function companies() {
  return shell("companies", "admin.companies.title", async (content, alert) => {
    const list = h("div", {class: "admin-list", "aria-live": "polite"});
    async function draw() {
      const [found, people] = await Promise.all([get("/api/v1/admin/companies"), get("/api/v1/admin/users")]);
      if (!found.ok || !people.ok) {
        alertText(alert, (found.ok ? people : found).data.message);
        return;
      }
      const counts = {};
      for (const person of people.data.items) if (person.company_id) counts[person.company_id] = (counts[person.company_id] || 0) + 1;
      replace(list, found.data.items.length
        ? dataTable(t("admin.companies.caption", {count: found.data.items.length}),
                    [t("admin.companies.name"), t("admin.companies.accounts")],
                    found.data.items.map((item) => [item.name,
                      h("a", {href: `/console/admin/users${query({company: item.company_id})}`,
                              "aria-label": t("admin.companies.accounts_of", {name: item.name, count: counts[item.company_id] || 0})},
                        String(counts[item.company_id] || 0))]), "companies")
        : h("p", {}, t("admin.companies.none")));
    }
    const name = field({name: "name", label: t("admin.companies.name"), required: true, autocomplete: "organization"});
    const headingId = uid("company");
    const create = form({label: t("admin.companies.create"), fields: [name], submit: t("admin.companies.submit"),
      onSubmit: async (self, key) => {
        const answer = await post("/api/v1/admin/companies", {name: name.control.value.trim()}, {"Idempotency-Key": key});
        if (!answer.ok) return showErrors(self, answer.data);
        self.reset();
        await draw();
        say(self, t("admin.companies.done", {name: answer.data.name}));
      }});
    content.append(list, h("section", {class: "panel", "aria-labelledby": headingId},
      h("h2", {id: headingId}, t("admin.companies.create")), create));
    await draw();
  });
}

// -- /console/admin/settings ------------------------------------------------------------------

function whereToChange(file) {
  return h("p", {class: "hint where"}, t("admin.settings.where", {file}));
}

function calendarText(calendar) {
  if (!calendar) return "–";
  if (calendar.always_open) return t("admin.calendar.always_open");
  // consecutive days open at the same hours go together: "Mon–Fri 09:00-17:00"
  const runs = [];
  DAYS.forEach((name, index) => {
    const hours = ((calendar.hours || {})[name] || []).join(", ");
    const last = runs[runs.length - 1];
    if (hours && last && last.hours === hours && last.to === index - 1) last.to = index;
    else if (hours) runs.push({from: index, to: index, hours});
  });
  const day = (index) => t(`admin.day.${DAYS[index]}`);
  const days = runs.map((run) => `${run.from === run.to ? day(run.from) : `${day(run.from)}–${day(run.to)}`} ${run.hours}`);
  return [days.join(" · "), ` (${calendar.timezone})`,
          calendar.holidays && calendar.holidays.country
            ? [" · ", t("admin.calendar.holidays", {country: calendar.holidays.country})] : null];
}

function conditionText(when, data) {
  const named = (list, code) => {
    const found = (list || []).find((item) => item.code === code);
    return found ? label(found.name, code) : code;
  };
  const type = data.itil_types.find((item) => item.code === when.type);
  return [when.type ? `${t("admin.rule.type")}: ${named(data.itil_types, when.type)}` : null,
          when.category ? `${t("admin.rule.category")}: ${named(type ? type.categories : [], when.category)}` : null,
          when.service ? `${t("admin.rule.service")}: ${named(data.services, when.service)}` : null,
          when.urgency ? `${t("admin.rule.urgency")}: ${named(data.urgencies, when.urgency)}` : null]
    .filter(Boolean).join(" · ") || t("admin.rule.anything");
}

function section(title, ...children) {
  const headingId = uid("settings");
  return h("section", {class: "dashboard-part", "aria-labelledby": headingId}, h("h2", {id: headingId}, title), children);
}

export function settings() {
  return shell("settings", "admin.settings.title", async (content, alert) => {
    const [data, rules] = await Promise.all([catalog(), get("/api/v1/admin/routing")]);
    if (!rules.ok) {
      alertText(alert, rules.data.message);
      return;
    }
    const routing = rules.data;
    const calendars = routing.calendars || {};
    const departments = (code) => label(data.departments.find((item) => item.code === code)?.name || {}, code);
    const lang = (names) => label(names || {}, "");
    content.append(h("p", {}, t("admin.settings.intro")),
      section(t("admin.settings.departments"), whereToChange("catalog.yaml"),
        dataTable(t("admin.settings.departments"), [t("dashboard.department"), t("admin.settings.code"),
                  t("admin.settings.calendar"), t("admin.settings.urgent_only"), t("admin.settings.assignment")],
                  data.departments.map((item) => [label(item.name, item.code), item.code,
                    [h("strong", {}, item.calendar), " ", calendarText(calendars[item.calendar])],
                    item.urgent_only ? t("console.yes") : t("console.no"),
                    routing.assignment[item.code] ? t(`admin.strategy.${routing.assignment[item.code]}`) : "–"]),
                  "settings-departments"),
        h("p", {class: "hint"}, t("admin.settings.calendars_where"))),
      section(t("admin.settings.services"), whereToChange("catalog.yaml"),
        h("ul", {class: "plain"}, data.services.map((item) => h("li", {}, label(item.name, item.code), " ",
          h("code", {}, item.code))))),
      section(t("admin.settings.itil"), whereToChange("catalog.yaml"),
        dataTable(t("admin.settings.itil"), [t("admin.rule.type"), t("admin.settings.categories"), t("admin.settings.urgency_required")],
                  data.itil_types.map((kind) => [lang(kind.name) || kind.code,
                    kind.categories.map((item) => label(item.name, item.code)).join(", "),
                    kind.urgency_required ? t("console.yes") : t("console.no")]), "settings-itil"),
        h("p", {}, t("admin.settings.urgencies"), ": ", data.urgencies.map((item) => label(item.name, item.code)).join(", "))),
      section(t("admin.settings.routing"), whereToChange(routing.file),
        dataTable(t("admin.settings.routing"), [t("admin.settings.order"), t("admin.settings.when"), t("dashboard.department"),
                  t("admin.settings.reason")],
                  [...routing.itil_rules.map((rule, index) => [String(index + 1), conditionText(rule.when, data),
                     departments(rule.department), lang(rule.reason)]),
                   [t("admin.settings.otherwise"), t("admin.rule.anything"), departments(routing.default.department),
                    lang(routing.default.reason)]], "settings-routing")),
      section(t("admin.settings.shifts"), whereToChange(routing.file),
        Object.keys(routing.agent_shifts || {}).length
          ? dataTable(t("admin.settings.shifts"), [t("agents.email"), t("admin.settings.calendar")],
                      Object.entries(routing.agent_shifts).map(([email, name]) => [email,
                        [h("strong", {}, name), " ", calendarText(calendars[name])]]), "settings-shifts")
          : h("p", {}, t("admin.settings.no_shifts"))));
  });
}
