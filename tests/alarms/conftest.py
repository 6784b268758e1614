"""Alarm tests: a real uvicorn server (HTTP + WebSocket, lifespan on, so the alarm engine runs)
in a thread of the test process, real WebSocket clients, and a small organisation on one floor:
sender in room 1.01, a neighbour 4 m away, a colleague on the same floor 16 m away, the
security service in another building."""

import asyncio
import json
import socket
import threading
import time

import pytest
import uvicorn
import websockets
from django.db import transaction

from beistand.accounts.roles import Role
from beistand.alarms.models import AlarmPlan, AlarmTier
from beistand.alarms.seed import ensure_defaults
from beistand.organisation.models import Building, Floor, Room
from tests.conftest import issue_token
from tests.protocol_check import frame_problems


@pytest.fixture
def alarm_defaults(db):
    ensure_defaults()


@pytest.fixture
def people(org, make_user, alarm_defaults):
    rooms = org["rooms"]  # 1.01 .. 1.05, x = 4, 8, 12, 16, 20 m
    with transaction.atomic():
        other = Building.objects.create(site=org["site"], name="Pforte")
        pforte = Room.objects.create(floor=Floor.objects.create(building=other, level=0),
                                     number="0.01", x=0.0, y=0.0)
    users = {
        "sender": make_user("sender", room=rooms[0]),
        "neighbour": make_user("neighbour", room=rooms[1]),
        "far": make_user("far", room=rooms[4]),
        "security": make_user("security", roles=[Role.SECURITY], room=pforte),
    }
    with transaction.atomic():
        for name, mobile in (("sender", "+49 170 1111111"), ("far", "0171 2222222")):
            emp = users[name].employee
            emp.first_name, emp.last_name = {"sender": ("Erika", "Sender"),
                                             "far": ("Franz", "Far")}[name]
            emp.mobile_phone = mobile
            emp.save()
    return users


@pytest.fixture
def fast_plan(people):
    """The default plan with short timeouts: neighbours (10 m) 1.5 s → security 1.5 s →
    floor 1.5 s."""
    with transaction.atomic():
        plan = AlarmPlan.objects.get(scope="default")
        plan.tiers.all().delete()
        for order, kind in ((1, "neighbours"), (2, "security"), (3, "floor")):
            AlarmTier.objects.create(plan=plan, order=order, kind=kind, radius_m=10,
                                     timeout_s=1, acks_needed=1)
    return plan


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerThread:
    def __init__(self):
        from beistand.asgi import application

        self.port = free_port()
        config = uvicorn.Config(application, host="127.0.0.1", port=self.port,
                                log_level="warning", lifespan="on", ws_ping_interval=None)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self):
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def http(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self):
        return f"ws://127.0.0.1:{self.port}"


@pytest.fixture
def server(transactional_db):
    srv = ServerThread().start()
    yield srv
    srv.stop()


@pytest.fixture
def token(client, settings):
    def make(user):
        settings.DEMO_MODE = True
        try:
            return issue_token(client, user.get_username())
        finally:
            settings.DEMO_MODE = False
    return make


class Receiver:
    """A protocol-following test client: resumes (with the epoch of its numbering, once it has
    one), follows a ``reset``, receipts every event, de-duplicates."""

    def __init__(self, url, token, last_event_id=0, auto_receipt=True, epoch=None):
        self.url = url
        self.token = token
        self.last = last_event_id
        self.epoch = epoch
        self.auto_receipt = auto_receipt
        self.events = []
        self.controls = []
        self.resets = []
        self.ws = None
        self.hello = None

    async def __aenter__(self):
        self.ws = await websockets.connect(f"{self.url}/ws/v1/alarms",
                                           additional_headers={
                                               "Authorization": f"Bearer {self.token}"},
                                           open_timeout=5)
        self.hello = await self.recv(5)
        assert self.hello["type"] == "hello", self.hello
        resume = {"type": "resume", "last_event_id": self.last}
        if self.epoch:
            resume["epoch"] = self.epoch
        await self.send(resume)
        # The documented client rule: a reset (which comes before any event) replaces the
        # numbering; else the hello's epoch is the one of the numbers that follow.
        self.epoch = self.hello["epoch"]
        return self

    def _reset(self, frame) -> bool:
        """Follow a ``reset`` frame; True if it was one."""
        if frame.get("type") != "reset":
            return False
        self.resets.append(frame)
        self.epoch = frame["epoch"]
        self.last = frame["resume_from"]
        return True

    async def __aexit__(self, *exc):
        await self.ws.close()

    async def send(self, frame):
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout):
        """The next frame, checked against the protocol schema (also for servers in another
        process, whose send path the suite's hook does not see)."""
        frame = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        problems = frame_problems(frame)
        assert not problems, (frame, problems)
        return frame

    async def next_event(self, timeout=5.0, **match):
        """The next new event matching ``match`` (controls are kept aside)."""
        for ev in self.events:
            if ev.get("_taken") is None and all(ev.get(k) == v for k, v in match.items()):
                ev["_taken"] = True
                return ev
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no event {match}; have {self.events}")
            frame = await self.recv(remaining)
            if "event_id" not in frame:
                if not self._reset(frame):
                    self.controls.append(frame)
                continue
            if frame["event_id"] <= self.last:
                continue  # duplicate after a resend or resume
            assert frame["event_id"] == self.last + 1, (frame, self.last)
            self.last = frame["event_id"]
            if self.auto_receipt:
                await self.send({"type": "receipt", "event_id": self.last})
            self.events.append(frame)
            if all(frame.get(k) == v for k, v in match.items()):
                frame["_taken"] = True
                return frame

    async def control(self, timeout=5.0, **match):
        for c in self.controls:
            if all(c.get(k) == v for k, v in match.items()):
                self.controls.remove(c)
                return c
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no control frame {match}")
            frame = await self.recv(remaining)
            if self._reset(frame) and match.get("type") != "reset":
                continue
            if "event_id" in frame:
                if frame["event_id"] > self.last:
                    self.last = frame["event_id"]
                    self.events.append(frame)
                continue
            if all(frame.get(k) == v for k, v in match.items()):
                return frame
            self.controls.append(frame)
