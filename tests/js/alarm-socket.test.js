/* The shared protocol client (src/beistand/alarms/static/alarms/alarm-socket.js) against a
 * scripted stand-in for the browser's WebSocket: resume after hello, receipts after the handler,
 * duplicates dropped, pong, commands with request_id, 4401. (The real server and the real
 * browser meet in tests/browser/test_alarm_ui.py and test_mobile_app.py.) */
import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";

import { AlarmSocket } from "../../src/beistand/alarms/static/alarms/alarm-socket.js";

/** The browser's WebSocket as far as AlarmSocket uses it; frames sent are kept parsed. */
class FakeWebSocket {
  /** @type {FakeWebSocket[]} */
  static all = [];

  /** @param {string} url */
  constructor(url, protocols = []) {
    this.url = url;
    this.protocols = protocols;
    this.readyState = 0;
    /** @type {any[]} */
    this.sent = [];
    /** @type {((ev: any) => void) | null} */ this.onopen = null;
    /** @type {((ev: any) => void) | null} */ this.onmessage = null;
    /** @type {((ev: any) => void) | null} */ this.onclose = null;
    /** @type {((ev: any) => void) | null} */ this.onerror = null;
    FakeWebSocket.all.push(this);
  }

  /** @param {string} text */
  send(text) { this.sent.push(JSON.parse(text)); }

  /** @param {number} [code] */
  close(code = 1000) {
    if (this.readyState === 3) { return; }
    this.readyState = 3;
    if (this.onclose) { this.onclose({code}); }
  }

  // --- the server's side ---
  open() { this.readyState = 1; if (this.onopen) { this.onopen({}); } }
  /** @param {object} frame */
  receive(frame) { if (this.onmessage) { this.onmessage({data: JSON.stringify(frame)}); } }
}

const HELLO = {type: "hello", inbox: 1, name: "Erika Muster", last_event_id: 3, heartbeat_s: 15,
               server_time: "2026-11-29T21:14:03.125+00:00"};

/** @type {AlarmSocket | null} */
let socket = null;

beforeEach(() => {
  FakeWebSocket.all = [];
  /** @type {any} */ (globalThis).WebSocket = FakeWebSocket;
});

afterEach(() => {
  if (socket) { socket.stop(); socket = null; }
});

/**
 * A started socket with a processed position ``last`` and its recorded callbacks.
 * @param {number} last
 * @param {object} [more]  further options
 */
function started(last, more = {}) {
  const seen = {events: /** @type {any[]} */ ([]), statuses: /** @type {string[]} */ ([]), auth: 0};
  let position = last;
  socket = new AlarmSocket({
    url: "wss://beistand.example/ws/v1/alarms", token: "bst_x",
    lastEventId: () => position,
    onEvent: (event) => { seen.events.push(event); position = event.event_id; },
    onStatus: (state) => seen.statuses.push(state),
    onAuthFailed: () => { seen.auth += 1; },
    ...more,
  });
  socket.start();
  const ws = FakeWebSocket.all[0];
  ws.open();
  return {ws, seen};
}

test("hello is answered with resume from the processed position; events are receipted", () => {
  const {ws, seen} = started(2);
  // The token travels as a subprotocol, never in the URL (access logs; issue 16, finding 9).
  assert.equal(ws.url, "wss://beistand.example/ws/v1/alarms");
  assert.deepEqual(ws.protocols, ["beistand.v1", "beistand.bearer.bst_x"]);
  ws.receive(HELLO);
  assert.deepEqual(ws.sent, [{type: "resume", last_event_id: 2}]);
  assert.deepEqual(seen.statuses, ["connecting", "online"]);
  ws.receive({type: "alarm_update", event_id: 3, alarm_id: 42, kind: "cancelled", state: "cancelled"});
  assert.equal(seen.events.length, 1);
  assert.deepEqual(ws.sent.at(-1), {type: "receipt", event_id: 3});
});

test("a duplicate is only receipted again, never handled twice", () => {
  const {ws, seen} = started(5);
  ws.receive(HELLO);
  ws.receive({type: "alarm_update", event_id: 4, alarm_id: 42, kind: "cancelled", state: "cancelled"});
  assert.equal(seen.events.length, 0);
  assert.deepEqual(ws.sent.at(-1), {type: "receipt", event_id: 5});
});

test("a server whose event store was reset lowers the position before the resume", () => {
  /** @type {number[]} */
  const resets = [];
  const {ws} = started(10, {onServerReset: (/** @type {number} */ n) => resets.push(n)});
  ws.receive(HELLO); // last_event_id 3 < 10
  assert.deepEqual(resets, [3]);
});

test("the resume carries the epoch; a reset frame replaces position and epoch, new events follow", () => {
  let epoch = "old-epoch";
  let position = 40;
  const seen = /** @type {number[]} */ ([]);
  const {ws} = started(40, {
    lastEventId: () => position,
    onEvent: (/** @type {any} */ event) => { seen.push(event.event_id); position = event.event_id; },
    epoch: () => epoch,
    onEpoch: (/** @type {string} */ e) => { epoch = e; },
    onServerReset: (/** @type {number} */ n) => { position = n; },
  });
  ws.receive({...HELLO, epoch: "new-epoch", last_event_id: 42}); // a restore: numbers reused
  assert.deepEqual(ws.sent, [{type: "resume", last_event_id: 40, epoch: "old-epoch"}]);
  ws.receive({type: "reset", reason: "epoch", epoch: "new-epoch", last_event_id: 42, resume_from: 38});
  assert.equal(epoch, "new-epoch");
  assert.equal(position, 38);
  for (const id of [39, 40, 41, 42]) {
    ws.receive({type: "alarm_update", event_id: id, alarm_id: 42, kind: "cancelled", state: "cancelled"});
  }
  assert.deepEqual(seen, [39, 40, 41, 42]); // not dropped as "already seen"
});

test("ping is answered with pong", () => {
  const {ws} = started(0);
  ws.receive({type: "ping", t: "2026-11-29T21:14:03+00:00"});
  assert.deepEqual(ws.sent, [{type: "pong"}]);
});

test("a command with request_id resolves on result and rejects with the error's code", async () => {
  const {ws} = started(0);
  ws.receive(HELLO);
  const ok = socket.request({type: "respond", alarm_id: 42, response: "coming"});
  const first = ws.sent.at(-1);
  assert.equal(first.type, "respond");
  ws.receive({type: "result", request_id: first.request_id, ok: true});
  assert.equal((await ok).ok, true);

  const refused = socket.request({type: "message", alarm_id: 42, text: "x"});
  const second = ws.sent.at(-1);
  assert.notEqual(second.request_id, first.request_id);
  ws.receive({type: "error", request_id: second.request_id, code: "not_part_of_alarm",
              detail: "Sie sind an diesem Alarm nicht beteiligt."});
  await assert.rejects(refused, {code: "not_part_of_alarm", message: "Sie sind an diesem Alarm nicht beteiligt."});
});

test("a command without a connection is refused at once", async () => {
  socket = new AlarmSocket({url: "wss://x/ws/v1/alarms", lastEventId: () => 0, onEvent: () => {}});
  await assert.rejects(socket.request({type: "resolve", alarm_id: 1}), {code: "offline"});
});

test("close code 4401 stops retrying and reports the expired credentials", () => {
  const {ws, seen} = started(0);
  ws.close(4401);
  assert.equal(seen.auth, 1);
  assert.equal(FakeWebSocket.all.length, 1);
  assert.equal(seen.statuses.at(-1), "offline");
});
