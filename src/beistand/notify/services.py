"""Public face of the notify app: queue an e-mail now, deliver it after commit, retry, recover.

Semantics: **at least once.** ``enqueue_mail`` writes an outbox row and its delivery job in the
caller's transaction (a rolled-back action leaves neither). A worker (``beistand worker``)
delivers it. If SMTP fails, the mail is retried with exponential backoff (a new job with
``run_after``) up to ``MAIL_MAX_ATTEMPTS`` times, then marked failed and logged. If a worker
dies after the SMTP server accepted a mail but before the row was marked sent, the mail is
sent again later: a recipient may, rarely, get a mail twice, but never none.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core import mail as django_mail
from django.db import transaction
from django.db.models import QuerySet
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone

from beistand.notify.models import OutgoingMail

logger = logging.getLogger("beistand.notify")

# Longest wait between two attempts, however many attempts failed before.
MAX_BACKOFF = timedelta(hours=1)


def enqueue_mail(to: list[str], subject: str, template: str, context: dict, *, reason: str,
                 missing: list[str] | tuple[str, ...] = ()) -> OutgoingMail:
    """Render ``notify/<template>.txt`` (and ``.html`` if present) and queue it for delivery.

    Call it inside the transaction of the action that causes the mail. ``missing`` names
    intended recipients without an e-mail address: they are recorded on the outbox row (and
    logged); a mail with nobody to send to is kept as ``skipped`` and never queued.
    """
    recipients = list(dict.fromkeys(a.strip() for a in to if a and a.strip()))
    context = {"base_url": settings.BASE_URL.rstrip("/"), **context}
    body = render_to_string(f"notify/{template}.txt", context)
    try:
        html = render_to_string(f"notify/{template}.html", context)
    except TemplateDoesNotExist:
        html = ""
    # Header injection is impossible by construction: one line, bounded.
    subject = " ".join(subject.split())[:250]
    with transaction.atomic():
        mail = OutgoingMail.objects.create(
            reason=reason[:200], to=recipients, missing=list(missing), subject=subject,
            body=body, html=html,
            status=OutgoingMail.State.PENDING if recipients else OutgoingMail.State.SKIPPED)
        if missing:
            # Who is missing is on the outbox row (admin); log lines carry no names.
            logger.warning("E-Mail %s (%s): %s vorgesehene Empfänger ohne E-Mail-Adresse",
                           mail.pk, reason, len(missing))
        if recipients:
            _schedule(mail, run_after=None)
    return mail


def _schedule(mail: OutgoingMail, run_after) -> None:
    """Enqueue a delivery job for ``mail`` (in the current transaction) and remember it."""
    from beistand.notify.tasks import deliver_mail

    task = deliver_mail.using(run_after=run_after) if run_after else deliver_mail
    result = task.enqueue(mail.pk)
    mail.task_id = str(result.id)
    mail.next_attempt_at = run_after
    mail.save(update_fields=["task_id", "next_attempt_at"])


def backoff(attempt: int) -> timedelta:
    """Wait before attempt ``attempt + 1``: MAIL_RETRY_SECONDS doubled per failure, capped."""
    seconds = settings.MAIL_RETRY_SECONDS * 2 ** max(0, attempt - 1)
    return min(timedelta(seconds=seconds), MAX_BACKOFF)


def deliver(mail_id: int) -> str:
    """Send one outbox mail (the body of the delivery job). Returns what happened."""
    # Count the attempt before sending, in its own short transaction: a mail that kills its
    # worker every time still reaches the attempt limit. No lock is held while talking SMTP.
    with transaction.atomic():
        mail = OutgoingMail.objects.select_for_update().filter(pk=mail_id).first()
        if mail is None or mail.status != OutgoingMail.State.PENDING:
            return "nothing to do"
        mail.attempts += 1
        mail.last_attempt_at = timezone.now()
        mail.save(update_fields=["attempts", "last_attempt_at"])
    try:
        message = django_mail.EmailMultiAlternatives(
            mail.subject, mail.body, settings.DEFAULT_FROM_EMAIL, mail.to)
        if mail.html:
            message.attach_alternative(mail.html, "text/html")
        message.send(using="default")
    except Exception as exc:  # SMTP down, refused, timeout, DNS: all mean "try again later"
        return _failed_attempt(mail_id, f"{type(exc).__name__}: {exc}")
    with transaction.atomic():
        mail = OutgoingMail.objects.select_for_update().get(pk=mail_id)
        mail.status = OutgoingMail.State.SENT
        mail.sent_at = timezone.now()
        mail.next_attempt_at = None
        mail.last_error = ""
        mail.save(update_fields=["status", "sent_at", "next_attempt_at", "last_error"])
    return "sent"


def _failed_attempt(mail_id: int, error: str) -> str:
    with transaction.atomic():
        mail = OutgoingMail.objects.select_for_update().get(pk=mail_id)
        mail.last_error = error[:2000]
        if mail.attempts >= settings.MAIL_MAX_ATTEMPTS:
            mail.status = OutgoingMail.State.FAILED
            mail.next_attempt_at = None
            mail.save(update_fields=["status", "last_error", "next_attempt_at"])
            logger.error("E-Mail %s (%s) an %s Empfänger endgültig fehlgeschlagen nach %s "
                         "Versuchen: %s", mail.pk, mail.reason, len(mail.to), mail.attempts,
                         _error_kind(error))
            return "failed"
        mail.save(update_fields=["last_error"])
        when = timezone.now() + backoff(mail.attempts)
        _schedule(mail, run_after=when)
    logger.warning("E-Mail %s (%s): Versuch %s fehlgeschlagen (%s); nächster Versuch %s",
                   mail_id,
                   mail.reason, mail.attempts, _error_kind(error),
                   when.isoformat(timespec="seconds"))
    return "retry"


def _error_kind(error: str) -> str:
    """The exception class of an SMTP error: its text may name recipients' addresses (the
    full text is on the outbox row, for the admin)."""
    return error.split(":", 1)[0]


def recover_stalled(stale_after: timedelta, now=None) -> int:
    """Re-queue pending mails whose job can no longer deliver them. Returns how many.

    A worker killed mid-job (SIGKILL, power loss) leaves its job "running" for ever; so does
    one whose job crashed outside the SMTP call. A delivery job takes at most a few SMTP
    timeouts, so a job running longer than ``stale_after`` is dead; its mail gets a new job.
    """
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    pending = list(OutgoingMail.objects.filter(status=OutgoingMail.State.PENDING)
                   .values_list("pk", "task_id"))
    if not pending:
        return 0
    jobs = {str(j.pk): j for j in DBTaskResult.objects.filter(
        pk__in=[t for _, t in pending if t])}
    recovered = 0
    for mail_id, task_id in pending:
        job = jobs.get(task_id)
        if job is not None and (job.status == TaskResultStatus.READY or (
                job.status == TaskResultStatus.RUNNING and job.started_at
                and job.started_at > now - stale_after)):
            continue
        with transaction.atomic():
            mail = OutgoingMail.objects.select_for_update().get(pk=mail_id)
            if mail.status != OutgoingMail.State.PENDING or mail.task_id != task_id:
                continue  # changed meanwhile: another worker is on it
            if job is not None and job.status == TaskResultStatus.RUNNING:
                DBTaskResult.objects.select_for_update().get(pk=job.pk).set_failed(
                    WorkerLost(f"worker {job.worker_ids[-1:]} lost; mail re-queued"))
            if mail.attempts >= settings.MAIL_MAX_ATTEMPTS:
                mail.status = OutgoingMail.State.FAILED
                mail.last_error = (mail.last_error or "Zustellung abgebrochen")[:2000]
                mail.save(update_fields=["status", "last_error"])
                logger.error("E-Mail %s (%s) endgültig fehlgeschlagen nach %s Versuchen", mail.pk,
                             mail.reason, mail.attempts)
                continue
            _schedule(mail, run_after=None)
            recovered += 1
            logger.warning("E-Mail %s (%s): Zustellauftrag verloren, neu eingereiht", mail.pk,
                           mail.reason)
    return recovered


class WorkerLost(Exception):
    """Recorded on a job whose worker died while running it."""


def failed_mails() -> QuerySet:
    """Mails that could not be delivered at all (for the admin and the worker's log)."""
    return OutgoingMail.objects.filter(status=OutgoingMail.State.FAILED)


def retry_failed(mail_id: int) -> OutgoingMail:
    """Give a failed mail a fresh round of attempts (e.g. after the SMTP server was fixed)."""
    with transaction.atomic():
        mail = OutgoingMail.objects.select_for_update().get(pk=mail_id)
        if mail.status == OutgoingMail.State.FAILED:
            mail.status = OutgoingMail.State.PENDING
            mail.attempts = 0
            mail.save(update_fields=["status", "attempts"])
            _schedule(mail, run_after=None)
    return mail
