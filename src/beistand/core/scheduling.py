"""How an app declares its periodic jobs: ``JOBS`` in its own ``<app>/jobs.py``.

The worker (``beistand worker``, ``beistand.ops.scheduler``) collects the ``JOBS`` list of every
installed app and runs each job at its interval. This module is only the declaration, at the
bottom of the layers, so that every app can declare jobs without importing the scheduler above
it::

    # beistand/reports/jobs.py
    from beistand.core.scheduling import ROUND, Job

    def check_deadlines(run):          # run: RunContext
        ...

    JOBS = [Job("reports.deadlines", ROUND, check_deadlines,
                "reminders and escalations of report deadlines")]

A job must be idempotent and quick (it runs in the worker's loop, between e-mail deliveries);
errors are logged and the job runs again at its next interval.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

# Every turn of the worker's loop (``--interval``, 1 s), after the other jobs due in that turn.
TICK = "tick"
# The housekeeping round (``--deadline-interval``, 60 s).
ROUND = "round"
# Once per local calendar day (the first round of the day; again after a restart, hence
# idempotent).
DAILY = "daily"


# Where a job runs. WORKER: in ``beistand worker``'s loop (mail, deadlines, retention, …).
# SERVER: in a thread of its own in every web server process, beside the alarm engine — for
# jobs that raise alarms and so must neither wait behind the worker's mail and probes nor stop
# when the worker dies (lone-worker visit timers). Such jobs run in several processes at once and
# must be safe to (idempotent, with row claims).
WORKER = "worker"
SERVER = "server"


@dataclass(frozen=True)
class RunContext:
    """What a job gets: ``now`` (None: the real time; tests pass a fixed one), the worker's id,
    and after how long a claimed message counts as abandoned (``--stale-after``)."""

    now: datetime | None
    worker_id: str
    stale_after: timedelta


@dataclass(frozen=True)
class Job:
    name: str  # "<app>.<what>", unique; in log lines and docs/operations.md
    every: float | str  # seconds, or TICK, ROUND, DAILY
    run: Callable[[RunContext], object]
    doc: str = ""
    where: str = WORKER  # WORKER or SERVER
