"""Background work of a server process, on its event loop: escalation deadlines, presence,
receipts, heartbeats, resending, the sweep that backs the fan-out, SMS sending, and listening
for other processes' events.

Database work runs on a small thread pool (Django's ORM is synchronous). Every loop survives its
own errors: an exception is logged and the loop goes on, because a dead escalation loop would
silently stop alarms from widening.
"""

import asyncio
import contextlib
import gc
import json
import logging
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.utils import DatabaseError, InterfaceError
from django.utils import timezone

logger = logging.getLogger("beistand.alarms")

GC_THRESHOLD = 50_000
# Lone-worker visits are checked this often (their steps are minutes apart).
VISIT_CHECK_SECONDS = 5

# How often live connections are checked for revoked tokens (4401 within a minute).
TOKEN_CHECK_SECONDS = 60


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
                           ("visits", self._visits()),
                           ("push", self._push()), ("listen", self._listen())):
            task = loop.create_task(coro, name=f"alarm-{name}")
            self.tasks.append(task)

    async def stop(self):
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks = []
        try:
            await self.db(_forget_process)
        except Exception:
            logger.exception("Abmelden des Serverprozesses fehlgeschlagen")
        loop = asyncio.get_running_loop()
        for executor, workers in ((self.executor, 3), (self.urgent_executor, 2)):
            await loop.run_in_executor(None, _close_connections, executor, workers)

    def dispatch(self, alarm_id: int):
        asyncio.get_running_loop().create_task(self._dispatch(alarm_id))

    async def _dispatch(self, alarm_id: int):
        from beistand.alarms import services

        try:
            outcome = await self.urgent_db(services.advance, alarm_id)
            logger.debug("Alarm %s: %s", alarm_id, outcome)
        except Exception:
            # The deadline stays due: the escalation loop retries within half a second.
            logger.exception("Zustellung von Alarm %s fehlgeschlagen; neuer Versuch", alarm_id)
        self.wake.set()

    def wake_at(self, when):
        delay = max(0.0, (when - timezone.now()).total_seconds())
        asyncio.get_running_loop().call_later(delay + 0.005, self.wake.set)

    async def _forever(self, name, interval, step):
        while True:
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Alarm-Hintergrundschritt %s fehlgeschlagen", name)
            await asyncio.sleep(interval)

    # --- process registration and presence --------------------------------------------------

    async def _register(self):
        while True:
            try:
                await self.db(_register_process)
                break
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Registrieren des Serverprozesses fehlgeschlagen")
                await asyncio.sleep(1)

        async def beat():
            await self.db(_beat)

        await self._forever("heartbeat", 5, beat)

    async def _bookkeeping(self):
        async def step():
            dirty = self.hub.dirty_presence
            if dirty:
                self.hub.dirty_presence = set()
                counts = {i: len(self.hub.by_inbox.get(i, ())) for i in dirty}
                try:
                    await self.db(_write_presence, counts)
                except Exception:
                    self.hub.dirty_presence |= set(counts)
                    raise
            receipts = self.hub.take_receipts()
            if receipts:
                from beistand.alarms import services

                try:
                    await self.db(services.record_receipts, receipts)
                except Exception:
                    for inbox, seq in receipts.items():
                        self.hub.note_receipt(inbox, seq)
                    raise

        await self._forever("bookkeeping", 0.2, step)

    # --- escalation -------------------------------------------------------------------------

    async def _escalation(self):
        from beistand.alarms import services

        while True:
            try:
                for alarm_id in await self.db(services.due_alarm_ids):
                    outcome = await self.urgent_db(services.advance, alarm_id)
                    logger.info("Alarm %s: %s", alarm_id, outcome)
                upcoming = await self.db(services.next_deadline)
            except asyncio.CancelledError:
                raise
            except Exception:
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
            ping = json.dumps({"type": "ping", "t": timezone.now().isoformat()})
            for conn in conns:
                if conn.ping_slot % interval in due:
                    conn.send_text(ping)
            for conn in conns:
                if now - conn.last_rx > 3 * interval:
                    conn.send_text(json.dumps({"type": "error", "code": "heartbeat_timeout",
                                               "detail": "Keine Lebenszeichen – Verbindung "
                                                         "wird getrennt."}))
                    await _close(conn, 4408)
                elif (conn.unacked_since is not None and conn.resumed
                      and now - conn.unacked_since > settings.ALARM_RESEND_SECONDS):
                    conn.unacked_since = now
                    conn.sent_seq = conn.acked_seq
                    self.hub.catch_up(conn)
            if now - last_token_check > TOKEN_CHECK_SECONDS:
                last_token_check = now
                revoked = await self.db(_revoked, [(c.token_kind, c.token_ref) for c in conns])
                for conn in conns:
                    if (conn.token_kind, conn.token_ref) in revoked:
                        await _close(conn, 4401)

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
            for inbox_id, last_seq in latest:
                for conn in list(self.hub.by_inbox.get(inbox_id, ())):
                    if conn.resumed and last_seq > conn.sent_seq:
                        conn.want_seq = max(conn.want_seq, last_seq)
                        self.hub.catch_up(conn)

        await self._forever("sweep", settings.ALARM_SWEEP_SECONDS, step)

    # --- lone-worker visit timers (Zeitalarm) ---------------------------------------------------

    async def _visits(self):
        from beistand.mobile import visits

        async def step():
            await self.db(visits.run_due)

        await self._forever("visits", VISIT_CHECK_SECONDS, step)

    # --- SMS ----------------------------------------------------------------------------------

    async def _sms(self):
        from beistand.alarms import sms

        async def step():
            if settings.SMS_PROVIDER == "none":
                return
            for sms_id in await self.db(sms.due_ids):
                await self.db(sms.send_one, sms_id)

        await self._forever("sms", 0.5, step)

    async def _push(self):
        from beistand.alarms import webpush

        async def step():
            for push_id in await self.db(webpush.due_ids):
                await self.db(webpush.send_one, push_id)

        await self._forever("push", 0.5, step)

    # --- listening to other processes ---------------------------------------------------------

    async def _listen(self):
        from beistand.alarms import fanout

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
        from beistand.alarms import fanout, store
        from beistand.alarms.hub import PROCESS_ID

        process, first, last, inboxes = fanout.parse(text)
        if process == PROCESS_ID:
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
            from beistand.alarms import fanout

            await conn.execute(f"LISTEN {fanout.CHANNEL}")
            self.fanout_connected = True
            try:
                async for note in conn.notifies():
                    await self._on_message(note.payload)
            finally:
                self.fanout_connected = False

    async def _listen_redis(self):
        import redis.asyncio as aioredis

        from beistand.alarms import fanout

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


async def _close(conn, code: int):
    conn.closed = True
    try:
        await conn.send({"type": "websocket.close", "code": code})
    except Exception:
        logger.debug("Schließen einer Alarmverbindung fehlgeschlagen", exc_info=True)


# --- database steps (run on the executor) ----------------------------------------------------

def _close_connections(executor: ThreadPoolExecutor, workers: int):
    """Close the database connection of every worker thread, then the pool: each thread holds
    its own connection, and a server restarted in the same process (tests, reloads) must not
    leave them open (PostgreSQL refuses new clients past max_connections)."""
    import threading

    barrier = threading.Barrier(workers, timeout=5)

    def close():
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()  # one job per thread: every thread closes its own
        connection.close()

    jobs = [executor.submit(close) for _ in range(workers)]
    for job in jobs:
        job.result(timeout=10)
    executor.shutdown(wait=True)


def _register_process():
    from beistand.alarms.hub import PROCESS_ID
    from beistand.alarms.models import ServerProcess
    from beistand.alarms.plans import PROCESS_ALIVE_SECONDS

    now = timezone.now()
    # Processes that stopped beating are dead; their presence rows go with them (cascade).
    ServerProcess.objects.filter(beat_at__lt=now - timedelta(seconds=3 * PROCESS_ALIVE_SECONDS)
                                 ).delete()
    import os

    ServerProcess.objects.update_or_create(
        id=PROCESS_ID, defaults={"host": socket.gethostname()[:100], "pid": os.getpid(),
                                 "started_at": now, "beat_at": now})


def _beat():
    from beistand.alarms.hub import PROCESS_ID
    from beistand.alarms.models import ServerProcess

    if not ServerProcess.objects.filter(pk=PROCESS_ID).update(beat_at=timezone.now()):
        _register_process()


def _forget_process():
    from beistand.alarms.hub import PROCESS_ID
    from beistand.alarms.models import ServerProcess

    ServerProcess.objects.filter(pk=PROCESS_ID).delete()


def _write_presence(counts: dict[int, int]):
    from django.db import transaction

    from beistand.alarms.hub import PROCESS_ID
    from beistand.alarms.models import Presence, ServerProcess

    now = timezone.now()
    with transaction.atomic():
        if not ServerProcess.objects.filter(pk=PROCESS_ID).exists():
            _register_process()
        gone = [i for i, n in counts.items() if n == 0]
        here = {i: n for i, n in counts.items() if n > 0}
        if gone:
            Presence.objects.filter(process_id=PROCESS_ID, inbox_id__in=gone).delete()
        existing = set(Presence.objects.filter(process_id=PROCESS_ID, inbox_id__in=here)
                       .values_list("inbox_id", flat=True))
        Presence.objects.bulk_create(
            [Presence(process_id=PROCESS_ID, inbox_id=i, connections=n, since=now)
             for i, n in here.items() if i not in existing], batch_size=500)
        for inbox_id in existing:
            Presence.objects.filter(process_id=PROCESS_ID, inbox_id=inbox_id).update(
                connections=here[inbox_id])


def _recent_inboxes(since):
    from beistand.alarms.models import Inbox

    return list(Inbox.objects.filter(updated_at__gte=since).values_list("id", "last_seq"))


def _revoked(refs) -> set:
    from beistand.accounts.models import ApiToken, DeviceToken

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
        from importlib import import_module

        from django.conf import settings as conf

        store = import_module(conf.SESSION_ENGINE).SessionStore
        gone |= {("session", key) for key in sessions if not store().exists(key)
                 or not store(key).get("_auth_user_id")}
    return gone
