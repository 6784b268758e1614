"""The demo's SMS gateway: a real HTTP server on loopback that speaks the generic JSON provider's
protocol (docs/integration.md) and sends nothing:

- ``POST /send`` with ``{"to", "text", "sender", "reference"}`` -> ``{"id": …}`` (an SMS);
- ``POST /call`` with ``{"to", "text", "language", "sender", "reference", "digits"}`` ->
  ``{"id": …}`` (a voice call with text-to-speech);
- ``GET /`` lists what it "sent" and "called"; each call has buttons "Taste 1" / "Taste 2"
  (``POST /calls/<id>/press``) that post the signed call result back to beistand
  (``POST <callback>/api/v1/sms/call-result``), as a real gateway does when the called person
  presses a key — so a new user sees the SMS and call fallback and can answer a call.

Started by ``beistand demo`` unless ``BEISTAND_SMS_PROVIDER`` is set."""

import hashlib
import hmac
import html
import json
import re
import threading
import urllib.request
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_KEPT = 500
MAX_BODY = 16384
PRESS = re.compile(r"^/calls/(demo-call-\d+)/press$")


class DemoGateway:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, callback: str = "",
                 secret: str = ""):
        self.sent: list[dict] = []
        self.calls: list[dict] = []
        # Where call results go (beistand's base URL) and the shared secret that signs them.
        self.callback = callback.rstrip("/")
        self.secret = secret
        self._lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet: the page is the log
                pass

            def _answer(self, status, body: bytes, kind: str):
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status, data):
                return self._answer(status, json.dumps(data).encode(), "application/json")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                pressed = PRESS.match(self.path)
                if pressed:  # the page's "Taste 1" / "Taste 2" (a form post)
                    form = self.rfile.read(min(length, 100)).decode(errors="replace")
                    digits = "1" if "taste=1" in form else "2" if "taste=2" in form else ""
                    ok = bool(digits) and gateway.press(pressed[1], digits)
                    self.send_response(303 if ok else 400)
                    self.send_header("Location", "/")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                if self.path not in ("/send", "/call") or not 0 < length <= MAX_BODY:
                    return self._json(400, {"error": "bad request"})
                try:
                    data = json.loads(self.rfile.read(length))
                    to, text = str(data["to"])[:40], str(data["text"])[:640]
                except (ValueError, KeyError, TypeError):
                    return self._json(400, {"error": "bad json"})
                reference = str(data.get("reference", ""))[:40]
                if self.path == "/call":
                    return self._json(200, {"id": gateway.record_call(to, text, reference)})
                return self._json(200, {"id": gateway.record(to, text, reference)})

            def do_GET(self):
                if self.path not in ("/", "/index.html"):
                    return self._answer(404, b"not found", "text/plain")
                return self._answer(200, gateway.page().encode(), "text/html; charset=utf-8")

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       name="demo-sms-gateway")

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @staticmethod
    def _now() -> str:
        return datetime.now().strftime("%d.%m.%Y %H:%M:%S")

    def record(self, to: str, text: str, reference: str) -> str:
        with self._lock:
            message_id = f"demo-{len(self.sent) + 1}"
            self.sent.append({"id": message_id, "to": to, "text": text, "reference": reference,
                              "at": self._now()})
            del self.sent[:-MAX_KEPT]
        return message_id

    def record_call(self, to: str, text: str, reference: str) -> str:
        with self._lock:
            call_id = f"demo-call-{len(self.calls) + 1}"
            self.calls.append({"id": call_id, "to": to, "text": text, "reference": reference,
                               "at": self._now(), "pressed": ""})
            del self.calls[:-MAX_KEPT]
        return call_id

    def press(self, call_id: str, digits: str) -> bool:
        """The called person pressed a key: post the signed result to beistand, as a gateway
        does. -> whether beistand took it (2xx)."""
        with self._lock:
            call = next((c for c in self.calls if c["id"] == call_id), None)
        if call is None or not self.callback or not self.secret:
            return False
        body = json.dumps({"id": call_id, "reference": call["reference"], "status": "answered",
                           "digits": digits,
                           "received_at": datetime.now(UTC).isoformat()}).encode()
        signature = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(  # noqa: S310 - beistand's own loopback URL
            f"{self.callback}/api/v1/sms/call-result", data=body, method="POST",
            headers={"Content-Type": "application/json", "X-Beistand-Signature": signature})
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
                ok = 200 <= resp.status < 300
        except OSError:
            return False
        with self._lock:
            call["pressed"] = digits
        return ok

    def page(self) -> str:
        with self._lock:
            rows = list(reversed(self.sent))
            calls = list(reversed(self.calls))
        body = "".join(
            f"<tr><td>{html.escape(m['at'])}</td><td>{html.escape(m['to'])}</td>"
            f"<td>{html.escape(m['text'])}</td></tr>" for m in rows) or \
            '<tr><td colspan="3">Noch keine SMS gesendet.</td></tr>'

        def keys(c):
            if c["pressed"]:
                return f"Taste {html.escape(c['pressed'])} gedrückt"
            if not (self.callback and self.secret):
                return "–"
            return "".join(
                f'<form method="post" action="/calls/{html.escape(c["id"])}/press">'
                f'<button name="taste" value="{d}">Taste {d} ({label})</button></form>'
                for d, label in (("1", "Ich komme"), ("2", "Kann nicht")))

        call_rows = "".join(
            f"<tr><td>{html.escape(c['at'])}</td><td>{html.escape(c['to'])}</td>"
            f"<td>{html.escape(c['text'])}</td><td>{keys(c)}</td></tr>" for c in calls) or \
            '<tr><td colspan="4">Noch keine Anrufe.</td></tr>'
        return ('<!doctype html><html lang="de"><head><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                '<meta http-equiv="refresh" content="5"><title>Demo-SMS-Gateway</title></head>'
                '<body><main><h1>Demo-SMS-Gateway</h1><p>Diese SMS und Anrufe hätte beistand '
                'gesendet (nichts verlässt diesen Rechner).</p><h2>SMS</h2><table><thead><tr>'
                '<th scope="col">Zeit</th><th scope="col">An</th><th scope="col">Text</th></tr>'
                f'</thead><tbody>{body}</tbody></table><h2>Anrufe (Sprachansage)</h2><table>'
                '<thead><tr><th scope="col">Zeit</th><th scope="col">An</th>'
                '<th scope="col">Ansage</th><th scope="col">Tastendruck</th></tr></thead>'
                f'<tbody>{call_rows}</tbody></table></main></body></html>')

    def start(self) -> "DemoGateway":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
