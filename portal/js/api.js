// The portal's only way to the server: the public /api/v1, with the session in its HttpOnly
// cookie (never readable here), the page's language in Accept-Language, JSON in and out; and the
// live updates' stream (server-sent events, same origin, the same cookie).
"use strict";

import {language, t} from "./i18n.js";

export async function api(method, path, body, headers = {}) {
  const init = {
    method,
    credentials: "same-origin",
    headers: {"Accept": "application/json", "Accept-Language": language(), ...headers},
  };
  if (body instanceof Blob) { // a file, sent as it is (the browser streams it from disk)
    init.headers["Content-Type"] = "application/octet-stream";
    init.body = body;
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    return {ok: false, status: 0, data: {error: "network", message: t("error.network")}, headers: new Headers()};
  }
  let data = {};
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch (error) {
      data = {};
    }
  }
  if (!response.ok && !data.message) {
    data = {...data, message: t(response.status >= 500 ? "error.server" : "error.unknown")};
  }
  return {ok: response.ok, status: response.status, data, headers: response.headers};
}

export const get = (path) => api("GET", path);
export const post = (path, body = {}, headers) => api("POST", path, body, headers);
export const patch = (path, body) => api("PATCH", path, body);
export const put = (path, body) => api("PUT", path, body);

/** A query string from the defined values of `params`. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** The live updates' stream for `params` ({ticket: id} or {queue: department}): an EventSource on
 * GET /api/v1/live (live.js reads it), or null in a browser without EventSource. */
export function liveStream(params) {
  if (typeof EventSource === "undefined") return null;
  return new EventSource(`/api/v1/live${query(params)}`);
}
