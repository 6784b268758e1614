/* The sender's outcome of an alarm in the shared reducer (alarm-state.js): "zugestellt an N
 * Personen", "Hilfe kommt: …" and the unmistakable "Niemand hat zugesagt – rufen Sie 110"
 * (issue 19, item 1), and the coverage indicator before pressing (item 3). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import * as state from "../../src/beistand/alarms/static/alarms/alarm-state.js";

/**
 * @typedef {import("../../src/beistand/alarms/static/alarms/protocol").AlarmProtocolEvent} AlarmProtocolEvent
 * @typedef {import("../../src/beistand/alarms/static/alarms/alarm-state.js").AlarmStore} AlarmStore
 */

const AT = "2026-11-29T21:14:03.125+00:00";

/** @returns {AlarmProtocolEvent} */
function ownAlarm() {
  return {type: "alarm", event_id: 1, alarm_id: 42, role: "sender",
    template: {code: "beistand", name: "Beistand", priority: 2, sound: "alarm", test: false, come: true},
    state: "triggered", triggered_at: AT, pressed_at: null, countdown_until: null, tier: 1,
    sender: {first_name: "Erika", last_name: "Muster", name: "Erika Muster", phone: null, mobile: null, unit: null},
    location: {site: null, address: null, building: null, floor: null, room: "1.05", room_name: null,
               position: null, text: ""},
    location_basis: "room", position_at: null, distance_m: 0, instructions: "", responders: []};
}

/**
 * @param {AlarmProtocolEvent[]} events
 * @param {AlarmStore} [from]
 */
function run(events, from = state.emptyStore()) {
  let store = from;
  /** @type {any[]} */
  const changes = [];
  events.forEach((e) => {
    const next = state.applyEvent(store, e);
    store = next.store;
    changes.push(next.change);
  });
  return {store, changes};
}

/** @type {AlarmProtocolEvent} */
const NOBODY = {type: "alarm_update", event_id: 2, alarm_id: 42, kind: "nobody_coming", state: "triggered",
  text: "Niemand hat zugesagt – rufen Sie 110", call: "110", reason: "unreached", delivered: 0};

describe("the sender's outcome", () => {
  test("a fresh own alarm is not a success: not yet delivered, no answer", () => {
    const a = run([ownAlarm()]).store.alarms[42];
    const out = state.senderOutcome(a);
    assert.equal(out.kind, "waiting");
    assert.match(out.text, /noch keine Zusage/);
  });

  test("receipts: zugestellt an N Personen", () => {
    const {store} = run([ownAlarm(), {type: "alarm_update", event_id: 2, alarm_id: 42, kind: "delivered",
      state: "triggered", delivered: 3}]);
    assert.deepEqual(state.senderOutcome(store.alarms[42]),
      {kind: "delivered", text: "Zugestellt an 3 Personen – noch keine Zusage."});
    const one = run([ownAlarm(), {type: "alarm_update", event_id: 2, alarm_id: 42, kind: "delivered",
      state: "triggered", delivered: 1}]).store;
    assert.match(state.senderOutcome(one.alarms[42]).text, /an 1 Person /);
  });

  test("nobody_coming: Niemand hat zugesagt – rufen Sie 110, with the number", () => {
    const {store, changes} = run([ownAlarm(), NOBODY]);
    const a = store.alarms[42];
    assert.deepEqual(a.nobody, {text: "Niemand hat zugesagt – rufen Sie 110", call: "110", reason: "unreached"});
    assert.deepEqual(state.senderOutcome(a),
      {kind: "nobody", text: "Niemand hat zugesagt – rufen Sie 110", call: "110"});
    assert.equal(changes[1].kind, "nobody_coming");
    assert.equal(a.closed, false); // the alarm stays open
  });

  test("nobody_coming outranks a delivered count; a later help_coming replaces it", () => {
    const {store} = run([ownAlarm(),
      {type: "alarm_update", event_id: 2, alarm_id: 42, kind: "delivered", state: "triggered", delivered: 2},
      {...NOBODY, event_id: 3, reason: "exhausted", delivered: 2}]);
    assert.equal(state.senderOutcome(store.alarms[42]).kind, "nobody");
    const helped = run([{type: "alarm_update", event_id: 4, alarm_id: 42, kind: "help_coming",
      state: "acknowledged", text: "Hilfe kommt: Jens Becker",
      responders: [{name: "Jens Becker", response: "coming", at: AT}]}], store).store;
    assert.equal(helped.alarms[42].nobody, null);
    assert.deepEqual(state.senderOutcome(helped.alarms[42]), {kind: "help", text: "Hilfe kommt: Jens Becker"});
  });

  test("a nobody_coming after someone is coming changes nothing on screen", () => {
    const {store} = run([ownAlarm(), {type: "alarm_update", event_id: 2, alarm_id: 42, kind: "help_coming",
      state: "acknowledged", text: "Hilfe kommt: Jens Becker",
      responders: [{name: "Jens Becker", response: "coming", at: AT}]}, {...NOBODY, event_id: 3}]);
    assert.equal(state.senderOutcome(store.alarms[42]).kind, "help");
  });

  test("survives a reload (restore keeps the warning)", () => {
    const saved = JSON.parse(JSON.stringify(run([ownAlarm(), NOBODY]).store));
    assert.equal(state.senderOutcome(state.restore(saved).alarms[42]).kind, "nobody");
  });

  test("ended alarms", () => {
    const {store} = run([ownAlarm(), NOBODY, {type: "alarm_update", event_id: 3, alarm_id: 42, kind: "resolved",
      state: "resolved", by: "Erika Muster", note: ""}]);
    assert.equal(state.senderOutcome(store.alarms[42]).kind, "ended");
  });
});

describe("the coverage indicator", () => {
  test("levels from the coverage answer", () => {
    assert.deepEqual(state.coverageLevel({level: "green", level_text: "Stufe 1 erreichbar"}),
      {level: "green", text: "Stufe 1 erreichbar"});
    assert.equal(state.coverageLevel({level: "yellow", level_text: "x"}).level, "yellow");
    assert.equal(state.coverageLevel({level: "red", level_text: "x"}).level, "red");
  });

  test("anything else is unknown, with the emergency number", () => {
    for (const bad of [null, undefined, {}, {level: "blue"}, "green"]) {
      const out = state.coverageLevel(bad);
      assert.equal(out.level, "unknown");
      assert.match(out.text, /110/);
    }
  });
});
