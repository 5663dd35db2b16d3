// kato console: calls kato's own API with the Connect protocol (JSON over fetch) on the same
// origin. Every server-supplied string is rendered with textContent (never as HTML), and the page's
// Content-Security-Policy allows no inline script. An API key, when the server needs one, is kept
// in this tab's sessionStorage only and sent as the usual `authorization` header.
"use strict";

const KEY_STORE = "kato-console-api-key";
let apiKey = sessionStorage.getItem(KEY_STORE) || "";
const $ = (id) => document.getElementById(id);

// ---- calls -----------------------------------------------------------------------------------

class CallError extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

function headers(extra) {
  const h = Object.assign({}, extra);
  if (apiKey) h["Authorization"] = "Bearer " + apiKey;
  return h;
}

// A Connect unary call with a JSON body.
async function call(service, method, body) {
  const response = await fetch("/kato.v2." + service + "/" + method, {
    method: "POST", headers: headers({ "Content-Type": "application/json", "Connect-Protocol-Version": "1" }),
    body: JSON.stringify(body || {}),
  });
  return answer(response);
}

// A read (a method declared side-effect free) as a Connect GET: the browser keeps the answer and
// revalidates it each time (the server's etag; a 304 when nothing changed saves the transfer).
async function read(service, method, body) {
  const query = "?connect=v1&encoding=json&message=" + encodeURIComponent(JSON.stringify(body || {}));
  const response = await fetch("/kato.v2." + service + "/" + method + query, { headers: headers({}), cache: "no-cache" });
  return answer(response);
}

async function answer(response) {
  const text = await response.text();
  let data = {};
  try { data = text ? JSON.parse(text) : {}; } catch (e) { data = { message: text }; }
  if (!response.ok) throw new CallError(data.code || String(response.status), data.message || response.statusText);
  return data;
}

// A Connect server-streaming call (JSON): `onMessage` gets each message until the stream ends.
async function stream(service, method, body, onMessage, signal) {
  const json = new TextEncoder().encode(JSON.stringify(body || {}));
  const envelope = new Uint8Array(5 + json.length);
  new DataView(envelope.buffer).setUint32(1, json.length);
  envelope.set(json, 5);
  const response = await fetch("/kato.v2." + service + "/" + method, {
    method: "POST", headers: headers({ "Content-Type": "application/connect+json", "Connect-Protocol-Version": "1" }),
    body: envelope, signal,
  });
  if (!response.ok) {
    let data = {};
    try { data = await response.json(); } catch (e) { /* not JSON */ }
    throw new CallError(data.code || String(response.status), data.message || response.statusText);
  }
  const reader = response.body.getReader();
  let buffer = new Uint8Array(0);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const joined = new Uint8Array(buffer.length + value.length);
    joined.set(buffer); joined.set(value, buffer.length);
    buffer = joined;
    while (buffer.length >= 5) {
      const view = new DataView(buffer.buffer, buffer.byteOffset);
      const flags = view.getUint8(0), length = view.getUint32(1);
      if (buffer.length < 5 + length) break;
      const message = JSON.parse(new TextDecoder().decode(buffer.subarray(5, 5 + length)));
      buffer = buffer.slice(5 + length);
      if (flags & 0x02) {
        if (message.error) throw new CallError(message.error.code, message.error.message);
        return;
      }
      onMessage(message);
    }
  }
}

async function fetchStatus() {
  const response = await fetch("status.json", { headers: headers({}), cache: "no-store" });
  const data = await response.json();
  if (!response.ok) throw new CallError(data.code || String(response.status), data.message || response.statusText);
  return data;
}

// ---- rendering (text only) -------------------------------------------------------------------

function el(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (className) e.className = className;
  return e;
}

function setText(id, text) { $(id).textContent = String(text); }

function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

function symbols(list) {
  const span = el("span");
  for (const s of list || []) span.appendChild(el("span", s, "symbol"));
  return span;
}

function eventsCell(events) {
  const cell = el("td");
  for (const event of events || []) {
    const line = el("div");
    line.appendChild(symbols(event.symbols));
    cell.appendChild(line);
  }
  return cell;
}

function showError(error) {
  const box = $("error");
  if (!error) { box.hidden = true; return; }
  box.textContent = (error.code ? error.code + ": " : "") + error.message;
  box.hidden = false;
  if (error.code === "unauthenticated" || error.code === "permission_denied") $("auth").hidden = false;
}

// ---- server status and sessions ----------------------------------------------------------------

let lastCalls = null;

async function refreshStatus() {
  let status;
  try {
    status = await fetchStatus();
  } catch (error) {
    $("connection").textContent = "offline";
    $("connection").className = "badge bad";
    if (error instanceof CallError) showError(error);
    return;
  }
  $("connection").textContent = status.serving ? "serving" : "not serving";
  $("connection").className = "badge " + (status.serving ? "ok" : "bad");
  setText("m-health", status.serving ? "SERVING" : "NOT_SERVING");
  setText("m-degradation", status.degradation.name + " (" + status.degradation.level + ")");
  setText("m-uptime", formatDuration(status.uptime_seconds));
  setText("m-sessions", status.sessions_active);
  if (status.calls_total !== null && status.calls_total !== undefined) {
    setText("m-calls", status.calls_total + " / " + status.calls_failed);
    const now = { t: Date.now(), total: status.calls_total, failed: status.calls_failed };
    if (lastCalls && now.t > lastCalls.t) {
      const seconds = (now.t - lastCalls.t) / 1000;
      setText("m-rate", ((now.total - lastCalls.total) / seconds).toFixed(1));
      setText("m-errors", ((now.failed - lastCalls.failed) / seconds).toFixed(1));
    }
    lastCalls = now;
  } else {
    setText("m-calls", "no metrics backend");
  }
  renderSessions(status.sessions || [], status.sessions_active);
}

function formatDuration(seconds) {
  const s = Math.floor(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return (h ? h + " h " : "") + (h || m ? m + " min " : "") + (s % 60) + " s";
}

let selectedSession = null;
let subscription = null;

let renderedSessions = "";

function renderSessions(sessions, active) {
  const key = JSON.stringify(sessions) + "/" + active;
  if (key === renderedSessions) return;  // unchanged: keep the rows (and what the user is pointing at)
  renderedSessions = key;
  const rows = $("session-rows");
  clear(rows);
  for (const s of sessions) {
    const tr = el("tr", undefined, "clickable" + (s.session_id === selectedSession ? " selected" : ""));
    tr.dataset.session = s.session_id;
    tr.appendChild(el("td", s.session_id, "name"));
    tr.appendChild(el("td", s.node_id));
    tr.appendChild(el("td", s.stm_events));
    tr.appendChild(el("td", s.subscribers));
    tr.addEventListener("click", () => openSession(s.session_id, s.node_id));
    rows.appendChild(tr);
  }
  setText("session-count", sessions.length < active ? "showing " + sessions.length + " of " + active : "");
}

function openSession(sessionID, nodeID) {
  if (subscription) subscription.abort();
  selectedSession = sessionID;
  for (const tr of $("session-rows").children) tr.classList.toggle("selected", tr.dataset.session === sessionID);
  $("session-detail").hidden = false;
  setText("sd-id", sessionID);
  $("sd-live").textContent = "connecting";
  const controller = new AbortController();
  subscription = controller;
  stream("PredictService", "SubscribePredictions", { sessionId: sessionID, nodeId: nodeID, sendInitial: true },
    (update) => {
      $("sd-live").textContent = "live";
      $("sd-live").className = "badge ok";
      renderUpdate(update);
    }, controller.signal)
    .then(() => { $("sd-live").textContent = "ended"; $("sd-live").className = "badge"; })
    .catch((error) => {
      if (controller.signal.aborted) return;
      $("sd-live").textContent = "ended";
      $("sd-live").className = "badge bad";
      showError(error);
    });
}

function renderUpdate(update) {
  setText("sd-seq", "update " + (update.sequence || 0) + " (" + (update.cause || "") + ")");
  const stm = $("sd-stm");
  clear(stm);
  for (const event of update.stm || []) {
    const li = el("li");
    li.appendChild(symbols(event.symbols));
    stm.appendChild(li);
  }
  const rows = $("sd-predictions");
  clear(rows);
  for (const p of update.predictions || []) {
    const tr = el("tr", undefined, "prediction");
    tr.appendChild(el("td", p.name, "name"));
    const matches = el("td");
    matches.appendChild(symbols(p.matches));
    tr.appendChild(matches);
    tr.appendChild(eventsCell(p.future));
    tr.appendChild(el("td", Number(p.potential || 0).toFixed(3)));
    tr.appendChild(el("td", Number(p.similarity || 0).toFixed(3)));
    rows.appendChild(tr);
  }
}

// ---- knowledge base --------------------------------------------------------------------------

// Page tokens of the pages before the current one (the first page's is "").
let tokens = [""];
let nextToken = "";

function query() {
  return {
    nodeId: $("kb-node").value.trim(), symbol: $("kb-symbol").value.trim(), namePrefix: $("kb-prefix").value.trim(),
    order: $("kb-order").value, pageSize: Number($("kb-size").value),
  };
}

async function loadPage() {
  const q = query();
  q.pageToken = tokens[tokens.length - 1];
  try {
    const page = await read("KnowledgeBaseService", "ListPatterns", q);
    showError(null);
    renderPatterns(page.patterns || []);
    nextToken = page.nextPageToken || "";
    const total = Number(page.totalSize || 0);
    const first = (tokens.length - 1) * q.pageSize;
    setText("kb-page", total === 0 ? "no patterns"
      : "patterns " + (first + 1) + "–" + (first + (page.patterns || []).length) + " of " + total);
    $("kb-prev").disabled = tokens.length <= 1;
    $("kb-next").disabled = !nextToken;
  } catch (error) {
    showError(error);
  }
}

async function loadStatistics() {
  try {
    const s = await read("KnowledgeBaseService", "GetKnowledgeBaseStatistics", { nodeId: query().nodeId });
    setText("s-patterns", s.patternCount || 0);
    setText("s-symbols", s.symbolCount || 0);
    setText("s-frequency", s.totalFrequency || 0);
    setText("s-lengths", (s.lengthDistribution || []).map((c) => c.length + ": " + c.patterns).join(", ") || "–");
    const top = $("s-top");
    clear(top);
    for (const t of (s.topSymbols || []).slice(0, 8)) {
      top.appendChild(el("span", t.symbol + " ×" + t.frequency, "symbol"));
    }
  } catch (error) {
    showError(error);
  }
}

function renderPatterns(patterns) {
  const rows = $("pattern-rows");
  clear(rows);
  for (const p of patterns) {
    const tr = el("tr", undefined, "clickable pattern");
    tr.dataset.name = p.name;
    tr.appendChild(el("td", p.name, "name"));
    tr.appendChild(eventsCell(p.patternData));
    tr.appendChild(el("td", p.length || 0));
    tr.appendChild(el("td", p.frequency || 0));
    const actions = el("td");
    const del = el("button", "Delete", "danger delete");
    del.type = "button";
    del.addEventListener("click", (e) => { e.stopPropagation(); deletePattern(p.name); });
    actions.appendChild(del);
    tr.appendChild(actions);
    tr.addEventListener("click", () => showPattern(p));
    rows.appendChild(tr);
  }
}

function showPattern(p) {
  $("pattern-detail").hidden = false;
  setText("pd-name", p.name);
  const events = $("pd-events");
  clear(events);
  for (const e of p.patternData || []) {
    const li = el("li");
    li.appendChild(symbols(e.symbols));
    events.appendChild(li);
  }
  const emotives = $("pd-emotives");
  clear(emotives);
  for (const profile of p.emotives || []) {
    emotives.appendChild(el("li", Object.entries(profile.values || {}).map(([k, v]) => k + ": " + v).join(", ")));
  }
  const metadata = $("pd-metadata");
  clear(metadata);
  for (const [key, list] of Object.entries(p.metadata || {})) {
    metadata.appendChild(el("li", key + ": " + (list.values || []).join(", ")));
  }
}

async function deletePattern(name) {
  if (!window.confirm("Delete pattern " + name + "? Predictions will be as if it had never been learned.")) return;
  try {
    await call("KnowledgeBaseService", "DeletePattern", { nodeId: query().nodeId, name });
    showError(null);
    $("pattern-detail").hidden = true;
    await Promise.all([loadPage(), loadStatistics()]);
  } catch (error) {
    showError(error);
  }
}

function search() {
  tokens = [""];
  return Promise.all([loadPage(), loadStatistics()]);
}

// ---- wiring ----------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("kb-form").addEventListener("submit", (e) => { e.preventDefault(); search(); });
  $("kb-order").addEventListener("change", () => search());
  $("kb-size").addEventListener("change", () => search());
  $("kb-next").addEventListener("click", () => { if (nextToken) { tokens.push(nextToken); loadPage(); } });
  $("kb-prev").addEventListener("click", () => { if (tokens.length > 1) { tokens.pop(); loadPage(); } });
  $("auth").addEventListener("submit", (e) => {
    e.preventDefault();
    apiKey = $("api-key").value.trim();
    $("api-key").value = "";
    if (apiKey) sessionStorage.setItem(KEY_STORE, apiKey); else sessionStorage.removeItem(KEY_STORE);
    $("auth").hidden = true;
    $("forget-key").hidden = !apiKey;
    showError(null);
    refreshStatus();
    search();
  });
  $("forget-key").addEventListener("click", () => {
    apiKey = "";
    sessionStorage.removeItem(KEY_STORE);
    $("forget-key").hidden = true;
    $("auth").hidden = false;
  });
  $("forget-key").hidden = !apiKey;
  const node = new URLSearchParams(location.search).get("node");
  if (node) $("kb-node").value = node;
  refreshStatus();
  setInterval(refreshStatus, 2000);
  search();
});
