"""Public face of the notify app: queue an e-mail now, deliver it after commit, retry, recover.

Semantics: **at least once** (the outbox mechanism of ``beistand.notify.outbox``).
``enqueue_mail`` writes an outbox row in the caller's transaction (a rolled-back action leaves
none). The worker (``beistand worker``, its ``notify.mail`` job) sends due mails every turn. If
SMTP fails, the mail is retried with exponential backoff (``MAIL_RETRY_SECONDS`` doubled per
failure, at most an hour) up to ``MAIL_MAX_ATTEMPTS`` times, then marked failed and logged. If a
worker dies after the SMTP server accepted a mail but before the row was marked sent, the mail
is sent again later: a recipient may, rarely, get a mail twice, but never none.
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
from beistand.notify.outbox import Outbox

logger = logging.getLogger("beistand.notify")

# Longest wait between two attempts, however many attempts failed before.
MAX_BACKOFF = timedelta(hours=1)

MAIL = Outbox(
    OutgoingMail, max_attempts=lambda: settings.MAIL_MAX_ATTEMPTS,
    retry_seconds=lambda: settings.MAIL_RETRY_SECONDS, max_backoff=MAX_BACKOFF,
    # A delivery takes at most a few SMTP timeouts; the worker's --stale-after overrides it.
    lease=timedelta(minutes=5),
    state_field="status", queued=OutgoingMail.State.PENDING, sending=OutgoingMail.State.SENDING,
    sent=OutgoingMail.State.SENT, failed=OutgoingMail.State.FAILED,
    claimed_field="last_attempt_at", error_field="last_error", error_length=2000,
    on_sent=lambda now: {"sent_at": now})


def enqueue_mail(to: list[str], subject: str, template: str, context: dict, *, reason: str,
                 missing: list[str] | tuple[str, ...] = ()) -> OutgoingMail:
    """Render ``notify/<template>.txt`` (and ``.html`` if present) and queue it for delivery.
    Each app keeps the templates of its mails in its own ``templates/notify/``; notify has only
    the common footer.

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
            status=OutgoingMail.State.PENDING if recipients else OutgoingMail.State.SKIPPED,
            next_attempt_at=timezone.now() if recipients else None)
        if missing:
            # Who is missing is on the outbox row (admin); log lines carry no names.
            logger.warning("E-Mail %s (%s): %s vorgesehene Empfänger ohne E-Mail-Adresse",
                           mail.pk, reason, len(missing))
    return mail


def backoff(attempt: int) -> timedelta:
    """Wait before attempt ``attempt + 1``: MAIL_RETRY_SECONDS doubled per failure, capped."""
    return MAIL.backoff(attempt)


def deliver(mail_id: int) -> str:
    """Send one outbox mail now. Returns what happened: "sent", "retry", "failed", or
    "nothing to do" (already sent, or another worker has it)."""
    attempt = MAIL.send(mail_id, _smtp)
    if attempt.outcome == "taken":
        return "nothing to do"
    mail = attempt.row
    if attempt.outcome == "failed":
        # The exception class only: an SMTP error's text may name recipients' addresses (the
        # full text is on the outbox row, for the admin).
        logger.error("E-Mail %s (%s) an %s Empfänger endgültig fehlgeschlagen nach %s "
                     "Versuchen: %s", mail.pk, mail.reason, len(mail.to), attempt.attempts,
                     attempt.error_type)
    elif attempt.outcome == "retry":
        logger.warning("E-Mail %s (%s): Versuch %s fehlgeschlagen (%s); nächster Versuch %s",
                       mail.pk, mail.reason, attempt.attempts, attempt.error_type,
                       attempt.retry_at.isoformat(timespec="seconds"))
    return attempt.outcome


def _smtp(mail: OutgoingMail) -> None:
    message = django_mail.EmailMultiAlternatives(
        mail.subject, mail.body, settings.DEFAULT_FROM_EMAIL, mail.to)
    if mail.html:
        message.attach_alternative(mail.html, "text/html")
    message.send(using="default")


def send_due(now=None, stale_after: timedelta | None = None) -> int:
    """Send every mail that is due (once each; a failed one waits for its backoff). Mails whose
    worker died mid-send are queued again first. Returns how many were sent."""
    recover_stalled(stale_after or MAIL.lease, now=now)
    return sum(deliver(pk) == "sent" for pk in MAIL.due(now, lease=stale_after))


def recover_stalled(stale_after: timedelta, now=None) -> int:
    """Queue again the mails a dead worker was sending (SIGKILL, power loss: the row stays
    "sending"); a delivery takes at most a few SMTP timeouts, so one sending for longer than
    ``stale_after`` is dead. At the attempt limit the mail fails instead. Returns how many."""
    stale = MAIL.reset_stale(now, lease=stale_after)
    for mail in OutgoingMail.objects.filter(pk__in=stale.failed):
        logger.error("E-Mail %s (%s) endgültig fehlgeschlagen nach %s Versuchen", mail.pk,
                     mail.reason, mail.attempts)
    for mail in OutgoingMail.objects.filter(pk__in=stale.requeued):
        logger.warning("E-Mail %s (%s): Zustellung abgebrochen, neu eingereiht", mail.pk,
                       mail.reason)
    return len(stale.requeued)


def failed_mails() -> QuerySet:
    """Mails that could not be delivered at all (for the admin and the worker's log)."""
    return OutgoingMail.objects.filter(status=OutgoingMail.State.FAILED)


def retry_failed(mail_id: int) -> OutgoingMail:
    """Give a failed mail a fresh round of attempts (e.g. after the SMTP server was fixed)."""
    MAIL.retry_failed(mail_id)
    return OutgoingMail.objects.get(pk=mail_id)
