// Live updates: the page refetches what it shows when the gateway's stream (GET /api/v1/live,
// server-sent events) says it changed, and redraws it without throwing away what the user is in
// the middle of typing. The stream carries no ticket's content, only that something changed:
//   ready     at every (re)connection: refetch, events may have been missed meanwhile;
//   ticket    {ticket_id, version, type, department}: refetch (debounced);
//   presence  {ticket_id, user_id, name, activity, expires_in}: a colleague on the ticket.
"use strict";

import {liveStream} from "./api.js";

const DEBOUNCE_MS = 150;
const RETRY_FIRST_MS = 15_000; // after a refusal (not a stream); the browser retries a cut itself
const RETRY_MAX_MS = 120_000;

/** Follows `subject` ({ticket: id} or {queue: department}). `changed({force, version})` is called
 * at most once per DEBOUNCE_MS: force after a (re)connection, else `version` is the highest one
 * announced since the last call. `presence(notice)` gets each presence message; `heard(first)` is
 * called when the stream is ready to carry them (first: on its first connection, not a
 * reconnection). Returns the function that stops following (the page's cleanup). */
export function follow(subject, {changed, presence = null, heard = null}) {
  let source = null;
  let timer = null;
  let retry = null;
  let stopped = false;
  let retryMs = RETRY_FIRST_MS;
  let pending = null;
  let connected = false;

  const soon = (force, version) => {
    pending = {force: Boolean(force || (pending && pending.force)),
               version: Math.max(version || 0, pending ? pending.version : 0)};
    clearTimeout(timer);
    timer = setTimeout(() => {
      const what = pending;
      pending = null;
      if (!stopped) changed(what);
    }, DEBOUNCE_MS);
  };

  const open = () => {
    source = liveStream(subject);
    if (!source) return;
    source.addEventListener("open", () => { retryMs = RETRY_FIRST_MS; });
    source.addEventListener("ready", () => {
      soon(true, 0);
      if (heard && !stopped) heard(!connected);
      connected = true;
    });
    source.addEventListener("ticket", (event) => {
      const data = parse(event.data);
      soon(!data, data ? Number(data.version) || 0 : 0);
    });
    if (presence) {
      source.addEventListener("presence", (event) => {
        const data = parse(event.data);
        if (data && !stopped) presence(data);
      });
    }
    source.addEventListener("error", () => {
      // A cut stream is reopened by the browser (readyState CONNECTING); a refused one is closed
      // for good: try again later, less and less often.
      if (stopped || source.readyState !== EventSource.CLOSED) return;
      retry = setTimeout(open, retryMs);
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    });
  };

  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    clearTimeout(retry);
    if (source) source.close();
  };
}

function parse(text) {
  try {
    const data = JSON.parse(text);
    return data && typeof data === "object" ? data : null;
  } catch (error) {
    return null;
  }
}

/** Marks `element` as something the user works in (a form, a panel): once they change anything
 * in it, `swapKeeping` carries it over to the redrawn page as it is. */
export function keep(element, key) {
  element.dataset.keep = key;
  const touched = () => { element.dataset.dirty = "1"; };
  element.addEventListener("input", touched);
  element.addEventListener("change", touched);
  return element;
}

/** Forgets that the user changed `element` (after it was sent): it is redrawn fresh next time. */
export function settle(element) {
  delete element.dataset.dirty;
  if (element.tagName === "FORM") element.reset();
}

/** Whether the element kept as `key` in `root` holds the user's work (changed, or focused). */
export function held(root, key) {
  const found = root && root.querySelector(`[data-keep="${CSS.escape(key)}"]`);
  return Boolean(found && (found.dataset.dirty || found.contains(document.activeElement)));
}

/** Puts `fresh` in the place of `shown`. Every [data-keep] element of `shown` that the user
 * changed or that holds the focus goes over in place of its namesake in `fresh`, with its text,
 * chosen file and caret; the focus stays where it was (or moves to the namesake, by data-key). */
export function swapKeeping(shown, fresh) {
  const active = document.activeElement;
  const inside = active && active !== document.body && shown.contains(active);
  const caret = inside ? selection(active) : null;
  for (const old of shown.querySelectorAll("[data-keep]")) {
    if (!(old.dataset.dirty || old.contains(active))) continue;
    if (old.parentElement && old.parentElement.closest("[data-keep]")) continue; // goes with its parent
    const place = fresh.querySelector(`[data-keep="${CSS.escape(old.dataset.keep)}"]`);
    if (place) place.replaceWith(old);
  }
  shown.replaceWith(fresh);
  if (!inside) return;
  let target = fresh.contains(active) ? active : null;
  if (!target && active.dataset.key) target = fresh.querySelector(`[data-key="${CSS.escape(active.dataset.key)}"]`);
  if (!target || document.activeElement === target) return;
  target.focus({preventScroll: true});
  if (caret && target === active) {
    try {
      target.setSelectionRange(...caret);
    } catch (error) {
      // not a text control
    }
  }
}

function selection(element) {
  try {
    return typeof element.selectionStart === "number"
      ? [element.selectionStart, element.selectionEnd, element.selectionDirection] : null;
  } catch (error) {
    return null;
  }
}
