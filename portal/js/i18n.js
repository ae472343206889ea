// Every word the portal shows comes from one catalogue per language (portal/i18n/<lang>.json),
// and from parts that only some pages need (portal/i18n/<part>.<lang>.json: the admin pages'),
// loaded by those pages with usePart. Dates and times are written in the user's locale and time
// zone, never in UTC.
"use strict";

const LOCALES = {es: "es-ES", en: "en-GB"};
let messages = {};
let current = "es";
let zone = "Europe/Madrid";

const catalogues = new Map(); // each file's messages ("es", "admin.es"…) as a promise, fetched once per page load
const parts = new Set(); // the parts the pages drawn so far have asked for

function fetchCatalogue(name) { // the promise is kept: pages asking at once fetch it once
  if (!catalogues.has(name)) {
    catalogues.set(name, fetch(`/portal/i18n/${name}.json`, {credentials: "same-origin"}).then((response) => response.json()));
  }
  return catalogues.get(name);
}

export async function useLanguage(language) {
  const chosen = LOCALES[language] ? language : "es";
  const loaded = await Promise.all([chosen, ...[...parts].map((part) => `${part}.${chosen}`)].map(fetchCatalogue));
  messages = Object.assign({}, ...loaded);
  current = chosen;
  document.documentElement.lang = chosen;
}

/** Adds the messages of catalogue part `part` in the current language (and in any chosen later). */
export async function usePart(part) {
  if (parts.has(part)) return;
  const added = await fetchCatalogue(`${part}.${current}`); // first: parts asked at once must not undo each other
  messages = {...messages, ...added};
  parts.add(part);
}

export function useTimeZone(timeZone) {
  try {
    new Intl.DateTimeFormat("en", {timeZone});
    zone = timeZone;
  } catch (error) {
    zone = "Europe/Madrid";
  }
}

export function language() {
  return current;
}

export function timeZone() {
  return zone;
}

/** The message `key`, with `{name}` placeholders filled from `params`. */
export function t(key, params = {}) {
  const text = Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** A label the API gives in every language ({es: …, en: …}). */
export function label(names, fallback = "") {
  if (!names) return fallback;
  return names[current] || names.es || fallback;
}

export function dateTime(iso) {
  if (!iso) return "";
  return new Intl.DateTimeFormat(LOCALES[current], {dateStyle: "medium", timeStyle: "short", timeZone: zone})
    .format(new Date(iso));
}

export function fileSize(bytes) {
  const units = [["MB", 1024 * 1024], ["KB", 1024]];
  const format = new Intl.NumberFormat(LOCALES[current], {maximumFractionDigits: 1});
  for (const [unit, size] of units) {
    if (bytes >= size) return `${format.format(bytes / size)} ${unit}`;
  }
  return `${format.format(bytes)} B`;
}

/** A number in the page's language (`options` as Intl.NumberFormat's). */
export function number(value, options = {}) {
  return new Intl.NumberFormat(LOCALES[current], options).format(value);
}

/** A calendar day ("YYYY-MM-DD", a day of the site's time zone already) in the page's language. */
export function day(iso, options = {dateStyle: "medium"}) {
  if (!iso) return "";
  return new Intl.DateTimeFormat(LOCALES[current], {...options, timeZone: "UTC"}).format(new Date(`${iso}T00:00:00Z`));
}
