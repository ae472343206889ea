// What every page shares: the site's settings, who is logged in, the catalogue, navigation.
"use strict";

import {get, patch} from "./api.js";
import {useLanguage, useTimeZone} from "./i18n.js";

export const app = {site: null, me: null, catalog: null, render: null};

const LANGUAGE_COOKIE = "portal_lang";

export async function loadSite() {
  const response = await get("/api/v1/site");
  app.site = response.ok ? response.data : {provider_name: "", logo_url: "/portal/logo.svg", ticket_form: "both",
                                           languages: ["es", "en"], time_zone: "Europe/Madrid", features: {},
                                           attachment: {max_bytes: 2 * 1024 * 1024, extensions: []}};
}

/** The logged-in user, or null (GET /api/v1/auth/session answers 200 to strangers too). */
export async function refreshMe() {
  const response = await get("/api/v1/auth/session");
  app.me = response.ok ? response.data.user : null;
  return app.me;
}

export async function catalog() {
  if (!app.catalog) {
    const response = await get("/api/v1/catalog");
    app.catalog = response.ok ? response.data : {departments: [], services: [], itil_types: [], urgencies: []};
  }
  return app.catalog;
}

function cookieLanguage() {
  const match = document.cookie.match(/(?:^|;\s*)portal_lang=(es|en)/);
  return match ? match[1] : null;
}

/** The browser's preferred language, when the portal speaks it (the API's Accept-Language rule). */
function browserLanguage() {
  const spoken = app.site.languages || ["es", "en"];
  for (const tag of navigator.languages || [navigator.language || ""]) {
    const base = tag.toLowerCase().split("-")[0];
    if (spoken.includes(base)) return base;
  }
  return null;
}

/** The profile's language when logged in, else the one chosen on this browser, else the browser's
 * own preference, else Spanish. */
export async function applyPreferences() {
  const chosen = (app.me && app.me.language) || cookieLanguage() || browserLanguage()
    || app.site.default_language || "es";
  await useLanguage(chosen);
  useTimeZone((app.me && app.me.time_zone) || app.site.time_zone || "Europe/Madrid");
}

/** Switches the page's language; when logged in, the profile keeps it. */
export async function chooseLanguage(language) {
  document.cookie = `${LANGUAGE_COOKIE}=${language}; path=/; max-age=31536000; SameSite=Lax`;
  if (app.me && app.me.language !== language) {
    const response = await patch("/api/v1/me", {language});
    if (response.ok) app.me = {...app.me, ...response.data};
  }
  await useLanguage(language);
}

export function navigate(path, {replace = false} = {}) {
  if (replace) history.replaceState({}, "", path);
  else history.pushState({}, "", path);
  return app.render({focus: true});
}

/** Pages that need a session call this first; it sends strangers to log in and back. */
export function requireLogin() {
  if (!app.me) {
    const next = location.pathname + location.search;
    navigate(`/login?next=${encodeURIComponent(next)}`, {replace: true});
    return false;
  }
  if (app.me.must_change_password && location.pathname !== "/password") {
    navigate("/password", {replace: true});
    return false;
  }
  return true;
}

const STAFF_ROLES = ["agent", "supervisor", "admin"];

/** Whether `user` (GET /api/v1/auth/session's) works at the provider: their pages are the console. */
export function isStaff(user) {
  return Boolean(user && STAFF_ROLES.includes(user.role));
}

/** Whether `user` supervises the staff (supervisors and admins): the dashboard and the agents' page are theirs. */
export function isSupervisor(user) {
  return Boolean(user && ["supervisor", "admin"].includes(user.role));
}

/** Where to go after logging in: a local path given in ?next=, else the user's tickets (the
 * console for staff). */
export function nextPath(fallback = isStaff(app.me) ? "/console" : "/tickets") {
  const next = new URLSearchParams(location.search).get("next") || "";
  return next.startsWith("/") && !next.startsWith("//") ? next : fallback;
}
