// Pieces of a ticket that several pages show.
"use strict";

import {catalog} from "../app.js";
import {h} from "../dom.js";
import {label, t} from "../i18n.js";

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
