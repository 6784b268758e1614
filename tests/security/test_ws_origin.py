"""Issue 16, finding 12: the WebSocket origin check ignored scheme and port (any origin whose
host was allowed passed, e.g. ``http://`` against an HTTPS site or another port of the same
host). Now the browser's Origin must equal the handshake's own origin — scheme, host and port —
or be one of BEISTAND_CSRF_TRUSTED_ORIGINS exactly; native clients send none."""

import asyncio
import json

import pytest
import websockets

from beistand.core.ws_origin import parse_origin
from tests.alarms.conftest import server  # noqa: F401
from tests.conftest import issue_token

pytestmark = pytest.mark.django_db(transaction=True)


def _talk(server, token, origin):  # noqa: F811
    async def run():
        kwargs = {"additional_headers": {"Authorization": f"Bearer {token}"}}
        if origin is not None:
            kwargs["origin"] = origin
        async with websockets.connect(f"{server.ws}/ws/v1/ping", open_timeout=5, **kwargs) as ws:
            await ws.send(json.dumps({"echo": 1}))
            return json.loads(await asyncio.wait_for(ws.recv(), 5))["type"]

    try:
        return asyncio.run(run())
    except websockets.InvalidStatus as refused:
        return refused.response.status_code


def test_origin_is_compared_in_full(server, client, make_user, settings):  # noqa: F811
    make_user("kollegin")
    token = issue_token(client, "kollegin")
    port = server.port
    assert _talk(server, token, f"http://127.0.0.1:{port}") == "pong"    # same origin
    assert _talk(server, token, None) == "pong"                          # native client
    # The reproduction: same host, other scheme or port, was accepted.
    assert _talk(server, token, f"https://127.0.0.1:{port}") == 403
    assert _talk(server, token, f"http://127.0.0.1:{port + 1}") == 403
    assert _talk(server, token, "http://127.0.0.1") == 403
    assert _talk(server, token, f"http://localhost:{port}") == 403       # other host
    assert _talk(server, token, "null") == 403
    assert _talk(server, token, "https://evil.example") == 403
    settings.CSRF_TRUSTED_ORIGINS = ["https://beistand.stadt.example"]
    assert _talk(server, token, "https://beistand.stadt.example") == "pong"
    assert _talk(server, token, "https://beistand.stadt.example:8443") == 403
    assert _talk(server, token, "http://beistand.stadt.example") == 403


def test_parse_origin_fills_default_ports():
    assert parse_origin("https://A.example") == ("https", "a.example", 443)
    assert parse_origin("http://a.example:8080") == ("http", "a.example", 8080)
    assert parse_origin("http://[::1]:8000") == ("http", "::1", 8000)
    for bad in ("null", "ftp://a.example", "https://a.example/path", "https://u@a.example",
                "https://a.example:99999", ""):
        assert parse_origin(bad) is None
