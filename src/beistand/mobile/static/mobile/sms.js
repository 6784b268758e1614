/* The offline fallback: the alarm as an SMS to the body's gateway number, in exactly the form
 * the server's inbound SMS path parses (docs/alarm-protocol.md, "Inbound SMS"):
 *   ALARM <lat>,<lon> <short location>
 */
const MAX_TEXT = 140;

export function smsText(position, where) {
  let text = "ALARM";
  if (position && Number.isFinite(position.lat) && Number.isFinite(position.lon)) {
    text += " " + position.lat.toFixed(5) + "," + position.lon.toFixed(5);
  }
  const place = String(where || "").replace(/\s+/g, " ").trim();
  if (place) { text += " " + place; }
  return text.slice(0, MAX_TEXT);
}

/** ``sms:`` link with the text prefilled. iOS wants ``&body=``, everything else ``?body=``. */
export function smsHref(number, text, ios) {
  const to = String(number || "").replace(/[^+\d]/g, "");
  return "sms:" + to + (ios ? "&" : "?") + "body=" + encodeURIComponent(text);
}

export function isIOS() {
  return /iPhone|iPad|iPod/.test(navigator.userAgent) ||
    (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
}
