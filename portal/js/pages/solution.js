// Where the resolution mail's one-click links land (004 §6): the decision the link names, to be
// confirmed here (nothing is decided by merely opening a link). The link's signature is the
// credential; no session is needed.
"use strict";

import {app} from "../app.js";
import {post} from "../api.js";
import {h} from "../dom.js";
import {field, form, showErrors, values} from "../forms.js";
import {t} from "../i18n.js";

let link = null; // the fragment's fields, kept in memory once read off the address bar

export async function render() {
  const fragment = Object.fromEntries(new URLSearchParams(location.hash.slice(1)));
  if (fragment.token) {
    link = fragment;
    history.replaceState({}, "", "/solution");
  }
  if (!link || !["approve", "refuse"].includes(link.decision)) {
    return {title: t("solution.title"), content: [h("h1", {}, t("solution.title")), h("p", {class: "error"}, t("link.incomplete"))]};
  }
  const approving = link.decision === "approve";
  const title = approving ? t("solution.approve") : t("solution.refuse");
  const done = h("div", {class: "done", hidden: true, tabindex: "-1"});
  const element = form({
    label: title,
    fields: [field({name: "text", label: approving ? t("solution.comment") : t("solution.reason"), type: "textarea",
                    rows: 4, required: !approving})],
    submit: title,
    className: approving ? "" : "refuse",
    onSubmit: async (target) => {
      const response = await post("/api/v1/solution-decisions", {
        ticket_id: link.ticket, recipient: link.recipient, resolution: Number(link.resolution),
        decision: link.decision, token: link.token, text: values(target).text});
      if (!response.ok) return showErrors(target, response.data);
      target.hidden = true;
      done.hidden = false;
      done.append(h("p", {class: "notice"}, approving ? t("solution.approved") : t("solution.refused")),
        h("p", {}, h("a", {href: `/tickets/${response.data.ticket_id}`}, t("solution.see_ticket", {reference: response.data.reference}))));
      done.focus();
    },
  });
  return {title, content: [
    h("h1", {}, title),
    h("p", {}, approving ? t("solution.link_approve") : t("solution.link_refuse")),
    app.me ? null : h("p", {class: "hint"}, t("solution.no_login")),
    element, done]};
}
