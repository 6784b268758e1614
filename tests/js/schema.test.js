/* docs/alarm-protocol.schema.json is what protocol.d.ts gives: the Python test of the server's
 * frames (tests/alarms/test_protocol_frames.py) validates against the same definitions the
 * browser code is type-checked with. */
import assert from "node:assert/strict";
import { test } from "node:test";

import { committedSchema, generateSchema } from "./protocol-schema.js";

test("the committed JSON Schema is current (else: npm run schema)", () => {
  assert.deepEqual(committedSchema(), generateSchema());
});

test("the schema names every frame of the protocol", () => {
  const {definitions} = committedSchema();
  for (const name of ["ServerFrame", "ClientFrame", "AlarmEvent", "AlarmUpdateEvent", "MessageEvent",
                      "HelloFrame", "PingFrame", "ResultFrame", "ErrorFrame", "TriggerAnswer"]) {
    assert.ok(definitions[name], name);
  }
  // Closed objects: an undocumented field of the server fails the Python test.
  assert.equal(definitions.AlarmEvent.additionalProperties, false);
});
