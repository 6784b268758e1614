"""What the worker does for operations each housekeeping round: its heartbeat (read by
``/health/ready``) and the alarm supervision (``beistand.alarms.supervision``)."""

import logging
import os
import socket
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

logger = logging.getLogger("beistand.ops")


def beat(worker_id: str) -> None:
    from beistand.ops.models import WorkerHeartbeat

    now = timezone.now()
    with transaction.atomic():
        WorkerHeartbeat.objects.update_or_create(
            worker_id=worker_id[:64],
            defaults={"host": socket.gethostname()[:100], "pid": os.getpid(), "beat_at": now})
        WorkerHeartbeat.objects.filter(beat_at__lt=now - timedelta(days=1)).delete()


def tick(worker_id: str, now=None) -> None:
    """Heartbeat, then supervision; a failing supervision is logged, never fatal."""
    beat(worker_id)
    from beistand.alarms import supervision

    try:
        supervision.run(now=now)
    except Exception:
        logger.exception("Alarmüberwachung fehlgeschlagen")
