/* The JSON Schema of the alarm protocol's frames (docs/alarm-protocol.schema.json), generated
 * from the TypeScript definitions the browser code is checked against
 * (src/beistand/alarms/static/alarms/protocol.d.ts). tests/alarms/test_protocol_frames.py
 * validates the frames of a real server with it; schema.test.js fails when the committed file
 * is not what the definitions give.
 *
 *   npm run schema      (node tests/js/protocol-schema.js --write) writes it anew
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { createGenerator } from "ts-json-schema-generator";

const root = fileURLToPath(new URL("../../", import.meta.url));
export const DEFINITIONS = root + "src/beistand/alarms/static/alarms/protocol.d.ts";
export const SCHEMA = root + "docs/alarm-protocol.schema.json";

/** @returns {object} the schema as the definitions give it now */
export function generateSchema() {
  const schema = createGenerator({
    path: DEFINITIONS, type: "*", expose: "export", topRef: true, skipTypeCheck: true,
    additionalProperties: false, jsDoc: "extended", sortProps: true,
  }).createSchema("*");
  return {
    $comment: "Generated from src/beistand/alarms/static/alarms/protocol.d.ts by `npm run schema`; "
      + "do not edit. Frames: definitions ServerFrame (server to client) and ClientFrame.",
    ...schema,
  };
}

/** @returns {object} the committed schema */
export function committedSchema() {
  return JSON.parse(readFileSync(SCHEMA, "utf8"));
}

if (process.argv.includes("--write")) {
  writeFileSync(SCHEMA, JSON.stringify(generateSchema(), null, 2) + "\n");
  console.log("written: " + SCHEMA);
}
