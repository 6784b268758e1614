/* Small DOM and formatting helpers shared by the alarm web page (alarm.js) and the phone app
 * (mobile/app.js, mobile/visit.js). */
import { soundNotice } from "./alarm-state.js";

/**
 * A new element with attributes and text.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string>} [attrs]
 * @param {string | null} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attrs, text) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
  if (text !== undefined && text !== null) { node.textContent = text; }
  return node;
}

/**
 * The wall-clock time of an ISO time in German ("14:03 Uhr", with seconds "14:03:07 Uhr");
 * "" for none or an invalid one.
 * @param {string | null | undefined} iso
 * @param {{seconds?: boolean}} [options]
 */
export function clock(iso, {seconds = false} = {}) {
  if (!iso) { return ""; }
  const d = new Date(iso);
  if (isNaN(d.getTime())) { return ""; }
  return d.toLocaleTimeString("de-DE", {hour: "2-digit", minute: "2-digit",
    ...(seconds ? {second: "2-digit"} : {})}) + " Uhr";
}

/**
 * A new idempotency key for one press of the alarm button ("web-3fa2…", 16 hex digits).
 * @param {string} prefix
 */
export function newClientId(prefix) {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return prefix + "-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A tel: link for a phone number as people write it ("+49 221 0000" -> "tel:+492210000").
 * @param {string} number
 */
export function telHref(number) {
  return "tel:" + String(number).replace(/[^+\d]/g, "");
}

/** @type {AudioContext | null} */
let audio = null;

/**
 * The page's AudioContext, created and resumed on demand (null where there is none). Browsers
 * start audio only after a user gesture, so this also runs on the first pointer or key press.
 */
export function audioContext() {
  const Ctx = window.AudioContext || /** @type {any} */ (window).webkitAudioContext;
  if (!Ctx) { return null; }
  if (!audio) { audio = new Ctx(); }
  if (audio.state === "suspended") { audio.resume(); }
  return audio;
}

/** The running AudioContext, or null while the browser has not allowed sound yet. */
export function runningAudio() {
  return audio && audio.state === "running" ? audio : null;
}

/** The AudioContext's state ("running", "suspended", …), "unsupported" without WebAudio. */
export function soundState() {
  const ctx = audioContext();
  return ctx ? ctx.state : "unsupported";
}

/**
 * Shows ``box`` (with [data-sound-text] and a [data-sound-enable] "Ton aktivieren" button) while
 * the browser blocks sound; the click unlocks audio by playing a short, almost silent tone, and
 * the box disappears as soon as the AudioContext runs (also after any other click or key).
 * @param {HTMLElement} box
 */
export function soundGate(box) {
  const text = /** @type {HTMLElement} */ (box.querySelector("[data-sound-text]"));
  const button = /** @type {HTMLButtonElement} */ (box.querySelector("[data-sound-enable]"));
  const render = () => {
    const notice = soundNotice(soundState());
    box.hidden = !notice.show;
    text.textContent = notice.text;
    button.hidden = !notice.button;
  };
  button.addEventListener("click", () => {
    const ctx = audioContext();
    if (!ctx) { render(); return; }
    beep(ctx, ctx.currentTime, 440, 0.05, 0.001);
    ctx.resume().then(render, render);
  });
  const ctx = audioContext();
  if (ctx) { ctx.addEventListener("statechange", render); }
  render();
}

["pointerdown", "keydown"].forEach((type) => {
  document.addEventListener(type, () => { audioContext(); }, {capture: true});
});

/**
 * One square-wave beep.
 * @param {AudioContext} ctx
 * @param {number} at  start, in the context's time (seconds)
 * @param {number} freq  Hz
 * @param {number} length  seconds
 * @param {number} volume  0 … 1
 */
export function beep(ctx, at, freq, length, volume) {
  const osc = ctx.createOscillator(), gain = ctx.createGain();
  osc.type = "square";
  osc.frequency.value = freq;
  gain.gain.setValueAtTime(0.0001, at);
  gain.gain.exponentialRampToValueAtTime(volume, at + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, at + length);
  osc.connect(gain).connect(ctx.destination);
  osc.start(at);
  osc.stop(at + length + 0.05);
}
