/* The "Stiller Alarm" page: trigger button and browser receive client.
 *
 * Trigger: POST /api/v1/alarms with the session (CSRF header) and a client_id generated per
 * press, repeated unchanged on retries (the server returns the same alarm). "Alarm wurde
 * ausgelöst" only after the server confirmed it stored the alarm.
 *
 * Receive: WebSocket /ws/v1/alarms (session cookie, same origin) through the shared protocol
 * client AlarmSocket (alarm-socket.js, docs/alarm-protocol.md: hello -> resume, receipts,
 * duplicates dropped, pong, watchdog, backoff, close code 4401 = the session ended). What the
 * page knows about its alarms is the store of the shared reducer (alarm-state.js, the same as
 * the phone app's), kept with this person's name in sessionStorage. Actions (respond, message,
 * all-clear) go over the open socket, without one over HTTP; their effects come back as events.
 */
import { AlarmSocket } from "./alarm-socket.js";
import * as state from "./alarm-state.js";
import { audioContext, beep, clock, el, newClientId, runningAudio, soundGate, telHref } from "./ui.js";

/**
 * @typedef {import("./alarm-state.js").AlarmView} AlarmView
 * @typedef {import("./alarm-state.js").AlarmStore} AlarmStore
 * @typedef {import("./protocol").ClientFrame} ClientFrame
 * @typedef {import("./protocol").Location} Location
 * @typedef {import("./protocol").TriggerAnswer} TriggerAnswer
 * @typedef {Error & {status?: number, code?: string}} RequestError
 */

const app = document.getElementById("alarm-app");
if (app) { start(app); }

/** @param {HTMLElement} app */
function start(app) {
  const form = /** @type {HTMLFormElement} */ (document.getElementById("alarm-form"));
  const API = app.dataset.api;
  const WS_PATH = app.dataset.ws;
  const REPORT_URL = app.dataset.reportUrl;
  const DETAIL_URL = app.dataset.detailUrl;
  const NO_ROOM = app.dataset.noRoom === "1";
  const STORE_KEY = "beistand.alarm." + app.dataset.user;
  const heartbeat = parseInt(app.dataset.heartbeat, 10) || 15;
  const csrf = /** @type {HTMLInputElement} */ (form.querySelector('input[name="csrfmiddlewaretoken"]')).value;

  const incoming = document.getElementById("alarm-incoming");
  const own = document.getElementById("alarm-own");
  const conn = document.getElementById("alarm-connection");
  const connText = conn.querySelector("[data-conn-text]");
  const result = document.getElementById("alarm-result");
  const button = /** @type {HTMLButtonElement} */ (document.getElementById("alarm-button"));
  const confirmBox = document.getElementById("alarm-confirm");
  const panelTemplate = /** @type {HTMLTemplateElement} */ (document.getElementById("tpl-incoming"));
  const baseTitle = document.title;

  // --- State (survives a reload of the tab) -----------------------------------------------------

  /** @type {AlarmStore} */
  let store = state.emptyStore();
  let myName = "";
  let replayUntil = 0;   // events up to this id are history: rebuild quietly, then show
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORE_KEY) || "null");
    store = state.restore(saved);
    myName = (saved && saved.name) || "";
  } catch (e) { /* a broken entry: start fresh */ }

  function save() {
    // Keep open alarms and the last few ended ones (for "Vorfall melden").
    store = state.prune(store, 5);
    try {
      sessionStorage.setItem(STORE_KEY, JSON.stringify({...store, name: myName}));
    } catch (e) { /* storage full or disabled: resume starts from the server's receipts */ }
  }

  /** @param {number | string} id */
  const alarmOf = (id) => store.alarms[id];

  // --- Helpers ------------------------------------------------------------------------------

  /** @param {string | null | undefined} iso */
  const time = (iso) => clock(iso, {seconds: true});

  /**
   * @param {string} path
   * @param {object} [body]
   * @returns {Promise<{status: number, data: any}>}
   */
  async function post(path, body) {
    const response = await fetch(API + path, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json"},
      body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw Object.assign(new Error(data.detail || "Fehler " + response.status), {status: response.status});
    }
    return {status: response.status, data};
  }

  /** @param {Partial<Location> | undefined} loc */
  function place(loc) {
    if (!loc) { return "Ort unbekannt"; }
    const parts = [];
    if (loc.room) { parts.push("Raum " + loc.room + (loc.room_name ? " (" + loc.room_name + ")" : "")); }
    if (loc.floor) { parts.push(loc.floor); }
    if (loc.building) { parts.push(loc.building); }
    if (loc.site) { parts.push(loc.site); }
    if (loc.text) { parts.push(loc.text); }
    if (!parts.length && loc.position) { parts.push("Standort per GPS"); }
    return parts.join(", ") || "Ort unbekannt";
  }

  /** @param {Partial<Location> | undefined} loc */
  function mapLinks(loc) {
    const span = el("span", {"class": "bs-alarm-panel__maps"});
    if (!loc) { return span; }
    if (loc.position) {
      const {lat, lon} = loc.position;
      span.append(
        el("a", {"class": "kern-link", href: "geo:" + lat + "," + lon}, "Karten-App"),
        " · ",
        el("a", {"class": "kern-link", target: "_blank", rel: "noopener",
          href: `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=19/${lat}/${lon}`},
        "OpenStreetMap"));
    } else if (loc.address) {
      span.appendChild(el("a", {"class": "kern-link", target: "_blank", rel: "noopener",
        href: "https://www.openstreetmap.org/search?query=" + encodeURIComponent(loc.address)},
      "Adresse auf der Karte"));
    }
    return span;
  }

  // --- Sound: WebAudio, repeating until the alarm is answered or muted ---------------------------

  /** @type {ReturnType<typeof setInterval> | null} */
  let soundTimer = null;

  const needsSound = () => Object.values(store.alarms).some(
    (a) => a.role === "receiver" && !a.closed && !a.mine && !a.muted);

  function updateSound() {
    const want = needsSound();
    if (want && !soundTimer) {
      const ring = () => {
        const ctx = runningAudio();
        if (!ctx) { return; }
        const t = ctx.currentTime;
        beep(ctx, t, 880, 0.18, 0.2);
        beep(ctx, t + 0.25, 660, 0.18, 0.2);
        beep(ctx, t + 0.5, 880, 0.18, 0.2);
      };
      audioContext();
      ring();
      soundTimer = setInterval(ring, 2000);
    } else if (!want && soundTimer) {
      clearInterval(soundTimer);
      soundTimer = null;
    }
    document.title = state.openAlarms(store, "receiver").length ? "ALARM – " + baseTitle : baseTitle;
  }

  // --- System notification while the page is hidden (Notification API) ---------------------------

  /** @param {HTMLElement} box */
  function notifyGate(box) {
    const text = /** @type {HTMLElement} */ (box.querySelector("[data-notify-text]"));
    const button = /** @type {HTMLButtonElement} */ (box.querySelector("[data-notify-enable]"));
    const render = () => {
      const notice = state.notifyNotice("Notification" in window ? Notification.permission : "unsupported");
      box.hidden = !notice.show;
      text.textContent = notice.text;
      button.hidden = !notice.button;
    };
    button.addEventListener("click", () => {
      Notification.requestPermission().then(render, render);
    });
    render();
  }

  /** @param {AlarmView} a */
  function notify(a) {
    if (!document.hidden || !("Notification" in window) || Notification.permission !== "granted") { return; }
    const {title, body} = state.alarmNotification(a);
    try {
      const note = new Notification(title, {body, tag: "beistand-alarm-" + a.id, requireInteraction: true});
      note.onclick = () => { window.focus(); note.close(); };
    } catch (e) { /* some browsers allow notifications only from a service worker */ }
  }

  // --- Rendering: receive panel (role receiver) ---------------------------------------------------

  /** @param {AlarmView} a */
  function panelFor(a) {
    let panel = document.getElementById("alarm-panel-" + a.id);
    if (panel) { return panel; }
    panel = /** @type {HTMLElement} */ (panelTemplate.content.firstElementChild.cloneNode(true));
    panel.id = "alarm-panel-" + a.id;
    const title = panel.querySelector('[data-f="title"]');
    title.id = "alarm-title-" + a.id;
    panel.setAttribute("aria-labelledby", title.id);
    const instr = panel.querySelector('[data-f="instructions"]');
    instr.id = "alarm-instr-" + a.id;
    panel.setAttribute("aria-describedby", instr.id);
    const input = /** @type {HTMLInputElement} */ (panel.querySelector('[data-f="message"]'));
    input.id = "alarm-msg-" + a.id;
    panel.querySelector('[data-f="message-label"]').setAttribute("for", input.id);
    panel.querySelector('[data-act="coming"]').addEventListener("click", () => answer(a.id, "coming"));
    panel.querySelector('[data-act="cannot"]').addEventListener("click", () => answer(a.id, "cannot"));
    panel.querySelector('[data-act="mute"]').addEventListener("click", () => {
      store = state.toggleMuted(store, a.id);
      save();
      renderPanel(alarmOf(a.id));
      updateSound();
    });
    const status = panel.querySelector('[data-f="answer"]');
    panel.querySelector('[data-f="message-form"]').addEventListener("submit", (ev) => {
      ev.preventDefault();
      sendMessage(a.id, input, status);
    });
    incoming.insertBefore(panel, incoming.firstChild);
    return panel;
  }

  /** @param {AlarmView} a */
  function renderPanel(a) {
    const panel = panelFor(a);
    /** @param {string} name @returns {HTMLElement} */
    const f = (name) => panel.querySelector(`[data-f="${name}"]`);
    const tpl = a.template || {};
    panel.classList.toggle("bs-alarm-panel--test", !!tpl.test);
    panel.classList.toggle("bs-alarm-panel--stay", tpl.come === false);
    f("title").textContent = (tpl.test ? "PROBEALARM – " : "Stiller Alarm: ") + (tpl.name || "Alarm")
      + (a.tier > 1 ? " (Stufe " + a.tier + ")" : "");
    f("time").textContent = "ausgelöst um " + time(a.triggered_at);
    const s = a.sender || /** @type {Partial<import("./protocol").Sender>} */ ({});
    f("name").textContent = (s.name || "unbekannt") + (s.unit ? " (" + s.unit + ")" : "");
    f("place").textContent = place(a.location);
    const basis = state.locationBasisText(a, Date.now());
    f("basis").textContent = basis;
    f("basis").hidden = !basis;
    const maps = f("maplinks");
    maps.textContent = "";
    maps.appendChild(mapLinks(a.location));
    const noDistance = a.distance_m === null || a.distance_m === undefined;
    f("distance-row").hidden = noDistance;
    f("distance").textContent = noDistance ? "" : "ca. " + state.distanceText(a.distance_m);
    const phones = f("phones");
    phones.textContent = "";
    for (const [key, label] of /** @type {const} */ ([["phone", "Dienst"], ["mobile", "Handy"]])) {
      if (!s[key]) { continue; }
      if (phones.childNodes.length) { phones.append(" · "); }
      phones.appendChild(el("a", {"class": "kern-link", href: telHref(s[key])}, label + ": " + s[key]));
    }
    f("phone-row").hidden = !phones.childNodes.length;
    f("instructions").textContent = a.instructions || "";
    const come = tpl.come !== false;
    const comingBtn = panel.querySelector('[data-act="coming"]');
    const cannotBtn = /** @type {HTMLElement} */ (panel.querySelector('[data-act="cannot"]'));
    comingBtn.querySelector(".kern-label").textContent = come ? "Ich komme" : "Verstanden";
    cannotBtn.hidden = !come;
    comingBtn.setAttribute("aria-pressed", a.mine === "coming" || a.mine === "seen" ? "true" : "false");
    cannotBtn.setAttribute("aria-pressed", a.mine === "cannot" ? "true" : "false");
    const mute = panel.querySelector('[data-act="mute"]');
    mute.setAttribute("aria-pressed", a.muted ? "true" : "false");
    mute.querySelector(".kern-label").textContent = a.muted ? "Ton an" : "Ton aus";
    const answerText = {coming: "Ihre Antwort: Ich komme. Die auslösende Person sieht das.",
                        cannot: "Ihre Antwort: Kann nicht.", seen: "Gelesen."}[a.mine] || "";
    f("answer").textContent = a.error || answerText;
    const list = f("coming");
    list.textContent = "";
    const names = state.comingNames(a);
    if (!names.length) { list.appendChild(el("li", {}, "noch niemand")); }
    names.forEach((n) => list.appendChild(el("li", {}, n)));
    const thread = f("thread");
    thread.textContent = "";
    for (const m of a.messages || []) {
      const li = el("li");
      li.append(el("strong", {}, m.from + ": "), m.text + " ",
        el("span", {"class": "bs-alarm-panel__at"}, time(m.at)));
      thread.appendChild(li);
    }
    return panel;
  }

  /** @param {AlarmView} a */
  function closePanel(a) {
    const panel = document.getElementById("alarm-panel-" + a.id);
    if (panel) { panel.remove(); }
  }

  // --- Rendering: the sender's own alarm (discreet) and ended alarms ------------------------------

  function renderOwn() {
    own.textContent = "";
    Object.values(store.alarms).filter((a) => a.role === "sender").sort((x, y) => y.id - x.id).forEach((a) => {
      const id = a.id;
      const box = el("div", {"class": "bs-alarm__ownbox" + (a.closed ? " bs-alarm__ownbox--ended" : ""), id: "alarm-own-" + id});
      const tpl = a.template || {};
      if (a.closed) {
        box.appendChild(el("p", {}, (a.state === "cancelled" ? "Abgebrochen: " : "Entwarnung: ")
          + (tpl.name || "Alarm") + " von " + time(a.triggered_at) + "."));
        if (a.state === "resolved" && !tpl.test) { box.appendChild(reportLink(id)); }
      } else {
        box.appendChild(el("p", {"class": "bs-alarm__ownline"},
          (tpl.test ? "Probealarm" : "Ihr Alarm") + " (" + (tpl.name || "") + ") ist ausgelöst, " + time(a.triggered_at)));
        box.appendChild(outcomeBox(a));
        const row = el("div", {"class": "bs-alarm__row"});
        const resolve = el("button", {type: "button", "class": "kern-btn kern-btn--secondary kern-btn--x-small"});
        resolve.appendChild(el("span", {"class": "kern-label"}, "Entwarnung geben"));
        resolve.addEventListener("click", () => {
          resolve.disabled = true;
          command({type: "resolve", alarm_id: id}, "/alarms/" + id + "/resolve", {}).catch((err) => {
            resolve.disabled = false;
            box.appendChild(el("p", {"class": "bs-alarm__error"}, "Entwarnung fehlgeschlagen: " + err.message));
          });
        });
        row.appendChild(resolve);
        if (a.state === "countdown") {
          const cancel = el("button", {type: "button", "class": "kern-btn kern-btn--secondary kern-btn--x-small"});
          cancel.appendChild(el("span", {"class": "kern-label"}, "Vorlauf abbrechen"));
          cancel.addEventListener("click", () => { post("/alarms/" + id + "/cancel", {}); });
          row.appendChild(cancel);
        }
        box.appendChild(row);
      }
      own.appendChild(box);
    });
  }

  /**
   * What the sender sees about the outcome: never success for an alarm nobody accepted; the
   * "Niemand hat zugesagt – rufen Sie 110" warning is a prominent alert with the number.
   * @param {AlarmView} a
   */
  function outcomeBox(a) {
    const out = state.senderOutcome(a);
    if (out.kind !== "nobody") {
      const p = el("p", {"class": "bs-alarm__help bs-alarm__help--" + out.kind, "data-help": out.kind}, out.text);
      if (out.kind === "delivered" || out.kind === "waiting") {
        p.appendChild(el("span", {"class": "bs-alarm__help-hint"},
          " Bei Gefahr rufen Sie selbst 110."));
      }
      return p;
    }
    const box = el("div", {"class": "bs-alarm__nobody", role: "alert", "data-help": "nobody"});
    box.appendChild(el("p", {"class": "bs-alarm__nobody-text"}, out.text));
    const call = out.call || "110";
    const link = el("a", {"class": "bs-alarm__nobody-call", href: telHref(call)}, "Jetzt " + call + " anrufen");
    box.append(link, el("p", {"class": "bs-alarm__nobody-hint"},
      "Notruf der Polizei: " + call + ". Ihr Alarm bleibt offen; der Sicherheitsdienst und die Administration werden weiter benachrichtigt."));
    return box;
  }

  /** @param {number} id */
  function reportLink(id) {
    const p = el("p");
    p.append(el("a", {"class": "kern-link", href: REPORT_URL + "?alarm=" + id}, "Vorfall melden"), " · ",
      el("a", {"class": "kern-link", href: DETAIL_URL.replace(/0\/$/, id + "/")}, "Verlauf"));
    return p;
  }

  /** A receive window closed by the all-clear: a short note; helpers may report the incident.
   * @param {AlarmView} a */
  function renderEnded(a) {
    let note = document.getElementById("alarm-ended-" + a.id);
    if (!note) {
      note = el("div", {"class": "bs-alarm__ended", id: "alarm-ended-" + a.id, role: "status"});
      incoming.appendChild(note);
    }
    note.textContent = "";
    note.appendChild(el("p", {"class": "bs-alarm__ended-text"}, state.endedText(a)));
    note.appendChild(el("p", {}, ((a.template || {}).name || "Alarm") + " von "
      + ((a.sender || {}).name || "unbekannt") + ", ausgelöst " + time(a.triggered_at) + "."));
    if (a.mine === "coming" && a.state === "resolved") { note.appendChild(reportLink(a.id)); }
  }

  /**
   * @param {AlarmView} a
   * @param {boolean} fresh  a new receive window: focus it
   */
  function render(a, fresh) {
    if (a.role === "sender") {
      renderOwn();
    } else if (a.closed) {
      closePanel(a);
      renderEnded(a);
    } else {
      const panel = renderPanel(a);
      if (fresh) { panel.focus(); notify(a); }
    }
    updateSound();
  }

  function renderAll() {
    for (const a of Object.values(store.alarms)) {
      // Ended alarms from the history: only helpers keep a note (to report the incident).
      if (a.role === "receiver" && a.closed && a.mine !== "coming") { continue; }
      if (a.role !== "sender") { render(a, false); }
    }
    renderOwn();
    updateSound();
  }

  // --- WebSocket (alarm-socket.js: hello/resume, receipts, dedup, ping, watchdog, backoff) -------

  /**
   * @param {string} connState
   * @param {string} text
   */
  function setConn(connState, text) {
    conn.setAttribute("data-state", connState);
    connText.textContent = text;
  }

  const socket = new AlarmSocket({
    url: WS_PATH,  // same origin: the session cookie authenticates
    heartbeat,
    lastEventId: () => store.last,
    epoch: () => store.epoch || "",
    onEpoch: (epoch) => { store = state.resetTo(store, store.last, epoch); },
    onServerReset: (serverLast) => {
      store = state.resetTo(store, serverLast);  // the server's store was reset: never hide new events
    },
    onHello: (hello) => {
      myName = hello.name || myName;
      replayUntil = Object.keys(store.alarms).length === 0 && store.last < hello.last_event_id ? hello.last_event_id : 0;
      if (!replayUntil) { renderAll(); }
    },
    onEvent: (frame) => {
      const next = state.applyEvent(store, frame, myName);
      store = next.store;
      save();
      if (replayUntil) {
        if (store.last >= replayUntil) { replayUntil = 0; renderAll(); }
        return;
      }
      if (next.change) { render(next.change.alarm, next.change.fresh); }
    },
    onStatus: (connState, detail, info) => {
      if (connState === "connecting") {
        setConn("connecting", "Empfang wird verbunden …");
      } else if (connState === "online") {
        setConn("online", "Empfang aktiv – Alarme von Kolleginnen und Kollegen erscheinen hier.");
      } else if (info && info.reason === "silent") {
        setConn("offline", "Verbindung getrennt – keine Antwort vom Server.");
      } else {
        setConn("offline", "Verbindung getrennt – Sie empfangen gerade keine Alarme.");
      }
    },
    onReconnect: (delayMs) => {
      setConn("offline", "Verbindung getrennt – Sie empfangen gerade keine Alarme. Neuer Versuch in " + Math.round(delayMs / 1000) + " s …");
    },
    onAuthFailed: () => {
      setConn("offline", "Verbindung getrennt: Ihre Anmeldung ist abgelaufen. Bitte laden Sie die Seite neu und melden Sie sich an – sonst empfangen Sie keine Alarme.");
    },
    onCoverage: (frame) => showCoverage(frame),
  });

  /**
   * Receiver actions go over the open WebSocket (it stays authenticated even when the page's
   * session has gone idle); without a connection over HTTP.
   * @param {ClientFrame} frame
   * @param {string} httpPath
   * @param {object} httpBody
   */
  async function command(frame, httpPath, httpBody) {
    if (!socket.connected) { return post(httpPath, httpBody); }
    try {
      return await socket.request(frame, 10000);
    } catch (err) {
      if (err.code === "timeout") { throw new Error("keine Antwort vom Server – bitte erneut versuchen"); }
      throw err;
    }
  }

  window.addEventListener("online", () => socket.kick());

  // --- Actions of a receiver ---------------------------------------------------------------------

  /**
   * @param {number} id
   * @param {"coming" | "cannot"} response
   */
  function answer(id, response) {
    const a = alarmOf(id);
    if (!a) { return; }
    store = state.update(store, id, {error: ""});
    if (a.template && a.template.come === false) {
      store = state.answered(store, id, "seen");
      save();
      render(alarmOf(id), false);
      return;
    }
    command({type: "respond", alarm_id: id, response},
            "/alarms/" + id + "/respond", {response}).then(() => {
      store = state.answered(store, id, response);
      save();
      render(alarmOf(id), false);
    }).catch((err) => {
      store = state.update(store, id, {error: "Antwort nicht gesendet: " + err.message});
      render(alarmOf(id), false);
    });
  }

  /**
   * @param {number} id
   * @param {HTMLInputElement} input
   * @param {Element} status
   */
  function sendMessage(id, input, status) {
    const text = input.value.trim();
    if (!text) { input.focus(); return; }
    command({type: "message", alarm_id: id, text}, "/alarms/" + id + "/messages", {text}).then(() => {
      input.value = "";
    }).catch((err) => {
      status.textContent = "Nachricht nicht gesendet: " + err.message;
    });
  }

  // --- Trigger ---------------------------------------------------------------------------------------

  const radios = form.querySelectorAll('input[name="template"]');
  const sub = button.querySelector("[data-button-sub]");
  const selected = () => /** @type {HTMLInputElement | null} */ (form.querySelector('input[name="template"]:checked'));
  function syncLabel() {
    const r = selected();
    sub.textContent = r ? form.querySelector(`label[for="${r.id}"]`).textContent : "";
    confirmBox.hidden = true;
    button.hidden = false;
  }
  radios.forEach((r) => r.addEventListener("change", syncLabel));
  syncLabel();
  confirmBox.querySelector("[data-confirm-no]").addEventListener("click", () => {
    syncLabel();
    result.textContent = "Nicht ausgelöst.";
    button.focus();
  });

  let pressing = false;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    audioContext();
    const radio = selected();
    if (!radio || pressing) { return; }
    const submitter = /** @type {HTMLButtonElement | null} */ (event.submitter);
    const confirmed = submitter && submitter.name === "confirm";
    if (radio.hasAttribute("data-confirm") && !confirmed) {
      confirmBox.hidden = false;
      button.hidden = true;
      /** @type {HTMLElement} */ (confirmBox.querySelector("[data-confirm-yes]")).focus();
      return;
    }
    trigger(radio.value);
  });

  /** @param {string} template */
  function trigger(template) {
    pressing = true;
    const id = newClientId("web");
    let tries = 0;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    result.className = "bs-alarm__result";
    result.textContent = "Alarm wird gesendet …";
    const done = () => {
      pressing = false;
      button.disabled = false;
      button.removeAttribute("aria-busy");
      syncLabel();
    };
    /** @param {string} text */
    const refused = (text) => {
      done();
      result.className = "bs-alarm__result bs-alarm__result--error";
      result.textContent = text;
    };
    const attemptSend = () => {
      tries += 1;
      post("/alarms", {template, client_id: id, source: "web"}).then((res) => {
        done();
        /** @type {TriggerAnswer} */
        const body = res.data;
        // Stored, not yet help: the outcome ("zugestellt", "Hilfe kommt", "Niemand hat
        // zugesagt") is shown below; no success look here.
        result.className = "bs-alarm__result";
        result.textContent = body.state === "countdown"
          ? "Alarm im Vorlauf – geht um " + time(body.countdown_until) + " raus, wenn Sie nicht abbrechen."
          : "Alarm wurde ausgelöst.";
        const before = store;
        store = state.triggered(store, body, sub.textContent);
        if (store !== before) {
          save();
          renderOwn();
        }
        if (NO_ROOM && navigator.geolocation) {
          navigator.geolocation.getCurrentPosition((pos) => {
            post("/alarms/" + body.id + "/position", {lat: pos.coords.latitude, lon: pos.coords.longitude,
              accuracy_m: Math.min(100000, pos.coords.accuracy || 0)});
          }, () => { /* no position: the alarm went out without one */ },
          {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
        }
      }).catch((/** @type {RequestError} */ err) => {
        if (err.status === 401 || err.status === 403) {
          refused("Alarm NICHT ausgelöst: Ihre Anmeldung ist abgelaufen. Holen Sie "
            + "Hilfe per Telefon und laden Sie die Seite neu, um sich anzumelden.");
        } else if (err.status && err.status < 500) {
          refused("Alarm NICHT ausgelöst: " + err.message);
        } else if (tries < 8) {
          // No connection or a server error: retry with the same client_id (never two alarms).
          result.textContent = "Keine Verbindung zum Server – neuer Versuch (" + tries + ") …";
          setTimeout(attemptSend, Math.min(4000, 500 * tries));
        } else {
          refused("Alarm NICHT ausgelöst: keine Verbindung. Bitte rufen Sie Hilfe per Telefon.");
        }
      });
    };
    attemptSend();
  }

  // --- Coverage before pressing ("Wer bekommt meinen Alarm jetzt?"), updated live -------------
  // Pushed by the server over the WebSocket (frame "coverage") whenever it changes; the HTTP
  // answer is the fallback: at the start, when the page becomes visible, and every
  // data-refresh seconds (60) in case a push was missed.

  const coverageBox = document.getElementById("alarm-coverage");
  /** @type {number | undefined} */
  let coverageTimer;

  /** @param {any} answer  a coverage frame or the HTTP answer (the same level, level_text) */
  function showCoverage(answer) {
    if (!coverageBox) { return; }
    const cov = state.coverageLevel(answer);
    coverageBox.dataset.level = cov.level;
    const text = coverageBox.querySelector("[data-cov-text]");
    if (text && text.textContent !== cov.text) { text.textContent = cov.text; }
  }

  async function refreshCoverage() {
    if (!coverageBox) { return; }
    clearTimeout(coverageTimer);
    /** @type {any} */
    let answer = null;
    try {
      const response = await fetch(API + "/alarms/coverage", {credentials: "same-origin",
        headers: {"Accept": "application/json"}});
      answer = response.ok ? await response.json() : null;
    } catch (e) { answer = null; }
    // Without an answer, a pushed level stays; "unknown" only when there is none.
    if (answer || coverageBox.dataset.level === "unknown") { showCoverage(answer); }
    coverageTimer = window.setTimeout(refreshCoverage, COVERAGE_SECONDS * 1000);
  }
  const COVERAGE_SECONDS = parseInt((coverageBox && coverageBox.dataset.refresh) || "", 10) || 60;
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") { refreshCoverage(); }
  });

  const soundBox = document.getElementById("alarm-sound");
  if (soundBox) { soundGate(soundBox); }
  const notifyBox = document.getElementById("alarm-notify");
  if (notifyBox) { notifyGate(notifyBox); }
  renderAll();
  socket.start();
  refreshCoverage();
}
