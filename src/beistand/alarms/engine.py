"""Background work of a server process, on its event loop: escalation deadlines, presence,
receipts, heartbeats, resending, the sweep that backs the fan-out, SMS and Web Push sending,
and listening for other processes' events. (Lone-worker visit timers are not here: they run in
the one scheduler, ``ops``.)

The engine is started and stopped by ``server.py`` and handed the process's hub; it reaches the
domain through the modules below it (dispatch, receipts, presence), never the other way round.

Database work runs on a small thread pool (Django's ORM is synchronous). Every loop survives its
own errors: an exception is logged and the loop goes on, because a dead escalation loop would
silently stop alarms from widening.
"""

import asyncio
import contextlib
import gc
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.db import connection
from django.db.utils import DatabaseError, InterfaceError
from django.utils import timezone

from beistand.accounts.models import ApiToken, DeviceToken
from beistand.alarms import (
    calls,
    coverage_watch,
    dispatch,
    fanout,
    payloads,
    presence,
    receipts,
    sms,
    store,
    webpush,
)
from beistand.alarms.models import Inbox

logger = logging.getLogger("beistand.alarms")

GC_THRESHOLD = 50_000

# How often live connections are checked for revoked tokens and ended sessions (4401). A token
# revoked in this process closes its connections at once (`close_revoked`); this check finds
# those revoked by another process.
TOKEN_CHECK_SECONDS = 15


def _run_db(fn, *args):
    try:
        return fn(*args)
    except (InterfaceError, DatabaseError):
        # A dropped connection: reconnect once (a real error repeats and is raised).
        connection.close()
        return fn(*args)


class Engine:
    def __init__(self, hub):
        self.hub = hub
        self.executor = ThreadPoolExecutor(max_workers=3, thread_name_prefix="alarm-db")
        # Triggers and their first delivery never queue behind bookkeeping (receipts of a
        # whole building, presence, catch-ups): they have threads of their own.
        self.urgent_executor = ThreadPoolExecutor(max_workers=2,
                                                  thread_name_prefix="alarm-urgent")
        self.tasks: list[asyncio.Task] = []
        self.wake = asyncio.Event()
        self.last_sweep = timezone.now()
        self.started = False
        # True while the LISTEN (postgres) or SUBSCRIBE (redis) connection is up (/health/ready).
        self.fanout_connected = False
        # Background loops whose last round failed: name -> exception type (/health/ready).
        self.failing: dict[str, str] = {}

    async def db(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, _run_db, fn,
                                                                *args)

    async def urgent_db(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.urgent_executor, _run_db,
                                                                fn, *args)

    def start(self):
        loop = asyncio.get_running_loop()
        self.started = True
        # Thousands of long-lived connection objects make every full garbage collection walk
        # them all (tens of milliseconds, in the middle of an alarm): keep what exists at start
        # out of collections, and collect the young generation less often.
        gc.freeze()
        gc.set_threshold(GC_THRESHOLD, 20, 50)
        for name, coro in (("register", self._register()), ("escalation", self._escalation()),
                           ("bookkeeping", self._bookkeeping()), ("heartbeat", self._heartbeat()),
                           ("sweep", self._sweep()), ("sms", self._sms()),
                           ("push", self._push()), ("listen", self._listen()),
                           ("coverage", self._coverage())):
            task = loop.create_task(coro, name=f"alarm-{name}")
            self.tasks.append(task)

    async def stop(self):
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks = []
        try:
            await self.db(presence.forget_process)
        except Exception:
            logger.exception("Abmelden des Serverprozesses fehlgeschlagen")
        loop = asyncio.get_running_loop()
        for executor, workers in ((self.executor, 3), (self.urgent_executor, 2)):
            await loop.run_in_executor(None, _close_connections, executor, workers)

    def dispatch(self, alarm_id: int):
        asyncio.get_running_loop().create_task(self._dispatch(alarm_id))

    async def _dispatch(self, alarm_id: int):
        try:
            outcome = await self.urgent_db(dispatch.advance, alarm_id)
            logger.debug("Alarm %s: %s", alarm_id, outcome)
        except Exception:
            # The deadline stays due: the escalation loop retries within half a second.
            logger.exception("Zustellung von Alarm %s fehlgeschlagen; neuer Versuch", alarm_id)
        self.wake.set()

    def close_revoked(self, refs: set[tuple[str, int]]):
        """Close this process's connections on revoked tokens now (4401: sign in again)."""
        for conn in list(self.hub.connections()):
            if not conn.closed and (conn.token_kind, conn.token_ref) in refs:
                _close_soon(conn, 4401)

    def wake_at(self, when):
        delay = max(0.0, (when - timezone.now()).total_seconds())
        asyncio.get_running_loop().call_later(delay + 0.005, self.wake.set)

    async def _forever(self, name, interval, step):
        while True:
            try:
                await step()
                self.failing.pop(name, None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.failing[name] = type(exc).__name__
                logger.exception("Alarm-Hintergrundschritt %s fehlgeschlagen", name)
            await asyncio.sleep(interval)

    # --- process registration and presence --------------------------------------------------

    async def _register(self):
        while True:
            try:
                await self.db(presence.register_process)
                break
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Registrieren des Serverprozesses fehlgeschlagen")
                await asyncio.sleep(1)

        async def beat():
            await self.db(presence.beat)

        await self._forever("heartbeat", 5, beat)

    async def _bookkeeping(self):
        async def step():
            dirty = self.hub.dirty_presence
            if dirty:
                self.hub.dirty_presence = set()
                counts = {i: len(self.hub.by_inbox.get(i, ())) for i in dirty}
                try:
                    await self.db(presence.write_presence, counts)
                except Exception:
                    self.hub.dirty_presence |= set(counts)
                    raise
            taken = self.hub.take_receipts()
            if taken:
                try:
                    await self.db(receipts.record_receipts, taken)
                except Exception:
                    for inbox, seq in taken.items():
                        self.hub.note_receipt(inbox, seq)
                    raise

        await self._forever("bookkeeping", 0.2, step)

    async def _coverage(self):
        """The coverage frames: dirty marks flushed at most once a second
        (``coverage_watch.py``)."""
        async def step():
            await self.hub.coverage.flush(self.hub, self.db)

        await self._forever("coverage", coverage_watch.FLUSH_SECONDS, step)

    # --- escalation -------------------------------------------------------------------------

    async def _escalation(self):
        while True:
            try:
                for alarm_id in await self.db(dispatch.due_alarm_ids):
                    outcome = await self.urgent_db(dispatch.advance, alarm_id)
                    logger.info("Alarm %s: %s", alarm_id, outcome)
                upcoming = await self.db(dispatch.next_deadline)
                self.failing.pop("escalation", None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.failing["escalation"] = type(exc).__name__
                logger.exception("Eskalationsprüfung fehlgeschlagen")
                upcoming = None
            timeout = 0.5
            if upcoming is not None:
                timeout = min(timeout, max(0.0, (upcoming - timezone.now()).total_seconds()))
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=timeout + 0.005)

    # --- heartbeats, idle connections, resending --------------------------------------------

    async def _heartbeat(self):
        interval = settings.ALARM_HEARTBEAT_SECONDS
        last_tick = int(time.monotonic()) - 1
        last_token_check = time.monotonic()

        async def step():
            nonlocal last_token_check, last_tick
            now = time.monotonic()
            conns = list(self.hub.connections())
            # Each connection is pinged every `interval` seconds, a slice of them each second:
            # ten thousand pings at once would hold up alarms queued behind them.
            # A late step catches up every second it skipped, so no slot goes unpinged.
            second = int(now)
            due = {t % interval for t in range(max(last_tick + 1, second - interval + 1),
                                               second + 1)}
            last_tick = second
            ping = json.dumps({"type": "ping", "t": payloads.iso(timezone.now())})
            for conn in conns:
                if conn.ping_slot % interval in due:
                    conn.send_text(ping)
            for conn in conns:
                if now - conn.last_rx > 3 * interval:
                    if conn.closed:
                        continue  # its close is under way
                    # The error frame goes out before the close (send_text would only queue
                    # it, and the close stops the queue): the protocol promises it.
                    _close_soon(conn, 4408, json.dumps(
                        {"type": "error", "code": "heartbeat_timeout",
                         "detail": "Keine Lebenszeichen – Verbindung wird getrennt."}))
                elif (conn.unacked_since is not None and conn.resumed and not conn.outbox
                      and now - conn.unacked_since > settings.ALARM_RESEND_SECONDS):
                    # (Frames still queued for this peer were not even sent yet: no resend.)
                    conn.unacked_since = now
                    conn.sent_seq = conn.acked_seq
                    self.hub.catch_up(conn)
            if now - last_token_check > TOKEN_CHECK_SECONDS:
                last_token_check = now
                self.close_revoked(await self.db(_revoked, [(c.token_kind, c.token_ref)
                                                            for c in conns]))

        await self._forever("ping", 1, step)

    # --- sweep: events stored by other processes without a notification reaching us ----------

    async def _sweep(self):
        async def step():
            since = self.last_sweep - timedelta(seconds=2)
            self.last_sweep = timezone.now()
            connected = self.hub.connected_inboxes()
            if not connected:
                return
            latest = await self.db(_recent_inboxes, since)
            for inbox_id, last_seq, epoch in latest:
                for conn in list(self.hub.by_inbox.get(inbox_id, ())):
                    if conn.epoch and epoch != conn.epoch:
                        # The inbox was reset (``beistand alarm reset-inbox``): the client
                        # reconnects, resumes with its old epoch and is told to reset.
                        _close_soon(conn, 4409)
                    elif conn.resumed and last_seq > conn.sent_seq:
                        conn.want_seq = max(conn.want_seq, last_seq)
                        self.hub.catch_up(conn)

        await self._forever("sweep", settings.ALARM_SWEEP_SECONDS, step)

    # --- SMS ----------------------------------------------------------------------------------

    async def _sms(self):
        async def step():
            if settings.SMS_PROVIDER == "none":
                return
            for sms_id in await self.db(sms.due_ids):
                await self.db(sms.send_one, sms_id)
            if calls.enabled():  # voice calls through the gateway's call API, same outbox
                for call_id in await self.db(calls.due_ids):
                    await self.db(calls.send_one, call_id)

        await self._forever("sms", 0.5, step)

    async def _push(self):
        async def step():
            for push_id in await self.db(webpush.due_ids):
                await self.db(webpush.send_one, push_id)

        await self._forever("push", 0.5, step)

    # --- listening to other processes ---------------------------------------------------------

    async def _listen(self):
        backend = await self.db(fanout.backend)
        if backend == "inprocess":
            return
        while True:
            try:
                if backend == "postgres":
                    await self._listen_postgres()
                else:
                    await self._listen_redis()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Alarm-Fan-out-Empfang (%s) unterbrochen; neuer Versuch",
                                 backend)
            await asyncio.sleep(1)

    async def _on_message(self, text: str):
        process, first, last, inboxes = fanout.parse(text)
        if process == presence.PROCESS_ID:
            return  # our own events were pushed directly after commit
        connected = self.hub.connected_inboxes()
        wanted = connected if inboxes is None else connected & inboxes
        if not wanted:
            return
        events = await self.db(store.events_in_range, first, last, list(wanted))
        self.hub.push(events)

    async def _listen_postgres(self):
        import psycopg

        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        params.pop("prepare_threshold", None)
        async with await psycopg.AsyncConnection.connect(autocommit=True, **params) as conn:
            await conn.execute(f"LISTEN {fanout.CHANNEL}")
            self.fanout_connected = True
            try:
                async for note in conn.notifies():
                    await self._on_message(note.payload)
            finally:
                self.fanout_connected = False

    async def _listen_redis(self):
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(settings.REDIS_URL)
        try:
            pubsub = client.pubsub()
            await pubsub.subscribe(fanout.CHANNEL)
            self.fanout_connected = True
            async for item in pubsub.listen():
                if item.get("type") == "message":
                    data = item["data"]
                    await self._on_message(data.decode() if isinstance(data, bytes) else data)
        finally:
            self.fanout_connected = False
            await client.aclose()


async def _close(conn, code: int, error: str | None = None):
    conn.closed = True
    conn.drained.set()  # a receive loop waiting for this peer to read goes on (and ends)
    try:
        if error is not None:
            await conn.send({"type": "websocket.send", "text": error})
        await conn.send({"type": "websocket.close", "code": code})
    except Exception:
        logger.debug("Schließen einer Alarmverbindung fehlgeschlagen", exc_info=True)


def _close_soon(conn, code: int, error: str | None = None) -> None:
    """Close ``conn`` in a task of its own: a peer that does not read can keep a send waiting
    until its TCP connection dies, and the engine's loops serve every other connection."""
    conn.closed = True
    conn.drained.set()
    task = asyncio.get_running_loop().create_task(_close(conn, code, error))
    _CLOSING.add(task)  # a reference until it is done (the loop keeps only weak ones)
    task.add_done_callback(_CLOSING.discard)


_CLOSING: set = set()


# --- database steps (run on the executor) ----------------------------------------------------

def _close_connections(executor: ThreadPoolExecutor, workers: int):
    """Close the database connection of every worker thread, then the pool: each thread holds
    its own connection, and a server restarted in the same process (tests, reloads) must not
    leave them open (PostgreSQL refuses new clients past max_connections)."""
    barrier = threading.Barrier(workers, timeout=5)

    def close():
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()  # one job per thread: every thread closes its own
        connection.close()

    jobs = [executor.submit(close) for _ in range(workers)]
    for job in jobs:
        job.result(timeout=10)
    executor.shutdown(wait=True)


def _recent_inboxes(since):
    return list(Inbox.objects.filter(updated_at__gte=since).values_list("id", "last_seq",
                                                                        "epoch"))


def _revoked(refs) -> set:
    users = {ref for kind, ref in refs if kind == "user"}
    devices = {ref for kind, ref in refs if kind == "device"}
    gone = set()
    if users:
        usable = set(ApiToken.objects.usable().filter(pk__in=users, user__is_active=True)
                     .values_list("pk", flat=True))
        gone |= {("user", ref) for ref in users - usable}
    if devices:
        usable = set(DeviceToken.objects.filter(pk__in=devices, revoked_at__isnull=True)
                     .values_list("pk", flat=True))
        gone |= {("device", ref) for ref in devices - usable}
    sessions = {ref for kind, ref in refs if kind == "session"}
    if sessions:
        # A browser's socket lives as long as its session: logged out or expired ends it.
        sessions_store = import_module(settings.SESSION_ENGINE).SessionStore
        gone |= {("session", key) for key in sessions if not sessions_store().exists(key)
                 or not sessions_store(key).get("_auth_user_id")}
    return gone
