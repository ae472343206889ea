// Accessible forms: every control has a label, hints and errors are tied to it with
// aria-describedby, and the API's error (already in the user's language) is shown as it is,
// next to the field it names, with a summary that takes the focus.
"use strict";

import {h, replace, uid} from "./dom.js";
import {t} from "./i18n.js";

/** One labelled control. `api` is the name the API uses for it in `fields` (dots for nested). */
export function field({name, label, type = "text", required = false, hint, value, options, rows,
                       autocomplete, api, attrs = {}}) {
  const id = uid(name);
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  const common = {id, name, required, "aria-describedby": [hintId, errorId].filter(Boolean).join(" "),
                  "data-api": api || name, ...attrs};
  let control;
  if (type === "select") {
    control = h("select", common, (options || []).map(([code, text]) =>
      h("option", {value: code, selected: code === value}, text)));
  } else if (type === "textarea") {
    control = h("textarea", {...common, rows: rows || 5}, value || "");
  } else {
    control = h("input", {...common, type, autocomplete, value: value ?? ""});
  }
  const wrapper = h("div", {class: "field"},
    h("label", {for: id}, label, required ? h("span", {class: "required", "aria-hidden": "true"}, " *") : null),
    hint ? h("p", {class: "hint", id: hintId}, hint) : null,
    control,
    h("p", {class: "field-error", id: errorId, hidden: true}));
  return {wrapper, control, error: wrapper.querySelector(".field-error")};
}

/** A form with a heading-less status line and an error summary; `onSubmit(form)` does the work. */
export function form({label, fields, submit, onSubmit, extra = [], className = ""}) {
  const summary = h("div", {class: "error-summary", role: "alert", tabindex: "-1", hidden: true});
  const status = h("p", {class: "status", role: "status", "aria-live": "polite"});
  const button = h("button", {type: "submit", class: "primary"}, submit);
  const element = h("form", {class: `form ${className}`, "aria-label": label, novalidate: true},
    summary, fields.map((f) => f.wrapper || f), extra, h("div", {class: "actions"}, button), status);
  // One Idempotency-Key per request: a second click or a retry after an error sends the same key
  // (done once by the server); editing the form makes it another request, with a new key.
  let key = crypto.randomUUID();
  element.addEventListener("input", () => { key = crypto.randomUUID(); });
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(element);
    if (!checkRequired(element)) return;
    button.disabled = true;
    element.setAttribute("aria-busy", "true");
    try {
      await onSubmit(element, key);
    } finally {
      button.disabled = false;
      element.removeAttribute("aria-busy");
    }
  });
  return element;
}

export function clearErrors(element) {
  for (const box of element.querySelectorAll(".field-error")) {
    box.hidden = true;
    box.textContent = "";
  }
  for (const control of element.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
  const summary = element.querySelector(".error-summary");
  if (summary) { summary.hidden = true; summary.replaceChildren(); }
  say(element, "");
}

function checkRequired(element) {
  const problems = {};
  for (const control of element.querySelectorAll("[required]")) {
    if (control.disabled || control.closest("[hidden]")) continue;
    if (control.type === "file" ? control.files.length === 0 : !String(control.value).trim()) {
      problems[control.dataset.api] = [t("form.required")];
    }
  }
  if (Object.keys(problems).length) {
    showErrors(element, {message: t("form.fix"), fields: problems});
    return false;
  }
  return true;
}

/** Shows an API error body ({message, fields}) on the form: each field's text next to it. */
export function showErrors(element, data) {
  const summary = element.querySelector(".error-summary");
  const unplaced = [];
  let first = null;
  for (const [name, texts] of Object.entries(data.fields || {})) {
    const control = findControl(element, name);
    const text = [].concat(texts).join(" ");
    if (control) {
      const box = document.getElementById(`${control.id}-error`);
      box.textContent = text;
      box.hidden = false;
      control.setAttribute("aria-invalid", "true");
      first = first || control;
    } else {
      unplaced.push(text);
    }
  }
  replace(summary, h("p", {}, data.message || t("error.unknown")),
          unplaced.length ? h("ul", {}, unplaced.map((text) => h("li", {}, text))) : null);
  summary.hidden = false;
  (first || summary).focus();
}

function findControl(element, name) {
  const controls = [...element.querySelectorAll("[data-api]")];
  return controls.find((c) => c.dataset.api === name)
    || controls.find((c) => name.startsWith(`${c.dataset.api}.`));
}

export function say(element, text) {
  const status = element.querySelector(".status");
  if (status) status.textContent = text;
}

export function values(element) {
  const result = {};
  for (const control of element.querySelectorAll("input, select, textarea")) {
    if (!control.name || control.type === "file") continue;
    result[control.name] = control.type === "checkbox" ? control.checked : control.value;
  }
  return result;
}
