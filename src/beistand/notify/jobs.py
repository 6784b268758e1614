"""The worker's mail job (see ``beistand.core.scheduling``): send what is due in the outbox."""

from beistand.core.scheduling import TICK, Job, RunContext
from beistand.notify import services


def send_mail(run: RunContext) -> None:
    # Real time, whatever ``run.now`` says: a test's fixed clock decides what is due for the
    # other jobs, not when an SMTP server is talked to.
    services.send_due(stale_after=run.stale_after)


JOBS = [Job("notify.mail", TICK, send_mail,
            "send due e-mails, retry failed ones, re-queue those of a dead worker")]
