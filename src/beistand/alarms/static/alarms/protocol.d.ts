/* The frames of the alarm WebSocket /ws/v1/alarms (docs/alarm-protocol.md), as types.
 *
 * One definition for three checks:
 * - the browser code (alarm-socket.js, alarm-state.js, alarm.js, the phone app) is type-checked
 *   against it: `tsc --noEmit -p tsconfig.json` (checkJs);
 * - docs/alarm-protocol.schema.json is generated from it (`npm run schema`; tests/js checks
 *   that the committed file is current);
 * - tests/alarms/test_protocol_frames.py validates the frames a real server sends against that
 *   schema.
 *
 * The object types are closed in the schema (no undocumented field passes the server test);
 * clients must still ignore fields they do not know, as the protocol says.
 */

/** ISO 8601 in UTC with "Z", e.g. "2026-11-29T21:14:03.125Z" (clients accept any offset).
 * @pattern ^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$
 */
export type IsoTime = string;

/** A whole number (ids, counts, metres).
 * @asType integer
 */
export type Int = number;

/** WGS 84 decimal degrees; accuracy in whole metres. */
export interface Position {
  lat: number;
  lon: number;
  accuracy_m: Int | null;
}

export type AlarmState = "countdown" | "triggered" | "acknowledged" | "resolved" | "cancelled";

export type Response = "coming" | "cannot";

export interface Template {
  code: string;
  name: string;
  /** 1 low … 3 highest */
  priority: Int;
  sound: string;
  /** a Probealarm */
  test: boolean;
  /** false: receivers must not come (Amok): "Verstanden" instead of "Ich komme" */
  come: boolean;
}

export interface Sender {
  first_name: string;
  last_name: string;
  name: string;
  phone: string | null;
  mobile: string | null;
  /** the code of the sender's unit */
  unit: string | null;
}

export interface Location {
  site: string | null;
  address: string | null;
  building: string | null;
  floor: string | null;
  room: string | null;
  room_name: string | null;
  position: Position | null;
  /** what the sender typed or the visit's address; "" when none */
  text: string;
}

export interface Responder {
  name: string;
  response: Response;
  at: IsoTime | null;
}

// --- Events (server → client, stored, numbered) -------------------------------------------------

interface EventBase {
  /** per receiver: 1, 2, 3 … in the order stored */
  event_id: Int;
  alarm_id: Int;
}

/** A new alarm for this receiver; "sender" for the sender's own clients (no receive window). */
export interface AlarmEvent extends EventBase {
  type: "alarm";
  role: "receiver" | "sender";
  template: Template;
  state: AlarmState;
  triggered_at: IsoTime;
  /** when the press happened as the sender's client reported it (e.g. queued offline); null
   * when the client did not say */
  pressed_at: IsoTime | null;
  /** state "countdown": when it goes out unless cancelled (then `countdown_end` or
   * `cancelled` follows); else null */
  countdown_until: IsoTime | null;
  /** the plan's tier that reached this receiver; 0 = joined without being reached */
  tier: Int;
  sender: Sender;
  location: Location;
  /** a person's device trigger (hands-free button, trigger URL): where the place comes from –
   * "visit" (the running Zeitalarm visit's address and its last position), "phone" (the
   * phone's last position, younger than BEISTAND_ALARM_POSITION_MAX_AGE_MINUTES) or "room";
   * null for other triggers */
  location_basis: "visit" | "phone" | "room" | null;
  /** when the position used ("visit"/"phone") was measured; age = now - position_at; null
   * without one */
  position_at: IsoTime | null;
  /** metres from the receiver's last known position; null when unknown */
  distance_m: Int | null;
  instructions: string;
  responders: Responder[];
}

interface UpdateBase extends EventBase {
  type: "alarm_update";
  state: AlarmState;
}

/** Someone answered; `responders` is the whole list. */
export interface ResponseUpdate extends UpdateBase {
  kind: "response";
  responder: { name: string; response: Response };
  responders: Responder[];
}

/** Only to the sender: "Hilfe kommt: Max Beispiel", with the whole list of responders. */
export interface HelpComingUpdate extends UpdateBase {
  kind: "help_coming";
  text: string;
  responders: Responder[];
}

export interface EscalatedUpdate extends UpdateBase {
  kind: "escalated";
  tier: Int;
}

/** The sender moved. */
export interface PositionUpdate extends UpdateBase {
  kind: "position";
  position: Position;
}

/** The all-clear (Entwarnung): close the receive window. */
export interface ResolvedUpdate extends UpdateBase {
  kind: "resolved";
  /** who gave it */
  by: string;
  note: string;
}

/** Only to the sender: the countdown ran out, the alarm went out (state "triggered"). */
export interface CountdownEndUpdate extends UpdateBase {
  kind: "countdown_end";
}

/** Cancelled during the countdown. */
export interface CancelledUpdate extends UpdateBase {
  kind: "cancelled";
}

/** Only to the sender: how many receivers have the alarm. */
export interface DeliveredUpdate extends UpdateBase {
  kind: "delivered";
  delivered: Int;
}

/**
 * Only to the sender: nobody has said "Ich komme" although every tier of the plan was tried
 * ("exhausted"), or no receiver was reachable at all ("unreached", sent as soon as the plan's
 * last-resort tier is reached with nobody online). Show it prominently with the number to call
 * (phones: a `tel:` link); a later `help_coming` replaces it.
 */
export interface NobodyComingUpdate extends UpdateBase {
  kind: "nobody_coming";
  /** "Niemand hat zugesagt – rufen Sie 110" */
  text: string;
  /** the number to call, "110" */
  call: string;
  reason: "exhausted" | "unreached";
  /** receivers that have the alarm so far (receipts) */
  delivered: Int;
}

/**
 * Only to the person who answered, i.e. to all their connections (every PC, phone and browser
 * of that person, and devices bound to them): they answered this alarm on one of their devices.
 * Every other device of theirs stops the sound and closes its receive window ("Sie haben auf
 * einem anderen Gerät geantwortet"); the device that answered already knows and ignores it.
 * Matching the `response` frame's name is not needed (two people can share a name).
 */
export interface OwnAnswerUpdate extends UpdateBase {
  kind: "own_answer";
  response: Response;
  at: IsoTime;
}

export type AlarmUpdateEvent =
  | NobodyComingUpdate
  | ResponseUpdate
  | HelpComingUpdate
  | EscalatedUpdate
  | PositionUpdate
  | ResolvedUpdate
  | CountdownEndUpdate
  | CancelledUpdate
  | DeliveredUpdate
  | OwnAnswerUpdate;

export interface MessageEvent extends EventBase {
  type: "message";
  message_id: Int;
  from: { name: string; role: "sender" | "receiver" | "security" };
  text: string;
  at: IsoTime;
}

export type AlarmProtocolEvent = AlarmEvent | AlarmUpdateEvent | MessageEvent;

// --- Control frames (server → client, not stored, no event_id) ---------------------------------

export interface HelloFrame {
  type: "hello";
  inbox: Int;
  /** identifies this inbox's numbering of event_id; changes when the numbers can no longer be
   * trusted (restored database, another inbox after re-pairing, an inbox reset). Send it with
   * `resume`. */
  epoch: string;
  /** the person (or device) this connection belongs to */
  name: string;
  /** the newest event stored for this receiver */
  last_event_id: Int;
  heartbeat_s: Int;
  server_time: IsoTime;
}

export interface PingFrame {
  type: "ping";
  t?: IsoTime;
}

export interface PongFrame {
  type: "pong";
  /** the client's ping carried one */
  request_id?: string;
}

export interface ResultFrame {
  type: "result";
  request_id: string;
  ok: boolean;
}

export interface ErrorFrame {
  type: "error";
  request_id?: string;
  /** bad_frame: malformed (not JSON, unknown type, wrong field types) - never a refusal;
   * not_part_of_alarm: respond/message to an alarm this receiver is not part of;
   * forbidden: not allowed (an all-clear by someone who may not give it, a command from a
   * device without a person); not_found: no such alarm; conflict: not in this state (ended);
   * invalid: a refused value (German detail); server_error: try again;
   * heartbeat_timeout: before close 4408 */
  code:
    | "bad_frame"
    | "not_part_of_alarm"
    | "forbidden"
    | "not_found"
    | "conflict"
    | "invalid"
    | "server_error"
    | "heartbeat_timeout";
  /** German, for the user */
  detail: string;
}

/** Answer to a `resume` whose numbering is not this inbox's: the client takes `resume_from`
 * as its highest processed event_id and `epoch` as its epoch; the events after `resume_from`
 * follow. Open alarm windows stay; a later `alarm` event of the same alarm_id replaces one. */
export interface ResetFrame {
  type: "reset";
  /** "epoch": the resume carried another epoch; "ahead": its last_event_id is above anything
   * stored here */
  reason: "epoch" | "ahead";
  epoch: string;
  /** the newest event stored for this receiver */
  last_event_id: Int;
  resume_from: Int;
}

/** The coverage indicator before pressing ("Wer bekommt meinen Alarm jetzt?"), pushed to a
 * person's connections: once soon after connecting, then whenever it changes for them (a
 * receiver of their plan comes online, goes offline, locks the screen, loses sound; at most one
 * round a second). Devices without a person get none. The same answer as the `level` and
 * `level_text` of GET /api/v1/alarms/coverage. */
export interface CoverageFrame {
  type: "coverage";
  /** green: someone of the first tier is connected; yellow: only later tiers; red: nobody
   * (the alarm would go out by SMS / to the control room only, if at all) */
  level: "green" | "yellow" | "red";
  /** German, for the user */
  level_text: string;
}

export type ControlFrame =
  | HelloFrame
  | ResetFrame
  | CoverageFrame
  | PingFrame
  | PongFrame
  | ResultFrame
  | ErrorFrame;

/** Every frame the server sends. */
export type ServerFrame = AlarmProtocolEvent | ControlFrame;

// --- Commands (client → server) -----------------------------------------------------------------

interface CommandBase {
  /** answered with `result` or `error` when given; up to 64 characters */
  request_id?: string;
}

export interface ResumeCommand extends CommandBase {
  type: "resume";
  last_event_id: Int;
  /** the epoch the client's last_event_id belongs to (from an earlier hello or reset); leave
   * it out when the client has processed nothing yet */
  epoch?: string;
}

export interface ReceiptCommand extends CommandBase {
  type: "receipt";
  event_id: Int;
}

export interface RespondCommand extends CommandBase {
  type: "respond";
  alarm_id: Int;
  response: Response;
}

export interface MessageCommand extends CommandBase {
  type: "message";
  alarm_id: Int;
  /** 1–1000 characters */
  text: string;
}

export interface PositionCommand extends CommandBase {
  type: "position";
  lat: number;
  lon: number;
  accuracy_m?: number | null;
}

export interface ResolveCommand extends CommandBase {
  type: "resolve";
  alarm_id: Int;
  note?: string;
}

/** What the client's seat can do: `sound` false when it cannot play the alarm sound (muted,
 * no audio device; `detail` says why, German), `locked` when the screen is locked. The
 * coverage view shows such a seat as "ohne Ton". */
export interface SeatCommand extends CommandBase {
  type: "seat";
  sound: boolean;
  /** up to 200 characters are kept */
  detail?: string;
  locked?: boolean;
}

export interface PingCommand extends CommandBase {
  type: "ping";
}

export interface PongCommand extends CommandBase {
  type: "pong";
}

/** Every frame a client sends. */
export type ClientFrame =
  | ResumeCommand
  | ReceiptCommand
  | RespondCommand
  | MessageCommand
  | PositionCommand
  | ResolveCommand
  | SeatCommand
  | PingCommand
  | PongCommand;

// --- HTTP -----------------------------------------------------------------------------------------

/** The answer of POST /api/v1/alarms (201 new, 200 the same alarm again). */
export interface TriggerAnswer {
  id: Int;
  state: AlarmState;
  persisted_at: IsoTime | null;
  /** the template's code */
  template: string;
  countdown_until: IsoTime | null;
  /** true: this answer is an alarm already raised (a retry of the same press) */
  deduplicated: boolean;
  /** the press time the client sent (`pressed_at`), else null */
  pressed_at: IsoTime | null;
}
