"""Periodic jobs of the reports app, run by the worker (see ``beistand.core.scheduling``)."""

import logging

from beistand.core.scheduling import ROUND, Job, RunContext
from beistand.reports.deadlines import check_deadlines

logger = logging.getLogger("beistand.reports")


def deadlines(run: RunContext) -> None:
    result = check_deadlines(now=run.now)
    if result.reminded or result.escalated:
        logger.info("Fristen: %s Erinnerung(en), %s Eskalation(en)", len(result.reminded),
                    len(result.escalated))


JOBS = [Job("reports.deadlines", ROUND, deadlines,
            "reminders before a report step's deadline, escalation after it")]
