"""Web Push (VAPID) for installed phone web apps: an extra channel, never the only one.

A phone's web app registers its push subscription (``POST /api/v1/push/subscriptions``). When an
alarm reaches a receiver who has subscriptions, ``queue_alarm_push`` stores one ``PushMessage``
row per subscription in the alarm's transaction; the alarm engine of any server process sends
them (claimed atomically), encrypted (RFC 8291, aes128gcm) and signed with the body's VAPID key,
outside the alarm's critical path. The WebSocket and the SMS fallback stay the delivery that
counts: iOS delivers web push only to home-screen apps and without critical alerts.

Settings: ``BEISTAND_VAPID_PRIVATE_KEY`` / ``BEISTAND_VAPID_PUBLIC_KEY`` (``beistand alarm
vapid-keys`` makes a pair) and ``BEISTAND_VAPID_SUBJECT`` (a ``mailto:`` or ``https:`` contact
for push services). Without keys nothing is queued.
"""

import base64
import binascii
import json
import logging
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from ninja import Router, Status
from pydantic import Field

from beistand.core.api import Str, StrictSchema
from beistand.core.errors import InvalidInput, NotFound

logger = logging.getLogger("beistand.alarms.webpush")

# Push services speak HTTPS; tests widen this for a local push service.
ALLOWED_SCHEMES = ("https",)
MAX_SUBSCRIPTIONS_PER_USER = 10
MAX_ATTEMPTS = 5
TTL_SECONDS = 600  # an alarm push older than ten minutes is no use
STALE_SENDING = timedelta(minutes=2)


class PushSubscription(models.Model):
    """A browser push subscription of one person's phone (or desktop browser)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="push_subscriptions")
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=100)
    auth = models.CharField(max_length=40)
    created = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        app_label = "alarms"
        verbose_name = "Push-Abonnement"
        verbose_name_plural = "Push-Abonnements"
        default_permissions = ("view",)

    def __str__(self):
        return f"Push {self.user_id} {urlsplit(self.endpoint).netloc}"


class PushMessage(models.Model):
    """One alarm push to one subscription, sent by the engine and retried with backoff."""

    class State(models.TextChoices):
        QUEUED = "queued", "wartet"
        SENDING = "sending", "wird gesendet"
        SENT = "sent", "an Push-Dienst übergeben"
        FAILED = "failed", "fehlgeschlagen"

    subscription = models.ForeignKey(PushSubscription, null=True, on_delete=models.SET_NULL,
                                     related_name="+")
    alarm = models.ForeignKey("alarms.Alarm", null=True, on_delete=models.CASCADE,
                              related_name="+")
    payload = models.TextField()
    state = models.CharField(max_length=10, choices=State.choices)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "alarms"
        default_permissions = ()

    def __str__(self):
        return f"Push {self.pk} ({self.state})"


# --- Keys ---------------------------------------------------------------------------------------

def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate_vapid_keys() -> tuple[str, str]:
    """-> (private key, public key), base64url: the raw P-256 scalar and the uncompressed point
    (the browser's ``applicationServerKey``)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_numbers().private_value.to_bytes(32, "big")
    public = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return _b64url(private), _b64url(public)


def configured() -> bool:
    return bool(settings.VAPID_PRIVATE_KEY and settings.VAPID_PUBLIC_KEY)


# --- Subscriptions ------------------------------------------------------------------------------

def subscribe(user, endpoint: str, p256dh: str, auth: str) -> tuple[PushSubscription, bool]:
    """Store a subscription; the same endpoint again updates it (idempotent). -> (row, created)"""
    endpoint = (endpoint or "").strip()
    parts = urlsplit(endpoint)
    if parts.scheme not in ALLOWED_SCHEMES or not parts.netloc:
        raise InvalidInput("endpoint muss eine https-Adresse eines Push-Dienstes sein.",
                           field="endpoint")
    try:
        key, secret = _unb64url(p256dh), _unb64url(auth)
    except (ValueError, binascii.Error):
        raise InvalidInput("Schlüssel sind nicht base64url-kodiert.", field="keys") from None
    if len(key) != 65 or key[0] != 4:
        raise InvalidInput("keys.p256dh ist kein P-256-Schlüssel (65 Bytes, unkomprimiert).",
                           field="keys.p256dh")
    if len(secret) != 16:
        raise InvalidInput("keys.auth muss 16 Bytes lang sein.", field="keys.auth")
    with transaction.atomic():
        row = PushSubscription.objects.select_for_update().filter(endpoint=endpoint).first()
        if row is None and PushSubscription.objects.filter(user=user).count() >= \
                MAX_SUBSCRIPTIONS_PER_USER:
            raise InvalidInput(f"Höchstens {MAX_SUBSCRIPTIONS_PER_USER} Geräte je Person; "
                               "bitte ein altes abmelden.", field="endpoint")
        if row is None:
            return PushSubscription.objects.create(user=user, endpoint=endpoint, p256dh=p256dh,
                                                   auth=auth), True
        # The browser renewed its keys, or another person now uses this phone.
        row.user, row.p256dh, row.auth, row.last_error = user, p256dh, auth, ""
        row.save(update_fields=["user", "p256dh", "auth", "last_error"])
        return row, False


def unsubscribe(user, endpoint: str) -> None:
    deleted, _ = PushSubscription.objects.filter(user=user, endpoint=endpoint).delete()
    if not deleted:
        raise NotFound("Dieses Push-Abonnement gibt es nicht.")


# --- Sending ------------------------------------------------------------------------------------

def alarm_payload(alarm) -> dict:
    from beistand.alarms import locations, payloads

    sender = payloads.sender_info(alarm)
    where = locations.one_line(payloads.location_of(alarm))
    test = "PROBEALARM – " if alarm.template.test else ""
    return {"type": "alarm", "alarm_id": alarm.pk, "template": alarm.template.code,
            "title": f"{test}{alarm.template.name}: {sender['name']}",
            "body": where, "sender": sender["name"], "phone": sender.get("mobile")
            or sender.get("phone"), "tag": f"alarm-{alarm.pk}",
            "triggered_at": payloads.iso(alarm.triggered_at)}


def queue_alarm_push(alarm, user_ids, now) -> int:
    """In the alarm's transaction: a push row per subscription of the notified people."""
    if not configured() or not user_ids:
        return 0
    subs = list(PushSubscription.objects.filter(user_id__in=set(user_ids))
                .values_list("id", flat=True))
    if not subs:
        return 0
    payload = json.dumps(alarm_payload(alarm), ensure_ascii=False)
    PushMessage.objects.bulk_create([
        PushMessage(subscription_id=s, alarm=alarm, payload=payload,
                    state=PushMessage.State.QUEUED, created_at=now, updated_at=now,
                    next_attempt_at=now) for s in subs])
    return len(subs)


def due_ids(now=None) -> list[int]:
    now = now or timezone.now()
    PushMessage.objects.filter(state=PushMessage.State.SENDING,
                               updated_at__lt=now - STALE_SENDING).update(
        state=PushMessage.State.QUEUED, next_attempt_at=now)
    return list(PushMessage.objects.filter(state=PushMessage.State.QUEUED,
                                           next_attempt_at__lte=now)
                .order_by("created_at").values_list("id", flat=True)[:50])


def send_one(push_id: int) -> str:
    from pywebpush import WebPushException, webpush

    now = timezone.now()
    if not PushMessage.objects.filter(pk=push_id, state=PushMessage.State.QUEUED).update(
            state=PushMessage.State.SENDING, updated_at=now):
        return "taken"
    msg = PushMessage.objects.select_related("subscription").get(pk=push_id)
    sub = msg.subscription
    if sub is None or (msg.created_at < now - timedelta(seconds=TTL_SECONDS)):
        PushMessage.objects.filter(pk=push_id).update(
            state=PushMessage.State.FAILED, updated_at=now,
            error="Abonnement entfernt" if sub is None else "zu alt")
        return "failed"
    status = None
    try:
        webpush(subscription_info={"endpoint": sub.endpoint,
                                   "keys": {"p256dh": sub.p256dh, "auth": sub.auth}},
                data=msg.payload, vapid_private_key=_vapid(),
                vapid_claims={"sub": settings.VAPID_SUBJECT}, ttl=TTL_SECONDS,
                headers={"Urgency": "high", "Topic": f"alarm-{msg.alarm_id}"[:32]},
                content_encoding="aes128gcm", timeout=10)
    except WebPushException as exc:
        status = getattr(exc.response, "status_code", None)
        error = f"Push-Dienst antwortete {status}" if status else str(exc)
    except Exception as exc:  # network errors: retried like a refusal
        error = str(exc)
    else:
        PushMessage.objects.filter(pk=push_id).update(
            state=PushMessage.State.SENT, attempts=msg.attempts + 1, error="",
            updated_at=timezone.now())
        return "sent"
    error = error[:300]
    if status in (404, 410):  # the subscription is gone for good
        PushSubscription.objects.filter(pk=sub.pk).delete()
        PushMessage.objects.filter(pk=push_id).update(
            state=PushMessage.State.FAILED, attempts=msg.attempts + 1, error=error,
            updated_at=timezone.now())
        return "gone"
    attempts = msg.attempts + 1
    failed = attempts >= MAX_ATTEMPTS
    PushSubscription.objects.filter(pk=sub.pk).update(last_error=error)
    PushMessage.objects.filter(pk=push_id).update(
        state=PushMessage.State.FAILED if failed else PushMessage.State.QUEUED,
        attempts=attempts, error=error, updated_at=timezone.now(),
        next_attempt_at=timezone.now() + timedelta(seconds=min(60, 2 ** attempts)))
    logger.warning("Web Push %s fehlgeschlagen (Versuch %s): %s", push_id, attempts, error)
    return "failed" if failed else "retry"


def _vapid():
    from py_vapid import Vapid

    return Vapid.from_string(settings.VAPID_PRIVATE_KEY)


# --- API ----------------------------------------------------------------------------------------

router = Router(tags=["Stiller Alarm"])


class Keys(StrictSchema):
    p256dh: Str = Field(min_length=80, max_length=100)
    auth: Str = Field(min_length=16, max_length=40)


class SubscriptionIn(StrictSchema):
    """The browser's ``PushSubscription.toJSON()``."""

    endpoint: Str = Field(min_length=10, max_length=1000)
    expirationTime: float | None = None  # the browser's field name
    keys: Keys


@router.post("/push/subscriptions", response={200: dict, 201: dict})
def add_subscription(request, payload: SubscriptionIn):
    """Push-Abonnement dieses Geräts speichern (gleicher Endpunkt: aktualisiert)."""
    row, created = subscribe(request.auth, payload.endpoint, payload.keys.p256dh,
                             payload.keys.auth)
    return Status(201 if created else 200, {"id": row.pk, "endpoint": row.endpoint,
                                            "created": created})


@router.delete("/push/subscriptions", response={204: None})
def remove_subscription(request, endpoint: str):
    """Push-Abonnement abmelden (``?endpoint=…``)."""
    unsubscribe(request.auth, endpoint)
    return Status(204, None)


@router.get("/push/vapid-public-key")
def vapid_public_key(request):
    """Öffentlicher VAPID-Schlüssel (``applicationServerKey`` für ``pushManager.subscribe``)."""
    if not configured():
        raise NotFound("Web Push ist auf diesem Server nicht eingerichtet.")
    return {"public_key": settings.VAPID_PUBLIC_KEY}
