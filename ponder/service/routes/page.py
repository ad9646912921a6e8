"""The service's page for people, served at ``/``: enter the API key once (kept for the browser
tab's session, checked against ``GET /v1/collections`` before it is kept), pick a collection and a
method (``auto`` by default: the per-question compute allocator), ask, and see the answer, the
notes, the evidence with its sources and the usage.

One self-contained HTML document (no external scripts, styles or fonts); everything the service
returns is put into the page as text, never as HTML. The page calls the same ``/v1/`` API as any
client, so keys, collection scopes, budgets and rate limits apply to it unchanged.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from ponder.service.container import Service

#: No external resources, no framing; the page talks only to its own origin.
CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
       "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ponder: ask a collection</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.3rem; } h2 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
  input, select, textarea, button { font: inherit; padding: .35rem .5rem; }
  textarea { width: 100%; box-sizing: border-box; }
  .row { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; margin: .4rem 0; }
  .error { background: #fde8e8; border: 1px solid #e0a0a0; padding: .5rem .7rem; border-radius: 4px; }
  .answer { font-size: 1.2rem; font-weight: 600; }
  .muted { color: #666; font-size: .9rem; }
  .evidence li { margin-bottom: .6rem; } .evidence .src { color: #555; font-size: .85rem; }
  [hidden] { display: none !important; }
</style>
</head>
<body>
<h1>Ask a collection</h1>
<p id="error" class="error" role="alert" hidden></p>

<section id="key-section">
  <form id="key-form" class="row">
    <label for="key">API key</label>
    <input id="key" type="password" autocomplete="off" size="40" placeholder="pk-...">
    <button id="save-key" type="submit">Use this key</button>
  </form>
</section>

<section id="ask-section" hidden>
  <div class="row muted"><span id="key-status"></span> <button id="forget-key" type="button">Forget key</button></div>
  <form id="ask-form">
    <div class="row">
      <label for="collection">Collection</label> <select id="collection"></select>
      <label for="method">Method</label>
      <select id="method">
        <option value="auto" selected>auto (compute as needed)</option>
        <option value="single">single</option>
        <option value="vote">vote</option>
        <option value="vote-orders">vote-orders</option>
        <option value="notes">notes</option>
        <option value="forage">forage</option>
        <option value="span">span</option>
        <option value="iterative">iterative</option>
        <option value="adaptive-note-gain">adaptive-note-gain</option>
      </select>
    </div>
    <textarea id="question" rows="2" placeholder="Your question"></textarea>
    <div class="row"><button id="ask" type="submit">Ask</button> <span id="busy" class="muted" hidden>thinking...</span></div>
  </form>
</section>

<section id="result" hidden>
  <h2>Answer</h2>
  <p id="answer" class="answer"></p>
  <p id="raw" class="muted"></p>
  <div id="notes-section" hidden><h2>Notes</h2><ol id="notes"></ol></div>
  <h2>Evidence</h2>
  <ol id="evidence" class="evidence"></ol>
  <h2>Usage</h2>
  <p id="usage" class="muted"></p>
</section>

<script>
"use strict";
const $ = (id) => document.getElementById(id);
const STORE = "ponder-api-key";
let key = sessionStorage.getItem(STORE) || "";

function showError(text) { $("error").textContent = text; $("error").hidden = !text; }

async function errorText(response) {
  let body = null;
  try { body = await response.json(); } catch (e) { /* not JSON */ }
  const err = body && body.error;
  if (response.status === 401) {
    return "This API key was not accepted" + (err && err.message ? ": " + err.message : "") +
      ". Check the key and enter it again.";
  }
  if (!err) return "The service answered " + response.status + " " + response.statusText + ".";
  return err.message + (err.hint ? " (" + err.hint + ")" : "");
}

async function api(path, options) {
  const headers = Object.assign({"Authorization": "Bearer " + key}, (options && options.headers) || {});
  let response;
  try {
    response = await fetch(path, Object.assign({}, options || {}, {headers}));
  } catch (e) {
    throw new Error("The service could not be reached: " + e.message);
  }
  if (!response.ok) {
    const text = await errorText(response);
    const error = new Error(text);
    error.status = response.status;
    throw error;
  }
  return response.json();
}

async function useKey(candidate) {
  key = candidate;
  try {
    const data = await api("/v1/collections");
    sessionStorage.setItem(STORE, key);
    const select = $("collection");
    select.replaceChildren();
    for (const c of data.collections) {
      const option = document.createElement("option");
      option.value = c.name;
      option.textContent = c.name + (c.documents !== undefined ? " (" + c.documents + " documents)" : "");
      select.append(option);
    }
    $("key-status").textContent = data.collections.length
      ? "Key accepted." : "Key accepted, but it may see no collection yet.";
    $("key-section").hidden = true;
    $("ask-section").hidden = false;
    showError("");
  } catch (e) {
    key = "";
    sessionStorage.removeItem(STORE);
    $("key-section").hidden = false;
    $("ask-section").hidden = true;
    showError(e.message);
  }
}

function show(result) {
  $("answer").textContent = result.answer || "(no answer)";
  $("raw").textContent = result.raw && result.raw.trim() !== result.answer ? "Model reply: " + result.raw : "";
  const notes = $("notes");
  notes.replaceChildren();
  const kept = (result.notes || []).filter((n) => n && n.trim());
  for (const n of kept.slice(-1)) {
    const li = document.createElement("li");
    li.textContent = n;
    notes.append(li);
  }
  $("notes-section").hidden = kept.length === 0;
  const evidence = $("evidence");
  evidence.replaceChildren();
  for (const c of result.citations || []) {
    const li = document.createElement("li");
    const title = document.createElement("strong");
    title.textContent = c.title || c.document;
    const src = document.createElement("div");
    src.className = "src";
    src.textContent = (c.source || c.document) + ", characters " + c.start + "-" + c.end + ", score " + Number(c.score).toFixed(3);
    const text = document.createElement("div");
    text.textContent = c.text;
    li.append(title, src, text);
    evidence.append(li);
  }
  const u = result.usage || {};
  $("usage").textContent = result.method + ": " + (u.calls || 0) + " model calls, " + (u.tokens || 0) + " tokens, " +
    (u.retrievals || 0) + " retrievals, " + Number(result.seconds || 0).toFixed(2) + " s" +
    (result.stop ? "; stopped: " + result.stop : "");
  $("result").hidden = false;
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const candidate = $("key").value.trim();
  if (!candidate) { showError("Enter an API key first."); return; }
  $("key").value = "";
  useKey(candidate);
});

$("forget-key").addEventListener("click", () => {
  key = "";
  sessionStorage.removeItem(STORE);
  $("ask-section").hidden = true;
  $("result").hidden = true;
  $("key-section").hidden = false;
});

$("ask-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const question = $("question").value.trim();
  if (!question) { showError("Write a question first."); return; }
  if (!$("collection").value) { showError("This key may see no collection."); return; }
  $("ask").disabled = true;
  $("busy").hidden = false;
  showError("");
  try {
    const result = await api("/v1/ask", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({question, collection: $("collection").value, method: $("method").value}),
    });
    show(result);
  } catch (e) {
    $("result").hidden = true;
    showError(e.message);
    if (e.status === 401) { $("forget-key").click(); showError(e.message); }
  } finally {
    $("ask").disabled = false;
    $("busy").hidden = true;
  }
});

if (key) useKey(key);
</script>
</body>
</html>
"""


def router(service: Service) -> APIRouter:
    """The page at ``/`` (no key needed to load it; every call it makes needs one)."""
    api = APIRouter()

    @api.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse(PAGE, headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                                           "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"})

    return api
