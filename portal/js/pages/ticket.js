// A ticket: the page every mail links to. Its history (who, when, by which channel), its files,
// the "Seguimiento" tab (004 §5), the request for information answered in one step, the
// solution to approve or refuse (004 §6), and "Cerrar ticket" at the bottom right (000 §2.2).
// It follows the ticket live (live.js): when it changes, the page is redrawn, keeping what the
// customer is writing.
"use strict";

import {app, navigate} from "../app.js";
import {get, post} from "../api.js";
import {attachmentErrors, attachmentField, readAttachment} from "../attachments.js";
import {append, h, uid} from "../dom.js";
import {field, form, showErrors, values} from "../forms.js";
import {dateTime, t} from "../i18n.js";
import {follow, keep, swapKeeping} from "../live.js";
import {loginForm} from "./login.js";
import {departmentName, historyList, itilText, statusBadge, urgencyName} from "./ticket-parts.js";

let shown = null; // the ticket the page shows: its version goes in If-Match
let shownTab = "history"; // the tab chosen, kept while live updates redraw the page

export async function render({params: [ticketId]}) {
  if (app.me && app.me.must_change_password) {
    navigate("/password", {replace: true});
    return null;
  }
  if (!app.me) return stranger();
  const response = await get(`/api/v1/tickets/${encodeURIComponent(ticketId)}`);
  if (!response.ok) return response.status === 401 ? stranger() : notVisible(response);
  shown = response.data;
  shownTab = "history";
  const flash = app.flash; // what was just done: said again when live updates redraw the page
  app.flash = null;
  const drawn = await page(response.data, flash);
  let article = drawn.content;
  let left = false;
  const stop = follow({ticket: shown.ticket_id}, {changed: async ({force, version}) => {
    if (!force && version <= shown.version) return;
    const fresh = await get(`/api/v1/tickets/${encodeURIComponent(shown.ticket_id)}`);
    if (left || !fresh.ok || fresh.data.version <= shown.version) return;
    const next = (await page(fresh.data, flash)).content;
    if (left || !article.isConnected) return;
    swapKeeping(article, next);
    article = next;
    shown = fresh.data;
  }});
  return {...drawn, cleanup: () => { left = true; stop(); }};
}

/** Someone without a session (often a CC recipient with no account) following a mailed link. */
function stranger() {
  return {title: t("ticket.stranger.title"), content: [
    h("h1", {}, t("ticket.stranger.title")),
    h("p", {}, t("ticket.stranger.intro")),
    h("section", {class: "panel", "aria-labelledby": "cc-title"},
      h("h2", {id: "cc-title"}, t("ticket.stranger.cc_title")),
      h("ul", {}, h("li", {}, t("ticket.stranger.cc_register"), " ", h("a", {href: "/register"}, t("nav.register"))),
        h("li", {}, t("ticket.stranger.cc_ask")))),
    h("section", {class: "panel", "aria-labelledby": "stranger-login"},
      h("h2", {id: "stranger-login"}, t("login.title")), loginForm()),
  ]};
}

function notVisible(response) {
  return {title: t("ticket.hidden.title"), content: [
    h("h1", {}, t("ticket.hidden.title")),
    h("p", {}, response.status === 404 ? t("ticket.hidden.text", {email: app.me.email}) : response.data.message),
    h("p", {}, t("ticket.stranger.cc_ask")),
    h("p", {}, h("a", {href: "/tickets"}, t("nav.my_tickets")))]};
}

async function page(ticket, flash) {
  const closed = ticket.status === "closed";
  const customerSide = app.me.role === "customer";
  const facts = [
    [t("ticket.status"), statusBadge(ticket.status)],
    [t("ticket.department"), await departmentName(ticket.department)],
    ticket.itil ? [t("ticket.itil"), await itilText(ticket.itil)] : null,
    [t("ticket.urgency"), await urgencyName(ticket.urgency)],
    [t("ticket.opened"), h("time", {datetime: ticket.opened_at}, dateTime(ticket.opened_at))],
    [t("ticket.requester"), ticket.requester_name || ticket.requester_email],
    [t("ticket.channel"), t(`channel.${ticket.channel || "portal"}`)],
    ticket.assignee_name ? [t("ticket.assignee"), ticket.assignee_name] : null,
    ticket.cc && ticket.cc.length ? [t("ticket.cc"), ticket.cc.join(", ")] : null,
  ].filter(Boolean);

  const blocks = [
    h("p", {class: "crumbs"}, h("a", {href: "/tickets"}, t("nav.my_tickets")),
      customerSide ? null : [" · ", h("a", {href: `/console/tickets/${ticket.ticket_id}`}, t("console.open_in_console"))]),
    h("h1", {}, h("span", {class: "reference"}, ticket.reference), " ", ticket.title),
    flash ? h("p", {class: "notice", role: "status"}, flash) : null,
    h("dl", {class: "facts"}, facts.map(([name, value]) => h("div", {}, h("dt", {}, name), h("dd", {}, value)))),
    h("section", {class: "description", "aria-labelledby": "description-title"},
      h("h2", {id: "description-title"}, t("ticket.description")),
      h("p", {class: "entry-body"}, ticket.description)),
  ];
  if (ticket.status === "waiting_for_customer" && customerSide) blocks.push(informationRequest(ticket));
  if (ticket.status === "resolved" && customerSide) blocks.push(solutionDecision(ticket));
  if (ticket.merged_into) {
    blocks.push(h("p", {class: "notice"}, t("ticket.merged"), " ", h("a", {href: `/tickets/${ticket.merged_into}`}, t("ticket.merged_link"))));
  }
  blocks.push(tabs(ticket, closed));
  if (!closed && customerSide) blocks.push(closeBox());
  return {title: `${ticket.reference} ${ticket.title}`, content: h("article", {class: "ticket"}, blocks)};
}

function tabs(ticket, closed) {
  const panels = [
    ["history", t("ticket.tab.history"), history(ticket)],
    closed ? null : ["follow-up", t("ticket.tab.follow_up"), followUp(ticket)],
  ].filter(Boolean);
  const tabList = h("div", {role: "tablist", "aria-label": t("ticket.tabs"), class: "tabs"});
  const sections = [];
  const buttons = panels.map(([key, title, content], index) => {
    const tabId = uid(`tab-${key}`);
    const panelId = uid(`panel-${key}`);
    const chosen = key === shownTab || (index === 0 && !panels.some(([other]) => other === shownTab));
    const button = h("button", {type: "button", role: "tab", id: tabId, "aria-controls": panelId, "data-key": `tab-${key}`,
                                "aria-selected": chosen ? "true" : "false", tabindex: chosen ? "0" : "-1"}, title);
    sections.push(h("section", {role: "tabpanel", id: panelId, "aria-labelledby": tabId, tabindex: "0", hidden: !chosen},
      content));
    return button;
  });
  const select = (index) => {
    shownTab = panels[index][0];
    buttons.forEach((button, i) => {
      button.setAttribute("aria-selected", i === index ? "true" : "false");
      button.tabIndex = i === index ? 0 : -1;
      sections[i].hidden = i !== index;
    });
    buttons[index].focus();
  };
  buttons.forEach((button, index) => {
    button.addEventListener("click", () => select(index));
    button.addEventListener("keydown", (event) => {
      const moves = {ArrowRight: 1, ArrowLeft: -1, Home: -index, End: buttons.length - 1 - index};
      if (!(event.key in moves)) return;
      event.preventDefault();
      select((index + moves[event.key] + buttons.length) % buttons.length);
    });
  });
  tabList.append(...buttons);
  return h("div", {class: "ticket-tabs"}, tabList, sections);
}

function history(ticket) {
  return historyList(ticket, {internal: false});
}

function commentForm(ticket, {label, submit, done, required = false, name}) {
  const body = field({name: "body", label, type: "textarea", rows: 5, required, attrs: {maxlength: 20000}});
  const file = attachmentField();
  return keep(form({
    label, fields: [body, file], submit,
    onSubmit: async (target, key) => {
      const payload = {};
      const text = values(target).body;
      if (text.trim()) payload.body = text;
      try {
        const attachment = await readAttachment(file.control);
        if (attachment) payload.attachment = attachment;
      } catch (problem) {
        return showErrors(target, problem);
      }
      if (!payload.body && !payload.attachment) {
        return showErrors(target, {message: t("form.fix"), fields: {body: [t("ticket.follow_up.empty")]}});
      }
      const response = await post(`/api/v1/tickets/${ticket.ticket_id}/comments`, payload, {"Idempotency-Key": key});
      if (!response.ok) return showErrors(target, attachmentErrors(response));
      app.flash = done;
      await app.render({focus: true});
    },
  }), name);
}

function followUp(ticket) {
  return [h("p", {}, t("ticket.follow_up.intro")),
          commentForm(ticket, {label: t("ticket.follow_up.comment"), submit: t("ticket.follow_up.submit"),
                               done: t("ticket.follow_up.done"), name: "follow-up"})];
}

function informationRequest(ticket) {
  const request = [...ticket.history].reverse().find((entry) => entry.type === "InformationRequested");
  return h("section", {class: "panel attention", "aria-labelledby": "info-title"},
    h("h2", {id: "info-title"}, t("ticket.info.title")),
    request ? h("p", {class: "entry-meta"}, request.by.name, " · ", dateTime(request.at)) : null,
    request && request.body ? h("blockquote", {class: "entry-body"}, request.body) : null,
    commentForm(ticket, {label: t("ticket.info.answer"), submit: t("ticket.info.submit"), done: t("ticket.info.done"),
                         name: "info-answer"}));
}

function solutionDecision(ticket) {
  const approve = keep(form({
    label: t("solution.approve"),
    fields: [field({name: "comment", label: t("solution.comment"), type: "textarea", rows: 3})],
    submit: t("solution.approve"),
    onSubmit: (target, key) => decide(target, key, "approve", {comment: values(target).comment}, t("solution.approved")),
  }), "approve");
  const refuse = keep(form({
    label: t("solution.refuse"),
    fields: [field({name: "reason", label: t("solution.reason"), type: "textarea", rows: 3, required: true})],
    submit: t("solution.refuse"),
    className: "refuse",
    onSubmit: (target, key) => decide(target, key, "refuse", {reason: values(target).reason}, t("solution.refused")),
  }), "refuse");
  return h("section", {class: "panel attention", "aria-labelledby": "solution-title"},
    h("h2", {id: "solution-title"}, t("solution.title")),
    h("p", {}, t("solution.intro")),
    ticket.solution ? h("blockquote", {class: "entry-body solution"}, ticket.solution) : null,
    h("div", {class: "decisions"},
      h("div", {}, h("h3", {}, t("solution.approve")), approve),
      h("div", {}, h("h3", {}, t("solution.refuse")), refuse)));
}

async function decide(target, key, action, body, done) {
  const response = await post(`/api/v1/tickets/${shown.ticket_id}/${action}`, body,
    {"If-Match": `"${shown.version}"`, "Idempotency-Key": key});
  if (!response.ok) return showErrors(target, response.data);
  app.flash = done;
  await app.render({focus: true});
}

function closeBox() {
  const confirm = h("div", {class: "close-confirm", hidden: true});
  const box = keep(h("div", {class: "close-box"}), "close");
  const open = h("button", {type: "button", class: "danger", onclick: () => {
    box.dataset.dirty = "1"; // opened: a redraw keeps it open
    confirm.hidden = false;
    open.hidden = true;
    confirm.querySelector("textarea").focus();
  }}, t("ticket.close"));
  const closeForm = form({
    label: t("ticket.close"),
    fields: [field({name: "reason", label: t("ticket.close_reason"), type: "textarea", rows: 2})],
    submit: t("ticket.close_confirm"),
    className: "close-form",
    onSubmit: (target, key) => decide(target, key, "close", {reason: values(target).reason}, t("ticket.closed_done")),
  });
  const cancel = h("button", {type: "button", class: "secondary", onclick: () => {
    delete box.dataset.dirty;
    confirm.hidden = true;
    open.hidden = false;
    open.focus();
  }}, t("ticket.close_cancel"));
  confirm.append(h("p", {}, t("ticket.close_question")), closeForm, cancel);
  return append(box, [open, confirm]);
}
