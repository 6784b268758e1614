"""SMS for the silent alarm: out to receivers without a connection, in from senders without data.

Outgoing SMS are rows (``SmsMessage``) written in the alarm's transaction and sent by the alarm
engine of any server process (claimed atomically, so two processes never send one twice),
retried with backoff. Providers:

- ``http``: a generic JSON gateway. ``POST BEISTAND_SMS_HTTP_URL`` with
  ``{"to": "+49…", "text": "…", "sender": "beistand", "reference": "sms-17"}`` and
  ``Authorization: Bearer BEISTAND_SMS_HTTP_TOKEN``; a 2xx answer with ``{"id": "…"}`` means
  accepted. Delivery reports come back to ``POST /api/v1/sms/status``.
- ``gammu``: a Gammu-SMSD ``files`` backend outbox: one file per message, named the way
  gammu-smsd expects (``OUTC<date>_<time>_00_<number>_sms<n>.txt``), written atomically.

Inbound: ``ALARM`` or ``HILFE`` from a registered mobile number, optionally followed by
``lat,lon`` and a short location text, becomes a normal alarm.
"""

import codecs
import hashlib
import hmac
import json
import logging
import os
import re
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from beistand.alarms import locations, payloads
from beistand.alarms.models import SmsMessage
from beistand.core.errors import InvalidInput, NotAuthenticated

logger = logging.getLogger("beistand.alarms.sms")

STALE_SENDING = timedelta(minutes=2)


# --- Outgoing -----------------------------------------------------------------------------------

def alarm_text(alarm) -> str:
    sender = payloads.sender_info(alarm)
    where = locations.one_line(payloads.location_of(alarm))
    phone = sender.get("mobile") or sender.get("phone") or ""
    test = "PROBEALARM " if alarm.template.test else ""
    text = f"{test}ALARM {alarm.template.name}: {sender['name']}, {where}"
    if phone:
        text += f", Tel. {phone}"
    return text[:640]


def queue_alarm_sms(alarm, targets, now) -> list[SmsMessage]:
    """``targets``: (inbox id or None, phone number). In the alarm's transaction."""
    text = alarm_text(alarm)
    # Gateways expect international numbers ("+49…"); staff records often hold "0171 …".
    rows = [SmsMessage(direction=SmsMessage.Direction.OUT, phone=normalise_number(phone)[:40],
                       text=text, alarm=alarm, state=SmsMessage.State.QUEUED, created_at=now,
                       updated_at=now, next_attempt_at=now)
            for _, phone in targets if phone]
    return SmsMessage.objects.bulk_create(rows)


def due_ids(now=None) -> list[int]:
    now = now or timezone.now()
    # Rows a crashed process left "sending" go back to the queue.
    SmsMessage.objects.filter(state=SmsMessage.State.SENDING,
                              updated_at__lt=now - STALE_SENDING).update(
        state=SmsMessage.State.QUEUED, next_attempt_at=now)
    return list(SmsMessage.objects.filter(direction=SmsMessage.Direction.OUT,
                                          state=SmsMessage.State.QUEUED,
                                          next_attempt_at__lte=now)
                .order_by("created_at").values_list("id", flat=True)[:50])


def send_one(sms_id: int) -> str:
    now = timezone.now()
    claimed = SmsMessage.objects.filter(pk=sms_id, state=SmsMessage.State.QUEUED).update(
        state=SmsMessage.State.SENDING, updated_at=now)
    if not claimed:
        return "taken"
    sms = SmsMessage.objects.get(pk=sms_id)
    try:
        gateway_id = provider().send(sms)
    except Exception as exc:
        attempts = sms.attempts + 1
        failed = attempts >= settings.SMS_MAX_ATTEMPTS
        SmsMessage.objects.filter(pk=sms_id).update(
            state=SmsMessage.State.FAILED if failed else SmsMessage.State.QUEUED,
            attempts=attempts, error=str(exc)[:300], updated_at=timezone.now(),
            next_attempt_at=timezone.now() + timedelta(seconds=min(60, 2 ** attempts)))
        # Our own errors name no one; an OSError's text holds the spool path with the number.
        logger.warning("SMS %s an Gateway fehlgeschlagen (Versuch %s): %s", sms_id, attempts,
                       exc if isinstance(exc, RuntimeError) else type(exc).__name__)
        return "failed" if failed else "retry"
    SmsMessage.objects.filter(pk=sms_id).update(state=SmsMessage.State.SENT,
                                                gateway_id=(gateway_id or "")[:100],
                                                attempts=sms.attempts + 1, error="",
                                                updated_at=timezone.now())
    return "sent"


class HttpJsonProvider:
    def send(self, sms) -> str:
        if not settings.SMS_HTTP_URL:
            raise RuntimeError("BEISTAND_SMS_HTTP_URL ist nicht gesetzt")
        body = json.dumps({"to": sms.phone, "text": sms.text, "sender": settings.SMS_SENDER,
                           "reference": f"sms-{sms.pk}"}).encode()
        # The URL is the operator's configuration, never user input.
        request = urllib.request.Request(settings.SMS_HTTP_URL, data=body, method="POST",  # noqa: S310
                                         headers={"Content-Type": "application/json"})
        if settings.SMS_HTTP_TOKEN:
            request.add_header("Authorization", f"Bearer {settings.SMS_HTTP_TOKEN}")
        try:
            with urllib.request.urlopen(request, timeout=settings.SMS_HTTP_TIMEOUT) as resp:  # noqa: S310
                answer = resp.read(65536)
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"Gateway antwortete {exc.code}") from exc
        try:
            return str(json.loads(answer or b"{}").get("id", ""))
        except (ValueError, AttributeError):
            return ""


class GammuSpoolProvider:
    def send(self, sms) -> str:
        outbox = Path(settings.SMS_GAMMU_OUTBOX)
        number = re.sub(r"[^0-9+]", "", sms.phone)
        stamp = timezone.localtime().strftime("%Y%m%d_%H%M%S")
        name = f"OUTC{stamp}_00_{number}_sms{sms.pk}.txt"
        tmp = outbox / f".{name}.tmp"
        # gammu-smsd reads whole files only; write aside (hidden: gammu skips dot files), then
        # rename into place. Text with a byte order mark is read as Unicode whatever gammu's
        # locale; without one, umlauts depend on it.
        tmp.write_bytes(codecs.BOM_UTF16_BE + sms.text.encode("utf-16-be"))
        os.replace(tmp, outbox / name)
        return name


class NoProvider:
    def send(self, sms) -> str:
        raise RuntimeError("kein SMS-Gateway konfiguriert (BEISTAND_SMS_PROVIDER)")


def provider():
    return {"http": HttpJsonProvider, "gammu": GammuSpoolProvider}.get(
        settings.SMS_PROVIDER, NoProvider)()


# --- Inbound ------------------------------------------------------------------------------------

def check_signature(body: bytes, header: str) -> None:
    secret = settings.SMS_INBOUND_SECRET
    if not secret:
        raise NotAuthenticated("Eingehende SMS sind nicht eingerichtet "
                               "(BEISTAND_SMS_INBOUND_SECRET fehlt).")
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not header or not hmac.compare_digest(expected, header.strip()):
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


def normalise_number(number: str) -> str:
    digits = re.sub(r"[^0-9+]", "", number or "")
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.startswith("0"):
        digits = "+49" + digits[1:]
    return digits


def _employee_by_mobile(number: str):
    from beistand.organisation.models import Employee

    wanted = normalise_number(number)
    if len(wanted) < 6:
        return None
    for emp in Employee.objects.filter(active=True, user__isnull=False).exclude(mobile_phone=""):
        if normalise_number(emp.mobile_phone) == wanted:
            return emp
    return None


def receive(sender: str, text: str, gateway_id: str) -> dict:
    """An inbound SMS. -> {"accepted": bool, "alarm_id"?: int, "reason"?: str}"""
    from beistand.alarms import services

    if not isinstance(sender, str) or not isinstance(text, str):
        raise InvalidInput("from und text sind Pflichtfelder.", field="from")
    gateway_id = (gateway_id or "")[:100]
    if gateway_id:
        seen = SmsMessage.objects.filter(direction=SmsMessage.Direction.IN,
                                         gateway_id=gateway_id).first()
        if seen is not None:
            return {"accepted": seen.state == SmsMessage.State.RECEIVED,
                    "alarm_id": seen.alarm_id, "duplicate": True}
    parsed = parse_inbound(text)
    employee = _employee_by_mobile(sender)
    reason = ""
    if parsed is None:
        reason = "Text ist kein Alarm (erwartet: ALARM …)"
    elif employee is None:
        reason = "Absendernummer ist keiner Person zugeordnet"
    if reason:
        logger.warning("Eingehende SMS abgewiesen: %s", reason)
        try:
            with transaction.atomic():
                SmsMessage.objects.create(direction=SmsMessage.Direction.IN, phone=sender[:40],
                                          text=text[:640], state=SmsMessage.State.REJECTED,
                                          gateway_id=gateway_id, error=reason)
        except IntegrityError:
            pass
        return {"accepted": False, "reason": reason}
    lat, lon, where = parsed
    position = {"lat": lat, "lon": lon} if lat is not None else None
    result = services.trigger(user=employee.user, template="beistand", source="sms",
                              position=position, location_text=where,
                              client_id=_client_id(gateway_id))
    try:
        with transaction.atomic():
            SmsMessage.objects.create(direction=SmsMessage.Direction.IN, phone=sender[:40],
                                      text=text[:640], state=SmsMessage.State.RECEIVED,
                                      gateway_id=gateway_id, alarm=result.alarm)
    except IntegrityError:
        pass
    return {"accepted": True, "alarm_id": result.alarm.pk}


def _client_id(gateway_id: str) -> str:
    """The alarm's idempotency key for a gateway message id (any characters, any length)."""
    if not gateway_id:
        return ""
    return "sms:" + hashlib.sha256(gateway_id.encode()).hexdigest()[:40]


def delivery_report(gateway_id: str, status: str, error: str = "") -> bool:
    state = {"delivered": SmsMessage.State.DELIVERED, "failed": SmsMessage.State.FAILED}.get(
        status)
    if state is None:
        raise InvalidInput("status ist „delivered“ oder „failed“.", field="status")
    return bool(SmsMessage.objects.filter(direction=SmsMessage.Direction.OUT,
                                          gateway_id=gateway_id).update(
        state=state, error=error[:300], updated_at=timezone.now()))
