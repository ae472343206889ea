// The few portal pages that mailed links land on. Tokens come in the URL fragment (never sent to
// the server, so never in an access log) and are posted to the API. Output uses textContent only.
"use strict";

function tokenFromFragment() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  return params.get("token");
}

async function postJson(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    credentials: "same-origin",
    body: JSON.stringify(body),
  });
  let data = {};
  try { data = await response.json(); } catch (e) { /* 204 */ }
  return {ok: response.ok, status: response.status, data};
}

function say(text, isError) {
  const box = document.getElementById("result");
  box.textContent = text;
  box.className = isError ? "error" : "ok";
}

function explain(data) {
  const fields = data.fields ? Object.values(data.fields).flat().join(" ") : "";
  return [data.message, fields].filter(Boolean).join(": ");
}
