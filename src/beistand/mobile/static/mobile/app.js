/* beistand phone app (/app/): alarm button with press-and-hold or slide, hands-free key,
 * offline SMS fallback with an outbox, receive screen with distance and direction, visits with
 * the lone-worker timer (visit.js), Web Push subscription.
 *
 * Everything personal comes from the API with the device token (Authorization: Bearer) and from
 * the alarm WebSocket (AlarmSocket, shared with the alarm web page: /static/alarms/alarm-socket.js,
 * token as the beistand.bearer.<token> subprotocol, never in the URL); the page itself is a public shell, so the service worker can start it offline. What
 * the app knows about its alarms is the store of the reducer it shares with the alarm web page
 * (/static/alarms/alarm-state.js), kept in localStorage.
 */
import { AlarmSocket } from "../alarms/alarm-socket.js";
import * as state from "../alarms/alarm-state.js";
import { beep, clock, el, newClientId, runningAudio, soundGate, telHref } from "../alarms/ui.js";
import { describe, mapHref } from "./geo.js";
import { isIOS, smsHref, smsText } from "./sms.js";
import * as store from "./store.js";
import { VisitScreen } from "./visit.js";

const root = document.getElementById("app");
const API = root.dataset.api;
const IOS = isIOS();
const CONFIG_KEY = "beistand.app.config";
const TOKEN_ID_KEY = "beistand.app.token-id";
/** An element of the page by id (its kind is known from the template: typed loosely).
 * @type {(id: string) => any} */
const $ = (id) => document.getElementById(id);

let token = localStorage.getItem(store.TOKEN_KEY) || "";
let config = store.load(CONFIG_KEY, null);
/** @type {import("../alarms/alarm-state.js").AlarmStore} */
let stream = state.restore(store.load(store.STREAM_KEY, null));
let myName = "";
let outbox = store.load(store.OUTBOX_KEY, []);
let settings = store.load(store.SETTINGS_KEY, {handsfreeKey: ""});
let socket = null;
let myPos = null;
let visits = null;

// --- Helpers -------------------------------------------------------------------------------------

function vibrate(pattern) {
  try { if (navigator.vibrate) { navigator.vibrate(pattern); } } catch (e) { /* not allowed */ }
}

/**
 * The API with the device token. Rejects with .status (HTTP error) or .network (no answer).
 * @param {string} path
 * @param {{method?: string, body?: any, timeoutMs?: number}} [options]
 * @returns {Promise<{status: number, data: any}>}
 */
export async function api(path, {method = "GET", body = undefined, timeoutMs = 15000} = {}) {
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
    throw Object.assign(new Error("Keine Verbindung zum Server"), {network: true});
  } finally {
    clearTimeout(timer);
  }
  const data = response.status === 204 ? null : await response.json().catch(() => ({}));
  if (response.status === 401) { disconnected(); }
  if (!response.ok) {
    throw Object.assign(new Error((data && data.detail) || "Fehler " + response.status), {status: response.status});
  }
  return {status: response.status, data};
}

// --- Screens -------------------------------------------------------------------------------------

/** @param {string} name */
function show(name) {
  /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll(".bs-screen")).forEach((s) => { s.hidden = s.id !== "screen-" + name; });
  /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll(".bs-tabs [data-tab]")).forEach((t) => {
    if (t.dataset.tab === name) { t.setAttribute("aria-current", "page"); } else { t.removeAttribute("aria-current"); }
  });
}

/** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll(".bs-tabs [data-tab]")).forEach((tab) => {
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
  /** @type {HTMLElement} */ (document.querySelector(".bs-tabs")).hidden = true;
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
  if (document.visibilityState === "visible") { if (token) { startWatch(); refreshCoverage(); } } else { stopWatch(); }
});

// --- Coverage before pressing (the rule of "Wer bekommt meinen Alarm jetzt?"), updated live -----
// Pushed by the server over the alarm WebSocket (frame "coverage") whenever it changes; the HTTP
// answer is the fallback: at the start, when the app becomes visible, and once a minute.

const COVERAGE_SECONDS = parseInt(root.dataset.coverageRefresh || "", 10) || 60;
/** @type {number | undefined} */
let coverageTimer;

/** @param {any} answer  a coverage frame or the HTTP answer (the same level, level_text) */
function showCoverage(answer) {
  const cov = state.coverageLevel(answer);
  const box = $("coverage");
  box.dataset.level = cov.level;
  const text = box.querySelector("[data-cov-text]");
  if (text.textContent !== cov.text) { text.textContent = cov.text; }
}

async function refreshCoverage() {
  clearTimeout(coverageTimer);
  if (!token) { return; }
  let answer = null;
  try { answer = (await api("/alarms/coverage", {timeoutMs: 8000})).data; } catch (e) { answer = null; }
  // Without an answer, a pushed level stays; "unknown" only when there is none.
  if (answer || $("coverage").dataset.level === "unknown") { showCoverage(answer); }
  if (document.visibilityState === "visible") {
    coverageTimer = window.setTimeout(refreshCoverage, COVERAGE_SECONDS * 1000);
  }
}

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
  const radio = /** @type {HTMLInputElement | null} */ (document.querySelector('input[name="template"]:checked'));
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
  const entry = {client_id: newClientId("app"), at: Date.now(), body: {
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
  // Stored, not yet help: "pending" until someone comes (never a success look before).
  setResult(smsShown ? "Alarm wurde ausgelöst – über das Datennetz angekommen, die SMS ist nicht mehr nötig."
                     : "Alarm wurde ausgelöst.", "pending");
  vibrate(300);
  stream = state.triggered(stream, data, templateName(data.template));
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
      if (err.status && err.status < 500) {
        // Refused for good: say so, never drop a queued alarm silently (an SMS offered for it
        // stays offered: it is the way that is left).
        dropFromOutbox(entry);
        setResult("Alarm NICHT ausgelöst: " + err.message, "error");
      }
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
  const t = /** @type {HTMLElement | null} */ (e.target);
  if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) { return; }
  e.preventDefault();
  show("alarm");
  raise("handsfree");
}, true);

// --- Alarm stream (WebSocket) --------------------------------------------------------------------

function saveStream() {
  // Open alarms and the last few ended ones.
  stream = state.prune(stream, 3);
  store.save(store.STREAM_KEY, stream);
}

function openOwn() {
  return state.openAlarms(stream, "sender");
}

/** @param {import("../alarms/protocol").AlarmProtocolEvent} ev */
function onEvent(ev) {
  const {store: next, change} = state.applyEvent(stream, ev, myName);
  stream = next;
  if (change && change.kind === "alarm" && change.alarm.role === "receiver") { startWatch(); }
  if (change && change.fresh) { notifyAlarm(change.alarm); }
  if (change && change.kind === "help_coming" && change.alarm.role === "sender") {
    setResult(change.alarm.help, "ok");
    vibrate([200, 100, 200]);
  }
  if (change && change.kind === "nobody_coming" && change.alarm.role === "sender" && change.alarm.nobody) {
    setResult("", "");
    vibrate([600, 200, 600, 200, 600]);
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
    epoch: () => stream.epoch || "",
    onEpoch: (epoch) => { stream = state.resetTo(stream, stream.last || 0, epoch); saveStream(); },
    // The server's event store was reset (restored backup): never hide new events as old.
    onServerReset: (serverLast) => { stream = state.resetTo(stream, serverLast); saveStream(); },
    onEvent,
    onHello: (hello) => { myName = hello.name || myName; flush(); if (myPos) { lastSentPos.self = 0; onPosition(); } },
    onStatus: (state, detail) => {
      setConn(state, state === "online" ? "Verbunden – Alarme kommen an"
        : state === "connecting" ? "Verbinde …" : "Keine Verbindung" + (detail ? " (" + detail + ")" : "") + " – Alarme kommen evtl. nicht an");
    },
    onAuthFailed: disconnected,
    onCoverage: showCoverage,
  });
  socket.start();
}

// --- Own alarm (discreet) ------------------------------------------------------------------------

function renderOwn() {
  const box = $("own-alarms");
  box.textContent = "";
  openOwn().forEach((a) => {
    const out = state.senderOutcome(a);
    const item = el("div", {"class": "bs-own__box bs-own__box--" + out.kind, id: "own-" + a.id});
    const tpl = a.template || {};
    item.appendChild(el("p", {"class": "bs-own__state"},
      (tpl.test ? "Probealarm" : "Alarm") + " ausgelöst um " + clock(a.triggered_at)));
    if (out.kind === "nobody") {
      // Prominent and unmistakable, with the emergency call one tap away.
      const warn = el("div", {"class": "bs-nobody", role: "alert", "data-help": "nobody"});
      warn.appendChild(el("p", {"class": "bs-nobody__text"}, out.text));
      const call = el("a", {"class": "bs-nobody__call", href: telHref(out.call || "110")});
      call.appendChild(el("span", {}, (out.call || "110") + " anrufen"));
      warn.append(call, el("p", {"class": "bs-nobody__hint"},
        "Ihr Alarm bleibt offen; Sicherheitsdienst und Administration werden weiter benachrichtigt."));
      item.appendChild(warn);
    } else {
      item.appendChild(el("p", {"class": "bs-own__help", "data-help": out.kind}, out.text));
    }
    const btn = el("button", {type: "button", "class": "kern-btn kern-btn--secondary"});
    btn.appendChild(el("span", {"class": "kern-label"}, "Entwarnung geben"));
    btn.addEventListener("click", () => {
      btn.disabled = true;
      api("/alarms/" + a.id + "/resolve", {method: "POST", body: {}}).then(() => {
        stream = state.update(stream, a.id, {closed: true});
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
  return state.openAlarms(stream, "receiver");
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
  if (a.distance_m !== null && a.distance_m !== undefined) { return "ca. " + state.distanceText(a.distance_m); }
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
  node.querySelector('[data-act="close"]').addEventListener("click", () => {
    stream = state.update(stream, a.id, {dismissed: true});
    saveStream();
    renderIncoming();
  });
  node.querySelector('[data-act="mute"]').addEventListener("click", () => {
    stream = state.toggleMuted(stream, a.id);
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
  // Open alarms and those that ended while on screen (shown as "Entwarnung" until closed).
  const open = state.shownIncoming(stream);
  if (open.some((a) => !a.closed && !a.seen)) {
    open.filter((a) => !a.closed).forEach((a) => { stream = state.update(stream, a.id, {seen: true}); });
    saveStream();
  }
  document.querySelectorAll("#incoming-list > article").forEach((n) => {
    if (!open.some((a) => "rx-" + a.id === n.id)) { n.remove(); }
  });
  const wasHidden = incoming.hidden;
  incoming.hidden = !open.length;
  incoming.classList.toggle("bs-incoming--ended", open.length > 0 && open.every((a) => a.closed));
  root.inert = open.length > 0;
  if (open.length && wasHidden) {
    lastFocus = document.activeElement;
  }
  open.forEach((a) => {
    const node = panel(a);
    /** @type {(name: string) => any} */
    const f = (name) => node.querySelector('[data-f="' + name + '"]');
    const tpl = a.template || {};
    f("title").textContent = (tpl.test ? "PROBEALARM: " : "ALARM: ") + (tpl.name || "Alarm") + (a.tier > 1 ? " (Stufe " + a.tier + ")" : "");
    const s = a.sender || /** @type {Partial<import("../alarms/protocol").Sender>} */ ({});
    f("name").textContent = (s.name || "unbekannt") + (s.unit ? " (" + s.unit + ")" : "");
    f("time").textContent = clock(a.triggered_at);
    f("place").textContent = place(a.location);
    const basis = state.locationBasisText(a, Date.now());
    f("basis").textContent = basis;
    f("basis").hidden = !basis;
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
      call.href = telHref(phone);
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
    node.classList.toggle("bs-rx--ended", a.closed);
    f("ended").textContent = state.endedText(a);
    if (a.closed) {
      comingBtn.hidden = true;
      node.querySelector('[data-act="cannot"]').hidden = true;
      mute.hidden = true;
    }
    f("message-form").hidden = a.closed;
    const closeBtn = node.querySelector('[data-act="close"]');
    closeBtn.hidden = !state.canClose(a);
    closeBtn.textContent = a.closed ? "Schließen" : "Alarm-Anzeige schließen";
    if (a.closed && node.contains(document.activeElement) && !(/** @type {HTMLElement} */ (document.activeElement)).offsetParent) {
      closeBtn.focus();
    }
    const list = f("coming");
    list.textContent = "";
    const names = state.comingNames(a);
    (names.length ? names : ["noch niemand"]).forEach((n) => list.appendChild(el("li", {}, n)));
    const thread = f("thread");
    thread.textContent = "";
    // After the end nobody writes any more: no empty "Nachricht" heading.
    thread.previousElementSibling.hidden = a.closed && !(a.messages || []).length;
    (a.messages || []).forEach((m) => {
      const li = el("li");
      li.append(el("strong", {}, m.from + ": "), document.createTextNode(m.text + " "), el("span", {"class": "bs-rx__at"}, clock(m.at)));
      thread.appendChild(li);
    });
  });
  if (open.length && wasHidden) {
    const first = incoming.querySelector('[data-act="coming"]:not([hidden])') || incoming.querySelector('[data-act="close"]');
    if (first) { first.focus(); }
  } else if (!open.length && !wasHidden && lastFocus && lastFocus.focus) {
    lastFocus.focus();
  }
  updateAlert();
  closeNotifications();
}

/**
 * @param {number} id
 * @param {"coming" | "cannot"} response
 */
function respond(id, response) {
  const a = stream.alarms[id];
  if (a && a.template && a.template.come === false) {
    // Amok: nobody is to come; the server refuses "coming", "Verstanden" stays on this phone.
    stream = state.answered(stream, id, "seen");
    saveStream();
    renderIncoming();
    return;
  }
  api("/alarms/" + id + "/respond", {method: "POST", body: {response}}).then(() => {
    stream = state.answered(stream, id, response);
    saveStream();
    renderIncoming();
  }).catch((err) => {
    stream = state.update(stream, id, {error: "Antwort nicht gesendet: " + err.message});
    renderIncoming();
  });
}

// Sound and vibration while an incoming alarm is unanswered (browsers allow audio only after a
// first touch on the page: ui.js unlocks it on the first pointerdown or key).
/** @type {ReturnType<typeof setInterval> | null} */
let alertTimer = null;

function updateAlert() {
  const want = openIncoming().some((a) => !a.mine && !a.muted);
  if (want && !alertTimer) {
    const ring = () => {
      vibrate([400, 150, 400, 150, 400]);
      const audio = runningAudio();
      if (audio) {
        const t = audio.currentTime;
        beep(audio, t, 880, 0.2, 0.25); beep(audio, t + 0.3, 660, 0.2, 0.25); beep(audio, t + 0.6, 880, 0.2, 0.25);
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

// --- System notification while the app is hidden (Notification API) ------------------------------
// Asked for at login with an explanation (the browser needs a tap to ask); raised for an incoming
// alarm while the app is in the background, closed when the alarm is answered or ends. Phone
// browsers allow notifications only from the service worker: then it shows them.

/** @type {Record<string, Notification | null>} */
const notes = {};

function notifyPermission() {
  return "Notification" in window ? Notification.permission : "unsupported";
}

function notifyGate() {
  const box = $("notify-gate");
  const render = () => {
    const notice = state.notifyNotice(notifyPermission(), {app: true});
    box.hidden = !notice.show;
    box.querySelector("[data-notify-text]").textContent = notice.text;
    box.querySelector("[data-notify-enable]").hidden = !notice.button;
  };
  box.querySelector("[data-notify-enable]").onclick = () => {
    Notification.requestPermission().then(render, render);
  };
  render();
}

/** @param {import("../alarms/alarm-state.js").AlarmView} a */
function notifyAlarm(a) {
  if (!document.hidden || notifyPermission() !== "granted" || String(a.id) in notes) { return; }
  const {title, body} = state.alarmNotification(a);
  const options = {body, tag: "beistand-alarm-" + a.id, requireInteraction: true,
                   icon: root.dataset.icon || undefined};
  try {
    const note = new Notification(title, options);
    note.onclick = () => { window.focus(); note.close(); };
    notes[a.id] = note;
  } catch (e) {
    notes[a.id] = null;  // shown by the service worker
    if (navigator.serviceWorker) {
      navigator.serviceWorker.ready.then((reg) => reg.showNotification(title, options)).catch(() => {});
    }
  }
}

/** Closes the notifications of alarms that were answered or have ended. */
function closeNotifications() {
  for (const id of Object.keys(notes)) {
    const a = stream.alarms[id];
    if (a && !a.closed && !a.mine) { continue; }
    const note = notes[id];
    delete notes[id];
    if (note) { note.close(); continue; }
    if (navigator.serviceWorker) {
      navigator.serviceWorker.ready.then((reg) => reg.getNotifications({tag: "beistand-alarm-" + id}))
        .then((list) => list.forEach((n) => n.close())).catch(() => {});
    }
  }
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
  /** @type {HTMLElement} */ (document.querySelector(".bs-tabs")).hidden = false;
  $("me-name").textContent = config.user.name;
  $("more-lookup").hidden = !config.can_lookup;
  $("tab-lookup").hidden = !config.can_lookup;
  renderTemplates();
  renderHandsfree();
  show("alarm");
  soundGate($("sound-gate"));
  notifyGate();
  renderOwn();
  renderIncoming();
  startSocket();
  refreshCoverage();
  if (document.visibilityState === "visible") { startWatch(); }
  visits = new VisitScreen({api, config, vibrate, show, getPos: freshPos});
  visits.refresh();
  findTokenId();
  if (outbox.length) { flush(); }
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get("respond") === "coming") { handleNotification("coming", hash.get("alarm")); history.replaceState(null, "", location.pathname); }
}

start();
