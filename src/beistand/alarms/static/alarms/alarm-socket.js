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
 * reads it through lastEventId() and never stores events itself (alarm-state.js is the shared
 * reducer of the events). The frames are typed in protocol.d.ts.
 */

/**
 * @typedef {import("./protocol").AlarmProtocolEvent} AlarmProtocolEvent
 * @typedef {import("./protocol").ClientFrame} ClientFrame
 * @typedef {import("./protocol").HelloFrame} HelloFrame
 * @typedef {import("./protocol").ResultFrame} ResultFrame
 * @typedef {import("./protocol").ErrorFrame} ErrorFrame
 * @typedef {import("./protocol").ServerFrame} ServerFrame
 * @typedef {import("./protocol").CoverageFrame} CoverageFrame
 * @typedef {Error & {code?: string}} CommandError
 */

export class AlarmSocket {
  /**
   * @param {object} options
   * @param {string} options.url       ws(s)://host/ws/v1/alarms, or a path (/ws/v1/alarms) on this origin
   * @param {string} [options.token]   bearer token, sent as the subprotocol beistand.bearer.<token>
   *                                   next to beistand.v1 (never in the URL: URLs end up in access
   *                                   logs); without it the browser's same-origin session cookie
   *                                   authenticates the connection
   * @param {number} [options.heartbeat]  seconds until the server's hello says otherwise (15)
   * @param {() => number} options.lastEventId   the highest event_id already processed
   * @param {(event: AlarmProtocolEvent) => void} options.onEvent   called once per new event, in order
   * @param {(state: string, detail?: string, info?: {reason: string, code?: number}) => void} [options.onStatus]
   *        connecting|online|offline; for offline, info.reason is "closed" (the connection
   *        ended), "silent" (nothing heard for 2 x heartbeat) or "auth" (close code 4401)
   * @param {(delayMs: number, attempt: number) => void} [options.onReconnect]  a new attempt is
   *        scheduled in delayMs
   * @param {(serverLastEventId: number) => void} [options.onServerReset]  the hello's
   *        last_event_id is below lastEventId() (the server's event store was reset): lower the
   *        processed id to it before the resume, or new events would be dropped as duplicates
   * @param {() => string} [options.epoch]   the epoch lastEventId() belongs to ("" if none)
   * @param {(epoch: string) => void} [options.onEpoch]   keep this epoch with the processed id:
   *        the hello's after the resume went out, or a reset's (then onServerReset was called
   *        with its resume_from first)
   * @param {(hello: HelloFrame) => void} [options.onHello]   after the resume went out
   * @param {() => void} [options.onAuthFailed]
   * @param {(frame: CoverageFrame) => void} [options.onCoverage]   the server pushed the coverage
   *        indicator (a control frame: no receipt)
   */
  constructor(options) {
    this.o = options;
    /** @type {WebSocket | null} */
    this.ws = null;
    this.attempt = 0;
    this.heartbeat = options.heartbeat || 15;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.watchdog = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retry = undefined;
    this.stopped = false;
    /** @type {Map<string, {resolve: (frame: ResultFrame) => void, reject: (frame: ResultFrame | ErrorFrame) => void, timer: ReturnType<typeof setTimeout>}>} */
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
    return url;
  }

  /** The subprotocols offered: the bearer token travels in a header, not in the URL. */
  protocols() {
    return this.o.token ? ["beistand.v1", "beistand.bearer." + this.o.token] : [];
  }

  connect() {
    clearTimeout(this.retry);
    this.status("connecting");
    let ws;
    try {
      ws = new WebSocket(this.address(), this.protocols());
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

  /** @param {ClientFrame} frame @returns {boolean} sent (false: no connection) */
  send(frame) {
    if (!this.connected) { return false; }
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** A command with a request_id; resolves on ``result``, rejects on ``error`` (or a result
   * with ``ok: false``), on timeout and without a connection. The Error's ``code`` is the
   * server's error code, "timeout" or "offline".
   * @param {ClientFrame} frame
   * @param {number} [timeoutMs]
   * @returns {Promise<ResultFrame>} */
  request(frame, timeoutMs = 8000) {
    const id = "r" + (++this.counter);
    /** @type {(message: string, code: string) => CommandError} */
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
      const refuse = (/** @type {ResultFrame | ErrorFrame} */ frame) => reject(frame.type === "error"
        ? failure(frame.detail || "abgelehnt", frame.code) : failure("abgelehnt", undefined));
      this.requests.set(id, {resolve, reject: refuse, timer});
    });
  }

  /** @param {string} text */
  receive(text) {
    /** @type {ServerFrame} */
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
        const epoch = this.o.epoch ? this.o.epoch() : "";
        this.send(epoch ? {type: "resume", last_event_id: this.o.lastEventId(), epoch}
          : {type: "resume", last_event_id: this.o.lastEventId()});
        if (this.o.onEpoch && frame.epoch) { this.o.onEpoch(frame.epoch); }
        this.status("online");
        if (this.o.onHello) { this.o.onHello(frame); }
        this.arm();
        return;
      }
      case "reset":
        // Our numbering is not the server's (restored database, another inbox): continue
        // from its resume_from under its epoch; the events after it follow.
        if (this.o.onServerReset) { this.o.onServerReset(frame.resume_from); }
        if (this.o.onEpoch) { this.o.onEpoch(frame.epoch); }
        return;
      case "ping":
        this.send({type: "pong"});
        return;
      case "coverage":
        if (this.o.onCoverage) { this.o.onCoverage(frame); }
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
