"""A client that sends but never reads (attack review of #22): it must neither grow the server's
memory without bound (every ``ping`` it sends is answered into a queue) nor stall the engine's
shared heartbeat loop - closing it after its heartbeat timeout used to wait for a send that can
never finish, and every other connection of the process lost its pings and resends."""

import asyncio
import base64
import json
import os
import socket
import time

import pytest

from beistand.alarms.hub import HUB, OUTBOX_HIGH
from tests.alarms.conftest import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


def _masked(payload: bytes) -> bytes:
    mask = os.urandom(4)
    size = len(payload)
    head = bytes([0x81]) + (bytes([0x80 | size]) if size < 126
                            else bytes([0x80 | 126]) + size.to_bytes(2, "big"))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _deaf_client(port: int, token: str) -> socket.socket:
    """A raw WebSocket client with a tiny receive buffer that never reads after the handshake."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /ws/v1/alarms HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  f"Authorization: Bearer {token}\r\n\r\n").encode())
    assert sock.recv(12) == b"HTTP/1.1 101"
    return sock


def _flood(sock: socket.socket, seconds: float) -> int:
    """Pings (each answered with a pong) until the server stops taking them or time is up."""
    batch = _masked(json.dumps({"type": "ping", "request_id": "p" * 64}).encode()) * 200
    sock.settimeout(1)
    sent, end = 0, time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            sock.sendall(batch)
            sent += 200
    except TimeoutError:
        pass  # the server stopped reading this client: backpressure
    return sent


@pytest.fixture
def fast_heartbeat(settings):
    settings.ALARM_HEARTBEAT_SECONDS = 1  # before the server (its engine) starts


def test_a_client_that_never_reads_neither_grows_memory_nor_stalls_the_others(
        fast_heartbeat, server, people, token):
    probe_token = token(people["neighbour"])
    deaf = _deaf_client(server.port, token(people["far"]))
    try:
        sent = _flood(deaf, 4)
        assert sent > 10 * OUTBOX_HIGH  # far more pongs than the queue may hold
        # Memory: what waits for the deaf client stays bounded.
        assert max(len(c.outbox) for c in HUB.connections()) <= OUTBOX_HIGH + 5

        async def probe():
            # Another client keeps getting its pings, also after the deaf one's heartbeat
            # timeout (3 s) - never more than 2 x heartbeat_s of silence.
            async with Receiver(server.ws, probe_token) as client:
                pings, deadline = 0, time.monotonic() + 30
                while pings < 8 and time.monotonic() < deadline:
                    frame = await client.recv(2.5)
                    if frame.get("type") == "ping":
                        pings += 1
                        await client.send({"type": "pong"})
                return pings

        assert asyncio.run(probe()) == 8
    finally:
        deaf.close()
