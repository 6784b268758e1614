"""The frames a real server sends are what the protocol's definitions say.

The definitions are src/beistand/alarms/static/alarms/protocol.d.ts, the types the browser code is
checked against (``tsc --noEmit -p tsconfig.json``); docs/alarm-protocol.schema.json is generated
from them (tests/js/schema.test.js keeps it current). Here a real server (uvicorn with the alarm
engine) runs an alarm through everything a client can see - delivery, escalation, answers,
"Hilfe kommt", the sender's position, a message, a refused command, heartbeats, the all-clear, a
countdown cancelled - and every frame the WebSocket clients receive is validated against that
schema, with the answers of POST /api/v1/alarms. The schema's objects are closed, so a field the
server sends that the definitions do not name fails too.
"""

import asyncio
import contextlib
import copy
import json
from pathlib import Path

import httpx
import pytest
from jsonschema import Draft7Validator

from tests.alarms.conftest import Receiver

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs"
                     / "alarm-protocol.schema.json").read_text(encoding="utf-8"))


def validator(name: str) -> Draft7Validator:
    return Draft7Validator({**SCHEMA, "$ref": f"#/definitions/{name}"})


SERVER_FRAME = validator("ServerFrame")
TRIGGER_ANSWER = validator("TriggerAnswer")


def problems(check: Draft7Validator, frame) -> list[str]:
    """Readable reasons a frame does not fit; for a union, the branch that fits best."""
    found = []
    for error in check.iter_errors(frame):
        best = min(error.context or [error], key=lambda e: len(e.path) * -1 + len(e.message))
        found.append(f"{'/'.join(map(str, best.absolute_path)) or '(frame)'}: {best.message}")
    return found


class Recorder(Receiver):
    """A protocol client (tests/alarms/conftest.py) that keeps every frame it receives, as
    received, and answers the server's pings."""

    async def __aenter__(self):
        await super().__aenter__()
        self.frames = [copy.deepcopy(self.hello)]
        recv = self.ws.recv

        async def recording_recv(*args, **kwargs):
            text = await recv(*args, **kwargs)
            frame = json.loads(text)
            self.frames.append(frame)
            if frame.get("type") == "ping":
                await self.ws.send('{"type": "pong"}')
            return text

        self.ws.recv = recording_recv
        return self

    async def drain(self, seconds: float):
        """Receive (and receipt) whatever arrives for a while."""
        with contextlib.suppress(TimeoutError):
            await self.next_event(timeout=seconds, type="none")


def post(server, path, token, body=None):
    return httpx.post(f"{server.http}{path}", json=body, timeout=10,
                      headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def fast_heartbeat(settings):
    settings.ALARM_HEARTBEAT_SECONDS = 2


def test_every_frame_of_a_real_server_fits_the_protocol_definitions(
        fast_heartbeat, server, people, fast_plan, token):
    t_sender, t_neighbour, t_security = (token(people[n]) for n in
                                         ("sender", "neighbour", "security"))
    answers = []

    async def call(path, tok, body=None, status=200):
        resp = await asyncio.to_thread(post, server, path, tok, body)
        assert resp.status_code == status, resp.text
        return resp.json()

    async def scenario():
        async with Recorder(server.ws, t_sender) as sender, \
                Recorder(server.ws, t_neighbour) as neighbour, \
                Recorder(server.ws, t_security) as security:
            await asyncio.sleep(0.5)  # presence is written in batches
            body = await call("/api/v1/alarms", t_sender,
                              {"template": "beistand", "client_id": "frames-1"}, status=201)
            answers.append(body)
            alarm_id = body["id"]
            await neighbour.next_event(type="alarm")
            await sender.next_event(type="alarm")
            await sender.next_event(type="alarm_update", kind="delivered")
            # Nobody answers: the security service is the next tier.
            await security.next_event(type="alarm", timeout=6)
            await neighbour.next_event(type="alarm_update", kind="escalated")

            await security.send({"type": "respond", "alarm_id": alarm_id,
                                 "response": "coming", "request_id": "r1"})
            await security.control(type="result")
            await sender.next_event(type="alarm_update", kind="help_coming")
            await neighbour.next_event(type="alarm_update", kind="response")

            await call(f"/api/v1/alarms/{alarm_id}/position", t_sender,
                       {"lat": 50.9375, "lon": 6.9603, "accuracy_m": 12})
            await security.next_event(type="alarm_update", kind="position")

            await neighbour.send({"type": "message", "alarm_id": alarm_id,
                                  "text": "Bin unterwegs"})
            await sender.next_event(type="message")

            # A refused command (with and without request_id) and a client's ping.
            await neighbour.send({"type": "respond", "alarm_id": alarm_id,
                                  "response": "vielleicht", "request_id": "r2"})
            await neighbour.control(type="error")
            await neighbour.send({"type": "dance"})
            await neighbour.control(type="error")
            await neighbour.send({"type": "ping"})
            await neighbour.control(type="pong")
            await neighbour.control(type="ping", timeout=5)  # the server's heartbeat

            await call(f"/api/v1/alarms/{alarm_id}/resolve", t_sender, {"note": "Lage geklärt"})
            for client in (sender, neighbour, security):
                await client.next_event(type="alarm_update", kind="resolved")

            # A countdown, cancelled before it went out.
            body = await call("/api/v1/alarms", t_sender,
                              {"template": "beistand", "client_id": "frames-2",
                               "countdown_s": 10}, status=201)
            answers.append(body)
            assert body["state"] == "countdown"
            answers.append(await call("/api/v1/alarms", t_sender,  # the same press again
                                      {"template": "beistand", "client_id": "frames-2",
                                       "countdown_s": 10}))
            await call(f"/api/v1/alarms/{body['id']}/cancel", t_sender)
            await sender.drain(1.0)
            return [f for client in (sender, neighbour, security) for f in client.frames]

    frames = asyncio.run(scenario())

    seen = {(f["type"], f.get("kind")) for f in frames}
    expected = {("hello", None), ("ping", None), ("pong", None), ("result", None),
                ("error", None), ("alarm", None), ("message", None)} | {
        ("alarm_update", kind) for kind in ("delivered", "escalated", "response", "help_coming",
                                            "position", "resolved")}
    assert expected <= seen, expected - seen
    assert {f["role"] for f in frames if f["type"] == "alarm"} == {"sender", "receiver"}

    wrong = {}
    for frame in frames:
        found = problems(SERVER_FRAME, frame)
        if found:
            wrong[json.dumps(frame, ensure_ascii=False)[:300]] = found
    assert not wrong, json.dumps(wrong, indent=1, ensure_ascii=False)
    for answer in answers:
        assert not problems(TRIGGER_ANSWER, answer), (answer, problems(TRIGGER_ANSWER, answer))


def test_the_schema_refuses_what_the_protocol_does_not_allow():
    """The check has teeth: an undocumented field, a missing one, a wrong kind."""
    hello = {"type": "hello", "inbox": 1, "epoch": "9f86d081884c7d65", "name": "Erika Muster",
             "last_event_id": 0,
             "heartbeat_s": 15, "server_time": "2026-11-29T21:14:03.125+00:00"}
    assert not problems(SERVER_FRAME, hello)
    assert problems(SERVER_FRAME, {**hello, "extra": 1})
    assert problems(SERVER_FRAME, {k: v for k, v in hello.items() if k != "inbox"})
    assert problems(SERVER_FRAME, {**hello, "server_time": "21:14"})
    update = {"type": "alarm_update", "event_id": 3, "alarm_id": 42, "state": "triggered",
              "kind": "escalated", "tier": 2}
    assert not problems(SERVER_FRAME, update)
    assert problems(SERVER_FRAME, {**update, "kind": "exploded"})
    assert problems(SERVER_FRAME, {**update, "tier": 1.5})
