"""The background worker: runs queued jobs (e-mails) and the periodic deadline check.

One loop per process: drain every job that is due (django_tasks_db's worker, batch mode), and
every ``deadline_interval`` seconds re-queue mails whose worker died and send due reminders and
escalations. ``beistand worker`` runs it in the foreground; ``beistand demo`` in a thread.
"""

import logging
import os
import socket
import threading
import time
from datetime import timedelta

from django.db import close_old_connections, connection
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

logger = logging.getLogger("beistand.notify")


def default_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{get_random_string(6)}"


class BeistandWorker:
    def __init__(self, *, interval: float = 1.0, deadline_interval: float = 60.0,
                 stale_after: float = 300.0, worker_id: str | None = None,
                 queue_names: tuple[str, ...] = ("default",)):
        self.interval = interval
        self.deadline_interval = deadline_interval
        self.stale_after = timedelta(seconds=stale_after)
        self.worker_id = (worker_id or default_worker_id())[:64]
        self._stop = threading.Event()
        self._retention_day = None  # local date of the last retention run
        # django_tasks_db's worker in batch mode: "run everything due, then return".
        self.jobs = Worker(queue_names=list(queue_names), interval=interval, batch=True,
                           backend_name="default", startup_delay=False, max_tasks=None,
                           worker_id=self.worker_id, excluded_queue_names=[])
        # Its "starting/exiting" info lines would repeat every second in our loop.
        logging.getLogger("django_tasks_db").setLevel(logging.WARNING)

    # --- Steps -----------------------------------------------------------------------------

    def drain(self) -> None:
        """Run every job that is due now (including ones enqueued meanwhile)."""
        if self._stop.is_set():
            return
        self.jobs.running = True
        self.jobs.run()

    def housekeeping(self, now=None) -> None:
        """Re-queue mails of dead workers; send due reminders and escalations."""
        from beistand.notify import services as notify
        from beistand.reports.deadlines import check_deadlines

        recovered = notify.recover_stalled(self.stale_after, now=now)
        if recovered:
            logger.warning("%s E-Mail(s) eines abgebrochenen Workers neu eingereiht", recovered)
        run = check_deadlines(now=now)
        if run.reminded or run.escalated:
            logger.info("Fristen: %s Erinnerung(en), %s Eskalation(en)", len(run.reminded),
                        len(run.escalated))
        from beistand.register.rights import remind_deferred

        deferred = remind_deferred(now=now)
        if deferred:
            logger.info("Betroffenenrechte: %s Wiedervorlage(n) an die ZKS", len(deferred))
        from beistand.mobile.visits import run_due as visit_timers  # lone-worker timers

        visit_timers(now=now)
        self.daily_retention(now=now)
        from beistand.ops.worker import tick  # heartbeat (/health/ready), alarm supervision

        tick(self.worker_id, now=now)

    def daily_retention(self, now=None) -> None:
        """The register's retention run, once per (local) day; idempotent, so a restart that
        repeats it is harmless."""
        from django.utils import timezone

        from beistand.register.retention import run_retention

        today = timezone.localdate(now) if now is not None else timezone.localdate()
        if self._retention_day == today:
            return
        result = run_retention(today=today)
        self._retention_day = today
        if result.persons_deleted or result.lookups_deleted:
            logger.info(result.summary())
        from beistand.alarms import housekeeping as alarm_upkeep

        upkeep = alarm_upkeep.run(now=now)
        if upkeep.events_deleted or upkeep.reminded_units:
            logger.info("Stiller Alarm: %s alte Ereignisse gelöscht, Probealarm-Erinnerung an "
                        "%s", upkeep.events_deleted, ", ".join(upkeep.reminded_units) or "–")

    def run_once(self, now=None) -> None:
        """Everything currently due, then return (``beistand worker --once``, cron, tests)."""
        self.housekeeping(now=now)
        self.drain()

    def run(self) -> None:
        """Loop until ``stop()``. Errors are logged and retried: the worker must not die."""
        from beistand.notify import services as notify

        failed = notify.failed_mails().count()
        logger.info("Worker %s gestartet", self.worker_id)
        if failed:
            logger.error("%s E-Mail(s) konnten endgültig nicht zugestellt werden (Admin: "
                         "ausgehende E-Mails)", failed)
        next_housekeeping = 0.0
        try:
            while not self._stop.is_set():
                close_old_connections()
                try:
                    if time.monotonic() >= next_housekeeping:
                        next_housekeeping = time.monotonic() + self.deadline_interval
                        self.housekeeping()
                    self.drain()
                except Exception:
                    logger.exception("Worker-Durchlauf fehlgeschlagen; neuer Versuch")
                    close_old_connections()
                self._stop.wait(self.interval)
        finally:
            connection.close()
            logger.info("Worker %s beendet", self.worker_id)

    def stop(self) -> None:
        """Ask the loop to end; a job already running finishes first."""
        self._stop.set()
        self.jobs.running = False

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()


def start_in_thread(**options) -> tuple[BeistandWorker, threading.Thread]:
    """A worker in a daemon thread (the demo's in-process worker). Stop it with ``stop()``."""
    worker = BeistandWorker(**options)
    thread = threading.Thread(target=worker.run, name="beistand-worker", daemon=True)
    thread.start()
    return worker, thread
