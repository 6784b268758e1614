"""Periodic jobs of the register, run by the worker (see ``beistand.core.scheduling``)."""

import logging

from django.utils import timezone

from beistand.core.scheduling import DAILY, ROUND, Job, RunContext
from beistand.register.retention import run_retention
from beistand.register.rights import remind_deferred

logger = logging.getLogger("beistand.register")


def rights_reminders(run: RunContext) -> None:
    deferred = remind_deferred(now=run.now)
    if deferred:
        logger.info("Betroffenenrechte: %s Wiedervorlage(n) an die ZKS", len(deferred))


def retention(run: RunContext) -> None:
    today = timezone.localdate(run.now) if run.now is not None else timezone.localdate()
    result = run_retention(today=today)
    if result.persons_deleted or result.lookups_deleted:
        logger.info(result.summary())


JOBS = [
    Job("register.rights_reminders", ROUND, rights_reminders,
        "deferred Art. 14 information: a reminder to the ZKS mailbox when its date has come"),
    Job("register.retention", DAILY, retention,
        "review and deletion periods of the register, access log retention"),
]
