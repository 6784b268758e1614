"""The answer page of an alarm SMS's one-time link (``/a/<token>``, no login; the rules are in
``answer_links``): GET shows the alarm's number, template, place and time and the receiver's
answer so far, and changes nothing (a messenger's link preview never answers); POST (with the
page's CSRF token) answers "Ich komme" / "Kann nicht" and shows the page again."""

from django.core import signing
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from beistand.alarms import answer_links, locations, payloads
from beistand.core.errors import DomainError

GONE_TITLE = "Link ungültig oder abgelaufen"
GONE_DETAIL = ("Dieser Antwort-Link gilt nicht (mehr): Er ist falsch, der Alarm ist beendet oder "
               "der Link ist abgelaufen. Antworten Sie, falls der Alarm noch läuft, in der App "
               "oder per SMS.")
BUSY_TITLE = "Zu viele Versuche"
BUSY_DETAIL = ("Von diesem Anschluss kamen zu viele ungültige Antwort-Links. Bitte versuchen Sie "
               "es in einigen Minuten erneut oder antworten Sie in der App oder per SMS.")
ANSWERS = {"coming": "Ich komme", "cannot": "Kann nicht"}
HOLDER_SALT = "beistand.alarms.answer-holder"


def _holder_cookie(link) -> str:
    return f"bs_answer_{link.pk}"


def _is_holder(request, link) -> bool:
    """This browser gave the link's answer (it got the signed cookie with it)."""
    try:
        return signing.loads(request.COOKIES.get(_holder_cookie(link), ""),
                             salt=HOLDER_SALT) == link.pk
    except signing.BadSignature:
        return False


def _private(response):
    # The token is in the address: never sent to another site as a referrer, never indexed.
    # ("no-referrer" would make the browser send "Origin: null" with the answer's POST, which
    # the CSRF check rightly refuses.)
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _refusal(request, status, title, detail):
    return _private(render(request, "core/error.html",
                           {"title": title, "detail": detail, "status": status, "bare": True},
                           status=status))


@never_cache
def answer(request, token: str):
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    source = request.META.get("REMOTE_ADDR", "") or ""
    wait = answer_links.refused(source)
    if wait:
        response = _refusal(request, 429, BUSY_TITLE, BUSY_DETAIL)
        response["Retry-After"] = str(wait)  # seconds until the address's misses allow one
        return response
    link = answer_links.find(token)
    if link is None:  # never there, expired or its alarm ended: one answer for all of them
        answer_links.record_miss(source)
        return _refusal(request, 404, GONE_TITLE, GONE_DETAIL)
    error = ""
    if request.method == "POST":
        choice = request.POST.get("antwort", "")
        if choice not in ANSWERS:
            error = "Bitte „Ich komme“ oder „Kann nicht“ wählen."
        else:
            try:
                answer_links.answer(link, choice, holder=_is_holder(request, link))
            except DomainError as exc:
                error = str(exc.detail if hasattr(exc, "detail") else exc)
            else:
                response = _private(redirect(request.path))  # the page again, with the answer
                # Only this browser may change the answer later (the link is spent).
                response.set_cookie(
                    _holder_cookie(link), signing.dumps(link.pk, salt=HOLDER_SALT),
                    max_age=max(60, int((link.expires_at - timezone.now()).total_seconds())),
                    path=request.path, secure=request.is_secure(), httponly=True,
                    samesite="Strict")
                return response
    alarm = link.alarm
    recipient = answer_links.current(link)
    context = {
        "alarm_id": alarm.pk,
        "template": alarm.template.name,
        "come": alarm.template.come,
        "test": alarm.template.test,
        "where": locations.one_line(payloads.location_of(alarm)),
        "at": timezone.localtime(alarm.triggered_at).strftime("%d.%m.%Y, %H:%M Uhr"),
        "answer": recipient.response,
        "answer_text": ANSWERS.get(recipient.response, ""),
        "answered_at": (timezone.localtime(recipient.responded_at).strftime("%H:%M Uhr")
                        if recipient.responded_at else ""),
        "error": error,
        # Answered, from another device: the answer shows, the buttons do not.
        "may_answer": not recipient.response or _is_holder(request, link),
    }
    return _private(render(request, "alarms/answer.html", context, status=400 if error else 200))
