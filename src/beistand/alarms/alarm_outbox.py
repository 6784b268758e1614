"""What every message sent *for an alarm* shares - SMS, voice calls and Web Push: it is never
sent once its alarm has ended (all-clear or cancelled). Checked twice: before the outbox claims
the row (a queued row becomes *cancelled* with the reason, no attempt counted) and again right
before the gateway, because the alarm may end between the two (``ensure_open`` raises
``Undeliverable``). ``AlarmBoundOutbox.send_one`` is the one send step of such rows.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from beistand.alarms import lifecycle
from beistand.alarms.models import Alarm
from beistand.notify.outbox import Outbox, Undeliverable


def cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, an ellipsis where it was cut."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def ensure_open(alarm_id: int | None, reason: str) -> None:
    """Raises ``Undeliverable(reason)`` when the row's alarm has ended (rows without an alarm,
    such as a lone-worker visit's question, always go)."""
    if alarm_id and not Alarm.objects.filter(pk=alarm_id, state__in=lifecycle.OPEN).exists():
        raise Undeliverable(reason)


@dataclass(frozen=True)
class AlarmBoundOutbox:
    """An outbox of rows that belong to an alarm and have a ``cancelled`` state."""

    outbox: Outbox
    stale_reason: str  # stored as the row's error when its alarm had ended
    deliver: Callable  # row -> dict of fields to store (the gateway's id); may raise
    logger: logging.Logger
    what: str  # "SMS", "Anruf": the log line's subject
    own_errors: tuple[str, ...] = ()  # error types whose text names no one (logged as is)

    def cancel_if_alarm_ended(self, pk: int) -> bool:
        model = self.outbox.model
        return bool(model.objects.filter(
            pk=pk, state=model.State.QUEUED, alarm__state__in=lifecycle.FINAL,
            **self.outbox.scope).update(
            state=model.State.CANCELLED, error=self.stale_reason, next_attempt_at=None,
            updated_at=timezone.now()))

    def _deliver_if_open(self, row) -> dict:
        ensure_open(row.alarm_id, self.stale_reason)
        return self.deliver(row)

    def send_one(self, pk: int) -> str:
        """Hand one queued row to its gateway. -> "sent", "retry", "failed", "taken" or
        "cancelled" (its alarm has ended)."""
        if self.cancel_if_alarm_ended(pk):
            return "cancelled"
        attempt = self.outbox.send(pk, self._deliver_if_open)
        if attempt.outcome == "failed" and attempt.error == self.stale_reason:
            self.outbox.model.objects.filter(pk=pk).update(
                state=self.outbox.model.State.CANCELLED)
            return "cancelled"
        if attempt.outcome in ("retry", "failed"):
            # Our own errors name no one; others (an OSError's text holds a spool path with
            # the number) are logged by their type only.
            self.logger.warning("%s %s an Gateway fehlgeschlagen (Versuch %s): %s", self.what,
                                pk, attempt.attempts, attempt.error
                                if attempt.error_type in self.own_errors
                                else attempt.error_type)
        return attempt.outcome
