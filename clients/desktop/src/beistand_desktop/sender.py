"""Sends pressed alarms from the outbox to the server, until each one is confirmed.

A user token raises through ``POST /api/v1/alarms``, a device token through
``POST /api/v1/trigger/{device_token}``; both carry the press's ``client_id`` so a retry returns
the same alarm. Only ``200``/``201`` (and, for a device token, ``429``: the device's running
alarm stays active) count as "went out"; a person's ``429`` (the flood limit) is a refusal.
A refusal that a retry cannot fix (``400``, ``401``, ``403``, ``404``, ``422``, a person's
``429``) is reported and the press is moved to ``outbox/failed``; everything else (network down,
timeouts, ``5xx``) is retried with backoff until it goes out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import httpx

from . import protocol
from .backoff import Backoff
from .outbox import Outbox, PendingAlarm, now_iso

log = logging.getLogger(__name__)
PERMANENT = {400, 401, 403, 404, 422}


def late_seconds(item: PendingAlarm) -> float:
    """Seconds between the press and the server's confirmation (0 while not sent)."""
    if not item.sent_at:
        return 0.0
    try:
        return max(0.0, (datetime.fromisoformat(item.sent_at)
                         - datetime.fromisoformat(item.created_at)).total_seconds())
    except ValueError:
        return 0.0


class SendState(StrEnum):
    QUEUED = "queued"      # stored locally, not (yet) at the server
    SENT = "sent"          # the server confirmed it (persisted)
    FAILED = "failed"      # refused by the server; will not be retried


@dataclass
class SendResult:
    state: SendState
    item: PendingAlarm
    status_code: int | None = None
    detail: str = ""


class AlarmSender:
    def __init__(self, server: str, token: str, outbox: Outbox, *,
                 on_result: Callable[[SendResult], None] | None = None,
                 timeout: float = 5.0, backoff: Backoff | None = None):
        self.server = server.rstrip("/")
        self.token = token
        self.outbox = outbox
        self.on_result = on_result
        self.timeout = timeout
        # A press waiting to go out is retried at least every 5 s: after an outage the alarm
        # must not wait for a long backoff step (up to 30 s seen in the issue 21 review); one
        # small request every 5 s while a press is pending costs nothing.
        self.backoff = backoff or Backoff(first=1.0, maximum=5.0)
        self._wake: asyncio.Event | None = None
        self._stop = False
        # an older server that refuses the field gets the press without it (see send_once)
        self.no_pressed_at = False
        # One HTTP client for the sender's life, made before the first press: building one
        # (its TLS context) took 0.4-1.1 s on a loaded 2-core machine and was on every press's
        # path; it also keeps the connection to the server open between presses.
        self._client: httpx.AsyncClient | None = None

    # -- one attempt ------------------------------------------------------------------------
    def _request(self, item: PendingAlarm) -> tuple[str, str, dict]:
        if protocol.is_device_token(self.token):
            # A PC paired as a device (room or workstation device token) names the local way
            # that raised the press - hotkey, tray, desktop icon or the USB/serial button -
            # as the source: the server labels them apart ("Tastenkombination", not
            # "Alarmtaster", for a hotkey press).
            url = protocol.trigger_url(self.server, self.token, template=item.template,
                                       source=item.source or "button",
                                       client_id=item.client_id,
                                       pressed_at=None if self.no_pressed_at
                                       else item.created_at)
            return "POST", url, {}
        body = {"template": item.template, "client_id": item.client_id, "source": item.source}
        if not self.no_pressed_at:
            body["pressed_at"] = item.created_at   # the true time of the press
        if item.countdown_s is not None:
            body["countdown_s"] = item.countdown_s
        return "POST", f"{self.server}/api/v1/alarms", {
            "json": body, "headers": {"Authorization": f"Bearer {self.token}"}}

    async def send_once(self, item: PendingAlarm, client: httpx.AsyncClient) -> SendResult:
        method, url, kwargs = self._request(item)
        item.attempts += 1
        try:
            response = await client.request(method, url, timeout=self.timeout, **kwargs)
        except httpx.HTTPError as exc:
            item.last_error = f"Server nicht erreichbar ({type(exc).__name__})"
            self.outbox.update(item)
            return SendResult(SendState.QUEUED, item, None, item.last_error)
        try:
            data = response.json()
        except (ValueError, json.JSONDecodeError):
            data = {}
        if response.status_code == 429 and not protocol.is_device_token(self.token):
            # A person's press over the flood limit is no alarm: the server keeps the person's
            # open alarm - which may be a Probealarm that reaches nobody. Never "ausgelöst".
            detail = data.get("detail") if isinstance(data, dict) else ""
            item.last_error = f"HTTP 429: {detail or response.reason_phrase}"
            self.outbox.mark_failed(item)
            return SendResult(SendState.FAILED, item, 429, item.last_error)
        if response.status_code in (200, 201, 429):
            item.sent_at = now_iso()
            item.alarm_id = data.get("id") if isinstance(data, dict) else None
            item.delayed = item.attempts > 1
            item.response = data if isinstance(data, dict) else {}
            item.last_error = ""
            self.outbox.mark_sent(item)
            return SendResult(SendState.SENT, item, response.status_code)
        detail = data.get("detail") if isinstance(data, dict) else ""
        if response.status_code in (400, 422) and not self.no_pressed_at \
                and "pressed_at" in json.dumps(data):
            log.warning("server does not know pressed_at (%s); sending without it", detail)
            self.no_pressed_at = True
            item.attempts -= 1
            return await self.send_once(item, client)
        item.last_error = f"HTTP {response.status_code}: {detail or response.reason_phrase}"
        if response.status_code in PERMANENT:
            self.outbox.mark_failed(item)
            return SendResult(SendState.FAILED, item, response.status_code, item.last_error)
        self.outbox.update(item)
        return SendResult(SendState.QUEUED, item, response.status_code, item.last_error)

    async def flush(self) -> list[SendResult]:
        """One pass over the outbox; returns what happened to each pending press."""
        if self._client is not None:
            return await self._flush(self._client)
        async with httpx.AsyncClient() as client:
            return await self._flush(client)

    async def _flush(self, client: httpx.AsyncClient) -> list[SendResult]:
        results = []
        for item in self.outbox.pending():
            result = await self.send_once(item, client)
            log.info("alarm %s (%s): %s %s", item.client_id, item.source, result.state,
                     result.detail)
            results.append(result)
            if self.on_result is not None:
                self.on_result(result)
        return results

    # -- the loop ---------------------------------------------------------------------------
    def wake(self) -> None:
        """Try now (a new press, or the connection came back)."""
        if self._wake is not None:
            self._wake.set()

    def stop(self) -> None:
        self._stop = True
        self.wake()

    async def run(self, poll_s: float = 2.0) -> None:
        """Flushes whenever woken, retries with backoff while presses are pending, and looks
        every ``poll_s`` for presses another process (a desktop-icon launch) left."""
        self._wake = asyncio.Event()
        self._client = httpx.AsyncClient()
        try:
            await self._loop(poll_s)
        finally:
            client, self._client = self._client, None
            await client.aclose()

    async def _loop(self, poll_s: float) -> None:
        while not self._stop:
            try:
                results = await self.flush() if self.outbox.pending() else []
            except Exception:
                # never the end of sending: a press left in the outbox must still go out
                log.exception("sending failed unexpectedly; trying again")
                results = [SendResult(SendState.QUEUED, PendingAlarm.new())]
            if any(r.state == SendState.QUEUED for r in results):
                delay = self.backoff.next_delay()
            else:
                self.backoff.reset()
                delay = poll_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            self._wake.clear()
