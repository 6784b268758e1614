/* What a browser client knows about its alarms, as a pure reducer of the alarm protocol
 * (docs/alarm-protocol.md, frames typed in protocol.d.ts). Shared by the alarm web page
 * (alarm.js) and the phone app (mobile/app.js); unit tests in tests/js/alarm-state.test.js.
 *
 * A store is {last, alarms}: the highest processed event_id and, per alarm id, an AlarmView.
 * Every function returns a new store (or a new view) and never changes its arguments: a caller
 * keeps the latest store, persists it as it likes (sessionStorage, localStorage) and renders
 * from it. Side effects (sound, focus, vibration) stay with the caller, which learns from the
 * returned change what happened.
 */

/**
 * @typedef {import("./protocol").AlarmProtocolEvent} AlarmProtocolEvent
 * @typedef {import("./protocol").AlarmState} AlarmState
 * @typedef {import("./protocol").Location} Location
 * @typedef {import("./protocol").Position} Position
 * @typedef {import("./protocol").Responder} Responder
 * @typedef {import("./protocol").Response} Response
 * @typedef {import("./protocol").Sender} Sender
 * @typedef {import("./protocol").Template} Template
 * @typedef {import("./protocol").TriggerAnswer} TriggerAnswer
 */

/**
 * One message of an alarm's thread.
 * @typedef {object} ThreadMessage
 * @property {number} message_id
 * @property {string} from  the author's name
 * @property {string} text
 * @property {string} at
 */

/**
 * What this client knows about one alarm.
 * @typedef {object} AlarmView
 * @property {number} id
 * @property {"receiver" | "sender"} role
 * @property {AlarmState} state
 * @property {boolean} closed  resolved or cancelled
 * @property {Partial<Template> & {name?: string, code?: string}} [template]
 *           the sender's own alarm starts with code and name only (from the HTTP answer)
 * @property {string | null} [triggered_at]
 * @property {number} [tier]
 * @property {Sender} [sender]
 * @property {Partial<Location>} [location]
 * @property {number | null} [distance_m]
 * @property {"visit" | "phone" | "room" | null} [location_basis]  what the place is based on
 * @property {string | null} [position_at]  when the position used was measured
 * @property {string} [instructions]
 * @property {Responder[]} responders
 * @property {ThreadMessage[]} messages
 * @property {"" | Response | "seen"} mine  this client's answer ("seen": understood, come=false)
 * @property {boolean} muted
 * @property {string} [error]  why this client's last answer failed
 * @property {number} [delivered]  sender only: how many receivers have it
 * @property {string} [help]  sender only: the latest "Hilfe kommt: …"
 * @property {{text: string, call: string, reason: string} | null} [nobody]
 *           sender only: "Niemand hat zugesagt – rufen Sie 110" (until someone comes)
 * @property {string} [endedBy]  who gave the all-clear
 * @property {boolean} [seen]  receiver: this client has shown it open (so its end is shown too)
 * @property {boolean} [dismissed]  receiver: closed on this client's screen
 * @property {string} [note]  the all-clear's note
 */

/**
 * @typedef {object} AlarmStore
 * @property {number} last  the highest event_id processed
 * @property {string} [epoch]  the numbering `last` belongs to (the hello's or a reset's epoch)
 * @property {Record<string, AlarmView>} alarms
 */

/**
 * What an event did: the alarm as it is now, whether it is a receive window to open now
 * ("fresh"), and the event's kind ("alarm", "message" or the alarm_update's kind).
 * @typedef {object} Change
 * @property {AlarmView} alarm
 * @property {boolean} fresh
 * @property {string} kind
 */

/** @type {readonly (keyof import("./protocol").AlarmEvent)[]} */
const ALARM_FIELDS = ["role", "template", "state", "triggered_at", "tier", "sender", "location",
  "distance_m", "location_basis", "position_at", "instructions", "responders"];

/** @param {string | undefined} state */
export const isEnded = (state) => state === "resolved" || state === "cancelled";

/** @returns {AlarmStore} */
export function emptyStore() {
  return {last: 0, epoch: "", alarms: {}};
}

/**
 * A store read back from storage; anything unusable gives an empty one.
 * @param {any} saved
 * @returns {AlarmStore}
 */
export function restore(saved) {
  if (!saved || typeof saved !== "object" || typeof saved.last !== "number") { return emptyStore(); }
  /** @type {Record<string, AlarmView>} */
  const alarms = {};
  Object.entries(saved.alarms && typeof saved.alarms === "object" ? saved.alarms : {}).forEach(([id, a]) => {
    if (!a || typeof a !== "object") { return; }
    // Stores written before the clients shared this module named a message's id "id".
    const messages = (Array.isArray(a.messages) ? a.messages : []).map(
      (m) => ("message_id" in m ? m : {message_id: m.id, from: m.from, text: m.text, at: m.at}));
    alarms[id] = {mine: "", muted: false, responders: [], ...a, id: Number(id), messages};
  });
  return {last: saved.last, ...(typeof saved.epoch === "string" ? {epoch: saved.epoch} : {}), alarms};
}

/**
 * @param {AlarmStore} store
 * @param {AlarmView} alarm
 * @returns {AlarmStore}
 */
function put(store, alarm) {
  return {...store, alarms: {...store.alarms, [alarm.id]: alarm}};
}

/**
 * Applies one event of the stream. ``me`` is this client's name (the hello's ``name``): an
 * alarm event that lists it among the responders tells this client its own earlier answer
 * (after a reload, or an answer from another device).
 * @param {AlarmStore} store
 * @param {AlarmProtocolEvent} event
 * @param {string} [me]
 * @returns {{store: AlarmStore, change: Change | null}}
 */
export function applyEvent(store, event, me = "") {
  const moved = {...store, last: event.event_id};
  const id = event.alarm_id;
  const known = store.alarms[id];
  if (event.type === "alarm") {
    /** @type {AlarmView} */
    const alarm = known
      ? {...known}
      : {id, role: event.role, state: event.state, closed: false, responders: [], messages: [],
         mine: "", muted: false};
    ALARM_FIELDS.forEach((key) => {
      if (event[key] !== undefined) { /** @type {any} */ (alarm)[key] = event[key]; }
    });
    alarm.closed = isEnded(alarm.state);
    const mineNow = me && !alarm.mine && (alarm.responders || []).find((r) => r.name === me);
    if (mineNow) { alarm.mine = mineNow.response; }
    return {store: put(moved, alarm),
            change: {alarm, fresh: !known && alarm.role === "receiver" && !alarm.closed, kind: "alarm"}};
  }
  if (!known) { return {store: moved, change: null}; } // from before this client's history
  const alarm = {...known};
  if (event.type === "message") {
    if (!alarm.messages.some((m) => m.message_id === event.message_id)) {
      alarm.messages = [...alarm.messages, {message_id: event.message_id,
        from: (event.from || {}).name || "", text: event.text, at: event.at}];
    }
    return {store: put(moved, alarm), change: {alarm, fresh: false, kind: "message"}};
  }
  if (event.type !== "alarm_update") { return {store: moved, change: null}; }
  if (event.state) { alarm.state = event.state; }
  switch (event.kind) {
    case "response":
      alarm.responders = event.responders;
      break;
    case "help_coming":
      alarm.responders = event.responders || alarm.responders;
      alarm.help = event.text;
      alarm.nobody = null;
      break;
    case "nobody_coming":
      if (!comingNames(alarm).length) {
        alarm.nobody = {text: event.text, call: event.call, reason: event.reason};
      }
      if (typeof event.delivered === "number") { alarm.delivered = event.delivered; }
      break;
    case "escalated":
      if (event.tier) { alarm.tier = event.tier; }
      break;
    case "position":
      if (event.position) { alarm.location = {...alarm.location, position: event.position}; }
      break;
    case "delivered":
      alarm.delivered = event.delivered;
      break;
    case "resolved":
      Object.assign(alarm, {closed: true, endedBy: event.by || "", note: event.note || ""});
      break;
    case "cancelled":
      Object.assign(alarm, {closed: true, endedBy: "", note: ""});
      break;
    default:
      break;
  }
  return {store: put(moved, alarm), change: {alarm, fresh: false, kind: event.kind}};
}

/**
 * The server's numbering is not ours (a restored backup, another inbox): a ``reset`` frame's
 * ``resume_from`` (or the hello's lower last_event_id) becomes our last id and its epoch ours,
 * or new events would be dropped as duplicates. Open alarms stay; a later alarm event of the
 * same id replaces one.
 * @param {AlarmStore} store
 * @param {number} last
 * @param {string} [epoch]
 * @returns {AlarmStore}
 */
export function resetTo(store, last, epoch) {
  return epoch === undefined ? {...store, last} : {...store, last, epoch};
}

/**
 * The server confirmed this client's own alarm (the answer of POST /api/v1/alarms). The alarm
 * event for the sender may have come first: then nothing changes.
 * @param {AlarmStore} store
 * @param {TriggerAnswer} answer
 * @param {string} templateName
 * @returns {AlarmStore}
 */
export function triggered(store, answer, templateName) {
  if (store.alarms[answer.id]) { return store; }
  return put(store, {id: answer.id, role: "sender", state: answer.state, closed: isEnded(answer.state),
    template: {code: answer.template, name: templateName}, triggered_at: answer.persisted_at,
    responders: [], messages: [], mine: "", muted: false});
}

/**
 * Changes the view of a known alarm (this client's answer, its error, muting); an unknown id
 * leaves the store as it is.
 * @param {AlarmStore} store
 * @param {number} id
 * @param {Partial<Pick<AlarmView, "mine" | "error" | "muted" | "closed" | "seen" | "dismissed">>} changes
 * @returns {AlarmStore}
 */
export function update(store, id, changes) {
  const known = store.alarms[id];
  return known ? put(store, {...known, ...changes}) : store;
}

/**
 * This client answered (or understood, for an alarm whose template says not to come).
 * @param {AlarmStore} store
 * @param {number} id
 * @param {"" | Response | "seen"} mine
 */
export function answered(store, id, mine) {
  return update(store, id, {mine, error: ""});
}

/**
 * @param {AlarmStore} store
 * @param {number} id
 */
export function toggleMuted(store, id) {
  const known = store.alarms[id];
  return known ? update(store, id, {muted: !known.muted}) : store;
}

/**
 * Keeps the open alarms and the ``keepEnded`` newest ended ones.
 * @param {AlarmStore} store
 * @param {number} keepEnded
 * @returns {AlarmStore}
 */
export function prune(store, keepEnded) {
  let ended = 0;
  /** @type {Record<string, AlarmView>} */
  const kept = {};
  Object.keys(store.alarms).map(Number).sort((x, y) => y - x).forEach((id) => {
    const a = store.alarms[id];
    if (!a.closed || ended++ < keepEnded) { kept[id] = a; }
  });
  return {...store, alarms: kept};
}

/**
 * Open alarms in one role, the newest first.
 * @param {AlarmStore} store
 * @param {"receiver" | "sender"} role
 * @returns {AlarmView[]}
 */
export function openAlarms(store, role) {
  return Object.values(store.alarms).filter((a) => a.role === role && !a.closed)
    .sort((x, y) => y.id - x.id);
}

/**
 * The names of those who are coming, in the order they answered.
 * @param {AlarmView} alarm
 * @returns {string[]}
 */
export function comingNames(alarm) {
  return (alarm.responders || []).filter((r) => r.response === "coming").map((r) => r.name);
}

/**
 * What the sender's screen says about an alarm: never success for an alarm nobody has accepted.
 * "help": someone is coming; "nobody": nobody said "Ich komme" (plan exhausted) or nobody was
 * reachable – call ``call``; "delivered": N receivers have it, no answer yet; "waiting": not yet
 * delivered to anyone; "ended": resolved or cancelled.
 * @param {AlarmView} alarm
 * @returns {{kind: "help" | "nobody" | "delivered" | "waiting" | "ended", text: string, call?: string}}
 */
export function senderOutcome(alarm) {
  if (alarm.closed) {
    return {kind: "ended", text: alarm.state === "cancelled" ? "Abgebrochen." : "Entwarnung gegeben."};
  }
  const names = comingNames(alarm);
  if (names.length) { return {kind: "help", text: "Hilfe kommt: " + names.join(", ")}; }
  if (alarm.nobody) { return {kind: "nobody", text: alarm.nobody.text, call: alarm.nobody.call}; }
  const n = alarm.delivered || 0;
  if (n > 0) {
    return {kind: "delivered", text: "Zugestellt an " + n + (n === 1 ? " Person" : " Personen")
      + " – noch keine Zusage."};
  }
  return {kind: "waiting", text: "Noch bei niemandem angekommen – noch keine Zusage."};
}

/**
 * The coverage indicator before pressing, from GET /api/v1/alarms/coverage ("Wer bekommt
 * meinen Alarm jetzt?"): its ``level`` and ``level_text``; anything unusable gives "unknown".
 * @param {any} coverage
 * @returns {{level: "green" | "yellow" | "red" | "unknown", text: string}}
 */
export function coverageLevel(coverage) {
  const level = coverage && coverage.level;
  if (level === "green" || level === "yellow" || level === "red") {
    return {level, text: String(coverage.level_text || "")};
  }
  return {level: "unknown", text: "Erreichbarkeit unbekannt – im Notfall rufen Sie 110."};
}

/**
 * A distance in German as a person reads it: under 1 km in metres ("180 m", rounded to 10 m
 * from 20 m on), from 1 km in kilometres with one decimal ("1,4 km"); "" for none.
 * @param {number | null | undefined} metres
 */
export function distanceText(metres) {
  if (metres === null || metres === undefined || !isFinite(metres) || metres < 0) { return ""; }
  if (metres < 20) { return Math.round(metres) + " m"; }
  if (metres < 1000) {
    const m = Math.round(metres / 10) * 10;
    return m >= 1000 ? "1 km" : m + " m";
  }
  const km = Math.round(metres / 100) / 10;
  return String(km).replace(".", ",") + " km";
}

/**
 * How old a position is, in German ("gerade eben", "3 Min. alt", "2 Std. alt", "3 Tage alt");
 * "" when the time is unknown.
 * @param {string | null | undefined} at  ISO time
 * @param {number} now  ms since the epoch
 */
export function ageText(at, now) {
  if (!at) { return ""; }
  const t = Date.parse(at);
  if (isNaN(t)) { return ""; }
  const minutes = Math.floor(Math.max(0, now - t) / 60000);
  if (minutes < 1) { return "gerade eben"; }
  if (minutes < 60) { return minutes + " Min. alt"; }
  const hours = Math.floor(minutes / 60);
  if (hours < 24) { return hours + " Std. alt"; }
  const days = Math.floor(hours / 24);
  return days + (days === 1 ? " Tag alt" : " Tage alt");
}

/**
 * Where the alarm is placed, for the receivers: "Ort: Adresse des Hausbesuchs", "Ort: letzte
 * Handy-Position, 3 Min. alt", "Ort: Raum 1.05 (Bürgerbüro)"; "" when the event says nothing
 * (location_basis null or missing).
 * @param {{location_basis?: string | null, position_at?: string | null,
 *          location?: {room?: string | null, room_name?: string | null} | null}} alarm
 * @param {number} now  ms since the epoch
 */
export function locationBasisText(alarm, now) {
  const basis = alarm.location_basis;
  const age = ageText(alarm.position_at, now);
  if (basis === "visit") {
    return "Ort: Adresse des Hausbesuchs";
  }
  if (basis === "phone") {
    return "Ort: letzte Handy-Position" + (age ? ", " + age : "");
  }
  if (basis === "room") {
    const loc = alarm.location || {};
    if (!loc.room) { return "Ort: Raum des Arbeitsplatzes"; }
    return "Ort: Raum " + loc.room + (loc.room_name ? " (" + loc.room_name + ")" : "");
  }
  return "";
}

/**
 * What the page says about sound before any alarm comes: nothing while the browser plays sound
 * ("running"); a "Ton aktivieren" button while it blocks sound until a click ("suspended",
 * "blocked"); a note without a button where there is no WebAudio ("unsupported").
 * @param {string} audioState  the AudioContext's state, or "unsupported"
 * @returns {{show: boolean, button: boolean, text: string}}
 */
export function soundNotice(audioState) {
  if (audioState === "running") { return {show: false, button: false, text: ""}; }
  if (audioState === "unsupported") {
    return {show: true, button: false,
      text: "Dieser Browser kann keine Alarmtöne abspielen. Eingehende Alarme sehen Sie nur auf dem Bildschirm."};
  }
  return {show: true, button: true,
    text: "Der Browser spielt Alarmtöne erst nach einem Klick ab. Bitte aktivieren Sie den Ton jetzt, damit Sie eingehende Alarme hören."};
}

/**
 * The receive windows on screen, newest first: every open receiver alarm not closed here, and
 * an ended one this client had shown open until the person closes it (the all-clear is shown
 * as such, never by the window vanishing).
 * @param {AlarmStore} store
 * @returns {AlarmView[]}
 */
export function shownIncoming(store) {
  return Object.values(store.alarms)
    .filter((a) => a.role === "receiver" && !a.dismissed && (!a.closed || a.seen))
    .sort((x, y) => y.id - x.id);
}

/**
 * Whether a receive window may be closed: after the alarm ended, or after "Kann nicht".
 * @param {AlarmView} alarm
 */
export function canClose(alarm) {
  return alarm.closed || alarm.mine === "cannot";
}

/**
 * The end of an alarm as receivers read it: "Entwarnung – Alarm beendet durch Erika Muster"
 * (with the all-clear's note), "Abgebrochen – Alarm zurückgenommen durch …"; "" while open.
 * @param {AlarmView} alarm
 */
export function endedText(alarm) {
  if (!alarm.closed) { return ""; }
  if (alarm.state === "cancelled") {
    const who = (alarm.sender && alarm.sender.name) || "";
    return "Abgebrochen – Alarm zurückgenommen" + (who ? " durch " + who : "") + ".";
  }
  return "Entwarnung – Alarm beendet" + (alarm.endedBy ? " durch " + alarm.endedBy : "")
    + (alarm.note ? ": " + alarm.note : "") + ".";
}

/**
 * What the alarm page says about system notifications: "default" asks with an explanation and
 * a button (the browser needs a click to ask); "denied" explains how to allow them; nothing
 * once granted or where the browser has none ("unsupported").
 * @param {string} permission  Notification.permission, or "unsupported"
 * @param {{app?: boolean}} [where]  the phone app (its own words) instead of the alarm page
 * @returns {{show: boolean, button: boolean, text: string}}
 */
export function notifyNotice(permission, where = {}) {
  const hidden = where.app ? "die App im Hintergrund ist oder das Display aus" : "dieses Fenster im Hintergrund liegt";
  const shown = where.app ? "die App offen ist" : "dieses Fenster sichtbar ist";
  if (permission === "default") {
    return {show: true, button: true,
      text: "Damit Sie einen Alarm auch bemerken, wenn " + hidden + ", "
        + "zeigt " + (where.app ? "die App" : "die Seite") + " dann eine Benachrichtigung des Systems. Bitte erlauben Sie das."};
  }
  if (permission === "denied") {
    return {show: true, button: false,
      text: "Benachrichtigungen sind im Browser blockiert: Einen Alarm sehen Sie nur, wenn "
        + shown + ". Erlauben Sie sie in den Website-Einstellungen des Browsers."};
  }
  return {show: false, button: false, text: ""};
}

/**
 * The system notification for an incoming alarm: title and body in German.
 * @param {AlarmView} alarm
 * @returns {{title: string, body: string}}
 */
export function alarmNotification(alarm) {
  const tpl = alarm.template || {};
  const sender = (alarm.sender && alarm.sender.name) || "unbekannt";
  const loc = alarm.location || {};
  const where = [loc.room ? "Raum " + loc.room : "", loc.address || loc.site || ""].filter(Boolean).join(", ");
  return {title: (tpl.test ? "PROBEALARM: " : "ALARM: ") + (tpl.name || "Alarm"),
          body: sender + (where ? " – " + where : "") + ". Bitte die Alarmseite öffnen."};
}
