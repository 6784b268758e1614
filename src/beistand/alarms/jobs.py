"""Periodic jobs of the silent alarm, run by the worker (see ``beistand.core.scheduling``).

The alarm's own timing (escalation, resending, SMS and push sending) runs in the alarm engine
of the server processes, not here: it must react within seconds and lives where the
connections are.
"""

import logging

from beistand.alarms import housekeeping
from beistand.core.scheduling import DAILY, Job, RunContext

logger = logging.getLogger("beistand.alarms")


def upkeep(run: RunContext) -> None:
    result = housekeeping.run(now=run.now)
    if result.events_deleted or result.reminded_units:
        logger.info("Stiller Alarm: %s alte Ereignisse gelöscht, Probealarm-Erinnerung an %s",
                    result.events_deleted, ", ".join(result.reminded_units) or "–")


JOBS = [Job("alarms.upkeep", DAILY, upkeep,
            "old stored alarm events, dead server processes, Probealarm reminders")]
