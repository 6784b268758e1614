"""Periodic jobs of the phone app (see ``beistand.core.scheduling``).

The visit timers raise alarms, so they run in every web server process (``SERVER``), not in the
worker: a lone worker's pre-alarm must not wait behind a slow SMTP server or die with the
worker. ``run_due`` claims each step, so several processes may run it at once."""

from beistand.core.scheduling import SERVER, Job, RunContext
from beistand.mobile.visits import run_due

# Lone-worker visits are checked this often (their steps are minutes apart).
VISIT_CHECK_SECONDS = 5.0


def visit_timers(run: RunContext) -> None:
    run_due(now=run.now)


JOBS = [Job("mobile.visit_timers", VISIT_CHECK_SECONDS, visit_timers,
            "lone-worker timers (Zeitalarm): question, pre-alarm, alarm", where=SERVER)]
