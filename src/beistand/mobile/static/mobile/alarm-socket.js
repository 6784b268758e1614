/* A receive client of the alarm WebSocket (docs/alarm-protocol.md) as an ES module.
 *
 * hello -> resume with the highest processed event_id -> events, each receipted after the
 * handler ran; events not above that id are dropped (at-least-once delivery); pong to ping;
 * nothing heard for 2 x heartbeat = disconnected (reported), reconnect with backoff 1, 2, 4 …
 * 30 s with jitter; close code 4401 = the token is no longer valid (no blind retry).
 *
 * The alarm web page (alarms/static/alarms/alarm.js) has its own client inside its script; this
 * module is the reusable one (to be shared once that page is moved onto modules).
 */
export class AlarmSocket {
  /**
   * @param {object} options
   * @param {string} options.url       ws(s)://host/ws/v1/alarms
   * @param {string} options.token     bearer token, sent as ?token=
   * @param {() => number} options.lastEventId   the highest event_id already processed
   * @param {(event: object) => void} options.onEvent   called once per new event, in order
   * @param {(state: string, detail?: string) => void} [options.onStatus]  connecting|online|offline
   * @param {(hello: object) => void} [options.onHello]
   * @param {() => void} [options.onAuthFailed]
   */
  constructor(options) {
    this.o = options;
    this.ws = null;
    this.attempt = 0;
    this.heartbeat = 15;
    this.watchdog = null;
    this.retry = null;
    this.stopped = false;
    this.requests = new Map();
    this.counter = 0;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retry);
    clearTimeout(this.watchdog);
    if (this.ws) { this.ws.close(1000); }
  }

  /** Reconnect now (e.g. the browser says it is online again). */
  kick() {
    if (this.stopped) { return; }
    if (this.ws && this.ws.readyState <= 1) { return; }
    clearTimeout(this.retry);
    this.attempt = 0;
    this.connect();
  }

  get connected() {
    return !!this.ws && this.ws.readyState === 1;
  }

  status(state, detail) {
    if (this.o.onStatus) { this.o.onStatus(state, detail); }
  }

  connect() {
    clearTimeout(this.retry);
    this.status("connecting");
    let ws;
    try {
      ws = new WebSocket(this.o.url + "?token=" + encodeURIComponent(this.o.token));
    } catch (e) {
      this.schedule();
      return;
    }
    this.ws = ws;
    ws.onmessage = (msg) => this.receive(msg.data);
    ws.onclose = (ev) => {
      if (this.ws !== ws) { return; }
      clearTimeout(this.watchdog);
      this.ws = null;
      if (ev.code === 4401) {
        this.status("offline", "Anmeldung abgelaufen");
        this.stopped = true;
        if (this.o.onAuthFailed) { this.o.onAuthFailed(); }
        return;
      }
      this.status("offline");
      this.schedule();
    };
    ws.onerror = () => { /* onclose follows */ };
  }

  schedule() {
    if (this.stopped) { return; }
    const base = Math.min(30, 2 ** this.attempt);
    this.attempt += 1;
    const wait = base * 1000 * (0.75 + Math.random() * 0.5);
    this.retry = setTimeout(() => this.connect(), wait);
  }

  arm() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      // Silence for 2 x heartbeat: the connection is dead even if the socket does not know yet.
      this.status("offline", "keine Antwort vom Server");
      const ws = this.ws;
      this.ws = null;
      if (ws) { try { ws.close(4000); } catch (e) { /* already closed */ } }
      this.schedule();
    }, this.heartbeat * 2000);
  }

  send(frame) {
    if (!this.connected) { return false; }
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** A command with a request_id; resolves on ``result``, rejects on ``error`` or timeout. */
  request(frame, timeoutMs = 8000) {
    const id = "r" + (++this.counter);
    return new Promise((resolve, reject) => {
      if (!this.send({...frame, request_id: id})) {
        reject(new Error("keine Verbindung"));
        return;
      }
      const timer = setTimeout(() => {
        this.requests.delete(id);
        reject(new Error("keine Antwort"));
      }, timeoutMs);
      this.requests.set(id, {resolve, reject, timer});
    });
  }

  receive(text) {
    let frame;
    try { frame = JSON.parse(text); } catch (e) { return; }
    if (!frame || typeof frame !== "object") { return; }
    this.arm();
    switch (frame.type) {
      case "hello":
        this.heartbeat = frame.heartbeat_s || 15;
        this.attempt = 0;
        this.send({type: "resume", last_event_id: this.o.lastEventId()});
        this.status("online");
        if (this.o.onHello) { this.o.onHello(frame); }
        this.arm();
        return;
      case "ping":
        this.send({type: "pong"});
        return;
      case "pong":
        return;
      case "result":
      case "error": {
        const pending = frame.request_id && this.requests.get(frame.request_id);
        if (pending) {
          clearTimeout(pending.timer);
          this.requests.delete(frame.request_id);
          if (frame.type === "result") { pending.resolve(frame); } else { pending.reject(new Error(frame.detail)); }
        }
        return;
      }
      default:
        break;
    }
    if (typeof frame.event_id !== "number") { return; }
    if (frame.event_id <= this.o.lastEventId()) {
      this.send({type: "receipt", event_id: this.o.lastEventId()});
      return; // a duplicate after a resend or a resume
    }
    try {
      this.o.onEvent(frame);
    } finally {
      this.send({type: "receipt", event_id: frame.event_id});
    }
  }
}
