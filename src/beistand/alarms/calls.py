"""Voice calls for the silent alarm through the SMS gateway's call API (``BEISTAND_SMS_CALL_URL``,
where configured): the plan's last-resort tier, the staff alerted when a plan is exhausted, and
every re-notification call the receivers that are offline and have a mobile number, with a short
German text-to-speech message ("… Taste 1 für Ich komme …").

Calls are rows (``VoiceCall``) written in the alarm's transaction and placed by the alarm engine
of any server process through the common outbox (``beistand.notify.outbox``), exactly like
outgoing SMS: claimed atomically, retried with backoff, and **never placed for an alarm that has
ended** (checked before the claim and again right before the gateway). The gateway posts the key
the receiver pressed back, signed (``sms_inbound.call_result``); "1"/"2" counts like an answer
in the app. The contract is in docs/integration.md.
"""

import logging
from datetime import timedelta

from django.conf import settings

from beistand.alarms import gateway, locations, payloads
from beistand.alarms.alarm_outbox import AlarmBoundOutbox, cut
from beistand.alarms.models import AlarmRecipient, VoiceCall
from beistand.alarms.sms import normalise_number
from beistand.notify.outbox import Outbox

logger = logging.getLogger("beistand.alarms.calls")

# A call takes longer to hand over than an SMS (the gateway may ring before it answers).
OUTBOX = Outbox(VoiceCall, max_attempts=lambda: settings.SMS_MAX_ATTEMPTS,
                retry_seconds=lambda: 2, max_backoff=timedelta(seconds=60),
                lease=timedelta(minutes=2), describe_error=str)

TEXT_MAX = 500  # VoiceCall.text
STALE_REASON = "nicht angerufen: Alarm bereits beendet (Entwarnung oder abgebrochen)"


def enabled() -> bool:
    return bool(settings.SMS_CALL_URL) and settings.SMS_PROVIDER == "http"


def call_text(alarm) -> str:
    """What the gateway reads out: alarm number, template, place, the keys. Short, bounded."""
    where = cut(locations.one_line(payloads.location_of(alarm)), 200)
    test = "Probealarm. " if alarm.template.test else ""
    keys = ("Taste 1 für Ich komme. Taste 2 für Kann nicht." if alarm.template.come
            else "Nicht zum Ort kommen. Bitte den Anweisungen folgen.")
    return cut(f"{test}Stiller Alarm Nummer {alarm.pk}: {cut(alarm.template.name, 80)}. "
                f"Ort: {where}. {keys}", TEXT_MAX)


def queue_calls(alarm, targets, now) -> list[VoiceCall]:
    """``targets``: (inbox id, phone number) of offline receivers. In the alarm's transaction;
    nothing when no call API is configured."""
    targets = [(inbox, phone) for inbox, phone in targets if inbox and phone]
    if not enabled() or not targets:
        return []
    recipients = dict(AlarmRecipient.objects.filter(
        alarm=alarm, inbox_id__in=[inbox for inbox, _ in targets])
        .values_list("inbox_id", "id"))
    text = call_text(alarm)
    return VoiceCall.objects.bulk_create([
        VoiceCall(alarm=alarm, recipient_id=recipients.get(inbox),
                  phone=normalise_number(phone)[:40], text=text,
                  state=VoiceCall.State.QUEUED, created_at=now, updated_at=now,
                  next_attempt_at=now)
        for inbox, phone in targets])


def due_ids(now=None) -> list[int]:
    return OUTBOX.due(now)


def _to_gateway(call: VoiceCall) -> dict:
    gateway_id = gateway.post_json(settings.SMS_CALL_URL, {
        "to": call.phone, "text": call.text, "language": "de-DE",
        "sender": settings.SMS_SENDER, "reference": f"call-{call.pk}", "digits": ["1", "2"]})
    return {"gateway_id": gateway_id}


# Never placed once the alarm has ended: checked before the claim and again before the gateway.
SENDER = AlarmBoundOutbox(OUTBOX, STALE_REASON, _to_gateway, logger, "Anruf",
                          own_errors=("GatewayError",))
cancel_if_alarm_ended = SENDER.cancel_if_alarm_ended
send_one = SENDER.send_one
