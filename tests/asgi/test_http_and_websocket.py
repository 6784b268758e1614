"""One uvicorn process serves HTTP and WebSocket (the real server, on loopback)."""

import asyncio
import json
import socket
import threading
import time
import urllib.request

import pytest
import uvicorn
import websockets

from beistand.asgi import application
from tests.conftest import issue_token

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield port
    srv.should_exit = True
    thread.join(timeout=5)


def _ws(port, path, **kwargs):
    return websockets.connect(f"ws://127.0.0.1:{port}{path}", open_timeout=5, **kwargs)


def test_http_health_on_the_same_server(server):
    with urllib.request.urlopen(f"http://127.0.0.1:{server}/api/v1/health", timeout=5) as resp:
        assert json.load(resp) == {"status": "ok"}


def test_websocket_with_user_token_answers(server, client, make_user, settings):
    make_user("kollegin")
    settings.DEMO_MODE = True
    token = issue_token(client, "kollegin")

    async def talk():
        # Browsers: the token as a subprotocol (never in the URL), the server answers beistand.v1.
        async with _ws(server, "/ws/v1/ping",
                       subprotocols=["beistand.v1", f"beistand.bearer.{token}"]) as ws:
            assert ws.subprotocol == "beistand.v1"
            await ws.send(json.dumps({"echo": "hallo"}))
            return json.loads(await asyncio.wait_for(ws.recv(), 5))

    assert asyncio.run(talk()) == {"type": "pong", "echo": "hallo"}


def test_websocket_with_header_token_answers(server, client, make_user, settings):
    make_user("kollege")
    settings.DEMO_MODE = True
    token = issue_token(client, "kollege")

    async def talk():
        async with _ws(server, "/ws/v1/ping",
                       additional_headers={"Authorization": f"Bearer {token}"}) as ws:
            await ws.send(json.dumps({"echo": 1}))
            return json.loads(await asyncio.wait_for(ws.recv(), 5))

    assert asyncio.run(talk())["type"] == "pong"


def test_websocket_without_credentials_is_closed(server, db):
    async def talk():
        async with _ws(server, "/ws/v1/ping") as ws:
            await ws.recv()

    with pytest.raises(websockets.ConnectionClosed) as closed:
        asyncio.run(talk())
    assert closed.value.rcvd.code == 4401


def test_websocket_with_bad_token_is_closed(server, db):
    async def talk():
        async with _ws(server, "/ws/v1/ping",
                       additional_headers={"Authorization": "Bearer bst_not-a-real-token"}) as ws:
            await ws.recv()

    with pytest.raises(websockets.ConnectionClosed) as closed:
        asyncio.run(talk())
    assert closed.value.rcvd.code == 4401


def test_websocket_from_foreign_browser_origin_is_refused(server, client, make_user, settings):
    make_user("opfer")
    settings.DEMO_MODE = True
    token = issue_token(client, "opfer")

    async def talk():
        async with _ws(server, "/ws/v1/ping", origin="https://evil.example",
                       additional_headers={"Authorization": f"Bearer {token}"}) as ws:
            await ws.recv()

    with pytest.raises((websockets.InvalidStatus, websockets.ConnectionClosed)):
        asyncio.run(talk())
