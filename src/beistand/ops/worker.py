"""The background worker (``beistand worker``): the one clock of beistand.

One loop per process: every ``interval`` seconds run the scheduled jobs that are due
(``beistand.ops.scheduler``: the jobs every app declares in its ``jobs.py``, e.g. sending due
e-mails every turn, report deadlines every ``deadline_interval`` seconds, the register's
retention daily). ``beistand worker`` runs it (``beistand demo`` starts one as a child process).
Several workers may run at once: every job is idempotent and the outbox claims each message for
one sender.
"""

import logging
import os
import socket
import threading
from datetime import timedelta

from django.db import close_old_connections, connection
from django.utils.crypto import get_random_string

from beistand.notify import services as notify
from beistand.ops.scheduler import Scheduler

logger = logging.getLogger("beistand.ops")


def default_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{get_random_string(6)}"


class BeistandWorker:
    def __init__(self, *, interval: float = 1.0, deadline_interval: float = 60.0,
                 stale_after: float = 300.0, worker_id: str | None = None):
        self.interval = interval
        self.worker_id = (worker_id or default_worker_id())[:64]
        self.scheduler = Scheduler(round_seconds=deadline_interval, tick_seconds=interval,
                                   worker_id=self.worker_id,
                                   stale_after=timedelta(seconds=stale_after))
        self._stop = threading.Event()

    def run_once(self, now=None) -> list[str]:
        """Every job now, then return (``beistand worker --once``, cron, tests)."""
        return self.scheduler.run_all(now=now)

    def run_job(self, name: str, now=None) -> bool:
        """One job by name, now (a daily one only once per day)."""
        return self.scheduler.run(name, now=now)

    def run(self) -> None:
        """Loop until ``stop()``. Errors are logged and retried: the worker must not die."""
        failed = notify.failed_mails().count()
        logger.info("Worker %s gestartet (Aufträge: %s)", self.worker_id,
                    ", ".join(job.name for job in self.scheduler.jobs))
        if failed:
            logger.error("%s E-Mail(s) konnten endgültig nicht zugestellt werden (Admin: "
                         "ausgehende E-Mails)", failed)
        try:
            while not self._stop.is_set():
                close_old_connections()
                try:
                    self.scheduler.run_due()
                except Exception:
                    logger.exception("Worker-Durchlauf fehlgeschlagen; neuer Versuch")
                    close_old_connections()
                self._stop.wait(self.interval)
        finally:
            connection.close()
            logger.info("Worker %s beendet", self.worker_id)

    def stop(self) -> None:
        """Ask the loop to end; the job in hand finishes first."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()
