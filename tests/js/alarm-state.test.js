/* The shared reducer of the alarm protocol (src/beistand/alarms/static/alarms/alarm-state.js),
 * the one both the alarm web page and the phone app use. The frames here are typed against
 * protocol.d.ts, so `tsc --noEmit -p tsconfig.json` checks them too. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import * as state from "../../src/beistand/alarms/static/alarms/alarm-state.js";

/**
 * @typedef {import("../../src/beistand/alarms/static/alarms/protocol").AlarmEvent} AlarmEvent
 * @typedef {import("../../src/beistand/alarms/static/alarms/protocol").AlarmProtocolEvent} AlarmProtocolEvent
 * @typedef {import("../../src/beistand/alarms/static/alarms/alarm-state.js").AlarmStore} AlarmStore
 */

const AT = "2026-11-29T21:14:03.125+00:00";

/**
 * An alarm event as the server sends it (docs/alarm-protocol.md).
 * @param {Partial<AlarmEvent>} [over]
 * @returns {AlarmEvent}
 */
function alarmEvent(over = {}) {
  return {
    type: "alarm", event_id: 1, alarm_id: 42, role: "receiver",
    template: {code: "beistand", name: "Beistand", priority: 2, sound: "alarm", test: false, come: true},
    state: "triggered", triggered_at: AT, pressed_at: null, countdown_until: null, tier: 1,
    sender: {first_name: "Erika", last_name: "Muster", name: "Erika Muster", phone: "+49 221 0000",
             mobile: null, unit: "32/3"},
    location: {site: "Stadthaus", address: "Markt 1, 12345 Musterstadt", building: "Hauptgebäude",
               floor: "1. Obergeschoss", room: "1.05", room_name: "Bürgerbüro", position: null, text: ""},
    location_basis: "room", position_at: null,
    distance_m: 8, instructions: "Bitte sofort zum Raum kommen.", responders: [],
    ...over,
  };
}

/**
 * Applies the events one after another.
 * @param {AlarmProtocolEvent[]} events
 * @param {AlarmStore} [start]
 * @param {string} [me]
 */
function run(events, start = state.emptyStore(), me = "") {
  let store = start;
  /** @type {ReturnType<typeof state.applyEvent>["change"][]} */
  const changes = [];
  for (const event of events) {
    const next = state.applyEvent(store, event, me);
    store = next.store;
    changes.push(next.change);
  }
  return {store, changes};
}

/** @template T @param {T} value @returns {T} */
function deepFreeze(value) {
  if (value && typeof value === "object") {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

const responder = /** @type {const} */ ({name: "Max Beispiel", response: "coming", at: AT});

describe("alarm event", () => {
  test("a new alarm for a receiver opens a fresh receive window", () => {
    const {store, changes} = run([alarmEvent()]);
    assert.equal(store.last, 1);
    const a = store.alarms[42];
    assert.equal(a.id, 42);
    assert.equal(a.role, "receiver");
    assert.equal(a.closed, false);
    assert.equal(a.mine, "");
    assert.equal(a.muted, false);
    assert.deepEqual(a.messages, []);
    assert.equal(a.sender.name, "Erika Muster");
    assert.equal(a.location.room, "1.05");
    assert.equal(a.distance_m, 8);
    assert.deepEqual(changes, [{alarm: a, fresh: true, kind: "alarm"}]);
  });

  test("the sender's own alarm event is never a receive window", () => {
    const {changes} = run([alarmEvent({role: "sender", distance_m: 0})]);
    assert.equal(changes[0].fresh, false);
    assert.equal(changes[0].alarm.role, "sender");
  });

  test("the same alarm again (a later tier) keeps what this client did", () => {
    let {store} = run([alarmEvent()]);
    store = state.toggleMuted(state.answered(store, 42, "cannot"), 42);
    const {store: after, changes} = run([alarmEvent({event_id: 2, tier: 2})], store);
    const a = after.alarms[42];
    assert.equal(a.tier, 2);
    assert.equal(a.mine, "cannot");
    assert.equal(a.muted, true);
    assert.equal(changes[0].fresh, false);
  });

  test("an alarm that has already ended is closed and opens no window", () => {
    const {store, changes} = run([alarmEvent({state: "resolved"})]);
    assert.equal(store.alarms[42].closed, true);
    assert.equal(changes[0].fresh, false);
  });

  test("this client's own earlier answer is found among the responders by its name", () => {
    const event = alarmEvent({responders: [responder]});
    assert.equal(run([event], undefined, "Max Beispiel").store.alarms[42].mine, "coming");
    assert.equal(run([event], undefined, "Erika Muster").store.alarms[42].mine, "");
    assert.equal(run([event]).store.alarms[42].mine, "");
  });
});

describe("alarm_update", () => {
  const open = () => run([alarmEvent()]).store;

  test("response: the whole list of responders and the new state", () => {
    const {store, changes} = run([{type: "alarm_update", event_id: 2, alarm_id: 42, kind: "response",
      state: "acknowledged", responder: {name: "Max Beispiel", response: "coming"},
      responders: [responder]}], open());
    const a = store.alarms[42];
    assert.equal(a.state, "acknowledged");
    assert.deepEqual(state.comingNames(a), ["Max Beispiel"]);
    assert.equal(changes[0].kind, "response");
    assert.equal(store.last, 2);
  });

  test("help_coming reaches the sender with its text (both clients keep it)", () => {
    const sender = run([alarmEvent({role: "sender"})]).store;
    const {store, changes} = run([{type: "alarm_update", event_id: 2, alarm_id: 42, kind: "help_coming",
      state: "acknowledged", text: "Hilfe kommt: Max Beispiel", responders: [responder]}], sender);
    assert.equal(store.alarms[42].help, "Hilfe kommt: Max Beispiel");
    assert.deepEqual(state.comingNames(store.alarms[42]), ["Max Beispiel"]);
    assert.equal(changes[0].kind, "help_coming");
  });

  test("escalated, position and delivered", () => {
    const position = {lat: 50.93, lon: 6.96, accuracy_m: 12};
    const {store} = run([
      {type: "alarm_update", event_id: 2, alarm_id: 42, kind: "escalated", state: "triggered", tier: 2},
      {type: "alarm_update", event_id: 3, alarm_id: 42, kind: "position", state: "triggered", position},
      {type: "alarm_update", event_id: 4, alarm_id: 42, kind: "delivered", state: "triggered", delivered: 3},
    ], open());
    const a = store.alarms[42];
    assert.equal(a.tier, 2);
    assert.deepEqual(a.location.position, position);
    assert.equal(a.location.room, "1.05"); // the rest of the location stays
    assert.equal(a.delivered, 3);
    assert.equal(store.last, 4);
  });

  test("resolved closes the alarm with who gave the all-clear and the note", () => {
    const {store, changes} = run([{type: "alarm_update", event_id: 2, alarm_id: 42, kind: "resolved",
      state: "resolved", by: "Erika Muster", note: "Lage geklärt"}], open());
    const a = store.alarms[42];
    assert.equal(a.closed, true);
    assert.equal(a.state, "resolved");
    assert.equal(a.endedBy, "Erika Muster");
    assert.equal(a.note, "Lage geklärt");
    assert.equal(changes[0].fresh, false);
    assert.deepEqual(state.openAlarms(store, "receiver"), []);
  });

  test("cancelled closes the alarm", () => {
    const {store} = run([{type: "alarm_update", event_id: 2, alarm_id: 42, kind: "cancelled",
      state: "cancelled"}], open());
    assert.equal(store.alarms[42].closed, true);
    assert.equal(store.alarms[42].state, "cancelled");
  });

  test("an update for an alarm from before this client's history only moves the position", () => {
    const {store, changes} = run([{type: "alarm_update", event_id: 7, alarm_id: 99, kind: "cancelled",
      state: "cancelled"}]);
    assert.equal(store.last, 7);
    assert.deepEqual(store.alarms, {});
    assert.deepEqual(changes, [null]);
  });
});

describe("message", () => {
  test("a message joins the thread once (keyed by message_id)", () => {
    /** @type {AlarmProtocolEvent} */
    const message = {type: "message", event_id: 2, alarm_id: 42, message_id: 7,
      from: {name: "Max Beispiel", role: "receiver"}, text: "Bin unterwegs", at: AT};
    const {store, changes} = run([alarmEvent(), message, {...message, event_id: 3}]);
    assert.deepEqual(store.alarms[42].messages,
      [{message_id: 7, from: "Max Beispiel", text: "Bin unterwegs", at: AT}]);
    assert.equal(store.alarms[42].state, "triggered");
    assert.equal(changes[1].kind, "message");
    assert.equal(store.last, 3);
  });
});

describe("purity", () => {
  test("no function changes the store it is given", () => {
    const before = deepFreeze(run([alarmEvent(), alarmEvent({alarm_id: 43, event_id: 2, role: "sender"})]).store);
    const copy = JSON.parse(JSON.stringify(before));
    run([
      alarmEvent({event_id: 3, tier: 2}),
      {type: "alarm_update", event_id: 4, alarm_id: 42, kind: "position", state: "triggered",
       position: {lat: 1, lon: 2, accuracy_m: null}},
      {type: "message", event_id: 5, alarm_id: 42, message_id: 1, from: {name: "A", role: "sender"},
       text: "x", at: AT},
      {type: "alarm_update", event_id: 6, alarm_id: 42, kind: "resolved", state: "resolved", by: "A", note: ""},
    ], before);
    state.answered(before, 42, "coming");
    state.toggleMuted(before, 42);
    state.update(before, 42, {error: "x"});
    state.prune(before, 0);
    state.resetTo(before, 0);
    state.triggered(before, {id: 44, state: "triggered", persisted_at: AT, template: "beistand",
      countdown_until: null, deduplicated: false, pressed_at: null}, "Beistand");
    assert.deepEqual(before, copy);
  });
});

describe("local actions", () => {
  /** @type {import("../../src/beistand/alarms/static/alarms/protocol").TriggerAnswer} */
  const answer = {id: 42, state: "triggered", persisted_at: AT, template: "beistand",
    countdown_until: null, deduplicated: false, pressed_at: null};

  test("the server's answer to a press makes the sender's own alarm", () => {
    const store = state.triggered(state.emptyStore(), answer, "Beistand");
    const a = store.alarms[42];
    assert.equal(a.role, "sender");
    assert.equal(a.closed, false);
    assert.deepEqual(a.template, {code: "beistand", name: "Beistand"});
    assert.equal(a.triggered_at, AT);
    assert.deepEqual(state.openAlarms(store, "sender"), [a]);
  });

  test("the answer after the sender's own alarm event changes nothing", () => {
    const {store} = run([alarmEvent({role: "sender"})]);
    assert.equal(state.triggered(store, answer, "Beistand"), store);
  });

  test("answering clears an earlier error; unknown alarms are left alone", () => {
    let {store} = run([alarmEvent()]);
    store = state.update(store, 42, {error: "Antwort nicht gesendet"});
    store = state.answered(store, 42, "seen");
    assert.equal(store.alarms[42].mine, "seen");
    assert.equal(store.alarms[42].error, "");
    assert.equal(state.answered(store, 1, "coming"), store);
    assert.equal(state.toggleMuted(store, 1), store);
  });

  test("a reset of the server's event store lowers the position", () => {
    const {store} = run([alarmEvent({event_id: 130})]);
    assert.equal(state.resetTo(store, 5).last, 5);
  });
});

describe("prune, openAlarms, restore", () => {
  test("prune keeps the open alarms and the newest ended ones", () => {
    const events = [1, 2, 3, 4, 5].map((id) => alarmEvent({alarm_id: id, event_id: id,
      state: id === 3 ? "triggered" : "resolved"}));
    const {store} = run(events);
    assert.deepEqual(Object.keys(state.prune(store, 2).alarms).map(Number).sort(), [3, 4, 5]);
    assert.deepEqual(Object.keys(state.prune(store, 0).alarms).map(Number), [3]);
    assert.equal(state.prune(store, 2).last, 5);
  });

  test("openAlarms: one role, open only, the newest first", () => {
    const {store} = run([alarmEvent({alarm_id: 1, event_id: 1}), alarmEvent({alarm_id: 3, event_id: 2}),
      alarmEvent({alarm_id: 2, event_id: 3, role: "sender"}),
      alarmEvent({alarm_id: 4, event_id: 4, state: "cancelled"})]);
    assert.deepEqual(state.openAlarms(store, "receiver").map((a) => a.id), [3, 1]);
    assert.deepEqual(state.openAlarms(store, "sender").map((a) => a.id), [2]);
  });

  test("restore: a stored store comes back, anything broken gives an empty one", () => {
    const {store} = run([alarmEvent()]);
    assert.deepEqual(state.restore(JSON.parse(JSON.stringify(store))), store);
    for (const broken of [null, "x", 3, {}, {last: "1"}, []]) {
      assert.deepEqual(state.restore(broken), state.emptyStore());
    }
    assert.deepEqual(state.restore({last: 4, alarms: {7: null}}), {last: 4, alarms: {}});
  });

  test("restore: messages stored by the old alarm page (with \"id\") get message_id", () => {
    const restored = state.restore({last: 3, alarms: {42: {id: 42, role: "receiver", state: "triggered",
      closed: false, messages: [{id: 7, from: "A", text: "x", at: AT}]}}});
    assert.deepEqual(restored.alarms[42].messages, [{message_id: 7, from: "A", text: "x", at: AT}]);
    assert.equal(restored.alarms[42].mine, "");
    assert.deepEqual(restored.alarms[42].responders, []);
  });
});
