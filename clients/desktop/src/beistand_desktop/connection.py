"""The WebSocket connection to ``/ws/v1/alarms``: hello, resume, receipts, heartbeat, reconnect.

``AlarmConnection.run()`` keeps one connection open for as long as it runs. It reconnects with
backoff (1 s, 2 s, 4 s … 30 s, jitter), resumes with the highest processed ``event_id`` (kept on
disk by ``EventCursor``), drops duplicates, receipts every event, answers server pings and treats
``2 × heartbeat_s`` of silence as a lost connection. Close code 4401 (token unknown or revoked)
stops it: retrying blindly with a bad token is pointless, the user has to pair again.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import logging
from collections.abc import Callable
from enum import StrEnum

import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from . import protocol
from .backoff import Backoff
from .cursor import EventCursor

log = logging.getLogger(__name__)


class Status(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    UNAUTHORIZED = "unauthorized"
    STOPPED = "stopped"


class Unauthorized(Exception):
    pass


class CommandError(Exception):
    def __init__(self, code: str, detail: str):
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


async def _call(callback, *args):
    if callback is None:
        return
    result = callback(*args)
    if inspect.isawaitable(result):
        await result


class AlarmConnection:
    def __init__(self, server: str, token: str, cursor: EventCursor | None = None, *,
                 on_event: Callable | None = None, on_status: Callable | None = None,
                 backoff: Backoff | None = None, hello_timeout: float = 10.0,
                 on_coverage: Callable | None = None):
        self.server = server
        self.token = token
        self.cursor = cursor or EventCursor()
        self.on_event = on_event
        self.on_status = on_status
        self.on_coverage = on_coverage   # the pushed coverage indicator (control frame)
        self.backoff = backoff or Backoff()
        self.hello_timeout = hello_timeout
        self.status = Status.DISCONNECTED
        self.hello: dict = {}
        self.heartbeat_s = 15.0
        self.connects = 0
        self._ws = None
        self._stop = asyncio.Event()
        self._pending: dict[str, asyncio.Future] = {}
        self._ids = itertools.count(1)
        self.duplicates_dropped = 0

    # -- life cycle -------------------------------------------------------------------------
    async def _set_status(self, status: Status, detail: str = "") -> None:
        if status != self.status:
            self.status = status
            log.info("connection %s %s", status, detail)
            await _call(self.on_status, status, detail)

    def stop(self) -> None:
        self._stop.set()
        if self._ws is not None:
            self._closing = asyncio.ensure_future(self._ws.close())

    async def run(self) -> None:
        url = protocol.ws_url(self.server)
        while not self._stop.is_set():
            await self._set_status(Status.CONNECTING)
            detail = ""
            try:
                async with websockets.connect(
                        url, additional_headers={"Authorization": f"Bearer {self.token}"},
                        open_timeout=10, ping_interval=None, close_timeout=2,
                        max_size=2 ** 20) as ws:
                    self._ws = ws
                    await self._session(ws)
            except Unauthorized:
                await self._set_status(Status.UNAUTHORIZED, "Token ungültig oder widerrufen")
                return
            except InvalidStatus as exc:
                detail = f"HTTP {exc.response.status_code}"
                if exc.response.status_code in (401, 403):
                    await self._set_status(Status.UNAUTHORIZED, detail)
                    return
            except (OSError, TimeoutError, WebSocketException) as exc:
                detail = f"{type(exc).__name__}: {exc}"
            except Exception as exc:
                # never the end of receiving: the task ended here once (a frame the client
                # could not process) while the status still said "connected" - no alarms
                # came in, and the tray stayed green
                log.exception("connection failed unexpectedly")
                detail = f"{type(exc).__name__}: {exc}"
            finally:
                self._ws = None
                self._fail_pending()
            if self._stop.is_set():
                break
            await self._set_status(Status.DISCONNECTED, detail)
            delay = self.backoff.next_delay()
            log.info("reconnecting in %.1f s", delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
        await self._set_status(Status.STOPPED)

    def _fail_pending(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("Verbindung getrennt"))
        self._pending.clear()

    async def _session(self, ws) -> None:
        try:
            first = protocol.decode(await asyncio.wait_for(ws.recv(), self.hello_timeout))
        except ConnectionClosed as exc:
            if exc.rcvd is not None and exc.rcvd.code == protocol.CLOSE_UNAUTHORIZED:
                raise Unauthorized from exc
            raise
        if not first or first["type"] != "hello":
            raise WebSocketException(f"expected hello, got {first!r}")
        self.hello = first
        self.heartbeat_s = float(first.get("heartbeat_s") or 15)
        await ws.send(protocol.encode(protocol.resume(self.cursor.last_event_id,
                                                      self.cursor.epoch)))
        if not self.cursor.epoch and first.get("epoch"):
            self.cursor.set_epoch(str(first["epoch"]))
        self.connects += 1
        self.backoff.reset()
        await self._set_status(Status.CONNECTED)
        while True:
            try:
                raw = await asyncio.wait_for(ws.recv(), 2 * self.heartbeat_s)
            except TimeoutError:
                log.warning("nothing received for %.0f s: connection considered lost",
                            2 * self.heartbeat_s)
                await ws.close(code=1001)
                raise
            except ConnectionClosed as exc:
                if exc.rcvd is not None and exc.rcvd.code == protocol.CLOSE_UNAUTHORIZED:
                    raise Unauthorized from exc
                raise
            frame = protocol.decode(raw)
            if frame is None:
                log.warning("ignoring a malformed frame: %.200r", raw)
                continue
            await self._handle(ws, frame)

    async def _handle(self, ws, frame: dict) -> None:
        kind = frame["type"]
        if kind == "ping":
            await ws.send(protocol.encode({"type": "pong"}))
        elif kind == "reset" and isinstance(frame.get("resume_from"), int):
            # the server's numbering is not the one our cursor is from (a restored database,
            # another inbox after re-pairing): continue from where the server says
            log.warning("event numbering reset by the server (%s): %s -> %s",
                        frame.get("reason"), self.cursor.last_event_id, frame["resume_from"])
            self.cursor.reset(frame["resume_from"], frame.get("epoch"))
        elif protocol.is_event(frame):
            event_id = frame["event_id"]
            if self.cursor.is_new(event_id):
                if event_id > self.cursor.last_event_id + 1 and self.cursor.last_event_id:
                    log.warning("event gap: %s after %s", event_id, self.cursor.last_event_id)
                try:
                    await _call(self.on_event, frame)
                except Exception:
                    # one event the client cannot process is logged and passed over; it must
                    # not end the connection (the server would send it again and again)
                    log.exception("event %s could not be processed: %.300r", event_id, frame)
                self.cursor.advance(event_id)
            else:
                self.duplicates_dropped += 1
                log.debug("duplicate event %s dropped", event_id)
            await ws.send(protocol.encode(protocol.receipt(self.cursor.last_event_id)))
        elif kind == "coverage" and frame.get("level") in ("green", "yellow", "red"):
            # "Wer bekommt meinen Alarm jetzt?" pushed when it changes; not an event (no receipt)
            await _call(self.on_coverage, frame)
        elif kind in ("result", "error"):
            future = self._pending.pop(str(frame.get("request_id")), None)
            if future is not None and not future.done():
                if kind == "result" and frame.get("ok", True):
                    future.set_result(frame)
                else:
                    future.set_exception(CommandError(frame.get("code", "error"),
                                                      frame.get("detail", "")))
            elif kind == "error":
                log.warning("server refused a frame: %s", frame)
        # hello again, pong, unknown control frames: ignored (forward compatible)

    # -- commands ---------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._ws is not None and self.status == Status.CONNECTED

    async def send(self, frame: dict) -> None:
        """Sends a frame without waiting for an answer."""
        ws = self._ws
        if ws is None or self.status != Status.CONNECTED:
            raise ConnectionError("nicht verbunden")
        try:
            await ws.send(protocol.encode(frame))
        except ConnectionClosed as exc:
            raise ConnectionError("Verbindung getrennt") from exc

    async def command(self, frame: dict, timeout: float = 10.0) -> dict:
        """Sends a command with a ``request_id`` and waits for its ``result`` (or raises)."""
        ws = self._ws
        if ws is None or self.status != Status.CONNECTED:
            raise ConnectionError("nicht verbunden")
        request_id = f"r{next(self._ids)}"
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        await ws.send(protocol.encode({**frame, "request_id": request_id}))
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(request_id, None)
