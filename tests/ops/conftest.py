"""Operations tests: real HTTP against a real server thread where the alarm engine matters."""

import http.server
import threading

import pytest

from tests.alarms.conftest import (  # noqa: F401 (fixtures)
    Receiver,
    ServerThread,
    alarm_defaults,
    people,
    server,
    token,
)
from tests.reports.conftest import cast  # noqa: F401 (fixture)


class _Gateway(http.server.BaseHTTPRequestHandler):
    status = 200
    calls: list

    def _answer(self):
        self.calls.append((self.command, self.path))
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"id": "gw-1"}')

    do_GET = do_POST = do_HEAD = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway():
    """A real HTTP SMS gateway on a free port; set ``gateway.status`` to make it fail."""
    handler = type("Gateway", (_Gateway,), {"calls": [], "status": 200})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{httpd.server_address[1]}/send"
    yield handler
    httpd.shutdown()
    httpd.server_close()
