"""Helpers of the alarm tests: HTTP calls against the real server, waiting for a condition, and a
real local HTTP peer (an SMS gateway, a push service) that records what it was sent."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


def call(server, method, path, token=None, json_body=None, content=None, headers=None,
         params=None):
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.request(method, f"{server.http}{path}", json=json_body, content=content,
                         headers=headers, params=params, timeout=10)


def post(server, path, token=None, json_body=None, **kw):
    return call(server, "POST", path, token, json_body, **kw)


def wait_for(condition, timeout=10.0, interval=0.05, what="condition"):
    """Poll ``condition()`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


class Peer:
    """A real HTTP server in a thread. ``status`` decides the answer per request:
    ``peer.statuses`` is a list consumed from the front (then ``default_status``)."""

    def __init__(self, default_status=200, answer=None):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self.default_status = default_status
        self.answer = answer or (lambda n: {"id": f"gw-{n}"})
        self._lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with peer._lock:
                    n = len(peer.requests) + 1
                    status = peer.statuses.pop(0) if peer.statuses else peer.default_status
                    peer.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "body": body, "status": status})
                data = json.dumps(peer.answer(n) if status < 300 else {"error": "kaputt"})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data.encode())

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def json_bodies(self, accepted_only=False):
        with self._lock:
            return [json.loads(r["body"]) for r in self.requests
                    if not accepted_only or r["status"] < 300]
