"""The one scheduler: every periodic job of beistand, collected from the apps, run by the worker.

Each app declares its jobs in its own ``<app>/jobs.py`` as ``JOBS`` (a list of
``beistand.core.scheduling.Job``: name, interval, function); ``collect()`` finds them in every
installed app, in the order of ``INSTALLED_APPS``. ``Scheduler`` decides what is due: a job
with an interval in seconds or ``ROUND`` runs when its interval has passed (monotonic clock), a
``DAILY`` job on the first turn of each local calendar day, and ``TICK`` jobs every turn *after*
the others, so that a mail a job queued goes out in the same turn. A failing job is logged and
tried again at its next interval (a daily job at the next round, until it succeeded that day);
it never stops the others. The list of jobs is in docs/operations.md ("The worker: scheduled
jobs and the outbox").

A job runs where it says (``Job.where``): the worker runs the ``WORKER`` jobs; every web server
process runs the ``SERVER`` jobs in a thread of its own (``start_server_lane``, called by the
ASGI entry point next to the alarm engine).
"""

import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module

from django.apps import apps
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.module_loading import module_has_submodule

from beistand.core.scheduling import DAILY, ROUND, SERVER, TICK, WORKER, Job, RunContext

logger = logging.getLogger("beistand.ops")


def collect(where: str | None = None) -> list[Job]:
    """The ``JOBS`` of every installed app that has a ``jobs`` module (only those that run
    ``where``, if given)."""
    jobs: list[Job] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("beistand.") or not module_has_submodule(
                config.module, "jobs"):
            continue
        jobs.extend(import_module(f"{config.name}.jobs").JOBS)
    names = [job.name for job in jobs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"Jobs declared twice: {', '.join(duplicates)}")
    wrong = sorted(job.name for job in jobs if job.where not in (WORKER, SERVER))
    if wrong:
        raise ValueError(f"Jobs with an unknown place to run: {', '.join(wrong)}")
    return [job for job in jobs if where is None or job.where == where]


@dataclass
class _State:
    next_at: float = 0.0  # monotonic time of the next run (interval jobs)
    day: object = None  # local date of the last run (daily jobs)


class Scheduler:
    def __init__(self, jobs: list[Job] | None = None, *, round_seconds: float = 60.0,
                 tick_seconds: float = 1.0, worker_id: str = "",
                 stale_after: timedelta = timedelta(minutes=5), where: str = WORKER):
        self.jobs = collect(where) if jobs is None else list(jobs)
        self.round_seconds = round_seconds
        self.tick_seconds = tick_seconds
        self.worker_id = worker_id
        self.stale_after = stale_after
        self._state = {job.name: _State() for job in self.jobs}

    def job(self, name: str) -> Job:
        for job in self.jobs:
            if job.name == name:
                return job
        raise KeyError(name)

    def _seconds(self, job: Job) -> float:
        if job.every == ROUND:
            return self.round_seconds
        if job.every == TICK:
            return self.tick_seconds
        return float(job.every)

    def _ordered(self) -> list[Job]:
        return ([j for j in self.jobs if j.every != TICK]
                + [j for j in self.jobs if j.every == TICK])

    def run_due(self, now=None) -> list[str]:
        """Run every job whose time has come (the worker's loop). Returns their names."""
        ran = []
        for job in self._ordered():
            state = self._state[job.name]
            if job.every == DAILY and state.day == self._today(now):
                continue
            if job.every != TICK and time.monotonic() < state.next_at:
                continue
            if self.run(job.name, now=now):
                ran.append(job.name)
        return ran

    def run_all(self, now=None) -> list[str]:
        """Every job now, whatever its interval (daily ones once per day): ``beistand worker
        --once``, cron, tests."""
        return [job.name for job in self._ordered() if self.run(job.name, now=now)]

    def run(self, name: str, now=None) -> bool:
        """Run one job now (a daily job only if it has not succeeded on ``now``'s day). Returns
        whether it ran; a job that raised counts as run (it is logged, and retried at its next
        interval; a daily one at the next round, not only the next day)."""
        job, state = self.job(name), self._state[name]
        today = self._today(now)
        if job.every == DAILY and state.day == today:
            return False
        try:
            job.run(RunContext(now=now, worker_id=self.worker_id, stale_after=self.stale_after))
        except Exception:
            logger.exception("Auftrag %s fehlgeschlagen; nächster Versuch beim nächsten "
                             "Durchlauf", job.name)
            if job.every == DAILY:
                state.next_at = time.monotonic() + self.round_seconds
                return True
        if job.every == DAILY:
            state.day = today
        else:
            state.next_at = time.monotonic() + self._seconds(job)
        return True

    @staticmethod
    def _today(now):
        return timezone.localdate(now) if now is not None else timezone.localdate()


class ServerLane:
    """The ``SERVER`` jobs of one web server process, in a daemon thread of their own."""

    def __init__(self, interval: float = 1.0):
        self.scheduler = Scheduler(where=SERVER, tick_seconds=interval,
                                   worker_id=f"server-lane:{threading.get_native_id()}")
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "ServerLane":
        if self._thread is None and self.scheduler.jobs:
            self._thread = threading.Thread(target=self._loop, name="beistand-server-jobs",
                                            daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                close_old_connections()
                try:
                    self.scheduler.run_due()
                except Exception:
                    logger.exception("Server-Aufträge fehlgeschlagen; neuer Versuch")
                self._stop.wait(self.interval)
        finally:
            connection.close()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None


_lane: ServerLane | None = None
_lane_lock = threading.Lock()


def start_server_lane() -> None:
    """Start this process's server jobs once (idempotent; the ASGI lifespan or first request)."""
    global _lane
    if _lane is not None:  # every request asks; only the first takes the lock
        return
    with _lane_lock:
        if _lane is None:
            _lane = ServerLane().start()


def stop_server_lane() -> None:
    global _lane
    with _lane_lock:
        lane, _lane = _lane, None
    if lane is not None:
        lane.stop()
