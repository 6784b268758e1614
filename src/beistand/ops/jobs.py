"""Periodic jobs of operations, run by the worker (see ``beistand.core.scheduling``): the worker's
heartbeat (read by ``/health/ready``) and the alarm supervision (``beistand.ops.supervision``)."""

import os
import socket
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from beistand.audit import checkpoint
from beistand.core.scheduling import ROUND, Job, RunContext
from beistand.ops import supervision
from beistand.ops.models import WorkerHeartbeat


def beat(worker_id: str) -> None:
    """This worker is alive (one row per worker; rows of workers gone for a day are dropped)."""
    now = timezone.now()
    with transaction.atomic():
        WorkerHeartbeat.objects.update_or_create(
            worker_id=worker_id[:64],
            defaults={"host": socket.gethostname()[:100], "pid": os.getpid(), "beat_at": now})
        WorkerHeartbeat.objects.filter(beat_at__lt=now - timedelta(days=1)).delete()


def heartbeat(run: RunContext) -> None:
    beat(run.worker_id)


def alarm_supervision(run: RunContext) -> None:
    supervision.run(now=run.now)


def audit_checkpoint(run: RunContext) -> None:
    """Sign the audit chain's head and append it to the DPO's checkpoint file (only when it
    moved; ``beistand.audit.checkpoint``)."""
    checkpoint.write_checkpoint()


JOBS = [
    Job("ops.heartbeat", ROUND, heartbeat, "the worker's heartbeat, read by /health/ready"),
    Job("ops.supervision", ROUND, alarm_supervision,
        "technical alerts (alarm coverage, SMS gateway, daily synthetic Probealarm)"),
    Job("ops.audit_checkpoint", settings.AUDIT_CHECKPOINT_MINUTES * 60.0, audit_checkpoint,
        "signed checkpoint of the audit chain's head to the DPO's file (only when it grew)"),
]
