"""Outgoing SMS for the silent alarm: to receivers without a connection (inbound SMS, from
senders without data, are ``beistand.alarms.sms_inbound``).

Outgoing SMS are rows (``SmsMessage``) written in the alarm's transaction and sent by the alarm
engine of any server process through the common outbox (``beistand.notify.outbox``: claimed
atomically, so two processes never send one at once; retried with backoff). Providers:

- ``http``: a generic JSON gateway. ``POST BEISTAND_SMS_HTTP_URL`` with
  ``{"to": "+49…", "text": "…", "sender": "beistand", "reference": "sms-17"}`` and
  ``Authorization: Bearer BEISTAND_SMS_HTTP_TOKEN``; a 2xx answer with ``{"id": "…"}`` means
  accepted. Delivery reports come back to ``POST /api/v1/sms/status``.
- ``gammu``: a Gammu-SMSD ``files`` backend outbox: one file per message, named the way
  gammu-smsd expects (``OUTC<date>_<time>_00_<number>_sms<n>.txt``), written atomically.
"""

import codecs
import logging
import os
import re
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from beistand.alarms import answer_links, gateway, locations, payloads
from beistand.alarms.alarm_outbox import AlarmBoundOutbox, cut
from beistand.alarms.models import SmsMessage
from beistand.core.errors import InvalidInput
from beistand.notify.outbox import Outbox

logger = logging.getLogger("beistand.alarms.sms")

STALE_SENDING = timedelta(minutes=2)

# Outgoing SMS go through the common outbox: claimed by one process, retried after 2, 4, 8 …
# (at most 60) seconds, failed after BEISTAND_SMS_MAX_ATTEMPTS attempts.
OUTBOX = Outbox(SmsMessage, max_attempts=lambda: settings.SMS_MAX_ATTEMPTS,
                retry_seconds=lambda: 2, max_backoff=timedelta(seconds=60),
                lease=STALE_SENDING, scope={"direction": SmsMessage.Direction.OUT},
                describe_error=str)


# --- Outgoing -----------------------------------------------------------------------------------

SMS_MAX = 640  # SmsMessage.text; gateways split longer texts into up to 4 parts
PLACE_MAX = 300
NAME_MAX = 100


def answer_part(link: str) -> str:
    """How a receiver answers: by SMS (when inbound SMS are set up) and through the link."""
    by_sms = "SMS 1 = Ich komme, 2 = Kann nicht, oder " if settings.SMS_INBOUND_SECRET else ""
    return f". Antwort: {by_sms}{link}" if link else ""


def alarm_text(alarm, link: str = "") -> str:
    """Every alarm SMS names the alarm number, the time and the place first, then who raised
    it, then (to a receiver) how to answer with the one-time ``link``. Each part is bounded and
    the place gets what is left: the whole stays within ``SMS_MAX`` and neither the sender's
    phone number nor the link is ever cut (``BASE_URL`` is at most 100 characters)."""
    sender = payloads.sender_info(alarm)
    phone = (sender.get("mobile") or sender.get("phone") or "")[:40]
    test = "PROBEALARM " if alarm.template.test else ""
    at = timezone.localtime(alarm.triggered_at).strftime("%d.%m. %H:%M")
    head = f"{test}ALARM Nr. {alarm.pk} {cut(alarm.template.name, 80)}, {at} Uhr. Ort: "
    tail = f". Von: {cut(sender['name'], NAME_MAX)}" + (f", Tel. {phone}" if phone else "")
    tail += answer_part(link)
    room = min(PLACE_MAX, SMS_MAX - len(head) - len(tail))
    where = cut(locations.one_line(payloads.location_of(alarm)), room)
    return (head + where + tail)[:SMS_MAX]


def queue_alarm_sms(alarm, targets, now) -> list[SmsMessage]:
    """``targets``: (inbox id or None, phone number). In the alarm's transaction. A receiver
    (inbox) gets its own one-time answer link (``answer_links``); a control room none."""
    links = answer_links.issue(alarm, {inbox for inbox, phone in targets if inbox and phone},
                               now)
    plain = ""
    rows = []
    for inbox, phone in targets:
        if not phone:
            continue
        link = links.get(inbox, "")
        if not link:
            plain = plain or alarm_text(alarm)
        # Gateways expect international numbers ("+49…"); staff records often hold "0171 …".
        rows.append(SmsMessage(direction=SmsMessage.Direction.OUT,
                               phone=normalise_number(phone)[:40],
                               text=alarm_text(alarm, link) if link else plain, alarm=alarm,
                               state=SmsMessage.State.QUEUED, created_at=now, updated_at=now,
                               next_attempt_at=now))
    return SmsMessage.objects.bulk_create(rows)


def due_ids(now=None) -> list[int]:
    """Outgoing SMS to send now (rows a crashed process left "sending" are queued again)."""
    return OUTBOX.due(now)


STALE_REASON = "nicht gesendet: Alarm bereits beendet (Entwarnung oder abgebrochen)"


def _to_gateway(sms: SmsMessage) -> dict:
    return {"gateway_id": (provider().send(sms) or "")[:100]}


# Never sent once the alarm has ended: checked before the claim and again before the gateway.
SENDER = AlarmBoundOutbox(OUTBOX, STALE_REASON, _to_gateway, logger, "SMS",
                          own_errors=("RuntimeError",))
cancel_if_alarm_ended = SENDER.cancel_if_alarm_ended
send_one = SENDER.send_one


class HttpJsonProvider:
    def send(self, sms) -> str:
        if not settings.SMS_HTTP_URL:
            raise RuntimeError("BEISTAND_SMS_HTTP_URL ist nicht gesetzt")
        try:
            return gateway.post_json(settings.SMS_HTTP_URL, {
                "to": sms.phone, "text": sms.text, "sender": settings.SMS_SENDER,
                "reference": f"sms-{sms.pk}"})
        except gateway.GatewayError as exc:  # our own text: names no one (logged as such)
            raise RuntimeError(str(exc)) from exc


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


def normalise_number(number: str) -> str:
    digits = re.sub(r"[^0-9+]", "", number or "")
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.startswith("0"):
        digits = "+49" + digits[1:]
    return digits



# --- Delivery reports ----------------------------------------------------------------------------

def delivery_report(gateway_id: str, status: str, error: str = "") -> bool:
    state = {"delivered": SmsMessage.State.DELIVERED, "failed": SmsMessage.State.FAILED}.get(
        status)
    if state is None:
        raise InvalidInput("status ist „delivered“ oder „failed“.", field="status")
    return bool(SmsMessage.objects.filter(direction=SmsMessage.Direction.OUT,
                                          gateway_id=gateway_id).update(
        state=state, error=error[:300], updated_at=timezone.now()))
