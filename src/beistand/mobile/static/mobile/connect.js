/* Pairing: the browser session (after login and second factor) asks the API for a long-lived
 * token for this phone, stores it where the app finds it, and returns to the app. */
import { TOKEN_KEY, resetDeviceState } from "./store.js";

const box = document.getElementById("connect");
const status = document.getElementById("connect-status");
const error = document.getElementById("connect-error");
const csrf = /** @type {HTMLInputElement} */ (document.querySelector('#connect-form input[name="csrfmiddlewaretoken"]')).value;

function deviceName() {
  const ua = navigator.userAgent;
  const os = /iPhone|iPad/.test(ua) ? "iPhone/iPad" : /Android/.test(ua) ? "Android" : "Browser";
  const browser = /CriOS|Chrome/.test(ua) ? "Chrome" : /Firefox|FxiOS/.test(ua) ? "Firefox"
    : /Safari/.test(ua) ? "Safari" : "";
  return (os + (browser ? " " + browser : "")).slice(0, 60);
}

async function connect() {
  try {
    const response = await fetch(box.dataset.api + "/app/device-token", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json"},
      body: JSON.stringify({device_name: deviceName()}),
    });
    const data = await response.json().catch(() => ({}));
    if (response.status !== 201) {
      throw new Error(data.detail || "Fehler " + response.status);
    }
    resetDeviceState();
    localStorage.setItem(TOKEN_KEY, data.token);
    localStorage.setItem("beistand.app.token-id", String(data.id));
    status.textContent = "Verbunden. Die App startet …";
    location.replace(box.dataset.app);
  } catch (err) {
    status.textContent = "Das Telefon wurde nicht verbunden.";
    error.hidden = false;
    error.textContent = err.message;
  }
}

connect();
