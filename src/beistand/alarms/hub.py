"""The live half of delivery, per server process: who is connected, and pushing events to them.

Each connection remembers the highest event it was sent (``sent_seq``). An event is sent only
when it is the next one for that connection; anything else (a gap after a missed notification,
a resume, an unreceipted event due for resending) makes the connection catch up from the store,
in order. So a connection never skips an event, whatever the fan-out did.
"""

import asyncio
import itertools
import logging
import time
from collections import deque

from django.conf import settings

from beistand.alarms import device_view, presence, store
from beistand.alarms.coverage_watch import CoverageWatch

logger = logging.getLogger("beistand.alarms")

_slots = itertools.count()

# Flow control per connection: beyond OUTBOX_HIGH frames waiting for a peer that does not read,
# the server stops reading that peer's frames (each ping it sends would queue a pong) until the
# queue is down to OUTBOX_LOW; a peer that stays deaf meets its heartbeat timeout (4408).
OUTBOX_HIGH = 256
OUTBOX_LOW = 64


class Connection:
    __slots__ = ("acked_seq", "catching_up", "closed", "coverage_key", "coverage_sent",
                 "device_id", "drained", "epoch", "hub", "inbox_id", "label", "last_rx", "outbox",
                 "ping_slot",
                 "resume_timer", "resumed", "seat_key",
                 "seat_reported", "send", "sending", "sent_seq", "token_kind", "token_ref",
                 "unacked_since", "user_id", "want_seq")

    def __init__(self, hub, send, inbox_id, *, user_id=None, device_id=None, label="",
                 acked_seq=0, token_kind="", token_ref=None):
        self.hub = hub
        self.send = send
        self.inbox_id = inbox_id
        self.epoch = ""  # the inbox's numbering this connection was opened with (hello)
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
        self.drained = asyncio.Event()  # set while the outbox is short enough to read more
        self.drained.set()
        self.unacked_since = None
        self.last_rx = time.monotonic()
        self.resume_timer = None
        self.ping_slot = next(_slots) % settings.ALARM_HEARTBEAT_SECONDS
        self.seat_key = f"{id(self):x}-{time.monotonic_ns():x}"  # the "seat" frame's state
        self.seat_reported = False
        self.coverage_key = None   # the coverage frame's place (coverage_watch.py)
        self.coverage_sent = None

    # --- sending ---------------------------------------------------------------------------

    def send_text(self, text: str) -> None:
        if self.closed:
            return
        self.outbox.append(text)
        if len(self.outbox) > OUTBOX_HIGH:
            self.drained.clear()
        if not self.sending:
            self.sending = True
            asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self):
        try:
            while self.outbox and not self.closed:
                text = self.outbox.popleft()
                await self.send({"type": "websocket.send", "text": text})
                if not self.drained.is_set():
                    # Its frames are not read meanwhile: a peer that takes what it is sent is
                    # alive (a slow link catching up), one that takes nothing times out.
                    self.last_rx = time.monotonic()
                if len(self.outbox) <= OUTBOX_LOW:
                    self.drained.set()
        except Exception:  # the peer went away; the receive loop ends the connection
            self.closed = True
        finally:
            self.sending = False
            if self.closed:
                self.outbox.clear()
                self.drained.set()

    async def readable(self) -> None:
        """Wait until the peer has taken enough of what waits for it to read its next frame
        (or the connection is closed)."""
        while not self.drained.is_set() and not self.closed:
            await self.drained.wait()

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
        if self.device_id is not None and self.user_id is None:
            text = device_view.redact(text)  # a room's device: no person's data
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
    """The connections of this process. Attached to the server's loop and given a way to run
    database work (the engine's pool) by ``server.ensure_started``; it knows no engine."""

    def __init__(self):
        self.loop: asyncio.AbstractEventLoop | None = None
        self.db = None  # async (fn, *args) -> result, on the engine's database threads
        self.by_inbox: dict[int, set[Connection]] = {}
        self.dirty_presence: set[int] = set()
        self.receipts: dict[int, int] = {}
        # The coverage indicator of connected persons, pushed when presence changes it.
        self.coverage = CoverageWatch()

    # --- life cycle ------------------------------------------------------------------------

    def attach(self, loop: asyncio.AbstractEventLoop, db) -> None:
        self.loop = loop
        self.db = db
        self.by_inbox = {}
        self.coverage.reset()

    def detach(self) -> None:
        self.loop = None
        self.db = None

    # --- connections -----------------------------------------------------------------------

    def add(self, conn: Connection) -> None:
        first = conn.inbox_id not in self.by_inbox
        self.by_inbox.setdefault(conn.inbox_id, set()).add(conn)
        self.dirty_presence.add(conn.inbox_id)
        if first:
            self.coverage.inbox_changed(conn.inbox_id)
        if first and self.db is not None:
            # A receiver that has just connected must count as online for an alarm raised in
            # another process right now (not only after the next bookkeeping batch).
            asyncio.get_running_loop().create_task(self._presence_now(conn.inbox_id))

    async def _presence_now(self, inbox_id: int) -> None:
        try:
            await self.db(presence.write_presence,
                          {inbox_id: len(self.by_inbox.get(inbox_id, ()))})
        except Exception:
            logger.exception("Sofortiges Schreiben der Anwesenheit von Postfach %s "
                             "fehlgeschlagen", inbox_id)
        finally:
            # The batch writes the count as it is then (a close in the meantime included).
            self.dirty_presence.add(inbox_id)

    def remove(self, conn: Connection) -> None:
        conn.closed = True
        conn.outbox.clear()
        conn.drained.set()
        if conn.resume_timer is not None:
            conn.resume_timer.cancel()
        members = self.by_inbox.get(conn.inbox_id)
        if members is not None:
            members.discard(conn)
            if not members:
                del self.by_inbox[conn.inbox_id]
                self.coverage.inbox_changed(conn.inbox_id)
        self.coverage.untrack(conn)
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
        empty_reads = 0
        try:
            while not conn.closed:
                events = await self.db(store.events_after, conn.inbox_id, conn.sent_seq)
                for event in events:
                    if event.seq == conn.sent_seq + 1:
                        conn._send_event(event.seq, event.frame())
                if conn.want_seq <= conn.sent_seq and len(events) < 1000:
                    break
                # An event offered while this read ran (a fresh connection, an alarm committed
                # just then) is stored already: read again instead of waiting for the sweep.
                empty_reads = empty_reads + 1 if not events else 0
                if empty_reads > 3:
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


HUB = Hub()
