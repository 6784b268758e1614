/* What the phone app keeps on the device (localStorage): the device token, the alarm stream
 * position and known alarms, the outbox of alarms not yet confirmed, local settings. */
export const TOKEN_KEY = "beistand.app.token";
export const STREAM_KEY = "beistand.app.stream";
export const OUTBOX_KEY = "beistand.app.outbox";
export const SETTINGS_KEY = "beistand.app.settings";

export function load(key, fallback) {
  try {
    const value = JSON.parse(localStorage.getItem(key) || "null");
    return value === null ? fallback : value;
  } catch (e) {
    return fallback;
  }
}

export function save(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch (e) { /* storage full or disabled: the server's receipts still resume the stream */ }
}

/** A new person on this phone: nothing of the previous one stays. */
export function resetDeviceState() {
  [TOKEN_KEY, STREAM_KEY, OUTBOX_KEY].forEach((key) => {
    try { localStorage.removeItem(key); } catch (e) { /* storage disabled */ }
  });
}
