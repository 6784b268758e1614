"""The live half of delivery, per server process: who is connected, and pushing events to them.

Each connection remembers the highest event it was sent (``sent_seq``). An event is sent only
when it is the next one for that connection; anything else (a gap after a missed notification,
a resume, an unreceipted event due for resending) makes the connection catch up from the store,
in order. So a connection never skips an event, whatever the fan-out did.
"""

import asyncio
import itertools
import logging
import os
import secrets
import socket
import threading
import time
from collections import deque

from django.conf import settings

logger = logging.getLogger("beistand.alarms")

_slots = itertools.count()
PROCESS_ID = f"{socket.gethostname()[:20]}-{os.getpid()}-{secrets.token_hex(3)}"


class Connection:
    __slots__ = ("acked_seq", "catching_up", "closed", "device_id", "hub", "inbox_id", "label",
                 "last_rx", "outbox", "ping_slot", "resume_timer", "resumed", "send", "sending",
                 "sent_seq", "token_kind", "token_ref", "unacked_since", "user_id", "want_seq")

    def __init__(self, hub, send, inbox_id, *, user_id=None, device_id=None, label="",
                 acked_seq=0, token_kind="", token_ref=None):
        self.hub = hub
        self.send = send
        self.inbox_id = inbox_id
        self.user_id = user_id
        self.device_id = device_id
        self.label = label
        self.token_kind = token_kind  # "user" / "device" / "session": for revocation checks
        self.token_ref = token_ref
        self.sent_seq = 0
        self.acked_seq = acked_seq
        self.want_seq = 0
        self.resumed = False
        self.catching_up = False
        self.sending = False
        self.closed = False
        self.outbox = deque()
        self.unacked_since = None
        self.last_rx = time.monotonic()
        self.resume_timer = None
        self.ping_slot = next(_slots) % settings.ALARM_HEARTBEAT_SECONDS

    # --- sending ---------------------------------------------------------------------------

    def send_text(self, text: str) -> None:
        if self.closed:
            return
        self.outbox.append(text)
        if not self.sending:
            self.sending = True
            asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self):
        try:
            while self.outbox and not self.closed:
                text = self.outbox.popleft()
                await self.send({"type": "websocket.send", "text": text})
        except Exception:  # the peer went away; the receive loop ends the connection
            self.closed = True
        finally:
            self.sending = False

    # --- events ----------------------------------------------------------------------------

    def offer(self, events) -> None:
        """Live events for this inbox (sorted by seq)."""
        for event in events:
            if event.seq > self.want_seq:
                self.want_seq = event.seq
        if not self.resumed or self.catching_up:
            return
        for event in events:
            if event.seq <= self.sent_seq:
                continue
            if event.seq != self.sent_seq + 1:
                self.hub.catch_up(self)
                return
            self._send_event(event.seq, event.frame())

    def _send_event(self, seq: int, text: str) -> None:
        self.sent_seq = seq
        if self.unacked_since is None:
            self.unacked_since = time.monotonic()
        self.send_text(text)

    def receipt(self, seq: int) -> None:
        if seq > self.acked_seq:
            # Never beyond what was sent here or stored at connect: a receipt for events that
            # do not exist yet would swallow them when they come.
            self.acked_seq = min(seq, self.sent_seq or self.want_seq)
            self.hub.note_receipt(self.inbox_id, self.acked_seq)
        self.unacked_since = None if self.acked_seq >= self.sent_seq else time.monotonic()

    def resume(self, last_event_id: int) -> None:
        if self.resume_timer is not None:
            self.resume_timer.cancel()
            self.resume_timer = None
        self.sent_seq = max(0, last_event_id)
        if last_event_id > self.acked_seq:
            self.receipt(last_event_id)
        self.resumed = True
        self.hub.catch_up(self)


class Hub:
    def __init__(self):
        self.loop: asyncio.AbstractEventLoop | None = None
        self.by_inbox: dict[int, set[Connection]] = {}
        self.dirty_presence: set[int] = set()
        self.receipts: dict[int, int] = {}
        self._lock = threading.Lock()
        self.engine = None

    # --- life cycle ------------------------------------------------------------------------

    def ensure_started(self) -> None:
        """Start the engine on the running loop (first request, or lifespan start-up)."""
        loop = asyncio.get_running_loop()
        if self.loop is loop and self.engine is not None:
            return
        from beistand.alarms.engine import Engine

        self.loop = loop
        self.by_inbox = {}
        self.engine = Engine(self)
        self.engine.start()

    async def stop(self) -> None:
        if self.engine is not None:
            await self.engine.stop()
        self.engine = None
        self.loop = None

    # --- connections -----------------------------------------------------------------------

    def add(self, conn: Connection) -> None:
        self.by_inbox.setdefault(conn.inbox_id, set()).add(conn)
        self.dirty_presence.add(conn.inbox_id)

    def remove(self, conn: Connection) -> None:
        conn.closed = True
        if conn.resume_timer is not None:
            conn.resume_timer.cancel()
        members = self.by_inbox.get(conn.inbox_id)
        if members is not None:
            members.discard(conn)
            if not members:
                del self.by_inbox[conn.inbox_id]
        self.dirty_presence.add(conn.inbox_id)

    def connected_inboxes(self) -> set[int]:
        return set(self.by_inbox)

    def connections(self):
        for members in list(self.by_inbox.values()):
            yield from list(members)

    def count(self) -> int:
        return sum(len(m) for m in self.by_inbox.values())

    # --- events ----------------------------------------------------------------------------

    def push_threadsafe(self, stored) -> None:
        """Called after commit from any thread (HTTP request threads, the engine's threads)."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self.push(stored)
        else:
            loop.call_soon_threadsafe(self.push, stored)

    def push(self, stored) -> None:
        grouped: dict[int, list] = {}
        for event in stored:
            if event.inbox_id in self.by_inbox:
                grouped.setdefault(event.inbox_id, []).append(event)
        for inbox_id, events in grouped.items():
            events.sort(key=lambda e: e.seq)
            for conn in list(self.by_inbox.get(inbox_id, ())):
                conn.offer(events)

    def catch_up(self, conn: Connection) -> None:
        if conn.catching_up or conn.closed:
            return
        conn.catching_up = True
        asyncio.get_running_loop().create_task(self._catch_up(conn))

    async def _catch_up(self, conn: Connection) -> None:
        from beistand.alarms import store

        try:
            while not conn.closed:
                events = await self.engine.db(store.events_after, conn.inbox_id, conn.sent_seq)
                for event in events:
                    if event.seq == conn.sent_seq + 1:
                        conn._send_event(event.seq, event.frame())
                if not events or (conn.want_seq <= conn.sent_seq and len(events) < 1000):
                    break
        except Exception:
            logger.exception("Nachholen der Alarm-Ereignisse für Postfach %s fehlgeschlagen",
                             conn.inbox_id)
        finally:
            conn.catching_up = False

    def note_receipt(self, inbox_id: int, seq: int) -> None:
        if seq > self.receipts.get(inbox_id, 0):
            self.receipts[inbox_id] = seq

    def take_receipts(self) -> dict[int, int]:
        receipts, self.receipts = self.receipts, {}
        return receipts

    @property
    def running(self) -> bool:
        """True in a server process whose engine runs (it then delivers new alarms)."""
        return self.loop is not None and self.engine is not None and not self.loop.is_closed()

    def dispatch_soon(self, alarm_id: int) -> None:
        """A stored alarm waits for delivery: the engine does it now (or, if this process
        dies first, any engine finds its due deadline)."""
        loop = self.loop
        if loop is not None and not loop.is_closed() and self.engine is not None:
            loop.call_soon_threadsafe(self.engine.dispatch, alarm_id)

    def wake_at(self, when) -> None:
        """An escalation deadline was stored; make the engine look at it on time."""
        loop = self.loop
        if loop is not None and not loop.is_closed() and self.engine is not None:
            loop.call_soon_threadsafe(self.engine.wake_at, when)


HUB = Hub()
