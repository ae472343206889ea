// Opening a ticket: by department (000 §2.2) or by the ITIL form (004 §3), as the provider
// configures; the choices come from GET /api/v1/catalog, never from this code. Choosing a service
// with an open incident says so, with a link to follow it (GET /api/v1/status/incidents): the
// customer may still open the ticket.
"use strict";

import {app, catalog, navigate, requireLogin} from "../app.js";
import {get, post, query} from "../api.js";
import {attachmentErrors, attachmentField, readAttachment} from "../attachments.js";
import {h, replace} from "../dom.js";
import {field, form, showErrors, values} from "../forms.js";
import {label, language, t} from "../i18n.js";

export async function render() {
  if (!requireLogin()) return null;
  const data = await catalog();
  const mode = app.site.ticket_form;
  const options = (items) => items.map((item) => [item.code, label(item.name, item.code)]);

  const how = h("fieldset", {class: "choice", hidden: mode !== "both"},
    h("legend", {}, t("new.how")),
    ["department", "itil"].map((value) => h("label", {class: "radio"},
      h("input", {type: "radio", name: "form", value, checked: value === (mode === "itil" ? "itil" : "department")}),
      " ", t(`new.how.${value}`))));

  const department = field({name: "department", label: t("new.department"), type: "select", required: true,
    options: [["", t("new.choose")], ...options(data.departments)]});
  const departmentHelp = h("div", {class: "department-help", "aria-live": "polite"});
  const departmentUrgency = field({name: "urgency", label: t("new.urgency"), type: "select", value: "medium",
    hint: t("new.urgency_hint"), options: options(data.urgencies), api: "urgency"});
  const byDepartment = h("div", {class: "mode-department"}, department.wrapper, departmentHelp, departmentUrgency.wrapper);

  const itilType = field({name: "type", label: t("new.itil_type"), type: "select", required: true, api: "itil.type",
    options: [["", t("new.choose")], ...options(data.itil_types)]});
  const service = field({name: "service", label: t("new.service"), type: "select", required: true, api: "itil.service",
    options: [["", t("new.choose")], ...options(data.services)]});
  const category = field({name: "category", label: t("new.category"), type: "select", required: true,
    api: "itil.category", options: [["", t("new.choose_type_first")]]});
  const itilUrgency = field({name: "itil_urgency", label: t("new.urgency"), type: "select", required: true,
    api: "urgency", options: [["", t("new.choose")], ...options(data.urgencies)]});
  const byItil = h("div", {class: "mode-itil"}, itilType.wrapper, service.wrapper, category.wrapper, itilUrgency.wrapper);

  const preview = h("p", {class: "preview", role: "status", "aria-live": "polite"});
  const title = field({name: "title", label: t("new.title"), required: true, attrs: {maxlength: 200}});
  const description = field({name: "description", label: t("new.description"), type: "textarea", required: true,
    rows: 8, attrs: {maxlength: 20000}});
  const cc = field({name: "cc", label: t("new.cc"), type: "email", hint: t("new.cc_hint"), autocomplete: "off",
    attrs: {multiple: true}});
  const attachment = attachmentField();

  const currentMode = () => (mode === "both" ? how.querySelector("input:checked").value : mode);
  const typeSpec = () => data.itil_types.find((type) => type.code === itilType.control.value);

  function sync() {
    const itil = currentMode() === "itil";
    byDepartment.hidden = itil;
    byItil.hidden = !itil;
    for (const control of byDepartment.querySelectorAll("select")) control.disabled = itil;
    for (const control of byItil.querySelectorAll("select")) control.disabled = !itil;
    const spec = typeSpec();
    const urgencyShown = itil && Boolean(spec && spec.urgency_required);
    itilUrgency.wrapper.hidden = !urgencyShown;
    itilUrgency.control.disabled = !urgencyShown;
    suggestIncident();
    const chosen = data.departments.find((item) => item.code === department.control.value);
    replace(departmentHelp, chosen && chosen.description ? h("p", {class: "notice"}, label(chosen.description)) : null);
    updatePreview();
  }

  function fillCategories() {
    const spec = typeSpec();
    replace(category.control, spec
      ? [h("option", {value: ""}, t("new.choose")), spec.categories.map((item) => h("option", {value: item.code}, label(item.name)))]
      : h("option", {value: ""}, t("new.choose_type_first")));
  }

  const known = h("div", {class: "known-incident", "aria-live": "polite"});
  let knownSerial = 0;
  let knownFor = null;
  async function suggestIncident() {
    const code = currentMode() === "itil" ? service.control.value : "";
    if (code === knownFor) return;
    knownFor = code;
    const serial = ++knownSerial;
    if (!code) { replace(known); return; }
    const response = await get(`/api/v1/status/incidents${query({service: code})}`);
    if (serial !== knownSerial) return;
    const items = response.ok ? response.data.items : [];
    replace(known, items.length ? h("div", {class: "panel attention"}, items.map((item) => {
      const title = item.title[language()] || item.title.es || item.title.en;
      return h("p", {}, t("new.incident_known", {title}), " ",
        h("a", {href: `/network-status#incident-${item.id}`}, t("new.incident_follow")));
    }), h("p", {}, t("new.incident_anyway"))) : null);
  }

  let previewSerial = 0;
  async function updatePreview() {
    const params = currentMode() === "itil"
      ? {type: itilType.control.value, service: service.control.value, category: category.control.value,
         urgency: itilUrgency.control.disabled ? "" : itilUrgency.control.value}
      : {department: department.control.value, urgency: departmentUrgency.control.value};
    const complete = currentMode() === "itil" ? params.type && params.service && params.category : params.department;
    const serial = ++previewSerial;
    if (!complete) { preview.textContent = ""; return; }
    const response = await get(`/api/v1/routing/preview${query(params)}`);
    if (serial !== previewSerial) return;
    if (!response.ok) { preview.textContent = ""; return; }
    const target = label(response.data.department_name, response.data.department);
    const why = response.data.reason ? label(response.data.reason) : "";
    preview.textContent = response.data.changed
      ? t("new.preview_changed", {department: target, reason: why})
      : t("new.preview", {department: target});
  }

  for (const control of [department.control, departmentUrgency.control, itilType.control, service.control,
                         category.control, itilUrgency.control]) {
    control.addEventListener("change", sync);
  }
  itilType.control.addEventListener("change", fillCategories);
  for (const radio of how.querySelectorAll("input")) radio.addEventListener("change", sync);

  const element = form({
    label: t("new.title_page"),
    fields: [how, byDepartment, byItil, known, preview, title, description, cc, attachment],
    submit: t("new.submit"),
    onSubmit: async (target, key) => {
      const raw = values(target);
      const body = {title: raw.title, description: raw.description};
      if (currentMode() === "itil") {
        body.itil = {type: raw.type, service: raw.service, category: raw.category};
        if (!itilUrgency.control.disabled) body.urgency = raw.itil_urgency;
      } else {
        body.department = raw.department;
        if (raw.urgency) body.urgency = raw.urgency;
      }
      if (raw.cc.trim()) body.cc = raw.cc;
      try {
        const file = await readAttachment(attachment.control);
        if (file) body.attachment = file;
      } catch (problem) {
        return showErrors(target, problem);
      }
      const response = await post("/api/v1/tickets", body, {"Idempotency-Key": key});
      if (!response.ok) return showErrors(target, attachmentErrors(response));
      app.flash = t("new.opened", {reference: response.data.reference});
      navigate(`/tickets/${response.data.ticket_id}`);
    },
  });
  sync();
  return {title: t("new.title_page"), content: [h("h1", {}, t("new.title_page")), h("p", {}, t("new.intro")), element]};
}
