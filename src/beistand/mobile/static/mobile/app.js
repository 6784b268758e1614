/* beistand phone app (/app/): alarm button with press-and-hold or slide, hands-free key,
 * offline SMS fallback with an outbox, receive screen with distance and direction, visits with
 * the lone-worker timer (visit.js), Web Push subscription.
 *
 * Everything personal comes from the API with the device token (Authorization: Bearer) and from
 * the alarm WebSocket (AlarmSocket, shared with the alarm web page: /static/alarms/alarm-socket.js,
 * ?token=); the page itself is a public shell, so the service worker can start it offline.
 */
import { AlarmSocket } from "../alarms/alarm-socket.js";
import { describe, mapHref } from "./geo.js";
import { isIOS, smsHref, smsText } from "./sms.js";
import * as store from "./store.js";
import { VisitScreen } from "./visit.js";

const root = document.getElementById("app");
const API = root.dataset.api;
const IOS = isIOS();
const CONFIG_KEY = "beistand.app.config";
const TOKEN_ID_KEY = "beistand.app.token-id";
const $ = (id) => document.getElementById(id);

let token = localStorage.getItem(store.TOKEN_KEY) || "";
let config = store.load(CONFIG_KEY, null);
let stream = store.load(store.STREAM_KEY, {last: 0, alarms: {}});
let outbox = store.load(store.OUTBOX_KEY, []);
let settings = store.load(store.SETTINGS_KEY, {handsfreeKey: ""});
let socket = null;
let myPos = null;
let visits = null;

// --- Helpers -------------------------------------------------------------------------------------

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
  if (text !== undefined && text !== null) { node.textContent = text; }
  return node;
}

function clock(iso) {
  const d = new Date(iso);
  return isNaN(d.getTime()) ? "" : d.toLocaleTimeString("de-DE", {hour: "2-digit", minute: "2-digit"}) + " Uhr";
}

function vibrate(pattern) {
  try { if (navigator.vibrate) { navigator.vibrate(pattern); } } catch (e) { /* not allowed */ }
}

function newClientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return "app-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The API with the device token. Rejects with .status (HTTP error) or .network (no answer). */
export async function api(path, {method = "GET", body, timeoutMs = 15000} = {}) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  let response;
  try {
    response = await fetch(API + path, {
      method, signal: ctrl.signal, credentials: "omit", cache: "no-store",
      headers: {"Authorization": "Bearer " + token, "Accept": "application/json",
                ...(body !== undefined ? {"Content-Type": "application/json"} : {})},
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch (e) {
    const err = new Error("Keine Verbindung zum Server");
    err.network = true;
    throw err;
  } finally {
    clearTimeout(timer);
  }
  const data = response.status === 204 ? null : await response.json().catch(() => ({}));
  if (response.status === 401) { disconnected(); }
  if (!response.ok) {
    const err = new Error((data && data.detail) || "Fehler " + response.status);
    err.status = response.status;
    throw err;
  }
  return {status: response.status, data};
}

// --- Screens -------------------------------------------------------------------------------------

function show(name) {
  document.querySelectorAll(".bs-screen").forEach((s) => { s.hidden = s.id !== "screen-" + name; });
  document.querySelectorAll(".bs-tabs [data-tab]").forEach((t) => {
    if (t.dataset.tab === name) { t.setAttribute("aria-current", "page"); } else { t.removeAttribute("aria-current"); }
  });
}

document.querySelectorAll(".bs-tabs [data-tab]").forEach((tab) => {
  tab.addEventListener("click", () => show(tab.dataset.tab));
});

function setConn(state, text) {
  const conn = $("conn");
  conn.dataset.state = state;
  conn.querySelector("[data-conn-text]").textContent = text;
}

function disconnected() {
  if (socket) { socket.stop(); socket = null; }
  store.resetDeviceState();
  localStorage.removeItem(TOKEN_ID_KEY);
  token = "";
  document.querySelector(".bs-tabs").hidden = true;
  setConn("offline", "Nicht verbunden");
  show("connect");
}

// --- Position ------------------------------------------------------------------------------------

let watchId = null, lastSentPos = {};
const posTimers = {};

function startWatch() {
  if (watchId !== null || !navigator.geolocation) { return; }
  watchId = navigator.geolocation.watchPosition((p) => {
    myPos = {lat: p.coords.latitude, lon: p.coords.longitude,
             accuracy_m: Math.min(100000, Math.round(p.coords.accuracy || 0)), at: Date.now()};
    onPosition();
  }, () => { /* denied or unavailable: the server's distance is shown instead */ },
  {enableHighAccuracy: true, maximumAge: 10000, timeout: 30000});
}

function stopWatch() {
  if (watchId !== null) { navigator.geolocation.clearWatch(watchId); watchId = null; }
}

function onPosition() {
  const now = Date.now();
  // The sender's position goes to the helpers while the alarm runs (at most every 5 s).
  openOwn().forEach((a) => {
    const wait = 5000 - (now - (lastSentPos[a.id] || 0));
    if (wait > 0) {
      // Throttled: the newest position goes out when the window ends.
      if (!posTimers[a.id]) { posTimers[a.id] = setTimeout(() => { posTimers[a.id] = 0; onPosition(); }, wait); }
      return;
    }
    lastSentPos[a.id] = now;
    api("/alarms/" + a.id + "/position", {method: "POST", body: posBody()}).catch(() => {});
  });
  // As a receiver, the server needs it for "nearest colleagues" and distances (once a minute).
  if (socket && now - (lastSentPos.self || 0) > 60000 && socket.send({type: "position", ...posBody()})) {
    lastSentPos.self = now;
  }
  renderIncoming();
  if (visits) { visits.position(myPos); }
  const sms = $("sms-fallback");
  if (!sms.hidden && pendingSms) { offerSms(pendingSms, true); }
}

function posBody() {
  return {lat: myPos.lat, lon: myPos.lon, accuracy_m: myPos.accuracy_m};
}

function freshPos() {
  return myPos && Date.now() - myPos.at < 5 * 60000 ? myPos : null;
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") { if (token) { startWatch(); } } else { stopWatch(); }
});

// --- Alarm button --------------------------------------------------------------------------------

const button = $("alarm-button");
const ring = button.querySelector(".bs-hold__progress");
const RING = 2 * Math.PI * 54;
ring.style.strokeDasharray = String(RING);
ring.style.strokeDashoffset = String(RING);
let hold = null;

function holdMs() { return (config && config.trigger.hold_ms) || 1500; }

function startHold(event) {
  if (hold || sending) { return; }
  if (event && event.type === "pointerdown") { button.setPointerCapture(event.pointerId); }
  const started = performance.now();
  hold = {raf: 0};
  button.classList.add("bs-hold--pressing");
  const step = (t) => {
    const done = Math.min(1, (t - started) / holdMs());
    ring.style.strokeDashoffset = String(RING * (1 - done));
    if (done >= 1) {
      endHold();
      raise("app");
      return;
    }
    hold.raf = requestAnimationFrame(step);
  };
  hold.raf = requestAnimationFrame(step);
}

function endHold() {
  if (!hold) { return; }
  cancelAnimationFrame(hold.raf);
  hold = null;
  button.classList.remove("bs-hold--pressing");
  ring.style.strokeDashoffset = String(RING);
}

button.addEventListener("pointerdown", (e) => { e.preventDefault(); startHold(e); });
["pointerup", "pointercancel", "lostpointercapture"].forEach((t) => button.addEventListener(t, endHold));
button.addEventListener("contextmenu", (e) => e.preventDefault());
button.addEventListener("keydown", (e) => {
  if ((e.key === " " || e.key === "Enter") && !e.repeat) { e.preventDefault(); startHold(); }
});
button.addEventListener("keyup", (e) => { if (e.key === " " || e.key === "Enter") { endHold(); } });
button.addEventListener("blur", endHold);

const slider = $("alarm-slider");
function slideEnd() {
  if (Number(slider.value) >= 98) { raise("app"); }
  slider.value = "0";
}
slider.addEventListener("pointerup", slideEnd);
slider.addEventListener("keyup", (e) => { if (e.key !== "Tab") { slideEnd(); } });
slider.addEventListener("touchend", slideEnd);

function selectedTemplate() {
  const radio = document.querySelector('input[name="template"]:checked');
  return radio ? radio.value : "beistand";
}

function renderTemplates() {
  const list = $("templates");
  list.textContent = "";
  (config.templates || []).forEach((t, i) => {
    const id = "tpl-" + t.code;
    const item = el("div", {"class": "bs-templates__item"});
    const input = el("input", {type: "radio", name: "template", value: t.code, id});
    if (t.code === "beistand" || (i === 0 && !config.templates.some((x) => x.code === "beistand"))) { input.checked = true; }
    item.append(input, el("label", {"for": id}, t.name));
    list.appendChild(item);
  });
  const slide = config.trigger.mode === "slide";
  button.hidden = slide;
  $("alarm-slide").hidden = !slide;
  const secs = (holdMs() / 1000).toLocaleString("de-DE");
  $("alarm-hint").textContent = (slide
    ? "Regler ganz nach rechts schieben und loslassen."
    : "Zum Auslösen " + secs + " Sekunden gedrückt halten.")
    + " Das schützt vor Alarmen aus der Tasche. Ohne Netz wird eine SMS vorbereitet.";
}

// --- Raising an alarm, outbox, SMS fallback ------------------------------------------------------

let sending = false, pendingSms = null, flushTimer = null;
const result = $("alarm-result");

function setResult(text, kind) {
  result.className = "bs-result" + (kind ? " bs-result--" + kind : "");
  result.textContent = text;
}

function saveOutbox() { store.save(store.OUTBOX_KEY, outbox); }

function locationText() {
  const v = visits && visits.current;
  return v && v.address ? v.address.slice(0, 100) : "";
}

function raise(source) {
  if (sending || !config) { return; }
  sending = true;
  const pos = freshPos();
  const entry = {client_id: newClientId(), at: Date.now(), body: {
    template: selectedTemplate(), source, location_text: locationText()}};
  entry.body.client_id = entry.client_id;
  if (pos) { entry.body.position = {lat: pos.lat, lon: pos.lon, accuracy_m: pos.accuracy_m}; }
  outbox.push(entry);
  saveOutbox();
  setResult("Alarm wird gesendet …", "pending");
  const fallback = setTimeout(() => offerSms(entry), (config.trigger.sms_after_s || 5) * 1000);
  if (!navigator.onLine) { offerSms(entry); }
  sendEntry(entry).then((data) => {
    clearTimeout(fallback);
    confirmed(entry, data);
  }).catch((err) => {
    clearTimeout(fallback);
    if (err.status && err.status < 500) {
      dropFromOutbox(entry);
      setResult("Alarm NICHT ausgelöst: " + err.message, "error");
    } else {
      offerSms(entry);
      scheduleFlush();
    }
  }).finally(() => { sending = false; });
}

function sendEntry(entry) {
  return api("/alarms", {method: "POST", body: entry.body,
                         timeoutMs: Math.max(8000, (config.trigger.sms_after_s || 5) * 2000)})
    .then((res) => res.data);
}

function dropFromOutbox(entry) {
  outbox = outbox.filter((e) => e.client_id !== entry.client_id);
  saveOutbox();
}

function confirmed(entry, data) {
  dropFromOutbox(entry);
  const smsShown = pendingSms && pendingSms.client_id === entry.client_id;
  pendingSms = null;
  $("sms-fallback").hidden = true;
  setResult(smsShown ? "Alarm wurde ausgelöst – über das Datennetz angekommen, die SMS ist nicht mehr nötig."
                     : "Alarm wurde ausgelöst.", "ok");
  vibrate(300);
  const a = stream.alarms[data.id] || {id: data.id, role: "sender", responders: [], messages: []};
  Object.assign(a, {role: "sender", state: data.state, closed: false,
                    template: a.template || {code: data.template, name: templateName(data.template)},
                    triggered_at: a.triggered_at || data.persisted_at});
  stream.alarms[data.id] = a;
  saveStream();
  renderOwn();
  const own = $("own-" + data.id);
  if (own) { own.scrollIntoView({block: "nearest"}); }
  startWatch();
  if (myPos) { lastSentPos[data.id] = 0; onPosition(); }
}

function templateName(code) {
  const t = (config.templates || []).find((x) => x.code === code);
  return t ? t.name : code;
}

function offerSms(entry, refresh) {
  if (!refresh && pendingSms && pendingSms.client_id === entry.client_id) { return; }
  if (!outbox.some((e) => e.client_id === entry.client_id)) { return; } // confirmed meanwhile
  pendingSms = entry;
  const box = $("sms-fallback");
  const number = config.sms_gateway_number;
  const text = smsText(freshPos() || entry.body.position, entry.body.location_text);
  box.hidden = false;
  if (!number) {
    $("sms-link").hidden = true;
    $("sms-text").textContent = text;
    if (!refresh) { setResult("Keine Verbindung – Alarm noch nicht übertragen. Keine SMS-Nummer eingerichtet: bitte 110 anrufen.", "error"); }
    return;
  }
  const href = smsHref(number, text, IOS);
  const link = $("sms-link");
  link.hidden = false;
  link.href = href;
  $("sms-text").textContent = text;
  if (refresh) { return; }
  setResult("Keine Verbindung – Alarm noch nicht übertragen. Bitte die vorbereitete SMS senden.", "error");
  vibrate([100, 100, 100]);
  link.focus();
  // Open the SMS composer at once while the press still counts as a user gesture; otherwise
  // the big button above is one tap away.
  if (navigator.userActivation && navigator.userActivation.isActive) {
    try { window.location.href = href; } catch (e) { /* the link stays */ }
  }
}

function scheduleFlush() {
  clearTimeout(flushTimer);
  if (!outbox.length) { return; }
  flushTimer = setTimeout(flush, 10000);
}

async function flush() {
  clearTimeout(flushTimer);
  for (const entry of [...outbox]) {
    if (Date.now() - entry.at > 60 * 60000) { dropFromOutbox(entry); continue; } // stale
    try {
      const data = await sendEntry(entry);
      confirmed(entry, data);
    } catch (err) {
      if (err.status && err.status < 500) { dropFromOutbox(entry); }
    }
  }
  scheduleFlush();
}

window.addEventListener("offline", () => setConn("offline", "Kein Netz – Alarm nur per SMS"));
window.addEventListener("online", () => { flush(); if (socket) { socket.kick(); } if (visits) { visits.refresh(); } });

// --- Hands-free key ------------------------------------------------------------------------------

let learning = false;

function keyName(e) { return e.key && e.key !== "Unidentified" ? e.key : e.code; }

function renderHandsfree() {
  $("handsfree-key").textContent = settings.handsfreeKey || "keine";
}

$("handsfree-learn").addEventListener("click", () => {
  learning = true;
  $("handsfree-status").textContent = "Jetzt den Taster drücken …";
});
$("handsfree-clear").addEventListener("click", () => {
  settings.handsfreeKey = "";
  store.save(store.SETTINGS_KEY, settings);
  renderHandsfree();
  $("handsfree-status").textContent = "Freisprech-Taster ausgeschaltet.";
});

document.addEventListener("keydown", (e) => {
  const k = keyName(e);
  if (learning) {
    if (k === "Tab" || k === "Escape") { learning = false; $("handsfree-status").textContent = "Abgebrochen."; return; }
    e.preventDefault();
    learning = false;
    settings.handsfreeKey = k;
    store.save(store.SETTINGS_KEY, settings);
    renderHandsfree();
    $("handsfree-status").textContent = "Gespeichert: „" + k + "“ löst den Alarm aus, solange die App offen ist.";
    return;
  }
  if (!settings.handsfreeKey || e.repeat || k !== settings.handsfreeKey || !token) { return; }
  const t = e.target;
  if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) { return; }
  e.preventDefault();
  show("alarm");
  raise("handsfree");
}, true);

// --- Alarm stream (WebSocket) --------------------------------------------------------------------

function saveStream() {
  // Open alarms and the last few ended ones.
  const ids = Object.keys(stream.alarms).map(Number).sort((x, y) => y - x);
  let ended = 0;
  const kept = {};
  ids.forEach((id) => { const a = stream.alarms[id]; if (!a.closed || ended++ < 3) { kept[id] = a; } });
  stream.alarms = kept;
  store.save(store.STREAM_KEY, stream);
}

function openOwn() {
  return Object.values(stream.alarms).filter((a) => a.role === "sender" && !a.closed);
}

function onEvent(ev) {
  stream.last = ev.event_id;
  const id = ev.alarm_id;
  let a = stream.alarms[id];
  if (ev.type === "alarm") {
    a = Object.assign(a || {messages: [], mine: "", muted: false}, ev, {id, closed: false});
    stream.alarms[id] = a;
    if (a.role === "receiver") { startWatch(); }
  } else if (a && ev.type === "alarm_update") {
    a.state = ev.state || a.state;
    if (ev.responders) { a.responders = ev.responders; }
    if (ev.kind === "help_coming") {
      a.help = ev.text;
      if (a.role === "sender") { setResult(ev.text, "ok"); vibrate([200, 100, 200]); }
    } else if (ev.kind === "position" && ev.position) {
      a.location = Object.assign(a.location || {}, {position: ev.position});
    } else if (ev.kind === "resolved" || ev.kind === "cancelled") {
      a.closed = true;
    } else if (ev.kind === "escalated") {
      a.tier = ev.tier;
    } else if (ev.kind === "delivered") {
      a.delivered = ev.delivered;
    }
  } else if (a && ev.type === "message") {
    a.messages = a.messages || [];
    if (!a.messages.some((m) => m.message_id === ev.message_id)) {
      a.messages.push({message_id: ev.message_id, from: (ev.from || {}).name || "", text: ev.text, at: ev.at});
    }
  }
  saveStream();
  renderOwn();
  renderIncoming();
}

function startSocket() {
  if (socket || !token) { return; }
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  socket = new AlarmSocket({
    url: proto + "//" + location.host + root.dataset.ws, token,
    lastEventId: () => stream.last || 0,
    // The server's event store was reset (restored backup): never hide new events as old.
    onServerReset: (serverLast) => { stream.last = serverLast; saveStream(); },
    onEvent,
    onHello: () => { flush(); if (myPos) { lastSentPos.self = 0; onPosition(); } },
    onStatus: (state, detail) => {
      setConn(state, state === "online" ? "Verbunden – Alarme kommen an"
        : state === "connecting" ? "Verbinde …" : "Keine Verbindung" + (detail ? " (" + detail + ")" : "") + " – Alarme kommen evtl. nicht an");
    },
    onAuthFailed: disconnected,
  });
  socket.start();
}

// --- Own alarm (discreet) ------------------------------------------------------------------------

function renderOwn() {
  const box = $("own-alarms");
  box.textContent = "";
  openOwn().sort((x, y) => y.id - x.id).forEach((a) => {
    const item = el("div", {"class": "bs-own__box", id: "own-" + a.id});
    const tpl = a.template || {};
    item.appendChild(el("p", {"class": "bs-own__state"},
      (tpl.test ? "Probealarm" : "Alarm") + " ausgelöst um " + clock(a.triggered_at) +
      (a.delivered ? " · zugestellt an " + a.delivered : "")));
    const coming = (a.responders || []).filter((r) => r.response === "coming").map((r) => r.name);
    item.appendChild(el("p", {"class": "bs-own__help", "data-help": ""},
      coming.length ? "Hilfe kommt: " + coming.join(", ") : "Noch keine Zusage."));
    const btn = el("button", {type: "button", "class": "kern-btn kern-btn--secondary"});
    btn.appendChild(el("span", {"class": "kern-label"}, "Entwarnung geben"));
    btn.addEventListener("click", () => {
      btn.disabled = true;
      api("/alarms/" + a.id + "/resolve", {method: "POST", body: {}}).then(() => {
        a.closed = true;
        saveStream();
        renderOwn();
        setResult("Entwarnung gegeben.", "ok");
      }).catch((err) => { btn.disabled = false; setResult("Entwarnung fehlgeschlagen: " + err.message, "error"); });
    });
    item.appendChild(btn);
    box.appendChild(item);
  });
}

// --- Receive screen ------------------------------------------------------------------------------

const incoming = $("incoming");
let lastFocus = null;

function openIncoming() {
  return Object.values(stream.alarms).filter((a) => a.role === "receiver" && !a.closed)
    .sort((x, y) => y.id - x.id);
}

function place(loc) {
  if (!loc) { return "Ort unbekannt"; }
  const parts = [];
  if (loc.text) { parts.push(loc.text); }
  if (loc.room) { parts.push("Raum " + loc.room + (loc.room_name ? " (" + loc.room_name + ")" : "")); }
  if (loc.floor) { parts.push(loc.floor); }
  if (loc.building) { parts.push(loc.building); }
  if (loc.address) { parts.push(loc.address); } else if (loc.site) { parts.push(loc.site); }
  if (!parts.length && loc.position) { parts.push("Position per GPS"); }
  return parts.join(", ") || "Ort unbekannt";
}

function distanceText(a) {
  const target = a.location && a.location.position;
  const me = freshPos();
  if (target && me) { return describe(me, target); }
  if (a.distance_m !== null && a.distance_m !== undefined) { return "ca. " + a.distance_m + " m"; }
  return "unbekannt";
}

function panel(a) {
  let node = $("rx-" + a.id);
  if (node) { return node; }
  node = $("tpl-incoming").content.firstElementChild.cloneNode(true);
  node.id = "rx-" + a.id;
  const title = node.querySelector('[data-f="title"]');
  title.id = "rx-title-" + a.id;
  node.setAttribute("aria-labelledby", title.id);
  const input = node.querySelector('[data-f="message"]');
  input.id = "rx-msg-" + a.id;
  node.querySelector('[data-f="message-label"]').setAttribute("for", input.id);
  node.querySelector('[data-act="coming"]').addEventListener("click", () => respond(a.id, "coming"));
  node.querySelector('[data-act="cannot"]').addEventListener("click", () => respond(a.id, "cannot"));
  node.querySelector('[data-act="mute"]').addEventListener("click", () => {
    const al = stream.alarms[a.id];
    al.muted = !al.muted;
    saveStream();
    renderIncoming();
  });
  node.querySelector('[data-f="message-form"]').addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) { input.focus(); return; }
    api("/alarms/" + a.id + "/messages", {method: "POST", body: {text}}).then(() => { input.value = ""; })
      .catch((err) => { node.querySelector('[data-f="answer"]').textContent = "Nachricht nicht gesendet: " + err.message; });
  });
  $("incoming-list").prepend(node);
  return node;
}

function renderIncoming() {
  const open = openIncoming();
  document.querySelectorAll("#incoming-list > article").forEach((n) => {
    if (!open.some((a) => "rx-" + a.id === n.id)) { n.remove(); }
  });
  const wasHidden = incoming.hidden;
  incoming.hidden = !open.length;
  root.inert = open.length > 0;
  if (open.length && wasHidden) {
    lastFocus = document.activeElement;
  }
  open.forEach((a) => {
    const node = panel(a);
    const f = (name) => node.querySelector('[data-f="' + name + '"]');
    const tpl = a.template || {};
    f("title").textContent = (tpl.test ? "PROBEALARM: " : "ALARM: ") + (tpl.name || "Alarm") + (a.tier > 1 ? " (Stufe " + a.tier + ")" : "");
    const s = a.sender || {};
    f("name").textContent = (s.name || "unbekannt") + (s.unit ? " (" + s.unit + ")" : "");
    f("time").textContent = clock(a.triggered_at);
    f("place").textContent = place(a.location);
    const pos = a.location && a.location.position;
    const map = f("map");
    map.hidden = !pos;
    if (pos) { map.href = mapHref(pos, "Alarm " + (s.name || ""), IOS); }
    f("distance").textContent = distanceText(a);
    f("instructions").textContent = a.instructions || "";
    const phone = s.mobile || s.phone;
    const call = f("call");
    call.hidden = !phone;
    if (phone) {
      call.href = "tel:" + String(phone).replace(/[^+\d]/g, "");
      call.textContent = "Anrufen (" + phone + ")";
    }
    const come = tpl.come !== false;
    const comingBtn = node.querySelector('[data-act="coming"]');
    comingBtn.textContent = come ? "Ich komme" : "Verstanden";
    node.querySelector('[data-act="cannot"]').hidden = !come;
    comingBtn.setAttribute("aria-pressed", String(a.mine === "coming"));
    node.querySelector('[data-act="cannot"]').setAttribute("aria-pressed", String(a.mine === "cannot"));
    const mute = node.querySelector('[data-act="mute"]');
    mute.setAttribute("aria-pressed", String(!!a.muted));
    mute.textContent = a.muted ? "Ton an" : "Ton aus";
    f("answer").textContent = a.error || ({coming: "Ihre Antwort: Ich komme. Die auslösende Person sieht das.",
                                           cannot: "Ihre Antwort: Kann nicht."}[a.mine] || "");
    const list = f("coming");
    list.textContent = "";
    const names = (a.responders || []).filter((r) => r.response === "coming").map((r) => r.name);
    (names.length ? names : ["noch niemand"]).forEach((n) => list.appendChild(el("li", {}, n)));
    const thread = f("thread");
    thread.textContent = "";
    (a.messages || []).forEach((m) => {
      const li = el("li");
      li.append(el("strong", {}, m.from + ": "), document.createTextNode(m.text + " "), el("span", {"class": "bs-rx__at"}, clock(m.at)));
      thread.appendChild(li);
    });
  });
  if (open.length && wasHidden) {
    const first = incoming.querySelector('[data-act="coming"]');
    if (first) { first.focus(); }
  } else if (!open.length && !wasHidden && lastFocus && lastFocus.focus) {
    lastFocus.focus();
  }
  updateAlert();
}

function respond(id, response) {
  const a = stream.alarms[id];
  api("/alarms/" + id + "/respond", {method: "POST", body: {response}}).then(() => {
    a.mine = response;
    a.error = "";
    saveStream();
    renderIncoming();
  }).catch((err) => {
    a.error = "Antwort nicht gesendet: " + err.message;
    renderIncoming();
  });
}

// Sound and vibration while an incoming alarm is unanswered (browsers allow audio only after a
// first touch on the page: unlocked on the first pointerdown or key).
let audio = null, alertTimer = null;
["pointerdown", "keydown"].forEach((type) => document.addEventListener(type, () => {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!audio && Ctx) { audio = new Ctx(); }
  if (audio && audio.state === "suspended") { audio.resume(); }
}, {capture: true}));

function beep(at, freq) {
  const osc = audio.createOscillator(), gain = audio.createGain();
  osc.type = "square";
  osc.frequency.value = freq;
  gain.gain.setValueAtTime(0.0001, at);
  gain.gain.exponentialRampToValueAtTime(0.25, at + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.2);
  osc.connect(gain).connect(audio.destination);
  osc.start(at);
  osc.stop(at + 0.25);
}

function updateAlert() {
  const want = openIncoming().some((a) => !a.mine && !a.muted);
  if (want && !alertTimer) {
    const ring = () => {
      vibrate([400, 150, 400, 150, 400]);
      if (audio && audio.state === "running") {
        const t = audio.currentTime;
        beep(t, 880); beep(t + 0.3, 660); beep(t + 0.6, 880);
      }
    };
    ring();
    alertTimer = setInterval(ring, 2500);
  } else if (!want && alertTimer) {
    clearInterval(alertTimer);
    alertTimer = null;
    vibrate(0);
  }
  document.title = openIncoming().length ? "ALARM – beistand" : "beistand";
}

// --- Web Push ------------------------------------------------------------------------------------

function handleNotification(action, alarmId) {
  if (action === "coming" && alarmId && stream.alarms[alarmId]) { respond(Number(alarmId), "coming"); }
}

if (navigator.serviceWorker) {
  navigator.serviceWorker.addEventListener("message", (e) => {
    if (e.data && e.data.type === "notification") { handleNotification(e.data.action, e.data.alarm_id); }
  });
}

function b64ToBytes(text) {
  const pad = "=".repeat((4 - text.length % 4) % 4);
  const raw = atob((text + pad).replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

$("push-enable").addEventListener("click", async () => {
  const status = $("push-status");
  try {
    if (!("PushManager" in window) || !navigator.serviceWorker) {
      throw new Error(IOS ? "Auf dem iPhone nur, wenn die App zum Home-Bildschirm hinzugefügt ist (iOS 16.4 oder neuer)."
                          : "Dieser Browser unterstützt keine Web-Push-Benachrichtigungen.");
    }
    const key = await api("/push/vapid-public-key");
    if ((await Notification.requestPermission()) !== "granted") { throw new Error("Benachrichtigungen wurden nicht erlaubt."); }
    const reg = await navigator.serviceWorker.ready;
    const sub = await reg.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: b64ToBytes(key.data.public_key)});
    await api("/push/subscriptions", {method: "POST", body: sub.toJSON()});
    status.textContent = "Benachrichtigungen sind eingeschaltet.";
  } catch (err) {
    status.textContent = "Nicht eingeschaltet: " + err.message;
  }
});

// --- Disconnect ----------------------------------------------------------------------------------

$("disconnect").addEventListener("click", async () => {
  const id = localStorage.getItem(TOKEN_ID_KEY);
  try {
    if (id) { await api("/auth/tokens/" + id, {method: "DELETE"}); }
  } catch (e) { /* revoked or offline: forget it here anyway */ }
  disconnected();
});

// --- Start ---------------------------------------------------------------------------------------

async function loadConfig() {
  try {
    const res = await api("/app/config", {timeoutMs: 8000});
    config = res.data;
    store.save(CONFIG_KEY, config);
    return true;
  } catch (err) {
    if (err.status === 401) { return false; }
    return !!config; // offline: the last known configuration (SMS number, templates)
  }
}

async function findTokenId() {
  if (localStorage.getItem(TOKEN_ID_KEY)) { return; }
  try {
    const res = await api("/auth/tokens");
    const mine = (res.data || []).find((t) => token.startsWith(t.prefix) && !t.revoked_at);
    if (mine) { localStorage.setItem(TOKEN_ID_KEY, String(mine.id)); }
  } catch (e) { /* later */ }
}

async function start() {
  if (navigator.serviceWorker && window.isSecureContext) {
    navigator.serviceWorker.register(root.dataset.sw, {scope: root.dataset.scope}).catch(() => {});
  }
  if (!token) { disconnected(); $("connect-offline").hidden = navigator.onLine; return; }
  setConn("connecting", "Verbinde …");
  if (!(await loadConfig())) { disconnected(); return; }
  if (!token) { return; }
  document.querySelector(".bs-tabs").hidden = false;
  $("me-name").textContent = config.user.name;
  $("more-lookup").hidden = !config.can_lookup;
  $("tab-lookup").hidden = !config.can_lookup;
  renderTemplates();
  renderHandsfree();
  show("alarm");
  renderOwn();
  renderIncoming();
  startSocket();
  if (document.visibilityState === "visible") { startWatch(); }
  visits = new VisitScreen({api, config, vibrate, show, getPos: freshPos});
  visits.refresh();
  findTokenId();
  if (outbox.length) { flush(); }
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get("respond") === "coming") { handleNotification("coming", hash.get("alarm")); history.replaceState(null, "", location.pathname); }
}

start();
