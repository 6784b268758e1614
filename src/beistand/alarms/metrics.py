"""The alarm path's own figures for ``/metrics``: delivery latency, from an alarm reaching a
receiver's inbox to that receiver's first receipt.

Owned here, where receipts are recorded; ``ops.metrics`` registers the histogram in its
registry and serves it (alarms knows nothing of ops).
"""

import logging

from django.db import transaction
from prometheus_client import Histogram

from beistand.alarms.models import AlarmRecipient

logger = logging.getLogger("beistand.alarms")

# Not registered anywhere yet (registry=None): the exposing side (ops) registers it.
DELIVERY_SECONDS = Histogram(
    "beistand_alarm_delivery_seconds",
    "Time from an alarm reaching a receiver's inbox (notified) to the receiver's first receipt.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
    registry=None)


def observe_deliveries(recipient_ids, now) -> None:
    """First receipts of these AlarmRecipient rows at ``now`` (called by record_receipts)."""
    try:
        ids = list(recipient_ids)
        with transaction.atomic():  # a savepoint: a failure here leaves the receipts intact
            for start in range(0, len(ids), 500):
                for (notified_at,) in AlarmRecipient.objects.filter(
                        pk__in=ids[start:start + 500]).values_list("notified_at"):
                    DELIVERY_SECONDS.observe(max(0.0, (now - notified_at).total_seconds()))
    except Exception:  # metrics must never break the recording of receipts
        logger.exception("Zustell-Latenz konnte nicht erfasst werden")
