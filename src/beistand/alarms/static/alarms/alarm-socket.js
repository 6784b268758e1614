/* The browser receive client of the alarm WebSocket (docs/alarm-protocol.md) as an ES module,
 * shared by the alarm web page (alarms/static/alarms/alarm.js, session cookie) and the phone app
 * (mobile/static/mobile/app.js, bearer token).
 *
 * hello -> resume with the highest processed event_id -> events, each receipted after the
 * handler ran; events not above that id are dropped (at-least-once delivery); pong to ping;
 * nothing heard for 2 x heartbeat = disconnected (reported), reconnect with backoff 1, 2, 4 …
 * 30 s with jitter; close code 4401 = the credentials are no longer valid (no blind retry).
 * Commands may go over the socket with a request_id (request()), answered by result or error.
 *
 * The caller keeps the highest processed event_id (and persists it as it likes): the socket
 * reads it through lastEventId() and never stores events itself.
 */
export class AlarmSocket {
  /**
   * @param {object} options
   * @param {string} options.url       ws(s)://host/ws/v1/alarms, or a path (/ws/v1/alarms) on this origin
   * @param {string} [options.token]   bearer token, sent as ?token=; without it the browser's
   *                                   same-origin session cookie authenticates the connection
   * @param {number} [options.heartbeat]  seconds until the server's hello says otherwise (15)
   * @param {() => number} options.lastEventId   the highest event_id already processed
   * @param {(event: object) => void} options.onEvent   called once per new event, in order
   * @param {(state: string, detail?: string, info?: {reason: string, code?: number}) => void} [options.onStatus]
   *        connecting|online|offline; for offline, info.reason is "closed" (the connection
   *        ended), "silent" (nothing heard for 2 x heartbeat) or "auth" (close code 4401)
   * @param {(delayMs: number, attempt: number) => void} [options.onReconnect]  a new attempt is
   *        scheduled in delayMs
   * @param {(serverLastEventId: number) => void} [options.onServerReset]  the hello's
   *        last_event_id is below lastEventId() (the server's event store was reset): lower the
   *        processed id to it before the resume, or new events would be dropped as duplicates
   * @param {(hello: object) => void} [options.onHello]   after the resume went out
   * @param {() => void} [options.onAuthFailed]
   */
  constructor(options) {
    this.o = options;
    this.ws = null;
    this.attempt = 0;
    this.heartbeat = options.heartbeat || 15;
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

  /** The socket is open: commands can go over it (else use HTTP). */
  get connected() {
    return !!this.ws && this.ws.readyState === 1;
  }

  status(state, detail, info) {
    if (this.o.onStatus) { this.o.onStatus(state, detail, info); }
  }

  address() {
    let url = this.o.url;
    if (url.startsWith("/")) {
      url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + url;
    }
    return this.o.token ? url + "?token=" + encodeURIComponent(this.o.token) : url;
  }

  connect() {
    clearTimeout(this.retry);
    this.status("connecting");
    let ws;
    try {
      ws = new WebSocket(this.address());
    } catch (e) {
      this.schedule();
      return;
    }
    this.ws = ws;
    ws.onopen = () => { if (this.ws === ws) { this.arm(); } };
    ws.onmessage = (msg) => { if (this.ws === ws) { this.receive(msg.data); } };
    ws.onclose = (ev) => {
      if (this.ws !== ws) { return; }
      clearTimeout(this.watchdog);
      this.ws = null;
      if (ev.code === 4401) {
        this.status("offline", "Anmeldung abgelaufen", {reason: "auth", code: ev.code});
        this.stopped = true;
        if (this.o.onAuthFailed) { this.o.onAuthFailed(); }
        return;
      }
      this.status("offline", undefined, {reason: "closed", code: ev.code});
      this.schedule();
    };
    ws.onerror = () => { /* onclose follows */ };
  }

  schedule() {
    if (this.stopped) { return; }
    clearTimeout(this.retry);
    const base = Math.min(30, 2 ** this.attempt);
    this.attempt += 1;
    const wait = base * 1000 * (0.75 + Math.random() * 0.5);
    this.retry = setTimeout(() => this.connect(), wait);
    if (this.o.onReconnect) { this.o.onReconnect(wait, this.attempt); }
  }

  arm() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      // Silence for 2 x heartbeat: the connection is dead even if the socket does not know yet.
      this.status("offline", "keine Antwort vom Server", {reason: "silent"});
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

  /** A command with a request_id; resolves on ``result``, rejects on ``error`` (or a result
   * with ``ok: false``), on timeout and without a connection. The Error's ``code`` is the
   * server's error code, "timeout" or "offline". */
  request(frame, timeoutMs = 8000) {
    const id = "r" + (++this.counter);
    const failure = (message, code) => Object.assign(new Error(message), {code});
    return new Promise((resolve, reject) => {
      if (!this.send({...frame, request_id: id})) {
        reject(failure("keine Verbindung", "offline"));
        return;
      }
      const timer = setTimeout(() => {
        this.requests.delete(id);
        reject(failure("keine Antwort", "timeout"));
      }, timeoutMs);
      this.requests.set(id, {resolve, reject: (frame) => reject(failure(frame.detail || "abgelehnt", frame.code)), timer});
    });
  }

  receive(text) {
    let frame;
    try { frame = JSON.parse(text); } catch (e) { return; }
    if (!frame || typeof frame !== "object") { return; }
    this.arm();
    switch (frame.type) {
      case "hello": {
        this.heartbeat = frame.heartbeat_s || this.heartbeat;
        this.attempt = 0;
        if (this.o.onServerReset && typeof frame.last_event_id === "number"
            && frame.last_event_id < this.o.lastEventId()) {
          this.o.onServerReset(frame.last_event_id);
        }
        this.send({type: "resume", last_event_id: this.o.lastEventId()});
        this.status("online");
        if (this.o.onHello) { this.o.onHello(frame); }
        this.arm();
        return;
      }
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
          if (frame.type === "result" && frame.ok !== false) { pending.resolve(frame); } else { pending.reject(frame); }
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
