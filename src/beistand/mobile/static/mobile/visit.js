/* Visits with the lone-worker timer (Zeitalarm). The server owns the timer (it fires on a dead
 * phone); this screen starts, extends and ends a visit, reports the position, and shows the
 * server's state: it reads GET /visits/current when started, every 10 s while a visit runs, at
 * the visit's own times, on focus and when the phone is back online.
 */
import { clock } from "../alarms/ui.js";

const POLL_MS = 10000;
const EXTEND_MIN = 15;
/** An element of the page by id (its kind is known from the template: typed loosely).
 * @type {(id: string) => any} */
const $ = (id) => document.getElementById(id);

function splitStreet(text) {
  const m = /^(.*?)[\s,]+(\d+\s*[a-zA-Z]?(?:\s*[-/]\s*\d+\s*[a-zA-Z]?)?)$/.exec(text.trim());
  return m ? {street: m[1].trim(), house_number: m[2].replace(/\s+/g, "")} : {street: text.trim(), house_number: ""};
}

export class VisitScreen {
  /**
   * @param {object} app  what the screen needs of the app (app.js)
   * @param {(path: string, options?: {method?: string, body?: any, timeoutMs?: number}) => Promise<{status: number, data: any}>} app.api
   * @param {any} app.config  GET /api/v1/app/config
   * @param {(pattern: number | number[]) => void} app.vibrate
   * @param {(screen: string) => void} app.show
   * @param {() => ({lat: number, lon: number, accuracy_m: number} | null)} app.getPos
   */
  constructor({api, config, vibrate, show, getPos}) {
    this.api = api;
    this.config = config;
    this.vibrate = vibrate;
    this.show = show;
    this.getPos = getPos;
    this.current = null;
    this.lookupId = null;
    this.poll = null;
    this.timers = [];
    this.lastPosSent = 0;
    this.lastState = "";
    this.form = $("visit-form");
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.start(); });
    $("visit-lookup").hidden = !config.can_lookup;
    /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("[data-visit-act]")).forEach((b) => b.addEventListener("click", () => this.act(b.dataset.visitAct)));
    window.addEventListener("focus", () => this.refresh());
    document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") { this.refresh(); } });
  }

  error(text) { $("visit-error").textContent = text || ""; }

  address() {
    const street = $("visit-street").value.trim();
    const plz = $("visit-plz").value.trim();
    const city = $("visit-city").value.trim();
    return [street, [plz, city].filter(Boolean).join(" ")].filter(Boolean).join(", ");
  }

  async refresh() {
    try {
      const res = await this.api("/visits/current", {timeoutMs: 8000});
      this.render(res.status === 204 ? null : res.data);
    } catch (err) {
      if (this.current) { $("visit-running").querySelector('[data-visit="state"]').textContent += " (offline)"; }
    }
  }

  schedule() {
    clearInterval(this.poll);
    this.timers.forEach(clearTimeout);
    this.timers = [];
    const v = this.current;
    if (!v || v.state === "ended") { return; }
    this.poll = setInterval(() => this.refresh(), POLL_MS);
    // Ask again right at the visit's own times (corrected for the phone's clock).
    const skew = Date.now() - new Date(v.server_time).getTime();
    [v.checkin_at, v.prealarm_at, v.alarm_at].forEach((t) => {
      const wait = new Date(t).getTime() + skew - Date.now() + 1500;
      if (wait > 0 && wait < 24 * 3600e3) { this.timers.push(setTimeout(() => this.refresh(), wait)); }
    });
  }

  render(v) {
    const was = this.lastState;
    this.current = v && v.state !== "ended" ? v : null;
    this.lastState = this.current ? this.current.state : "";
    $("visit-form").hidden = !!this.current;
    $("visit-running").hidden = !this.current;
    this.schedule();
    if (!this.current) { return; }
    const box = $("visit-running");
    box.querySelector('[data-visit="address"]').textContent = v.address;
    box.querySelector('[data-visit="end"]').textContent = clock(v.expected_end);
    const stateText = {
      running: "läuft – Rückfrage um " + clock(v.checkin_at),
      asked: "Rückfrage: Alles in Ordnung?",
      prealarm: "VORALARM – Alarm an Ihr Team um " + clock(v.alarm_at),
      alarmed: "Alarm ausgelöst (Zeitalarm)",
    }[v.state] || v.state_label;
    box.querySelector('[data-visit="state"]').textContent = stateText;
    const ask = $("visit-ask");
    const asking = v.state === "asked" || v.state === "prealarm";
    ask.hidden = !asking;
    ask.classList.toggle("bs-ask--prealarm", v.state === "prealarm");
    if (asking) {
      ask.querySelector("[data-ask-title]").textContent = v.state === "prealarm"
        ? "Voralarm: Alles in Ordnung?" : "Alles in Ordnung?";
      ask.querySelector("[data-ask-text]").textContent = v.state === "prealarm"
        ? "Ohne Antwort geht um " + clock(v.alarm_at) + " ein Alarm an Ihr Team – mit Anschrift und letztem Standort."
        : "Ihr Besuch endet um " + clock(v.expected_end) + ". Bitte kurz bestätigen.";
    }
    if (v.state !== was && asking) {
      this.show("visit");
      this.vibrate(v.state === "prealarm" ? [600, 200, 600, 200, 600] : [300, 150, 300]);
      ask.querySelector("button").focus();
    }
    if (v.state === "alarmed" && was !== "alarmed") { this.show("visit"); }
  }

  async start() {
    this.error("");
    const address = this.address();
    if ($("visit-street").value.trim().length < 3) {
      this.error("Bitte Straße und Hausnummer angeben.");
      $("visit-street").focus();
      return;
    }
    const body = {address, minutes: Number($("visit-minutes").value)};
    const pos = this.getPos();
    if (pos) { body.position = {lat: pos.lat, lon: pos.lon, accuracy_m: pos.accuracy_m}; }
    if (this.lookupId) { body.lookup_id = this.lookupId; }
    try {
      const res = await this.api("/visits", {method: "POST", body});
      this.lookupId = null;
      $("visit-lookup-result").textContent = "";
      this.render(res.data);
    } catch (err) {
      this.error("Besuch nicht gestartet: " + err.message);
    }
  }

  async act(what) {
    if (what === "lookup") { return this.lookup(); }
    const v = this.current;
    if (!v) { return; }
    try {
      let res;
      if (what === "ok" || what === "extend") {
        res = await this.api("/visits/" + v.id + "/checkin", {method: "POST", body: {minutes: EXTEND_MIN}});
      } else {
        res = await this.api("/visits/" + v.id + "/end", {method: "POST"});
      }
      this.render(res.data);
      if (!this.current) { this.error(""); $("visit-street").focus(); }
    } catch (err) {
      $("visit-running").querySelector('[data-visit="state"]').textContent = "Nicht gesendet: " + err.message;
    }
  }

  async lookup() {
    const out = $("visit-lookup-result");
    out.textContent = "";
    out.className = "bs-lookup__result";
    const parts = splitStreet($("visit-street").value);
    const body = {purpose: $("visit-purpose").value.trim(), street: parts.street,
                  house_number: parts.house_number, postal_code: $("visit-plz").value.trim()};
    try {
      const res = await this.api("/register/lookups", {method: "POST", body});
      this.lookupId = res.data.id;
      const found = res.data.candidates || [];
      if (!found.length) {
        out.textContent = "Kein Eintrag im Register zu dieser Anschrift. Das heißt nicht, dass keine Gefahr besteht.";
        return;
      }
      out.classList.add("bs-lookup__result--warn");
      const head = document.createElement("p");
      head.className = "bs-lookup__warn";
      head.textContent = "Achtung: " + found.length + (found.length === 1 ? " Eintrag" : " Einträge") + " im Register zu dieser Anschrift.";
      out.appendChild(head);
      const list = document.createElement("ul");
      found.forEach((c) => {
        const li = document.createElement("li");
        li.textContent = c.last_name + ", " + c.first_names + " – Gefährdungsstufe " + c.hazard_level +
          (c.last_incident_on ? ", letzter Vorfall " + new Date(c.last_incident_on).toLocaleDateString("de-DE") : "") +
          (c.measures && c.measures.length ? ". Maßnahmen: " + c.measures.join(", ") : "");
        list.appendChild(li);
      });
      out.appendChild(list);
      const hint = document.createElement("p");
      hint.textContent = "Gehen Sie nicht allein. Besprechen Sie den Besuch mit Ihrer Führungskraft.";
      out.appendChild(hint);
    } catch (err) {
      out.textContent = "Abfrage nicht möglich: " + err.message;
    }
  }

  position(pos) {
    const v = this.current;
    if (!v || !pos || Date.now() - this.lastPosSent < 60000) { return; }
    this.lastPosSent = Date.now();
    this.api("/visits/" + v.id + "/position", {method: "POST",
      body: {lat: pos.lat, lon: pos.lon, accuracy_m: pos.accuracy_m}}).catch(() => {});
  }
}
