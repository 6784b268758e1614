"""Heartbeats: every connection is pinged at least once per heartbeat interval (pings are
spread over the interval, not sent to everyone at once)."""

import asyncio
import itertools
import json
import time

import pytest

from tests.alarms.conftest import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fast_heartbeat(settings):
    settings.ALARM_HEARTBEAT_SECONDS = 2


def test_every_connection_is_pinged_each_interval(fast_heartbeat, server, people, token):
    tokens = [token(people[n]) for n in ("sender", "neighbour", "far", "security")]

    async def listen(tok):
        pings = []
        async with Receiver(server.ws, tok) as client:
            end = time.monotonic() + 6.5
            while time.monotonic() < end:
                try:
                    frame = json.loads(await asyncio.wait_for(client.ws.recv(), 0.5))
                except TimeoutError:
                    continue
                if frame.get("type") == "ping":
                    pings.append(time.monotonic())
                    await client.send({"type": "pong"})
        return pings

    async def scenario():
        return await asyncio.gather(*(listen(t) for t in tokens))

    for pings in asyncio.run(scenario()):
        assert len(pings) >= 2, pings
        gaps = [b - a for a, b in itertools.pairwise(pings)]
        assert max(gaps) <= 2 * 2 + 0.5, gaps  # a client declares itself offline after 2x


def test_a_silent_connection_gets_heartbeat_timeout_then_4408(server, people, token, settings):
    """docs/alarm-protocol.md: the 4408 close is preceded by an ``error`` frame with code
    ``heartbeat_timeout`` (a review found the close arriving without it)."""
    settings.ALARM_HEARTBEAT_SECONDS = 1
    import websockets

    tok = token(people["far"])

    async def silent():
        frames = []
        async with Receiver(server.ws, tok, auto_receipt=False) as client:
            try:
                while True:  # never answer a ping: the server ends the connection
                    frames.append(json.loads(await asyncio.wait_for(client.ws.recv(), 30)))
            except websockets.ConnectionClosed as closed:
                return frames, closed.rcvd.code if closed.rcvd else None

    frames, code = asyncio.run(silent())
    assert code == 4408
    assert frames[-1]["type"] == "error" and frames[-1]["code"] == "heartbeat_timeout", frames[-3:]
