// The staff console's ticket workspace (/console/tickets/<id>): the customer, the ticket's state
// and SLA, its whole history with the internal notes marked, its files, and every staff action
// the API has (contracts.TICKET_ACTIONS): take, start, public reply, internal note, request for
// information (with the department's canned replies), urgency, another department, assign to a
// colleague, CC, merge into another ticket, the provider-fault flag, resolve, and reopen a resolved
// ticket with the reason (the customer phoned: it still fails). Staff cannot close a ticket nor
// approve its solution: the customer decides that, so there is no button.
//
// Every write sends If-Match with the version shown; a 409 or 412 means the ticket changed: the
// API's message goes to the alert region and the current state is drawn, keeping what was typed.
// The page follows the ticket live (live.js), shows who else is on it (viewing or replying), tells
// colleagues when the user opens it, works on it, writes and leaves, and has keyboard shortcuts.
"use strict";

import {app, catalog, navigate} from "../app.js";
import {get, post} from "../api.js";
import {attachmentErrors, attachmentField, readAttachment} from "../attachments.js";
import {h, replace, uid} from "../dom.js";
import {field, form, showErrors, values} from "../forms.js";
import {dateTime, label, language, t} from "../i18n.js";
import {follow, held, keep, settle, swapKeeping} from "../live.js";
import {alertText, assigneeText, canTake, departmentLabel, OPEN, slaLines, staffOnly, staffStatus, urgencyBadge}
  from "../staff.js";
import {attachmentLink, historyList, itilText} from "./ticket-parts.js";

const NOT_CLOSED = [...OPEN, "resolved"];
const RESOLVABLE = ["assigned", "in_progress", "waiting_for_customer", "reopened"];
const STARTABLE = ["assigned", "reopened"];
const PRESENCE_EVERY_MS = 5000; // "replying" is told at most this often while the user types
// "viewing" is told once the live stream is open (colleagues who answer can be heard), then again
// only when the user does something on the page (at most this often), and as an answer to a
// colleague who arrives (they could not hear it before; an answer is not answered): an idle
// workspace sends nothing. What is asked within MERGE_MS goes as one notice.
const VIEWING_EVERY_MS = 45000;
const MERGE_MS = 150;
const SHORTCUTS = [ // key, what it does, message key of its description
  ["r", "reply", "console.shortcuts.reply"],
  ["n", "note", "console.shortcuts.note"],
  ["i", "info", "console.shortcuts.info"],
  ["t", "take", "console.shortcuts.take"],
];

export async function render({params: [raw]}) {
  const ticketId = decodeURIComponent(raw);
  if (!staffOnly(`/tickets/${encodeURIComponent(ticketId)}`)) return null;
  const response = await get(`/api/v1/tickets/${encodeURIComponent(ticketId)}`);
  if (!response.ok) return hidden(response);
  return workspace(response.data);
}

function hidden(response) {
  return {title: t("ticket.hidden.title"), content: [
    h("h1", {}, t("ticket.hidden.title")),
    h("p", {}, response.data.message),
    h("p", {}, h("a", {href: "/console"}, t("console.title")))]};
}

async function workspace(first) {
  const ticketId = first.ticket_id;
  const state = {ticket: first, view: null, open: new Set(), left: false, presenceAt: 0, viewingAt: Date.now(), viewing: null, sending: Promise.resolve(), lost: false, canned: new Map(),
                 staff: null};
  const flash = app.flash;
  app.flash = null;

  const crumbs = h("p", {class: "crumbs"});
  const alert = h("div", {class: "alert", role: "alert"});
  const notice = h("div", {class: "workspace-notice", role: "status"});
  const connection = h("p", {class: "connection", role: "status"});
  const presence = presenceRegion(ticketId);

  const done = (text) => {
    const line = h("p", {class: "notice", tabindex: "-1"}, text);
    replace(notice, line);
    return line;
  };
  if (flash) done(flash);

  /** Draws `ticket` in place of what is shown, keeping the forms the user is working in; never
   * an older version than the one shown (an action's answer and a live refetch may cross). */
  async function show(answer) {
    // Only a read (GET) carries the requester's contact card: it stays until the next read has one.
    const ticket = answer.requester || !state.ticket.requester ? answer : {...answer, requester: state.ticket.requester};
    const next = await view(ticket);
    if (state.left || !state.view.isConnected || ticket.version < state.ticket.version) return;
    state.ticket = ticket;
    swapKeeping(state.view, next);
    state.view = next;
    await drawCrumbs(ticket);
  }

  async function refresh({force = true, version = 0} = {}) {
    if (!force && version <= state.ticket.version) return; // already shown (often our own write)
    const response = await get(`/api/v1/tickets/${encodeURIComponent(ticketId)}`);
    if (state.left) return;
    if (!response.ok) {
      alertText(alert, response.data.message);
      return;
    }
    if (response.data.version !== state.ticket.version || !sameSla(response.data.sla, state.ticket.sla)) {
      await show(response.data);
    }
  }

  /** One action (POST /api/v1/tickets/<id>/<action>) on the version shown. */
  async function act(action, body, doneText, {target = null, key = crypto.randomUUID()} = {}) {
    alertText(alert, "");
    replace(notice);
    const response = await post(`/api/v1/tickets/${encodeURIComponent(ticketId)}/${action}`, body,
                                {"If-Match": `"${state.ticket.version}"`, "Idempotency-Key": key});
    if (state.left) return null;
    if (response.status === 409 || response.status === 412) {
      alertText(alert, `${response.data.message} ${t("console.conflict.reloaded")}`);
      await refresh();
      return null;
    }
    if (!response.ok) {
      if (target) showErrors(target, attachmentErrors(response));
      else alertText(alert, response.data.message);
      return null;
    }
    if (target) settle(target);
    // An action's answer has no SLA (GET has): the clocks shown stay until the next read.
    const ticket = {...response.data, sla: "sla" in response.data ? response.data.sla : state.ticket.sla};
    done(doneText).focus(); // first, so that the form just sent is not held open by the focus
    await show(ticket);
    return ticket;
  }

  async function drawCrumbs(ticket) {
    replace(crumbs, ticket.department
      ? h("a", {href: `/console/queues/${encodeURIComponent(ticket.department)}`},
          t("console.ticket.back", {department: await departmentLabel(ticket.department)}))
      : h("a", {href: "/console"}, t("console.title")));
  }

  // -- the part redrawn when the ticket changes -------------------------------------------------
  async function view(ticket) {
    const status = ticket.status;
    const allowed = (key, statuses) => statuses.includes(status) || held(state.view, key);
    const compose = [
      allowed("reply", OPEN) ? replyForm(await cannedReplies(ticket.department)) : null,
      allowed("note", NOT_CLOSED) ? noteForm() : null,
      allowed("info", OPEN) ? panel("info", t("console.info.title"), infoForm()) : null,
    ].filter(Boolean);
    const manage = [
      allowed("urgency", OPEN) ? panel("urgency", t("console.urgency.title"), await urgencyForm(ticket)) : null,
      allowed("reclassify", OPEN) ? panel("reclassify", t("console.reclassify.title"), await reclassifyForm(ticket)) : null,
      allowed("assign", OPEN) ? panel("assign", t("console.assign.title"), await assignForm(ticket)) : null,
      allowed("cc", NOT_CLOSED) ? panel("cc", t("console.cc.title"), ccForm(ticket)) : null,
      allowed("merge", NOT_CLOSED) ? panel("merge", t("console.merge.title"), mergeForm(ticket)) : null,
      panel("fault", t("console.fault.title"), faultForm(ticket)),
      allowed("resolve", RESOLVABLE) ? panel("resolve", t("console.resolve.title"), resolveForm()) : null,
      allowed("reopen", ["resolved"]) ? panel("reopen", t("console.reopen.title"), reopenForm()) : null,
    ].filter(Boolean);
    const files = ticket.history.filter((entry) => entry.attachment);
    return h("div", {class: "workspace-view"},
      await facts(ticket),
      buttons(ticket),
      status === "resolved" ? h("div", {class: "panel attention"}, h("p", {}, t("console.resolved_note")),
        ticket.solution ? h("blockquote", {class: "entry-body solution"}, ticket.solution) : null) : null,
      status === "closed" ? h("p", {class: "notice"}, t("console.closed_note")) : null,
      h("section", {class: "description", "aria-labelledby": "ws-description"},
        h("h2", {id: "ws-description"}, t("ticket.description")),
        h("p", {class: "entry-body"}, ticket.description)),
      h("section", {class: "ws-history", "aria-labelledby": "ws-history"},
        h("h2", {id: "ws-history"}, t("ticket.tab.history")),
        historyList(ticket, {internal: true})),
      compose.length ? h("section", {class: "compose", "aria-labelledby": "ws-compose"},
        h("h2", {id: "ws-compose"}, t("console.compose")), compose) : null,
      h("section", {class: "files", "aria-labelledby": "ws-files"},
        h("h2", {id: "ws-files"}, t("console.ticket.files")),
        files.length
          ? h("ul", {class: "file-list"}, files.map((entry) => h("li", {},
              entry.internal ? [h("span", {class: "internal-label"}, t("console.internal_note")), " "] : null,
              attachmentLink(ticket, entry.attachment))))
          : h("p", {}, t("console.ticket.no_files"))),
      h("section", {class: "manage", "aria-labelledby": "ws-manage"},
        h("h2", {id: "ws-manage"}, t("console.manage")), manage));
  }

  async function facts(ticket) {
    const card = ticket.requester || {}; // identity's contact card (null when it did not answer)
    const company = card.company_name
      || (ticket.company_id ? t("console.ticket.company_unnamed", {id: ticket.company_id.slice(0, 8)})
                            : t("console.ticket.no_company"));
    const roles = [card.is_group ? t("console.ticket.group_user") : null,
                   card.company_admin ? t("console.ticket.company_admin") : null].filter(Boolean);
    const rows = [
      [t("console.ticket.customer"), [ticket.requester_name ? [ticket.requester_name, " "] : null,
        h("a", {href: `mailto:${ticket.requester_email}`, class: "requester"}, ticket.requester_email),
        card.active === false ? [" ", h("span", {class: "badge"}, t("console.ticket.inactive"))] : null]],
      card.phone ? [t("console.ticket.phone"), h("a", {href: `tel:${card.phone.replace(/[^+0-9]/g, "")}`}, card.phone)] : null,
      card.language ? [t("console.ticket.language"), t(`language.${card.language}`)] : null,
      [t("console.ticket.company"), roles.length ? [company, ` (${roles.join(", ")})`] : company],
      [t("ticket.department"), ticket.department ? await departmentLabel(ticket.department) : t("ticket.no_department")],
      [t("ticket.status"), staffStatus(ticket.status)],
      [t("ticket.urgency"), await urgencyBadge(ticket.urgency)],
      [t("console.col.assignee"), assigneeText(ticket)],
      ticket.itil ? [t("ticket.itil"), await itilText(ticket.itil)] : null,
      [t("ticket.opened"), h("time", {datetime: ticket.opened_at}, dateTime(ticket.opened_at))],
      [t("ticket.channel"), t(`channel.${ticket.channel || "portal"}`)],
      ticket.cc && ticket.cc.length ? [t("ticket.cc"), ticket.cc.join(", ")] : null,
      [t("console.fault.title"), ticket.provider_fault ? t("console.yes") : t("console.no")],
    ].filter(Boolean);
    return h("div", {class: "ws-facts"},
      h("dl", {class: "facts"}, rows.map(([name, value]) => h("div", {}, h("dt", {}, name), h("dd", {}, value)))),
      h("div", {class: "ws-sla"}, h("h2", {}, t("console.col.sla")), slaLines(ticket.sla, ticket.opened_at)));
  }

  function buttons(ticket) {
    const list = [];
    if (canTake(ticket)) {
      list.push(h("button", {type: "button", class: "primary", "data-key": "take", "data-shortcut": "take",
                             "aria-keyshortcuts": "t", onclick: (event) => press(event.currentTarget,
                               () => act("assign", {}, t("console.taken")))},
        t("console.take_ticket")));
    }
    if (ticket.assignee_id === app.me.user_id && STARTABLE.includes(ticket.status)) {
      list.push(h("button", {type: "button", "data-key": "start", onclick: (event) => press(event.currentTarget,
        () => act("start", {}, t("console.started")))}, t("console.start")));
    }
    return list.length ? h("div", {class: "actions ws-actions"}, list) : null;
  }

  async function press(button, run) {
    button.disabled = true;
    try {
      await run();
    } finally {
      button.disabled = false;
    }
  }

  function panel(key, title, content) {
    const element = h("details", {class: `panel action action-${key}`, open: state.open.has(key) || held(state.view, key)},
      h("summary", {"data-key": `summary-${key}`}, title), content);
    element.addEventListener("toggle", () => {
      if (element.open) state.open.add(key);
      else state.open.delete(key);
    });
    return element;
  }

  // -- the forms (each kept across redraws while the user works in it) --------------------------
  function writing(name, labelText, {hint, shortcut, submit, action, doneText, withFile = true, required = false,
                                      className = "", before = []}) {
    const text = field({name: "body", label: labelText, type: "textarea", rows: 5, hint, required,
                        attrs: {maxlength: 20000, "aria-keyshortcuts": shortcut || null, "data-shortcut": name}});
    const file = withFile ? attachmentField() : null;
    return keep(form({
      label: labelText, fields: [...before, text, file].filter(Boolean), submit, className,
      onSubmit: async (target, key) => {
        const body = {};
        const typed = values(target).body;
        if (typed.trim()) body.body = typed;
        if (file) {
          try {
            const attachment = await readAttachment(file.control);
            if (attachment) body.attachment = attachment;
          } catch (problem) {
            return showErrors(target, problem);
          }
        }
        if (!body.body && !body.attachment) {
          return showErrors(target, {message: t("form.fix"), fields: {body: [t("ticket.follow_up.empty")]}});
        }
        await act(action, body, doneText, {target, key});
      },
    }), name);
  }

  /** The public reply, with the department's canned replies: choosing one fills the box with its
   * text in the customer's language (if the ticket says it, else the page's), to edit and send. */
  function replyForm(canned) {
    const choice = canned.length ? field({name: "canned", label: t("console.canned.label"), type: "select",
      hint: t("console.canned.hint"),
      options: [["", t("console.canned.choose")], ...canned.map((item) => [item.code, label(item.title, item.code)])]})
      : null;
    const reply = writing("reply", t("console.reply.label"), {
      hint: t("console.reply.hint"), shortcut: "r", submit: t("console.reply.submit"), action: "comments",
      doneText: t("console.reply.done"), className: "reply-form", before: [choice]});
    if (choice) {
      choice.control.addEventListener("change", () => {
        const item = canned.find((one) => one.code === choice.control.value);
        if (!item) return;
        const speaks = (state.ticket.requester || {}).language || language();
        const box = reply.querySelector('textarea[name="body"]');
        box.value = item.body[speaks] || label(item.body, "");
        box.dispatchEvent(new Event("input", {bubbles: true}));
        box.focus();
      });
    }
    return reply;
  }

  async function cannedReplies(department) {
    if (!department) return [];
    if (!state.canned.has(department)) {
      const response = await get(`/api/v1/canned-replies?department=${encodeURIComponent(department)}`);
      state.canned.set(department, response.ok ? response.data.items || [] : []);
    }
    return state.canned.get(department);
  }
  const noteForm = () => writing("note", t("console.note.label"), {
    hint: t("console.note.hint"), shortcut: "n", submit: t("console.note.submit"), action: "notes",
    doneText: t("console.note.done"), className: "note-form"});
  const infoForm = () => writing("info", t("console.info.label"), {
    hint: t("console.info.hint"), shortcut: "i", submit: t("console.info.submit"), action: "information-requests",
    doneText: t("console.info.done"), withFile: false, required: true});

  async function urgencyForm(ticket) {
    const options = (await catalog()).urgencies.map((item) => [item.code, label(item.name, item.code)]);
    return keep(form({
      label: t("console.urgency.title"),
      fields: [field({name: "urgency", label: t("ticket.urgency"), type: "select", value: ticket.urgency || "medium",
                      options})],
      submit: t("console.urgency.submit"),
      onSubmit: (target, key) => act("urgency", {urgency: values(target).urgency}, t("console.urgency.done"), {target, key}),
    }), "urgency");
  }

  async function reclassifyForm(ticket) {
    const departments = (await catalog()).departments.filter((item) => item.code !== ticket.department);
    return keep(form({
      label: t("console.reclassify.title"),
      fields: [
        field({name: "department", label: t("console.reclassify.department"), type: "select", required: true,
               options: [["", t("new.choose")], ...departments.map((item) => [item.code, label(item.name, item.code)])]}),
        field({name: "reason", label: t("console.reclassify.reason"), type: "textarea", rows: 3, required: true,
               attrs: {maxlength: 2000}}),
      ],
      submit: t("console.reclassify.submit"),
      onSubmit: async (target, key) => {
        const body = values(target);
        const from = state.ticket.department;
        const moved = await act("reclassify", {department: body.department, reason: body.reason},
          t("console.reclassify.done", {department: await departmentLabel(body.department)}), {target, key});
        if (moved && from && app.me.role === "agent" && !(app.me.departments || []).includes(moved.department)) {
          app.flash = t("console.reclassify.done", {department: await departmentLabel(moved.department)});
          state.lost = true; // no longer visible to the agent: nothing more to tell about it
          navigate(`/console/queues/${encodeURIComponent(from)}`); // no longer one of the agent's tickets
        }
      },
    }), "reclassify");
  }

  async function assignForm(ticket) {
    if (!state.staff) {
      const response = await get("/api/v1/people?kind=staff&limit=100");
      if (!response.ok) return h("p", {}, response.data.message); // read again at the next redraw
      state.staff = response.data.items || [];
    }
    const agents = state.staff.filter((person) => person.active && person.role === "agent"
      && (person.departments || []).includes(ticket.department) && person.user_id !== ticket.assignee_id);
    if (!agents.length) return h("p", {}, t("console.assign.nobody"));
    return keep(form({
      label: t("console.assign.title"),
      fields: [field({name: "agent_id", label: t("console.assign.agent"), type: "select", required: true,
                      options: [["", t("new.choose")], ...agents.map((person) => [person.user_id,
                        person.email ? `${person.name || person.email} (${person.email})` : person.name])]})],
      submit: t("console.assign.submit"),
      onSubmit: (target, key) => {
        const chosen = agents.find((person) => person.user_id === values(target).agent_id);
        return act("assign", {agent_id: chosen.user_id},
                   t("console.assign.done", {name: chosen.name || chosen.email}), {target, key});
      },
    }), "assign");
  }

  function ccForm(ticket) {
    return keep(form({
      label: t("console.cc.title"),
      fields: [field({name: "cc", label: t("console.cc.label"), hint: t("console.cc.hint"), type: "text",
                      value: (ticket.cc || []).join(", "), autocomplete: "off", attrs: {maxlength: 2000}})],
      submit: t("console.cc.submit"),
      onSubmit: (target, key) => act("cc", {cc: values(target).cc.split(/[\s,;]+/).filter(Boolean)},
                                     t("console.cc.done"), {target, key}),
    }), "cc");
  }

  /** Merge into another ticket, named by its reference (#000123, looked up) or its id; confirmed. */
  function mergeForm(ticket) {
    return keep(form({
      label: t("console.merge.title"),
      fields: [field({name: "into", label: t("console.merge.label"), hint: t("console.merge.hint"), required: true,
                      autocomplete: "off", attrs: {maxlength: 100}})],
      submit: t("console.merge.submit"),
      onSubmit: async (target, key) => {
        const into = await mergeTarget(values(target).into.trim());
        if (state.left) return;
        if (into.problem) return showErrors(target, {message: t("form.fix"), fields: {into: [into.problem]}});
        const names = {reference: ticket.reference, target: into.reference || into.ticket_id,
                       title: into.title || ""};
        if (!window.confirm(t("console.merge.confirm", names))) return;
        await act("merge", {into: into.ticket_id}, t("console.merge.done", names), {target, key});
      },
    }), "merge");
  }

  async function mergeTarget(typed) {
    if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(typed)) {
      const response = await get(`/api/v1/tickets/${encodeURIComponent(typed)}`);
      return response.ok ? response.data : {problem: response.data.message};
    }
    const digits = typed.replace(/^#/, "");
    if (!/^\d{1,12}$/.test(digits)) return {problem: t("console.merge.not_found", {reference: typed})};
    const reference = `#${digits.padStart(6, "0")}`;
    const response = await get(`/api/v1/tickets?text=${encodeURIComponent(reference.slice(1))}&limit=50`);
    if (!response.ok) return {problem: response.data.message};
    const found = (response.data.items || []).find((item) => item.reference === reference);
    return found || {problem: t("console.merge.not_found", {reference})};
  }

  function faultForm(ticket) {
    const box = h("input", {type: "checkbox", id: uid("fault"), name: "provider_fault",
                            checked: Boolean(ticket.provider_fault)});
    return keep(form({
      label: t("console.fault.title"),
      fields: [
        h("div", {class: "field check"}, box, h("label", {for: box.id}, t("console.fault.label"))),
        field({name: "note", label: t("console.fault.note"), attrs: {maxlength: 2000}}),
      ],
      submit: t("console.fault.submit"),
      onSubmit: (target, key) => {
        const body = values(target);
        return act("provider-fault", {provider_fault: body.provider_fault, note: body.note}, t("console.fault.done"),
                   {target, key});
      },
    }), "fault");
  }

  /** A form of one text sent as `name` by `action` (resolve: the solution; reopen: the reason). */
  function textForm(action, name, rows) {
    return keep(form({
      label: t(`console.${action}.title`),
      fields: [field({name, label: t(`console.${action}.label`), type: "textarea", rows, required: true,
                      hint: t(`console.${action}.hint`), attrs: {maxlength: 20000}})],
      submit: t(`console.${action}.submit`),
      onSubmit: (target, key) => act(action, {[name]: values(target)[name]}, t(`console.${action}.done`), {target, key}),
    }), action);
  }
  const resolveForm = () => textForm("resolve", "solution", 4);
  const reopenForm = () => textForm("reopen", "reason", 3);

  // -- keyboard shortcuts, and telling colleagues while writing ---------------------------------
  function shortcut(name) {
    if (name === "take") {
      const button = state.view.querySelector('[data-shortcut="take"]');
      if (button && !button.disabled) button.click();
      return Boolean(button);
    }
    if (name === "info") {
      const details = state.view.querySelector(".action-info");
      if (details) details.open = true;
    }
    const box = state.view.querySelector(`textarea[data-shortcut="${name}"]`);
    if (box) box.focus();
    return Boolean(box);
  }

  function onKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    const target = event.target;
    if (target instanceof Element && target.closest("input, textarea, select, [contenteditable]")) return;
    const found = SHORTCUTS.find(([key]) => key === event.key);
    if (!found) return;
    event.preventDefault(); // the letter must not land in the box it focuses
    if (!shortcut(found[1])) done(t("console.shortcuts.unavailable"));
  }

  /** Notices go one after another, each once the previous one is answered: two requests in
   * flight may reach the gateway in either order, and colleagues show the last one they hear
   * ("viewing" sent just before "replying" must not arrive after it). */
  function send(body) {
    state.sending = state.sending.then(() => post(`/api/v1/tickets/${encodeURIComponent(ticketId)}/presence`, body))
      .then((response) => {
        if (state.left) return;
        connection.textContent = response.status === 0 ? response.data.message : ""; // only a lost connection is said
      });
  }

  /** Tells colleagues the user's `activity`; "viewing" waits MERGE_MS for others to join it (an
   * answer stays one only if every request merged was one). */
  function announce(activity, {answer = false} = {}) {
    if (activity !== "left") state.viewingAt = Date.now(); // "replying" tells "viewing" too
    if (activity !== "viewing") {
      if (state.viewing) { // "replying" (or "left") says it all: a "viewing" still waiting to go would undo it
        clearTimeout(state.viewing.timer);
        state.viewing = null;
      }
      send({activity});
      return;
    }
    if (state.viewing) {
      state.viewing.answer = state.viewing.answer && answer;
      return;
    }
    state.viewing = {answer, timer: setTimeout(() => {
      const asked = state.viewing;
      state.viewing = null;
      if (!state.left) send(asked.answer ? {activity, answer: true} : {activity});
    }, MERGE_MS)};
  }

  function onTyping(event) {
    const box = event.target;
    if (!(box instanceof HTMLTextAreaElement) || !["reply", "note"].includes(box.dataset.shortcut)) return;
    const now = Date.now();
    if (now - state.presenceAt < PRESENCE_EVERY_MS) return;
    state.presenceAt = now;
    announce("replying");
  }

  function onActivity() {
    if (Date.now() - state.viewingAt >= VIEWING_EVERY_MS) announce("viewing");
  }

  function onPresence(notice) {
    if (presence.heard(notice) && !notice.answer) announce("viewing", {answer: true});
  }

  state.view = await view(first);
  await drawCrumbs(first);
  const content = h("div", {class: "console workspace"},
    crumbs,
    h("h1", {}, h("span", {class: "reference"}, first.reference), " ", first.title),
    alert, notice, presence.element, connection,
    state.view,
    shortcutsHelp());
  content.addEventListener("input", onTyping);
  for (const kind of ["pointerdown", "keydown", "focusin"]) content.addEventListener(kind, onActivity);
  document.addEventListener("keydown", onKey);
  const stop = follow({ticket: ticketId}, {changed: refresh, presence: onPresence,
                                           heard: (first) => { if (first) announce("viewing"); }});
  return {
    title: `${first.reference} ${first.title}`,
    content,
    cleanup: () => {
      state.left = true;
      if (!state.lost) announce("left");
      stop();
      presence.stop();
      document.removeEventListener("keydown", onKey);
    },
  };
}

function sameSla(a, b) {
  return JSON.stringify(a || null) === JSON.stringify(b || null);
}

/** Who else is on the ticket, as the live stream tells (never the user themselves), each until
 * their notice expires; said politely to screen readers. */
function presenceRegion(ticketId) {
  const element = h("div", {class: "presence", "aria-live": "polite"});
  const people = new Map();
  let said = "";
  const draw = () => {
    const lines = [...people.values()].map((person) => t(`console.presence.${person.activity}`, {name: person.name}));
    if (lines.join("\n") === said) return;
    said = lines.join("\n");
    replace(element, lines.map((line) => h("p", {}, line)));
  };
  /** Takes a notice in; true when it tells of someone who was not shown (they arrived). */
  const heard = (notice) => {
    if (!notice.user_id || notice.user_id === app.me.user_id || String(notice.ticket_id) !== String(ticketId)) return false;
    const before = people.get(notice.user_id);
    if (before) clearTimeout(before.timer);
    if (notice.activity === "left") {
      people.delete(notice.user_id);
      draw();
      return false;
    }
    const seconds = Math.min(Math.max(Number(notice.expires_in) || 15, 1), 120);
    const timer = setTimeout(() => {
      people.delete(notice.user_id);
      draw();
    }, seconds * 1000);
    people.set(notice.user_id, {name: notice.name || t("console.presence.someone"),
                                activity: notice.activity === "replying" ? "replying" : "viewing", timer});
    draw();
    return !before;
  };
  const stop = () => {
    for (const person of people.values()) clearTimeout(person.timer);
    people.clear();
  };
  return {element, heard, stop};
}

function shortcutsHelp() {
  return h("section", {class: "shortcuts", "aria-labelledby": "ws-shortcuts"},
    h("h2", {id: "ws-shortcuts"}, t("console.shortcuts.title")),
    h("p", {}, t("console.shortcuts.intro")),
    h("dl", {}, SHORTCUTS.map(([key, , description]) => h("div", {},
      h("dt", {}, h("kbd", {}, key)), h("dd", {}, t(description))))));
}
