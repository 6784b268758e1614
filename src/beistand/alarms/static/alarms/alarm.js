/* The "Stiller Alarm" page: trigger button and browser receive client.
 *
 * Trigger: POST /api/v1/alarms with the session (CSRF header) and a client_id generated per
 * press, repeated unchanged on retries (the server returns the same alarm). "Alarm wurde
 * ausgelöst" only after the server confirmed it stored the alarm.
 *
 * Receive: WebSocket /ws/v1/alarms (session cookie, same origin) through the shared protocol
 * client AlarmSocket (alarm-socket.js, docs/alarm-protocol.md: hello -> resume, receipts,
 * duplicates dropped, pong, watchdog, backoff, close code 4401 = the session ended). This page
 * keeps the highest processed event_id, with the alarms it describes, in sessionStorage.
 * Actions (respond, message, all-clear) go over the open socket, without one over HTTP; their
 * effects come back as events.
 */
import { AlarmSocket } from "./alarm-socket.js";

(function () {
  var app = document.getElementById("alarm-app");
  if (!app) { return; }
  var form = document.getElementById("alarm-form");
  var API = app.getAttribute("data-api");
  var WS_PATH = app.getAttribute("data-ws");
  var REPORT_URL = app.getAttribute("data-report-url");
  var DETAIL_URL = app.getAttribute("data-detail-url");
  var NO_ROOM = app.getAttribute("data-no-room") === "1";
  var STORE_KEY = "beistand.alarm." + app.getAttribute("data-user");
  var heartbeat = parseInt(app.getAttribute("data-heartbeat"), 10) || 15;
  var csrf = form.querySelector('input[name="csrfmiddlewaretoken"]').value;

  var incoming = document.getElementById("alarm-incoming");
  var own = document.getElementById("alarm-own");
  var conn = document.getElementById("alarm-connection");
  var connText = conn.querySelector("[data-conn-text]");
  var result = document.getElementById("alarm-result");
  var button = document.getElementById("alarm-button");
  var confirmBox = document.getElementById("alarm-confirm");
  var panelTemplate = document.getElementById("tpl-incoming");
  var baseTitle = document.title;

  // --- State (survives a reload of the tab) -----------------------------------------------------

  var last = 0;          // highest event_id processed
  var alarms = {};       // alarm_id -> what we know about it
  var myName = "";
  var replayUntil = 0;   // events up to this id are history: rebuild quietly, then show
  (function restore() {
    try {
      var saved = JSON.parse(sessionStorage.getItem(STORE_KEY) || "null");
      if (saved && typeof saved.last === "number") {
        last = saved.last;
        alarms = saved.alarms || {};
        myName = saved.name || "";
      }
    } catch (e) { /* a broken entry: start fresh */ }
  })();

  function save() {
    // Keep open alarms and the last few ended ones (for "Vorfall melden").
    var ids = Object.keys(alarms).map(Number).sort(function (a, b) { return b - a; });
    var kept = {}, ended = 0;
    ids.forEach(function (id) {
      var a = alarms[id];
      if (!a.closed || ended++ < 5) { kept[id] = a; }
    });
    alarms = kept;
    try {
      sessionStorage.setItem(STORE_KEY, JSON.stringify({last: last, alarms: alarms, name: myName}));
    } catch (e) { /* storage full or disabled: resume starts from the server's receipts */ }
  }

  // --- Helpers ------------------------------------------------------------------------------

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function clock(iso) {
    if (!iso) { return ""; }
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return ""; }
    return d.toLocaleTimeString("de-DE", {hour: "2-digit", minute: "2-digit", second: "2-digit"}) + " Uhr";
  }

  function clientId() {
    var bytes = new Uint8Array(8);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return "web-" + Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function post(path, body) {
    return fetch(API + path, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json"},
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var err = new Error(data.detail || ("Fehler " + response.status));
          err.status = response.status;
          throw err;
        }
        return {status: response.status, data: data};
      });
    });
  }

  function place(loc) {
    if (!loc) { return "Ort unbekannt"; }
    var parts = [];
    if (loc.room) { parts.push("Raum " + loc.room + (loc.room_name ? " (" + loc.room_name + ")" : "")); }
    if (loc.floor) { parts.push(loc.floor); }
    if (loc.building) { parts.push(loc.building); }
    if (loc.site) { parts.push(loc.site); }
    if (loc.text) { parts.push(loc.text); }
    if (!parts.length && loc.position) { parts.push("Standort per GPS"); }
    return parts.join(", ") || "Ort unbekannt";
  }

  function mapLinks(loc) {
    var span = el("span", {"class": "bs-alarm-panel__maps"});
    if (!loc) { return span; }
    if (loc.position) {
      var p = loc.position;
      span.appendChild(el("a", {"class": "kern-link", href: "geo:" + p.lat + "," + p.lon}, "Karten-App"));
      span.appendChild(document.createTextNode(" · "));
      span.appendChild(el("a", {"class": "kern-link", target: "_blank", rel: "noopener",
        href: "https://www.openstreetmap.org/?mlat=" + p.lat + "&mlon=" + p.lon + "#map=19/" + p.lat + "/" + p.lon},
        "OpenStreetMap"));
    } else if (loc.address) {
      span.appendChild(el("a", {"class": "kern-link", target: "_blank", rel: "noopener",
        href: "https://www.openstreetmap.org/search?query=" + encodeURIComponent(loc.address)},
        "Adresse auf der Karte"));
    }
    return span;
  }

  function tel(number) { return "tel:" + String(number).replace(/[^+\d]/g, ""); }

  function comingNames(a) {
    return (a.responders || []).filter(function (r) { return r.response === "coming"; })
      .map(function (r) { return r.name; });
  }

  // --- Sound: WebAudio, repeating until the alarm is answered or muted ---------------------------

  var audio = null, soundTimer = null;
  function audioContext() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { return null; }
    if (!audio) { audio = new Ctx(); }
    if (audio.state === "suspended") { audio.resume(); }
    return audio;
  }
  // Browsers start audio only after a user gesture: unlock on the first one.
  ["pointerdown", "keydown"].forEach(function (type) {
    document.addEventListener(type, function () { audioContext(); }, {capture: true});
  });

  function beep(ctx, at, freq, length) {
    var osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.type = "square";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.2, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + length);
    osc.connect(gain).connect(ctx.destination);
    osc.start(at);
    osc.stop(at + length + 0.05);
  }

  function needsSound() {
    return Object.keys(alarms).some(function (id) {
      var a = alarms[id];
      return a.role === "receiver" && !a.closed && !a.mine && !a.muted;
    });
  }

  function updateSound() {
    var want = needsSound();
    if (want && !soundTimer) {
      var ring = function () {
        var ctx = audio && audio.state === "running" ? audio : null;
        if (!ctx) { return; }
        var t = ctx.currentTime;
        beep(ctx, t, 880, 0.18);
        beep(ctx, t + 0.25, 660, 0.18);
        beep(ctx, t + 0.5, 880, 0.18);
      };
      audioContext();
      ring();
      soundTimer = setInterval(ring, 2000);
    } else if (!want && soundTimer) {
      clearInterval(soundTimer);
      soundTimer = null;
    }
    document.title = Object.keys(alarms).some(function (id) {
      return alarms[id].role === "receiver" && !alarms[id].closed;
    }) ? "ALARM – " + baseTitle : baseTitle;
  }

  // --- Rendering: receive panel (role receiver) ---------------------------------------------------

  function panelFor(a) {
    var panel = document.getElementById("alarm-panel-" + a.id);
    if (panel) { return panel; }
    panel = panelTemplate.content.firstElementChild.cloneNode(true);
    panel.id = "alarm-panel-" + a.id;
    var title = panel.querySelector('[data-f="title"]');
    title.id = "alarm-title-" + a.id;
    panel.setAttribute("aria-labelledby", title.id);
    var instr = panel.querySelector('[data-f="instructions"]');
    instr.id = "alarm-instr-" + a.id;
    panel.setAttribute("aria-describedby", instr.id);
    var input = panel.querySelector('[data-f="message"]');
    input.id = "alarm-msg-" + a.id;
    panel.querySelector('[data-f="message-label"]').setAttribute("for", input.id);
    panel.querySelector('[data-act="coming"]').addEventListener("click", function () { answer(a.id, "coming"); });
    panel.querySelector('[data-act="cannot"]').addEventListener("click", function () { answer(a.id, "cannot"); });
    panel.querySelector('[data-act="mute"]').addEventListener("click", function () {
      var al = alarms[a.id];
      al.muted = !al.muted;
      save();
      renderPanel(al);
      updateSound();
    });
    panel.querySelector('[data-f="message-form"]').addEventListener("submit", function (ev) {
      ev.preventDefault();
      sendMessage(a.id, input, panel.querySelector('[data-f="answer"]'));
    });
    incoming.insertBefore(panel, incoming.firstChild);
    return panel;
  }

  function renderPanel(a) {
    var panel = panelFor(a);
    var f = function (name) { return panel.querySelector('[data-f="' + name + '"]'); };
    var tpl = a.template || {};
    panel.classList.toggle("bs-alarm-panel--test", !!tpl.test);
    panel.classList.toggle("bs-alarm-panel--stay", tpl.come === false);
    f("title").textContent = (tpl.test ? "PROBEALARM – " : "Stiller Alarm: ") + (tpl.name || "Alarm")
      + (a.tier > 1 ? " (Stufe " + a.tier + ")" : "");
    f("time").textContent = "ausgelöst um " + clock(a.triggered_at);
    var s = a.sender || {};
    f("name").textContent = (s.name || "unbekannt") + (s.unit ? " (" + s.unit + ")" : "");
    f("place").textContent = place(a.location);
    var maps = f("maplinks");
    maps.textContent = "";
    maps.appendChild(mapLinks(a.location));
    f("distance-row").hidden = a.distance_m === null || a.distance_m === undefined;
    f("distance").textContent = a.distance_m === null || a.distance_m === undefined ? "" : "ca. " + a.distance_m + " m";
    var phones = f("phones");
    phones.textContent = "";
    [["phone", "Dienst"], ["mobile", "Handy"]].forEach(function (pair) {
      if (s[pair[0]]) {
        if (phones.childNodes.length) { phones.appendChild(document.createTextNode(" · ")); }
        phones.appendChild(el("a", {"class": "kern-link", href: tel(s[pair[0]])}, pair[1] + ": " + s[pair[0]]));
      }
    });
    f("phone-row").hidden = !phones.childNodes.length;
    f("instructions").textContent = a.instructions || "";
    var come = tpl.come !== false;
    var comingBtn = panel.querySelector('[data-act="coming"]');
    var cannotBtn = panel.querySelector('[data-act="cannot"]');
    comingBtn.querySelector(".kern-label").textContent = come ? "Ich komme" : "Verstanden";
    cannotBtn.hidden = !come;
    comingBtn.setAttribute("aria-pressed", a.mine === "coming" || a.mine === "seen" ? "true" : "false");
    cannotBtn.setAttribute("aria-pressed", a.mine === "cannot" ? "true" : "false");
    var mute = panel.querySelector('[data-act="mute"]');
    mute.setAttribute("aria-pressed", a.muted ? "true" : "false");
    mute.querySelector(".kern-label").textContent = a.muted ? "Ton an" : "Ton aus";
    var answerText = {coming: "Ihre Antwort: Ich komme. Die auslösende Person sieht das.",
                      cannot: "Ihre Antwort: Kann nicht.", seen: "Gelesen."}[a.mine] || "";
    if (a.error) { answerText = a.error; }
    f("answer").textContent = answerText;
    var list = f("coming");
    list.textContent = "";
    var names = comingNames(a);
    if (!names.length) { list.appendChild(el("li", {}, "noch niemand")); }
    names.forEach(function (n) { list.appendChild(el("li", {}, n)); });
    var thread = f("thread");
    thread.textContent = "";
    (a.messages || []).forEach(function (m) {
      var li = el("li");
      li.appendChild(el("strong", {}, m.from + ": "));
      li.appendChild(document.createTextNode(m.text + " "));
      li.appendChild(el("span", {"class": "bs-alarm-panel__at"}, clock(m.at)));
      thread.appendChild(li);
    });
    return panel;
  }

  function closePanel(a) {
    var panel = document.getElementById("alarm-panel-" + a.id);
    if (panel) { panel.remove(); }
  }

  // --- Rendering: the sender's own alarm (discreet) and ended alarms ------------------------------

  function renderOwn() {
    own.textContent = "";
    Object.keys(alarms).map(Number).sort(function (x, y) { return y - x; }).forEach(function (id) {
      var a = alarms[id];
      if (a.role !== "sender") { return; }
      var box = el("div", {"class": "bs-alarm__ownbox" + (a.closed ? " bs-alarm__ownbox--ended" : ""), id: "alarm-own-" + id});
      var tpl = a.template || {};
      if (a.closed) {
        box.appendChild(el("p", {}, (a.state === "cancelled" ? "Abgebrochen: " : "Entwarnung: ")
          + (tpl.name || "Alarm") + " von " + clock(a.triggered_at) + "."));
        if (a.state === "resolved" && !tpl.test) { box.appendChild(reportLink(id)); }
      } else {
        box.appendChild(el("p", {"class": "bs-alarm__ownline"},
          (tpl.test ? "Probealarm" : "Ihr Alarm") + " (" + (tpl.name || "") + ") ist ausgelöst, " + clock(a.triggered_at)
          + (a.delivered ? " · zugestellt an " + a.delivered : "")));
        var names = comingNames(a);
        box.appendChild(el("p", {"class": "bs-alarm__help", "data-help": ""},
          names.length ? "Hilfe kommt: " + names.join(", ") : "Noch keine Zusage."));
        var row = el("div", {"class": "bs-alarm__row"});
        var resolve = el("button", {type: "button", "class": "kern-btn kern-btn--secondary kern-btn--x-small"});
        resolve.appendChild(el("span", {"class": "kern-label"}, "Entwarnung geben"));
        resolve.addEventListener("click", function () {
          resolve.disabled = true;
          command({type: "resolve", alarm_id: id}, "/alarms/" + id + "/resolve", {}).catch(function (err) {
            resolve.disabled = false;
            box.appendChild(el("p", {"class": "bs-alarm__error"}, "Entwarnung fehlgeschlagen: " + err.message));
          });
        });
        row.appendChild(resolve);
        if (a.state === "countdown") {
          var cancel = el("button", {type: "button", "class": "kern-btn kern-btn--secondary kern-btn--x-small"});
          cancel.appendChild(el("span", {"class": "kern-label"}, "Vorlauf abbrechen"));
          cancel.addEventListener("click", function () { post("/alarms/" + id + "/cancel", {}); });
          row.appendChild(cancel);
        }
        box.appendChild(row);
      }
      own.appendChild(box);
    });
  }

  function reportLink(id) {
    var p = el("p");
    p.appendChild(el("a", {"class": "kern-link", href: REPORT_URL + "?alarm=" + id}, "Vorfall melden"));
    p.appendChild(document.createTextNode(" · "));
    p.appendChild(el("a", {"class": "kern-link", href: DETAIL_URL.replace(/0\/$/, id + "/")}, "Verlauf"));
    return p;
  }

  function renderEnded(a) {
    // A receive window closed by the all-clear: a short note; helpers may report the incident.
    var note = document.getElementById("alarm-ended-" + a.id);
    if (!note) {
      note = el("div", {"class": "bs-alarm__ended", id: "alarm-ended-" + a.id, role: "status"});
      incoming.appendChild(note);
    }
    note.textContent = "";
    note.appendChild(el("p", {}, (a.state === "cancelled" ? "Abgebrochen" : "Entwarnung") + ": "
      + ((a.template || {}).name || "Alarm") + " von " + ((a.sender || {}).name || "unbekannt")
      + (a.endedBy ? " (durch " + a.endedBy + ")" : "") + (a.note ? " – " + a.note : "")));
    if (a.mine === "coming" && a.state === "resolved") { note.appendChild(reportLink(a.id)); }
  }

  function render(a, fresh) {
    if (a.role === "sender") {
      renderOwn();
    } else if (a.closed) {
      closePanel(a);
      renderEnded(a);
    } else {
      var panel = renderPanel(a);
      if (fresh) { panel.focus(); }
    }
    updateSound();
  }

  function renderAll() {
    Object.keys(alarms).forEach(function (id) {
      var a = alarms[id];
      // Ended alarms from the history: only helpers keep a note (to report the incident).
      if (a.role === "receiver" && a.closed && a.mine !== "coming") { return; }
      if (a.role !== "sender") { render(a, false); }
    });
    renderOwn();
    updateSound();
  }

  // --- Applying events ---------------------------------------------------------------------------

  function apply(ev) {
    var id = ev.alarm_id;
    var a = alarms[id];
    if (ev.type === "alarm") {
      var isNew = !a;
      a = a || {id: id, messages: [], mine: "", muted: false};
      ["role", "template", "state", "triggered_at", "tier", "sender", "location", "distance_m",
       "instructions", "responders"].forEach(function (k) { if (ev[k] !== undefined) { a[k] = ev[k]; } });
      a.closed = a.state === "resolved" || a.state === "cancelled";
      (a.responders || []).forEach(function (r) { if (myName && r.name === myName && !a.mine) { a.mine = r.response; } });
      alarms[id] = a;
      return {alarm: a, fresh: isNew && a.role === "receiver" && !a.closed};
    }
    if (!a) { return null; }  // an update for an alarm from before this client's history
    if (ev.state) { a.state = ev.state; }
    if (ev.type === "message") {
      if (!a.messages.some(function (m) { return m.id === ev.message_id; })) {
        a.messages.push({id: ev.message_id, from: (ev.from || {}).name || "", text: ev.text, at: ev.at});
      }
    } else if (ev.type === "alarm_update") {
      if (ev.responders) { a.responders = ev.responders; }
      if (ev.kind === "escalated" && ev.tier) { a.tier = ev.tier; }
      if (ev.kind === "position" && ev.position) { a.location = a.location || {}; a.location.position = ev.position; }
      if (ev.kind === "delivered") { a.delivered = ev.delivered; }
      if (ev.kind === "resolved" || ev.kind === "cancelled") {
        a.closed = true;
        a.endedBy = ev.by || "";
        a.note = ev.note || "";
      }
    }
    return {alarm: a, fresh: false};
  }

  // --- WebSocket (alarm-socket.js: hello/resume, receipts, dedup, ping, watchdog, backoff) -------

  function setConn(state, text) {
    conn.setAttribute("data-state", state);
    connText.textContent = text;
  }

  var socket = new AlarmSocket({
    url: WS_PATH,  // same origin: the session cookie authenticates
    heartbeat: heartbeat,
    lastEventId: function () { return last; },
    onServerReset: function (serverLast) {
      last = serverLast;  // the server's store was reset: never hide new events
    },
    onHello: function (hello) {
      myName = hello.name || myName;
      replayUntil = Object.keys(alarms).length === 0 && last < hello.last_event_id ? hello.last_event_id : 0;
      if (!replayUntil) { renderAll(); }
    },
    onEvent: function (frame) {
      var change = apply(frame);
      last = frame.event_id;
      save();
      if (replayUntil) {
        if (last >= replayUntil) { replayUntil = 0; renderAll(); }
        return;
      }
      if (change) { render(change.alarm, change.fresh); }
    },
    onStatus: function (state, detail, info) {
      if (state === "connecting") {
        setConn("connecting", "Empfang wird verbunden …");
      } else if (state === "online") {
        setConn("online", "Empfang aktiv – Alarme von Kolleginnen und Kollegen erscheinen hier.");
      } else if (info && info.reason === "silent") {
        setConn("offline", "Verbindung getrennt – keine Antwort vom Server.");
      } else {
        setConn("offline", "Verbindung getrennt – Sie empfangen gerade keine Alarme.");
      }
    },
    onReconnect: function (delayMs) {
      setConn("offline", "Verbindung getrennt – Sie empfangen gerade keine Alarme. Neuer Versuch in " + Math.round(delayMs / 1000) + " s …");
    },
    onAuthFailed: function () {
      setConn("offline", "Verbindung getrennt: Ihre Anmeldung ist abgelaufen. Bitte laden Sie die Seite neu und melden Sie sich an – sonst empfangen Sie keine Alarme.");
    }
  });

  // Receiver actions go over the open WebSocket (it stays authenticated even when the page's
  // session has gone idle); without a connection over HTTP.
  function command(frame, httpPath, httpBody) {
    if (!socket.connected) { return post(httpPath, httpBody); }
    return socket.request(frame, 10000).catch(function (err) {
      if (err.code === "timeout") { throw new Error("keine Antwort vom Server – bitte erneut versuchen"); }
      throw err;
    });
  }

  window.addEventListener("online", function () { socket.kick(); });

  // --- Actions of a receiver ---------------------------------------------------------------------

  function answer(id, response) {
    var a = alarms[id];
    if (!a) { return; }
    a.error = "";
    if (a.template && a.template.come === false) {
      a.mine = "seen";
      save();
      render(a, false);
      return;
    }
    command({type: "respond", alarm_id: id, response: response},
            "/alarms/" + id + "/respond", {response: response}).then(function () {
      a.mine = response;
      save();
      render(a, false);
    }).catch(function (err) {
      a.error = "Antwort nicht gesendet: " + err.message;
      render(a, false);
    });
  }

  function sendMessage(id, input, status) {
    var text = input.value.trim();
    if (!text) { input.focus(); return; }
    command({type: "message", alarm_id: id, text: text},
            "/alarms/" + id + "/messages", {text: text}).then(function () {
      input.value = "";
    }).catch(function (err) {
      status.textContent = "Nachricht nicht gesendet: " + err.message;
    });
  }

  // --- Trigger ---------------------------------------------------------------------------------------

  var radios = form.querySelectorAll('input[name="template"]');
  var sub = button.querySelector("[data-button-sub]");
  function selected() { return form.querySelector('input[name="template"]:checked'); }
  function syncLabel() {
    var r = selected();
    sub.textContent = r ? form.querySelector('label[for="' + r.id + '"]').textContent : "";
    confirmBox.hidden = true;
    button.hidden = false;
  }
  Array.prototype.forEach.call(radios, function (r) { r.addEventListener("change", syncLabel); });
  syncLabel();
  confirmBox.querySelector("[data-confirm-no]").addEventListener("click", function () {
    syncLabel();
    result.textContent = "Nicht ausgelöst.";
    button.focus();
  });

  var pressing = false;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    audioContext();
    var radio = selected();
    if (!radio || pressing) { return; }
    var confirmed = event.submitter && event.submitter.name === "confirm";
    if (radio.hasAttribute("data-confirm") && !confirmed) {
      confirmBox.hidden = false;
      button.hidden = true;
      confirmBox.querySelector("[data-confirm-yes]").focus();
      return;
    }
    trigger(radio.value);
  });

  function trigger(template) {
    pressing = true;
    var id = clientId();
    var tries = 0;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    result.className = "bs-alarm__result";
    result.textContent = "Alarm wird gesendet …";
    var done = function () {
      pressing = false;
      button.disabled = false;
      button.removeAttribute("aria-busy");
      syncLabel();
    };
    var attemptSend = function () {
      tries += 1;
      post("/alarms", {template: template, client_id: id, source: "web"}).then(function (res) {
        done();
        var body = res.data;
        result.className = "bs-alarm__result bs-alarm__result--ok";
        result.textContent = body.state === "countdown"
          ? "Alarm im Vorlauf – geht um " + clock(body.countdown_until) + " raus, wenn Sie nicht abbrechen."
          : "Alarm wurde ausgelöst.";
        if (!alarms[body.id]) {
          alarms[body.id] = {id: body.id, role: "sender", state: body.state, messages: [],
            template: {name: sub.textContent, code: body.template}, triggered_at: body.persisted_at,
            responders: [], mine: ""};
          save();
          renderOwn();
        }
        if (NO_ROOM && navigator.geolocation) {
          navigator.geolocation.getCurrentPosition(function (pos) {
            post("/alarms/" + body.id + "/position", {lat: pos.coords.latitude, lon: pos.coords.longitude,
              accuracy_m: Math.min(100000, pos.coords.accuracy || 0)});
          }, function () { /* no position: the alarm went out without one */ },
          {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
        }
      }).catch(function (err) {
        if (err.status === 401 || err.status === 403) {
          done();
          result.className = "bs-alarm__result bs-alarm__result--error";
          result.textContent = "Alarm NICHT ausgelöst: Ihre Anmeldung ist abgelaufen. Holen Sie "
            + "Hilfe per Telefon und laden Sie die Seite neu, um sich anzumelden.";
          return;
        }
        if (err.status && err.status < 500) {
          done();
          result.className = "bs-alarm__result bs-alarm__result--error";
          result.textContent = "Alarm NICHT ausgelöst: " + err.message;
          return;
        }
        // No connection or a server error: retry with the same client_id (never two alarms).
        if (tries < 8) {
          result.textContent = "Keine Verbindung zum Server – neuer Versuch (" + tries + ") …";
          setTimeout(attemptSend, Math.min(4000, 500 * tries));
        } else {
          done();
          result.className = "bs-alarm__result bs-alarm__result--error";
          result.textContent = "Alarm NICHT ausgelöst: keine Verbindung. Bitte rufen Sie Hilfe per Telefon.";
        }
      });
    };
    attemptSend();
  }

  renderAll();
  socket.start();
})();
