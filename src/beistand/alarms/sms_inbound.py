"""Inbound SMS: an entry point into the alarm beside the fast path (``fastpath.py``).

An SMS gateway posts what it received to ``POST /api/v1/sms/inbound`` and its delivery reports to
``POST /api/v1/sms/status``, both signed with ``BEISTAND_SMS_INBOUND_SECRET`` (HMAC-SHA256 of the
body, ``X-Beistand-Signature: sha256=…``). ``ALARM`` or ``HILFE`` from a registered mobile number,
optionally followed by ``lat,lon`` and a short location text, becomes a normal alarm through
``services.trigger``; ``1``/``2`` (``komme``/``kann nicht``…) from a receiver an alarm SMS
reached is that receiver's answer (``actions.respond``). Every inbound SMS carries a signed
``received_at``; outside ``BEISTAND_SMS_INBOUND_WINDOW_SECONDS`` it is a replay.
Outgoing SMS are ``beistand.alarms.sms``; this module sits above the alarm
services, so the trigger path never reaches back into it.
"""

import hashlib
import hmac
import logging
import re
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from beistand.alarms import actions, lifecycle, services
from beistand.alarms.models import SmsMessage, VoiceCall
from beistand.alarms.sms import normalise_number
from beistand.core.errors import DomainError, InvalidInput, NotAuthenticated

logger = logging.getLogger("beistand.alarms.sms")


def check_signature(body: bytes, header: str) -> None:
    secret = settings.SMS_INBOUND_SECRET
    if not secret:
        raise NotAuthenticated("Eingehende SMS sind nicht eingerichtet "
                               "(BEISTAND_SMS_INBOUND_SECRET fehlt).")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    # "sha256=<hex>"; the scheme and the hex digits in either case (gateways differ).
    scheme, _, given = (header or "").strip().partition("=")
    if scheme.lower() != "sha256" or not hmac.compare_digest(expected, given.lower()):
        raise NotAuthenticated("Signatur der SMS-Nachricht ungültig.")


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


INBOUND = re.compile(
    r"^\s*(?:ALARM|HILFE)\b[\s:,-]*"
    r"(?:(?P<lat>[-+]?\d{1,2}(?:\.\d+)?)\s*[,;]\s*(?P<lon>[-+]?\d{1,3}(?:\.\d+)?))?"
    r"\s*(?P<text>.*)$", re.IGNORECASE | re.DOTALL)


def parse_inbound(text: str):
    """-> (lat, lon, location text) or None when the text is no alarm."""
    match = INBOUND.match(text or "")
    if match is None:
        return None
    lat = float(match["lat"]) if match["lat"] else None
    lon = float(match["lon"]) if match["lon"] else None
    if lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        lat = lon = None
    return lat, lon, " ".join(match["text"].split())[:200]


# A receiver reached by SMS answers by SMS: "1"/"komme"/"ja" = Ich komme, "2"/"kann nicht"/"nein"
# = Kann nicht (case, spaces and a trailing "!"/"." do not matter).
ANSWERS = {"1": "coming", "komme": "coming", "ich komme": "coming", "ja": "coming",
           "2": "cannot", "kann nicht": "cannot", "nein": "cannot"}


def parse_answer(text: str) -> str | None:
    """-> "coming", "cannot" or None when the text is no answer."""
    return ANSWERS.get(" ".join((text or "").lower().split()).rstrip("!. "))


def check_fresh(received_at: datetime | None, now: datetime | None = None) -> None:
    """Replay protection: an inbound SMS carries its time (``received_at``) inside the signed
    body; one older than ``BEISTAND_SMS_INBOUND_WINDOW_SECONDS`` (or that far ahead) is a replay
    and refused before anything is stored. Within the window the gateway message id (or, without
    one, the signed body itself) makes a repeat a duplicate."""
    if received_at is None:
        raise NotAuthenticated("Eingehende SMS ohne Zeitstempel (received_at) werden "
                               "abgewiesen.")
    if received_at.tzinfo is None:
        raise InvalidInput("received_at braucht eine Zeitzone (ISO 8601 mit Offset).",
                           field="received_at")
    now = now or timezone.now()
    window = timedelta(seconds=settings.SMS_INBOUND_WINDOW_SECONDS)
    if abs(now - received_at) > window:
        raise NotAuthenticated("SMS-Nachricht außerhalb des Zeitfensters – als Wiederholung "
                               "abgewiesen.")


def body_id(body: bytes) -> str:
    """The message id of an inbound SMS without a gateway id: its signed body."""
    return "body:" + hashlib.sha256(body).hexdigest()[:40]


def _employee_by_mobile(number: str):
    from beistand.organisation.models import Employee

    wanted = normalise_number(number)
    if len(wanted) < 6:
        return None
    for emp in Employee.objects.filter(active=True, user__isnull=False).exclude(mobile_phone=""):
        if normalise_number(emp.mobile_phone) == wanted:
            return emp
    return None


def receive(sender: str, text: str, gateway_id: str, received_at: datetime | None = None,
            body: bytes = b"") -> dict:
    """An inbound SMS (an alarm or an answer to one).
    -> {"accepted": bool, "alarm_id"?: int, "answer"?: str, "reason"?: str}"""
    if not isinstance(sender, str) or not isinstance(text, str):
        raise InvalidInput("from und text sind Pflichtfelder.", field="from")
    check_fresh(received_at)
    gateway_id = (gateway_id or "")[:100] or (body_id(body) if body else "")
    if gateway_id:
        seen = SmsMessage.objects.filter(direction=SmsMessage.Direction.IN,
                                         gateway_id=gateway_id).first()
        if seen is not None:
            return {"accepted": seen.state == SmsMessage.State.RECEIVED,
                    "alarm_id": seen.alarm_id, "duplicate": True}
    parsed = parse_inbound(text)
    answer = parse_answer(text) if parsed is None else None
    employee = _employee_by_mobile(sender)
    reason = ""
    if parsed is None and answer is None:
        reason = "Text ist kein Alarm (erwartet: ALARM …) und keine Antwort (1 oder 2)"
    elif employee is None:
        reason = "Absendernummer ist keiner Person zugeordnet"
    elif answer is not None:
        return _answer(employee, sender, text, gateway_id, answer)
    if reason:
        return _reject(sender, text, gateway_id, reason)
    lat, lon, where = parsed
    position = {"lat": lat, "lon": lon} if lat is not None else None
    result = services.trigger(user=employee.user, template="beistand", source="sms",
                              position=position, location_text=where,
                              client_id=_client_id(gateway_id))
    _store(sender, text, gateway_id, SmsMessage.State.RECEIVED, result.alarm)
    return {"accepted": True, "alarm_id": result.alarm.pk}


def _store(sender, text, gateway_id, state, alarm, error="") -> None:
    """The inbound SMS on record (a gateway's repeat of the same message id is kept once)."""
    try:
        with transaction.atomic():
            SmsMessage.objects.create(direction=SmsMessage.Direction.IN, phone=sender[:40],
                                      text=text[:640], state=state, gateway_id=gateway_id,
                                      error=error[:300], alarm=alarm)
    except IntegrityError:
        pass


def _reject(sender, text, gateway_id, reason, alarm=None) -> dict:
    logger.warning("Eingehende SMS abgewiesen: %s", reason)
    _store(sender, text, gateway_id, SmsMessage.State.REJECTED, alarm, error=reason)
    return {"accepted": False, "reason": reason,
            **({"alarm_id": alarm.pk} if alarm is not None else {})}


def _answer(employee, sender, text, gateway_id, answer) -> dict:
    """An answer by SMS goes to the open alarm that texted this number most recently and counts
    exactly like an answer in the app (``actions.respond``: timeline, sender told, escalation
    stopped on "Ich komme")."""
    last = (SmsMessage.objects.filter(direction=SmsMessage.Direction.OUT,
                                      phone=normalise_number(sender)[:40],
                                      alarm__state__in=lifecycle.OPEN)
            .select_related("alarm").order_by("-created_at", "-pk").first())
    if last is None:
        return _reject(sender, text, gateway_id,
                       "Kein offener Alarm hat diese Nummer per SMS erreicht")
    try:
        actions.respond(employee.user, last.alarm_id, answer, via="sms")
    except DomainError as exc:
        return _reject(sender, text, gateway_id, f"Antwort nicht angenommen: {exc}",
                       alarm=last.alarm)
    _store(sender, text, gateway_id, SmsMessage.State.RECEIVED, last.alarm)
    return {"accepted": True, "alarm_id": last.alarm_id, "answer": answer}


def _client_id(gateway_id: str) -> str:
    """The alarm's idempotency key for a gateway message id (any characters, any length)."""
    if not gateway_id:
        return ""
    return "sms:" + hashlib.sha256(gateway_id.encode()).hexdigest()[:40]


# --- Voice calls: the key the receiver pressed ----------------------------------------------------

CALL_STATES = {"answered": VoiceCall.State.ANSWERED, "unanswered": VoiceCall.State.UNANSWERED,
               "failed": VoiceCall.State.FAILED}
# DTMF: "1" = Ich komme, "2" = Kann nicht (as the call's text says).
KEYS = {"1": "coming", "2": "cannot"}


def call_result(reference: str, gateway_id: str, status: str, digits: str,
                received_at: datetime | None) -> dict:
    """The gateway's report of a call (signed like inbound SMS, with ``received_at``): whether it
    was answered and which key was pressed. "1"/"2" is the called receiver's answer and counts
    exactly like an answer in the app (``actions.respond``). A repeat of the same report changes
    nothing. -> {"accepted": bool, "alarm_id"?, "answer"?, "reason"?, "duplicate"?}"""
    check_fresh(received_at)
    if status not in CALL_STATES:
        raise InvalidInput("status ist „answered“, „unanswered“ oder „failed“.", field="status")
    digits = (digits or "").strip()[:5]
    call = None
    if gateway_id:
        call = VoiceCall.objects.filter(gateway_id=gateway_id[:100]).first()
    if call is None and re.fullmatch(r"call-\d{1,18}", reference or ""):
        call = VoiceCall.objects.filter(pk=int(reference[5:])).first()
    if call is None:
        logger.warning("Anrufergebnis abgewiesen: Anruf unbekannt")
        return {"accepted": False, "reason": "Anruf unbekannt"}
    duplicate = call.digits == digits and call.state == CALL_STATES[status]
    VoiceCall.objects.filter(pk=call.pk).update(
        state=CALL_STATES[status], digits=digits, updated_at=timezone.now(),
        **({"answered_at": timezone.now()} if digits and not call.answered_at else {}))
    answer = KEYS.get(digits)
    result = {"accepted": True, "alarm_id": call.alarm_id, "duplicate": duplicate}
    if answer is None or duplicate:
        return result
    user = (call.recipient.inbox.user if call.recipient_id and call.recipient.inbox.user_id
            else None)
    if user is None or call.alarm_id is None:
        return {**result, "accepted": False, "reason": "Anruf ohne Empfänger"}
    try:
        actions.respond(user, call.alarm_id, answer, via="call")
    except DomainError as exc:
        logger.warning("Antwort per Anruf nicht angenommen: %s", exc)
        return {**result, "accepted": False, "reason": f"Antwort nicht angenommen: {exc}"}
    return {**result, "answer": answer}
