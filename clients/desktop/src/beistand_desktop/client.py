"""The client core: one connection, one outbox sender and the state of open alarms.

No GUI dependency. ``AlarmClient`` runs its asyncio loop in a background thread
(``start()``), so the tray app, the button daemon and the self-test all use it the same way;
its methods may be called from any thread. Listeners get plain dicts (the protocol frames) and
are called on the client's thread: a GUI must hand them over to its own thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from . import protocol
from .connection import AlarmConnection, Status
from .cursor import EventCursor
from .outbox import Outbox, PendingAlarm
from .sender import AlarmSender, SendResult, SendState, late_seconds

log = logging.getLogger(__name__)


@dataclass
class Listener:
    on_status: Callable[[Status, str], None] | None = None
    on_alarm: Callable[[dict], None] | None = None            # new alarm (any role)
    on_update: Callable[[dict, dict], None] | None = None     # (frame, merged alarm)
    on_message: Callable[[dict], None] | None = None
    on_send: Callable[[SendResult], None] | None = None       # outbox progress
    on_coverage: Callable[[dict], None] | None = None         # {"level", "level_text"}


@dataclass
class AlarmClient:
    server: str
    token: str
    outbox: Outbox
    cursor: EventCursor = field(default_factory=EventCursor)
    listeners: list[Listener] = field(default_factory=list)

    def __post_init__(self):
        self.server = self.server.rstrip("/")
        self.alarms: dict[int, dict] = {}
        self.messages: dict[int, list[dict]] = {}
        self.disconnected_since: float | None = time.monotonic()
        self.connection = AlarmConnection(self.server, self.token, self.cursor,
                                          on_event=self._on_event, on_status=self._on_status,
                                          on_coverage=self._on_coverage)
        # Who would get my alarm now: the server's last "coverage" frame (None: not known,
        # e.g. while disconnected).
        self.coverage: dict | None = None
        self.sender = AlarmSender(self.server, self.token, self.outbox,
                                  on_result=self._on_send)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: list[asyncio.Task] = []
        self._ready = threading.Event()
        self.seat: dict | None = None

    # -- threads ----------------------------------------------------------------------------
    def start(self) -> AlarmClient:
        self._thread = threading.Thread(target=self._run_thread, name="beistand-core",
                                        daemon=True)
        self._thread.start()
        self._ready.wait(5)
        return self

    def _run_thread(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self._ready.set()
        try:
            self.loop.run_until_complete(self.run())
        finally:
            self.loop.close()

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._tasks = [asyncio.create_task(self.connection.run()),
                       asyncio.create_task(self.sender.run())]
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def stop(self, timeout: float = 5.0) -> None:
        if self.loop is None:
            return

        def _stop():
            self.connection.stop()
            self.sender.stop()
        self.loop.call_soon_threadsafe(_stop)
        if self._thread is not None:
            self._thread.join(timeout)

    def submit(self, coro) -> Future:
        assert self.loop is not None, "client not started"
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    # -- state ------------------------------------------------------------------------------
    @property
    def status(self) -> Status:
        return self.connection.status

    def offline_for(self) -> float:
        if self.disconnected_since is None:
            return 0.0
        return time.monotonic() - self.disconnected_since

    def _emit(self, name: str, *args) -> None:
        for listener in list(self.listeners):
            callback = getattr(listener, name)
            if callback is None:
                continue
            try:
                callback(*args)
            except Exception:
                log.exception("listener %s failed", name)

    async def _on_status(self, status: Status, detail: str) -> None:
        if status == Status.CONNECTED:
            self.disconnected_since = None
            self.sender.wake()  # the network is back: pending presses go out now
            await self._send_seat()
        elif self.disconnected_since is None:
            self.disconnected_since = time.monotonic()
        if status != Status.CONNECTED:
            self.coverage = None  # the server sends it again after the reconnect
        self._emit("on_status", status, detail)

    async def _on_coverage(self, frame: dict) -> None:
        self.coverage = {"level": frame["level"], "level_text": str(frame.get("level_text", ""))}
        self._emit("on_coverage", dict(self.coverage))

    async def _on_event(self, frame: dict) -> None:
        kind = frame["type"]
        alarm_id = frame.get("alarm_id")
        if kind == "alarm":
            self.alarms[alarm_id] = dict(frame)
            self._emit("on_alarm", frame)
        elif kind == "alarm_update":
            alarm = self.alarms.setdefault(alarm_id, {"alarm_id": alarm_id})
            if frame.get("state"):
                alarm["state"] = frame["state"]
            if isinstance(frame.get("responders"), list):
                alarm["responders"] = [r for r in frame["responders"] if isinstance(r, dict)]
            elif isinstance(frame.get("responder"), dict):
                responders = [r for r in alarm.get("responders") or []
                              if isinstance(r, dict)
                              and r.get("name") != frame["responder"].get("name")]
                alarm["responders"] = [*responders, frame["responder"]]
            if frame.get("tier") is not None:
                alarm["tier"] = frame["tier"]
            if frame.get("kind") in ("resolved", "cancelled"):
                alarm["closed"] = frame["kind"]
            if frame.get("kind") == "own_answer":
                # the person of this connection answered on one of their devices (maybe this
                # one): the server says so to all of them (docs/alarm-protocol.md)
                alarm["own_answer"] = frame.get("response") or "coming"
            self._emit("on_update", frame, alarm)
        elif kind == "message":
            self.messages.setdefault(alarm_id, []).append(frame)
            self._emit("on_message", frame)

    def _on_send(self, result: SendResult) -> None:
        self._emit("on_send", result)

    # -- actions (any thread) ---------------------------------------------------------------
    def trigger(self, template: str = "beistand", source: str = "desktop",
                countdown_s: int | None = None, pressed_at: str | None = None) -> PendingAlarm:
        """Stores the press durably, then sends it (now, or as soon as the server is back).
        ``pressed_at``: when the press happened (after a local countdown: its end, when the
        alarm was released); default now."""
        item = PendingAlarm.new(template, source, countdown_s)
        if pressed_at:
            item.created_at = pressed_at
        item = self.outbox.put(item)
        log.info("alarm pressed: %s via %s", item.client_id, source)
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.sender.wake)
        return item

    async def _command_or_http(self, frame: dict, path: str, body: dict) -> dict:
        if self.connection.connected:
            try:
                return await self.connection.command(frame)
            except (ConnectionError, TimeoutError):
                log.warning("command over WebSocket failed, trying HTTP")
        async with httpx.AsyncClient() as client:
            response = await client.post(f"{self.server}{path}", json=body, timeout=10,
                                         headers={"Authorization": f"Bearer {self.token}"})
            response.raise_for_status()
            return response.json() if response.content else {}

    def respond(self, alarm_id: int, response: str) -> Future:
        return self.submit(self._command_or_http(
            {"type": "respond", "alarm_id": alarm_id, "response": response},
            f"/api/v1/alarms/{alarm_id}/respond", {"response": response}))

    def send_message(self, alarm_id: int, text: str) -> Future:
        return self.submit(self._command_or_http(
            {"type": "message", "alarm_id": alarm_id, "text": text},
            f"/api/v1/alarms/{alarm_id}/messages", {"text": text}))

    def resolve(self, alarm_id: int) -> Future:
        return self.submit(self._command_or_http(
            {"type": "resolve", "alarm_id": alarm_id},
            f"/api/v1/alarms/{alarm_id}/resolve", {}))

    def report_seat(self, sound: bool, detail: str = "", locked: bool | None = None) -> None:
        """Tells the server whether this seat can play the alarm sound and whether its screen
        is locked (frame ``seat``; the coverage view shows "ohne Ton" / "Bildschirm
        gesperrt"). Sent again after every reconnect."""
        self.seat = {"type": "seat", "sound": bool(sound), "detail": detail[:200]}
        if locked is not None:
            self.seat["locked"] = locked
        if self.loop is not None:
            self.submit(self._send_seat())

    async def _send_seat(self) -> None:
        if self.seat is not None and self.connection.connected:
            try:
                await self.connection.send(self.seat)
            except ConnectionError:
                log.info("seat state not sent (not connected); sent after reconnect")

    def cancel(self, alarm_id: int) -> Future:
        async def _cancel():
            async with httpx.AsyncClient() as client:
                response = await client.post(
                    f"{self.server}/api/v1/alarms/{alarm_id}/cancel", timeout=10,
                    headers={"Authorization": f"Bearer {self.token}"})
                return {"status": response.status_code}
        return self.submit(_cancel())


def user_message(result: SendResult, late_s: float = 30.0) -> str:
    """What the sender is told about a press (German UI text)."""
    if result.state == SendState.SENT:
        late = late_seconds(result.item)
        if result.item.delayed or late >= late_s:
            return ("Alarm wurde verspätet ausgelöst: " + press_times(
                result.item.created_at, result.item.sent_at) + ".")
        return "Alarm wurde ausgelöst."
    if result.state == SendState.FAILED:
        return f"Alarm wurde vom Server abgelehnt: {result.detail}"
    return ("Alarm ist NOCH NICHT übermittelt – keine Verbindung zum Server. "
            "Er wird automatisch gesendet, sobald die Verbindung wieder steht.")


def clock(iso: str | None) -> str:
    """Local wall-clock time HH:MM:SS of an ISO time."""
    if not iso:
        return "–"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%H:%M:%S")
    except ValueError:
        return iso


def press_times(pressed_at: str | None, sent_at: str | None) -> str:
    """ "gedrückt um 10:01:02, übermittelt um 10:02:24 (82 s verspätet)" """
    try:
        late = (datetime.fromisoformat(sent_at) - datetime.fromisoformat(pressed_at)
                ).total_seconds()
    except (TypeError, ValueError):
        return f"übermittelt um {clock(sent_at)}"
    return (f"gedrückt um {clock(pressed_at)}, übermittelt um {clock(sent_at)} "
            f"({max(0, round(late))} s verspätet)")


def command_error(exc: BaseException) -> str:
    """A refused command as the user reads it (the server's German reason where there is one)."""
    detail = getattr(exc, "detail", "")
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return "keine Antwort vom Server (Zeitüberschreitung)"
    if isinstance(exc, httpx.TransportError):
        # httpx says "All connection attempts failed": the user reads German
        return f"keine Verbindung zum Server ({type(exc).__name__})"
    if not detail and isinstance(exc, httpx.HTTPStatusError):
        try:
            detail = exc.response.json().get("detail", "")
        except ValueError:
            detail = ""
    return detail or str(exc) or type(exc).__name__


def describe_alarm(alarm: dict) -> str:
    return f"{protocol.sender_name(alarm)} – {', '.join(protocol.location_lines(alarm))}"
