"""Issue 16, finding 9: tokens ended up in access logs — the phone app and the alarm page passed
the 90-day token as ``?token=`` on the WebSocket URL (logged by uvicorn and the shipped nginx
configuration), and the demo logged device trigger URLs with their token.

Now the token travels as a header (``Authorization`` or the ``beistand.bearer.<token>``
subprotocol), a token in the URL is ignored, and every log line the processes write passes a
redaction filter. The test runs a real server process with the access log on (as the demo
does), exercises every way a token reaches it, and greps the whole log for the tokens."""

import asyncio
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import websockets

from beistand.accounts import services
from beistand.accounts.roles import Role
from tests.alarms.conftest import alarm_defaults, people  # noqa: F401
from tests.alarms.server_process import ServerProcess
from tests.conftest import issue_token

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
TOKEN_RE = re.compile(r"bs[td]_[A-Za-z0-9_\-]{6,}")


class LoudServer(ServerProcess):
    """The server process with uvicorn's access log and info lines on (the demo's level)."""

    def start(self, timeout=30):
        self.env["BEISTAND_LOG_LEVEL"] = "INFO"
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "beistand.asgi:application", "--host",
             "127.0.0.1", "--port", str(self.port), "--lifespan", "on", "--log-level", "info",
             "--ws-ping-interval", "0"],
            env=self.env, stdout=handle, stderr=subprocess.STDOUT)
        import time
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.http}/api/v1/health", timeout=1):
                    return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(self.log.read_text()[-3000:]) from None
                time.sleep(0.1)
        raise RuntimeError(self.log.read_text()[-3000:])


def _get(url, token=None):
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


async def _socket(url, **kwargs):
    """-> the first frame's type, or the close code."""
    try:
        async with websockets.connect(url, open_timeout=5, **kwargs) as ws:
            return json.loads(await asyncio.wait_for(ws.recv(), 5))["type"]
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


def test_no_token_in_any_server_log_line(client, people, make_user, org):  # noqa: F811
    admin = make_user("admin", roles=[Role.ADMIN])
    user_token = issue_token(client, "sender")
    old_client_token = issue_token(client, "neighbour")
    device_token, _ = services.create_device_token(admin, "Taster 1.01", "button_hub",
                                                   room=org["rooms"][0])
    server = LoudServer().start()
    try:
        assert _get(f"{server.http}/api/v1/auth/me", user_token) == 200
        # The device trigger URL (token in the path, by design for button hubs).
        assert _get(f"{server.http}/api/v1/trigger/{device_token}?template=probealarm") in (
            200, 201)
        # A mistyped trigger path goes through Django, which logs "Not Found: <path>".
        assert _get(f"{server.http}/api/v1/trigger/{device_token}/x") == 404
        # The phone app and the alarm page: token as subprotocol.
        assert asyncio.run(_socket(
            f"{server.ws}/ws/v1/alarms",
            subprotocols=["beistand.v1", f"beistand.bearer.{user_token}"])) == "hello"
        # An old client with ?token= gets 4401 (a URL token counts for nothing) ...
        assert asyncio.run(_socket(f"{server.ws}/ws/v1/alarms?token={old_client_token}")) \
            == 4401
        assert asyncio.run(_socket(f"{server.ws}/ws/v1/ping?token={old_client_token}")) == 4401
    finally:
        server.stop()
    log = server.log.read_text()
    # ... and its URL, like everything else, reached the log only redacted.
    assert "WebSocket /ws/v1/alarms" in log and "/api/v1/trigger/" in log, log[-2000:]
    for token in (user_token, old_client_token, device_token):
        assert token[:12] not in log, f"token prefix {token[:12]} in the server log"
    assert TOKEN_RE.findall(log) == []


def test_shipped_nginx_configuration_logs_no_query_and_no_trigger_path():
    conf = (ROOT / "deploy/nginx/beistand.conf").read_text()
    formats = re.findall(r"log_format\s+(\w+)\s+((?:'[^']*'\s*)+);", conf)
    assert formats, "the configuration defines its log format"
    for _name, body in formats:
        for variable in ("$request ", "$request\"", "$request_uri", "$args", "$query_string",
                         "$http_authorization", "$http_sec_websocket_protocol"):
            assert variable not in body
    access_logs = re.findall(r"access_log\s+([^;]+);", conf)
    assert access_logs and all(line.strip() == "off" or line.split()[-1] in dict(formats)
                               for line in access_logs)
    trigger = conf[conf.index("location /api/v1/trigger/"):]
    assert "access_log off;" in trigger[:trigger.index("}")]
    service = (ROOT / "deploy/systemd/beistand-web@.service").read_text()
    assert "--no-access-log" in service
