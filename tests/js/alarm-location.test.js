/* What receivers read about the alarm's place: the basis of the location with the position's
 * age, and distances in m / km (alarm-state.js distanceText, ageText, locationBasisText). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import * as state from "../../src/beistand/alarms/static/alarms/alarm-state.js";

const NOW = Date.parse("2026-12-07T13:00:00+00:00");

describe("distanceText", () => {
  test("under 1 km in metres, rounded to 10 m", () => {
    assert.equal(state.distanceText(180), "180 m");
    assert.equal(state.distanceText(183), "180 m");
    assert.equal(state.distanceText(7), "7 m");
    assert.equal(state.distanceText(0), "0 m");
  });
  test("from 1 km in kilometres with a decimal comma", () => {
    assert.equal(state.distanceText(1400), "1,4 km");
    assert.equal(state.distanceText(1000), "1 km");
    assert.equal(state.distanceText(996), "1 km");
    assert.equal(state.distanceText(12345), "12,3 km");
  });
  test("nothing for an unknown distance", () => {
    assert.equal(state.distanceText(null), "");
    assert.equal(state.distanceText(undefined), "");
    assert.equal(state.distanceText(NaN), "");
  });
});

describe("locationBasisText", () => {
  const room = {location: {room: "1.05", room_name: "Bürgerbüro"}};
  test("visit: the visit's address", () => {
    assert.equal(state.locationBasisText({location_basis: "visit", position_at: null}, NOW),
      "Ort: Adresse des Hausbesuchs");
  });
  test("phone: last position with its age", () => {
    assert.equal(state.locationBasisText({location_basis: "phone", position_at: "2026-12-07T12:57:00+00:00"}, NOW),
      "Ort: letzte Handy-Position, 3 Min. alt");
    assert.equal(state.locationBasisText({location_basis: "phone", position_at: "2026-12-07T12:59:40+00:00"}, NOW),
      "Ort: letzte Handy-Position, gerade eben");
    assert.equal(state.locationBasisText({location_basis: "phone", position_at: "2026-12-07T10:30:00+00:00"}, NOW),
      "Ort: letzte Handy-Position, 2 Std. alt");
    assert.equal(state.locationBasisText({location_basis: "phone", position_at: null}, NOW),
      "Ort: letzte Handy-Position");
  });
  test("room: the room", () => {
    assert.equal(state.locationBasisText({...room, location_basis: "room", position_at: null}, NOW),
      "Ort: Raum 1.05 (Bürgerbüro)");
  });
  test("nothing when the event does not say", () => {
    assert.equal(state.locationBasisText({...room, location_basis: null}, NOW), "");
    assert.equal(state.locationBasisText({}, NOW), "");
  });
  test("the reducer keeps location_basis and position_at from the alarm event", () => {
    const ev = /** @type {any} */ ({type: "alarm", event_id: 1, alarm_id: 7, role: "receiver",
      template: {code: "b", name: "B", priority: 2, sound: "alarm", test: false, come: true},
      state: "triggered", triggered_at: "2026-12-07T12:59:00+00:00", tier: 1, location: null,
      location_basis: "phone", position_at: "2026-12-07T12:57:00+00:00", distance_m: 1400,
      responders: []});
    const {store} = state.applyEvent(state.emptyStore(), ev);
    const a = store.alarms[7];
    assert.equal(a.location_basis, "phone");
    assert.equal(state.locationBasisText(a, NOW), "Ort: letzte Handy-Position, 3 Min. alt");
    assert.equal(state.distanceText(a.distance_m), "1,4 km");
  });
});

describe("soundNotice", () => {
  test("nothing while sound plays", () => {
    assert.deepEqual(state.soundNotice("running"), {show: false, button: false, text: ""});
  });
  test("a Ton aktivieren button while the browser blocks sound", () => {
    for (const s of ["suspended", "blocked"]) {
      const n = state.soundNotice(s);
      assert.equal(n.show, true);
      assert.equal(n.button, true);
      assert.match(n.text, /erst nach einem Klick/);
    }
  });
  test("a note without button where there is no WebAudio", () => {
    const n = state.soundNotice("unsupported");
    assert.equal(n.show, true);
    assert.equal(n.button, false);
  });
});

describe("receive windows: the all-clear is shown, closing after 'Kann nicht'", () => {
  const at = "2026-12-07T12:59:00+00:00";
  const alarm = (id) => /** @type {any} */ ({type: "alarm", event_id: id, alarm_id: id, role: "receiver",
    template: {code: "b", name: "B", priority: 2, sound: "alarm", test: false, come: true},
    state: "triggered", triggered_at: at, tier: 1, location: null, location_basis: null,
    position_at: null, distance_m: null, responders: [],
    sender: {first_name: "Erika", last_name: "Muster", name: "Erika Muster", phone: null, mobile: null, unit: null}});
  const resolved = (id, ev) => /** @type {any} */ ({type: "alarm_update", event_id: ev, alarm_id: id,
    kind: "resolved", state: "resolved", by: "Paula Pförtner", note: "Lage geklärt"});

  test("an alarm shown open stays on screen as Entwarnung until closed", () => {
    let store = state.applyEvent(state.emptyStore(), alarm(1)).store;
    assert.deepEqual(state.shownIncoming(store).map((a) => a.id), [1]);
    store = state.update(store, 1, {seen: true});
    store = state.applyEvent(store, resolved(1, 2)).store;
    const [a] = state.shownIncoming(store);
    assert.equal(a.closed, true);
    assert.equal(state.endedText(a), "Entwarnung – Alarm beendet durch Paula Pförtner: Lage geklärt.");
    assert.equal(state.canClose(a), true);
    store = state.update(store, 1, {dismissed: true});
    assert.deepEqual(state.shownIncoming(store), []);
  });
  test("an ended alarm never shown here does not pop up", () => {
    let store = state.applyEvent(state.emptyStore(), alarm(1)).store;
    store = state.applyEvent(store, resolved(1, 2)).store;
    assert.deepEqual(state.shownIncoming(store), []);
  });
  test("'Kann nicht' lets the window close; an unanswered one cannot", () => {
    let store = state.applyEvent(state.emptyStore(), alarm(3)).store;
    assert.equal(state.canClose(store.alarms[3]), false);
    store = state.answered(store, 3, "cannot");
    assert.equal(state.canClose(store.alarms[3]), true);
    assert.equal(state.endedText(store.alarms[3]), "");
  });
  test("a cancelled alarm names its sender", () => {
    let store = state.applyEvent(state.emptyStore(), alarm(4)).store;
    store = state.applyEvent(store, /** @type {any} */ ({type: "alarm_update", event_id: 5, alarm_id: 4,
      kind: "cancelled", state: "cancelled"})).store;
    assert.equal(state.endedText(store.alarms[4]), "Abgebrochen – Alarm zurückgenommen durch Erika Muster.");
  });
});

describe("system notifications", () => {
  test("asked with an explanation while undecided, explained when blocked, silent when granted", () => {
    const ask = state.notifyNotice("default");
    assert.equal(ask.show && ask.button, true);
    assert.match(ask.text, /im Hintergrund/);
    const denied = state.notifyNotice("denied");
    assert.equal(denied.show, true);
    assert.equal(denied.button, false);
    assert.equal(state.notifyNotice("granted").show, false);
    assert.equal(state.notifyNotice("unsupported").show, false);
  });
  test("the phone app asks in its own words", () => {
    const ask = state.notifyNotice("default", {app: true});
    assert.equal(ask.show && ask.button, true);
    assert.match(ask.text, /wenn die App im Hintergrund ist oder das Display aus, zeigt die App/);
    assert.match(state.notifyNotice("denied", {app: true}).text, /nur, wenn die App offen ist/);
    assert.equal(state.notifyNotice("granted", {app: true}).show, false);
  });
  test("the notification names the alarm, the sender and the place", () => {
    const n = state.alarmNotification(/** @type {any} */ ({id: 1, role: "receiver",
      template: {name: "Beistand", test: false}, sender: {name: "Erika Muster"},
      location: {room: "1.05", address: "Markt 1"}}));
    assert.deepEqual(n, {title: "ALARM: Beistand",
      body: "Erika Muster – Raum 1.05, Markt 1. Bitte die Alarmseite öffnen."});
  });
});
