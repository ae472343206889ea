// One attachment, checked in the browser before it is sent (size, type by name) and then by the
// server (type by content), whose 413/422 message is shown next to the field.
"use strict";

import {app} from "./app.js";
import {field} from "./forms.js";
import {fileSize, t} from "./i18n.js";

export function attachmentField(name = "attachment") {
  const {max_bytes: maxBytes, extensions} = app.site.attachment;
  const result = field({name, label: t("attachment.label"), type: "file", api: "attachment",
                        hint: t("attachment.hint", {size: fileSize(maxBytes), types: extensions.join(", ")}),
                        attrs: {accept: extensions.map((ext) => `.${ext}`).join(",")}});
  result.control.addEventListener("change", () => {
    const problem = check(result.control.files[0]);
    result.error.textContent = problem || "";
    result.error.hidden = !problem;
    if (problem) result.control.setAttribute("aria-invalid", "true");
    else result.control.removeAttribute("aria-invalid");
  });
  return result;
}

function check(file) {
  if (!file) return null;
  const {max_bytes: maxBytes, extensions} = app.site.attachment;
  if (file.size > maxBytes) return t("attachment.too_large", {size: fileSize(maxBytes)});
  const extension = file.name.includes(".") ? file.name.split(".").pop().toLowerCase() : "";
  if (!extensions.includes(extension)) return t("attachment.bad_type", {types: extensions.join(", ")});
  return null;
}

/** {filename, content_base64} for the chosen file, or undefined; throws a message when refused. */
export async function readAttachment(control) {
  const file = control.files[0];
  if (!file) return undefined;
  const problem = check(file);
  if (problem) throw {fields: {attachment: [problem]}, message: t("form.fix")};
  const dataUrl = await new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.addEventListener("load", () => resolve(reader.result));
    reader.addEventListener("error", () => reject(reader.error));
    reader.readAsDataURL(file);
  });
  return {filename: file.name, content_base64: String(dataUrl).split(",", 2)[1] || ""};
}

/** A 413 names no field: it is the attachment's, so it is shown there. */
export function attachmentErrors(response) {
  if (response.status === 413) return {...response.data, fields: {attachment: [response.data.message]}};
  return response.data;
}
