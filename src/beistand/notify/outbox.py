"""The one outbox mechanism: how e-mail (``beistand.notify``), SMS and Web Push
(``beistand.alarms``) leave beistand, with the same guarantees.

A message is a database row, written in the transaction of the action that causes it, in state
*queued* with ``next_attempt_at`` (when it may be sent). Whoever sends (the worker for e-mail, the
alarm engine of any server process for SMS and push) does:

1. ``due()``: the ids of queued rows whose time has come, oldest first (after ``reset_stale``).
2. ``send(pk, sender)``: **claim** the row in one conditional UPDATE (queued → sending, the
   attempt counted, the claim time stamped): of two processes only one wins, the other gets
   ``"taken"``. Then ``sender(row)`` talks to the outside world, with no transaction and no lock
   held. It returns the fields to store on success (e.g. the gateway's id), or raises:
   any exception means "try again later", ``Undeliverable`` means "never" (e.g. a push
   subscription the push service no longer knows).
3. Success: sent. Failure: queued again after ``backoff(attempts)`` (``retry_seconds`` doubled
   per failed attempt, at most ``max_backoff``); after ``max_attempts`` attempts: failed.
4. ``reset_stale()``: a row *sending* for longer than the lease belongs to a process that died
   mid-send (SIGKILL, power loss); it is queued again, or failed if that was its last attempt.
   The attempt is counted at the claim, so a message that kills its sender every time still
   reaches the limit.

Semantics: **at least once**. A process that dies after the other side accepted a message but
before the row says *sent* leaves it to be sent again: a rare duplicate, never a loss.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import models
from django.db.models import F
from django.utils import timezone


class Undeliverable(Exception):
    """Raised by a sender: this message can never be delivered; fail it without retrying."""


@dataclass(frozen=True)
class Attempt:
    """What ``Outbox.send`` did: ``outcome`` is "taken" (another sender has it, or it is no longer
    queued), "sent", "retry" or "failed"; ``retry_at`` is set for "retry"."""

    outcome: str
    row: models.Model | None = None
    attempts: int = 0
    error: str = ""
    error_type: str = ""
    retry_at: datetime | None = None


# The error stored on a row failed because its last sender died mid-send.
STALE_ERROR = ("Zustellung abgebrochen: der sendende Prozess endete während des letzten "
               "erlaubten Versuchs")


@dataclass(frozen=True)
class Stale:
    requeued: list[int]
    failed: list[int]


@dataclass(frozen=True)
class Outbox:
    """The outbox of one model. Field and state names are the model's own."""

    model: type[models.Model]
    max_attempts: Callable[[], int]
    retry_seconds: Callable[[], float]
    max_backoff: timedelta
    lease: timedelta
    state_field: str = "state"
    queued: str = "queued"
    sending: str = "sending"
    sent: str = "sent"
    failed: str = "failed"
    # Stamped when a sender claims the row; a claim older than the lease is dead.
    claimed_field: str = "updated_at"
    error_field: str = "error"
    error_length: int = 300
    # Only these rows belong to the outbox (e.g. outgoing SMS, not incoming ones).
    scope: dict = field(default_factory=dict)
    # Extra fields written on success, from the time of success (e.g. ``sent_at``).
    on_sent: Callable[[datetime], dict] = lambda now: {}
    # The error text stored on the row (for the admin; log lines use ``Attempt.error_type``).
    describe_error: Callable[[Exception], str] = lambda exc: f"{type(exc).__name__}: {exc}"

    def _rows(self):
        return self.model.objects.filter(**self.scope)

    def backoff(self, attempts: int) -> timedelta:
        """Wait after the ``attempts``-th failed attempt: doubled each time, capped."""
        seconds = self.retry_seconds() * 2 ** max(0, attempts - 1)
        return min(timedelta(seconds=seconds), self.max_backoff)

    def reset_stale(self, now: datetime | None = None, lease: timedelta | None = None) -> Stale:
        """Queue again (or fail, at the attempt limit) rows whose sender died mid-send."""
        now = now or timezone.now()
        stale = self._rows().filter(**{self.state_field: self.sending,
                                       f"{self.claimed_field}__lt": now - (lease or self.lease)})
        limit = self.max_attempts()
        failed = list(stale.filter(attempts__gte=limit).values_list("pk", flat=True))
        if failed:
            self._rows().filter(pk__in=failed, **{self.state_field: self.sending}).update(**{
                self.state_field: self.failed, "next_attempt_at": None,
                self.error_field: STALE_ERROR[:self.error_length]})
        requeued = list(stale.filter(attempts__lt=limit).values_list("pk", flat=True))
        if requeued:
            self._rows().filter(pk__in=requeued, **{self.state_field: self.sending}).update(**{
                self.state_field: self.queued, "next_attempt_at": now})
        return Stale(requeued=requeued, failed=failed)

    def due(self, now: datetime | None = None, limit: int = 50,
            lease: timedelta | None = None) -> list[int]:
        """Ids of the queued rows to send now, oldest first (stale claims reset before)."""
        now = now or timezone.now()
        self.reset_stale(now, lease)
        return list(self._rows().filter(**{self.state_field: self.queued},
                                        next_attempt_at__lte=now)
                    .order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])

    def claim(self, pk, now: datetime | None = None):
        """The row, now *sending* with its attempt counted; None if it was not queued."""
        now = now or timezone.now()
        if not self._rows().filter(pk=pk, **{self.state_field: self.queued}).update(**{
                self.state_field: self.sending, "attempts": F("attempts") + 1,
                self.claimed_field: now}):
            return None
        return self.model.objects.get(pk=pk)

    def send(self, pk, sender: Callable[[models.Model], dict | None],
             now: datetime | None = None) -> Attempt:
        """Claim row ``pk``, hand it to ``sender``, record the outcome (see the module)."""
        row = self.claim(pk, now)
        if row is None:
            return Attempt("taken")
        try:
            stored = sender(row) or {}
        except Undeliverable as exc:
            return self._failed(row, exc, final=True)
        except Exception as exc:  # refused, unreachable, timeout: all mean "try again later"
            return self._failed(row, exc, final=row.attempts >= self.max_attempts())
        now = timezone.now()
        self._still_claimed(row).update(**{
            self.state_field: self.sent, self.error_field: "", "next_attempt_at": None,
            **self.on_sent(now), **stored})
        return Attempt("sent", row=row, attempts=row.attempts)

    def _still_claimed(self, row):
        """The row, if it is still this sender's claim. A send that outlasted the lease may have
        been reset and claimed by another sender meanwhile; its outcome then belongs to that
        sender, and this late one must not overwrite it (e.g. queue a delivered row again)."""
        return self.model.objects.filter(pk=row.pk, **{
            self.state_field: self.sending,
            self.claimed_field: getattr(row, self.claimed_field)})

    def _failed(self, row, exc: Exception, *, final: bool) -> Attempt:
        text = str(exc) if isinstance(exc, Undeliverable) else self.describe_error(exc)
        error = (text or type(exc).__name__)[:self.error_length]
        now = timezone.now()
        retry_at = None if final else now + self.backoff(row.attempts)
        self._still_claimed(row).update(**{
            self.state_field: self.failed if final else self.queued,
            self.error_field: error, "next_attempt_at": retry_at})
        return Attempt("failed" if final else "retry", row=row, attempts=row.attempts,
                       error=error, error_type=type(exc).__name__, retry_at=retry_at)

    def retry_failed(self, pk, now: datetime | None = None) -> bool:
        """Give a failed row a fresh round of attempts (e.g. after the gateway was fixed)."""
        return bool(self._rows().filter(pk=pk, **{self.state_field: self.failed}).update(**{
            self.state_field: self.queued, "attempts": 0,
            "next_attempt_at": now or timezone.now()}))
