"""One-time answer links in alarm SMS: ``BASE_URL/a/<token>`` opens a page without login that
answers "Ich komme" / "Kann nicht" for the one receiver the SMS went to.

- The token has 128 random bits (``secrets.token_urlsafe(16)``, 22 characters); only its SHA-256
  is stored (``AnswerLink``), bound to the alarm and the receiver (``AlarmRecipient``).
- A link is valid while its alarm is open and for ``BEISTAND_ALARM_ANSWER_LINK_HOURS``; a link
  that does not exist and one that has expired look the same (``find`` answers None for both).
- Opening the page (GET) changes nothing, so a messenger's link preview never answers; the
  answer is a POST with the page's CSRF token and goes through ``actions.respond`` like an
  answer in the app (timeline, audit, the sender's "Hilfe kommt", the escalation stopped).
- The first answer spends the link: a change is accepted only from the device that answered
  (a signed cookie of the answer page), so a forwarded link cannot change the answer.
- Requests for unknown or expired links are counted per source address (``AnswerLinkMiss``);
  beyond ``BEISTAND_ALARM_ANSWER_LINK_MAX_MISSES`` within ``MISS_WINDOW`` every request from
  that address gets 429 (with ``Retry-After``) until the window has passed.
"""

import hashlib
import math
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from beistand.alarms import actions, lifecycle
from beistand.alarms.models import AlarmRecipient, AnswerLink, AnswerLinkMiss
from beistand.core.errors import Conflict

TOKEN_BYTES = 16  # 128 bit
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{22}$")
PATH = "/a/"
MISS_WINDOW = timedelta(minutes=10)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def url_for(token: str) -> str:
    return f"{settings.BASE_URL.rstrip('/')}{PATH}{token}"


def link_length() -> int:
    """The length of every answer link (for the SMS's length budget)."""
    return len(url_for("x" * 22))


def issue(alarm, inbox_ids, now) -> dict[int, str]:
    """New links for the receivers of ``alarm`` with these inboxes (people only: a device has no
    phone to answer from). In the caller's transaction. -> {inbox id: link}."""
    if not alarm.template.come:
        return {}  # Amok and the like: nobody is to come, so there is nothing to answer
    rows = dict(AlarmRecipient.objects.filter(alarm=alarm, inbox_id__in=list(inbox_ids),
                                              inbox__user__isnull=False)
                .values_list("inbox_id", "id"))
    expires = now + timedelta(hours=settings.ALARM_ANSWER_LINK_HOURS)
    links, tokens = [], {}
    for inbox_id, recipient_id in rows.items():
        token = secrets.token_urlsafe(TOKEN_BYTES)
        tokens[inbox_id] = url_for(token)
        links.append(AnswerLink(token_hash=_hash(token), alarm=alarm,
                                recipient_id=recipient_id, created_at=now, expires_at=expires))
    AnswerLink.objects.bulk_create(links)
    return tokens


def find(token: str, now=None):
    """The valid link for ``token`` (its alarm open, not expired), else None — the same answer
    for a token that never existed and one that has expired."""
    if not TOKEN_SHAPE.match(token or ""):
        return None
    now = now or timezone.now()
    return (AnswerLink.objects.filter(token_hash=_hash(token), expires_at__gt=now,
                                      alarm__state__in=lifecycle.OPEN)
            .select_related("alarm__template", "alarm__room__floor__building__site",
                            "recipient__inbox__user").first())


def refused(source: str, now=None) -> int:
    """Too many requests for unknown or expired links from this address lately: the seconds
    until enough of them have left the window for the next request to pass (the answer's
    ``Retry-After``), else 0."""
    now = now or timezone.now()
    limit = settings.ALARM_ANSWER_LINK_MAX_MISSES
    recent = list(AnswerLinkMiss.objects.filter(source=source[:45], at__gte=now - MISS_WINDOW)
                  .order_by("-at").values_list("at", flat=True)[:limit])
    if len(recent) < limit:
        return 0
    # The limit-th newest miss is the one whose leaving the window lets a request pass again.
    return max(1, math.ceil((recent[-1] + MISS_WINDOW - now).total_seconds()))


def record_miss(source: str, now=None) -> None:
    now = now or timezone.now()
    with transaction.atomic():
        AnswerLinkMiss.objects.filter(at__lt=now - MISS_WINDOW).delete()
        AnswerLinkMiss.objects.create(source=source[:45], at=now)


ALREADY_ANSWERED = ("Über diesen Link wurde bereits geantwortet. Ändern kann die Antwort nur, "
                    "wer sie gegeben hat – auf demselben Gerät – oder in der App.")


def answer(link, response: str, *, holder: bool = False):
    """The receiver's answer through the link: exactly ``actions.respond`` for the person the
    link was issued to. -> the recipient row.

    The first answer spends the link; a change of that answer needs ``holder`` (the device
    that gave it, recognised by the answer page's signed cookie). A forwarded or overheard
    link can show the answer but not turn "Kann nicht" into "Ich komme" (issue 16, re-attack).
    """
    with transaction.atomic():
        claimed = AnswerLink.objects.filter(pk=link.pk, used_at__isnull=True).update(
            used_at=timezone.now())
        # An answer already given - through this link or in the app - is changed only by the
        # device that gave it through the link (or in the app itself).
        answered = AlarmRecipient.objects.filter(pk=link.recipient_id).exclude(
            response="").exists()
        if not holder and (not claimed or answered):
            raise Conflict(ALREADY_ANSWERED)
        return actions.respond(link.recipient.inbox.user, link.alarm_id, response, via="link")


def current(link) -> AlarmRecipient:
    """The receiver's row as it is now (the answer given so far)."""
    return AlarmRecipient.objects.get(pk=link.recipient_id)
