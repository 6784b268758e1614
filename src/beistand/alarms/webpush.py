"""Web Push (VAPID) for installed phone web apps: an extra channel, never the only one.

A phone's web app registers its push subscription (``POST /api/v1/push/subscriptions``). When an
alarm reaches a receiver who has subscriptions, ``queue_alarm_push`` stores one ``PushMessage``
row per subscription in the alarm's transaction; the alarm engine of any server process sends
them through the common outbox (``beistand.notify.outbox``: claimed atomically, retried with
backoff), encrypted (RFC 8291, aes128gcm) and signed with the body's VAPID key,
outside the alarm's critical path. The WebSocket and the SMS fallback stay the delivery that
counts: iOS delivers web push only to home-screen apps and without critical alerts.

Settings: ``BEISTAND_VAPID_PRIVATE_KEY`` / ``BEISTAND_VAPID_PUBLIC_KEY`` (``beistand alarm
vapid-keys`` makes a pair) and ``BEISTAND_VAPID_SUBJECT`` (a ``mailto:`` or ``https:`` contact
for push services). Without keys nothing is queued.
"""

import base64
import binascii
import ipaddress
import json
import logging
import socket
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from ninja import Router, Schema, Status
from pydantic import Field

from beistand.alarms import lifecycle
from beistand.core.api import Str, StrictSchema
from beistand.core.errors import Conflict, InvalidInput, NotFound
from beistand.notify.outbox import Outbox, Undeliverable

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
    """One push (an alarm, or a lone-worker visit's question) to one subscription, sent by the
    engine through the common outbox."""

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


# Push messages go through the common outbox: claimed by one process, retried after 2, 4, 8 …
# (at most 60) seconds, failed after MAX_ATTEMPTS attempts or when the push service says the
# subscription is gone.
OUTBOX = Outbox(PushMessage, max_attempts=lambda: MAX_ATTEMPTS, retry_seconds=lambda: 2,
                max_backoff=timedelta(seconds=60), lease=STALE_SENDING, describe_error=str)


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

def _allow_listed(host: str) -> bool:
    return host.lower().rstrip(".") in {h.lower().rstrip(".") for h in
                                         settings.WEBPUSH_ALLOWED_HOSTS}


def _resolve(host: str, port: int) -> list[str]:
    """The resolver the check and the connection share (tests answer with their own)."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


RESOLVER = _resolve


def _addresses(host: str, port: int = 443) -> list[str] | None:
    """The addresses ``host`` stands for (an IP literal: itself), in the resolver's order; None
    if it does not resolve."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    try:
        found = RESOLVER(host, port)
    except (OSError, UnicodeError):
        return None
    return list(dict.fromkeys(str(a).split("%")[0] for a in found)) or None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and reaches: IPv4-mapped (::ffff:a.b.c.d),
    IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96), 6to4 (2002::/16), Teredo (client)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    packed = int(ip)
    if ip in _NAT64 or (packed >> 32 == 0 and packed > 0xFFFF):
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    return None


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: local-use, never public


def public_address(address: str) -> bool:
    """Global, and so is any IPv4 address it embeds (a NAT64 or 6to4 form of 169.254.169.254
    or of loopback reaches that, though the IPv6 range itself counts as global)."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if not ip.is_global:
        return False
    if ip.version == 6:
        if ip in _NAT64_LOCAL:
            return False
        embedded = _embedded_ipv4(ip)
        if embedded is not None and not embedded.is_global:
            return False
    return True


def resolve_endpoint(endpoint: str, resolve_failure_ok: bool) -> tuple[str | None, str | None]:
    """-> (why ``endpoint`` must not be contacted (German) or None, the address to connect to).

    Only https endpoints of public push services: a host must resolve to public (global)
    addresses only - never loopback, link-local (169.254.169.254, the cloud metadata service),
    private or other internal ranges, nor an IPv6 form that embeds one (IPv4-mapped, NAT64,
    6to4, Teredo). On-premise push services are named in ``BEISTAND_WEBPUSH_ALLOWED_HOSTS``.
    Checked when subscribing and again before every send, where the host is resolved *once*:
    the connection goes to the address checked (no second lookup a DNS rebinding could answer
    differently).
    """
    parts = urlsplit(endpoint)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "endpoint hat einen ungültigen Port.", None
    host = parts.hostname or ""
    if parts.scheme not in ALLOWED_SCHEMES or not host or parts.username or parts.password:
        return "endpoint muss eine https-Adresse eines Push-Dienstes sein.", None
    addresses = _addresses(host, port)
    if addresses is None:
        return (None if resolve_failure_ok else "Der Push-Dienst ist nicht auflösbar."), None
    if _allow_listed(host):
        return None, addresses[0]
    if not all(public_address(a) for a in addresses):
        return ("endpoint muss ein öffentlicher Push-Dienst sein (keine interne, lokale oder "
                "private Adresse).", None)
    return None, addresses[0]


def endpoint_refusal(endpoint: str, resolve_failure_ok: bool) -> str | None:
    """Why ``endpoint`` must not be contacted (German), or None (``resolve_endpoint``)."""
    return resolve_endpoint(endpoint, resolve_failure_ok)[0]


def subscribe(user, endpoint: str, p256dh: str, auth: str) -> tuple[PushSubscription, bool]:
    """Store a subscription; the same endpoint again updates its keys (idempotent) - for its
    owner only: another person's subscription is never taken over. -> (row, created)"""
    endpoint = (endpoint or "").strip()
    refusal = endpoint_refusal(endpoint, resolve_failure_ok=True)
    if refusal:
        raise InvalidInput(refusal, field="endpoint")
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
        if row.user_id != user.pk:
            # Bound to its owner: whoever else names this endpoint (a copied URL) would steal
            # or silence the owner's alarm pushes. A phone handed on is unsubscribed first.
            raise Conflict("Dieses Push-Abonnement gehört zu einem anderen Konto. Bitte dort "
                           "zuerst abmelden.")
        # The browser renewed its keys.
        row.p256dh, row.auth, row.last_error = p256dh, auth, ""
        row.save(update_fields=["p256dh", "auth", "last_error"])
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


def queue_push(user_ids, payload, now, alarm=None) -> int:
    """In the caller's transaction: a push row with ``payload`` (a dict, or a function that
    makes it, called only when someone has a subscription) per subscription of the people
    ``user_ids`` (an alarm's, or a lone-worker visit's question with ``alarm`` None)."""
    if not configured() or not user_ids:
        return 0
    subs = list(PushSubscription.objects.filter(user_id__in=set(user_ids))
                .values_list("id", flat=True))
    if not subs:
        return 0
    body = json.dumps(payload() if callable(payload) else payload, ensure_ascii=False)
    PushMessage.objects.bulk_create([
        PushMessage(subscription_id=s, alarm=alarm, payload=body,
                    state=PushMessage.State.QUEUED, created_at=now, updated_at=now,
                    next_attempt_at=now) for s in subs])
    return len(subs)


def queue_alarm_push(alarm, user_ids, now) -> int:
    """In the alarm's transaction: a push row per subscription of the notified people."""
    if not configured() or not user_ids:
        return 0
    return queue_push(user_ids, lambda: alarm_payload(alarm), now, alarm=alarm)


def due_ids(now=None) -> list[int]:
    """Push messages to send now (rows a crashed process left "sending" are queued again)."""
    return OUTBOX.due(now)


STALE_REASON = "nicht gesendet: Alarm bereits beendet (Entwarnung oder abgebrochen)"


def send_one(push_id: int) -> str:
    """Hand one queued push to its push service. -> "sent", "retry", "failed" or "taken"."""
    attempt = OUTBOX.send(push_id, _to_push_service)
    if attempt.outcome == "retry" or (attempt.outcome == "failed"
                                      and attempt.error_type != "Undeliverable"):
        logger.warning("Web Push %s fehlgeschlagen (Versuch %s): %s", push_id,
                       attempt.attempts, attempt.error)
    return attempt.outcome


def _to_push_service(msg: PushMessage) -> None:
    from pywebpush import WebPushException, webpush

    # Like SMS and calls (alarms.alarm_outbox): never pushed once the alarm has ended. Rows
    # without an alarm (a lone-worker visit's question) always go.
    if msg.alarm_id and not PushMessage.objects.filter(
            pk=msg.pk, alarm__state__in=lifecycle.OPEN).exists():
        raise Undeliverable(STALE_REASON)
    sub = msg.subscription
    if sub is None:
        raise Undeliverable("Abonnement entfernt")
    if msg.created_at < timezone.now() - timedelta(seconds=TTL_SECONDS):
        raise Undeliverable("zu alt")
    refusal, address = resolve_endpoint(sub.endpoint, resolve_failure_ok=False)
    if refusal:  # an internal address now (or never resolvable): never contacted
        raise Undeliverable(refusal)
    try:
        webpush(subscription_info={"endpoint": sub.endpoint,
                                   "keys": {"p256dh": sub.p256dh, "auth": sub.auth}},
                data=msg.payload, vapid_private_key=_vapid(),
                vapid_claims={"sub": settings.VAPID_SUBJECT}, ttl=TTL_SECONDS,
                headers={"Urgency": "high", "Topic": f"alarm-{msg.alarm_id}"[:32]},
                content_encoding="aes128gcm", timeout=SEND_TIMEOUT_SECONDS,
                requests_session=pinned_session(address))
    except WebPushException as exc:
        status = getattr(exc.response, "status_code", None)
        error = (f"Push-Dienst antwortete {status}" if status else str(exc))[:300]
        if status is not None and 300 <= status < 400:
            # Never followed: a public endpoint could send us on to an internal address.
            PushSubscription.objects.filter(pk=sub.pk).update(last_error=error)
            raise Undeliverable(f"{error} (Weiterleitung, nicht verfolgt)") from exc
        if status in (404, 410):  # the subscription is gone for good
            PushSubscription.objects.filter(pk=sub.pk).delete()
            raise Undeliverable(error) from exc
        PushSubscription.objects.filter(pk=sub.pk).update(last_error=error)
        raise RuntimeError(error) from exc
    except Exception as exc:  # network errors: retried like a refusal
        PushSubscription.objects.filter(pk=sub.pk).update(last_error=str(exc)[:300])
        raise


SEND_TIMEOUT_SECONDS = 10


def pinned_session(address: str):
    """A requests session that connects to ``address`` only (whatever the URL's host resolves
    to by then; TLS still checks the certificate against the host name), follows no redirect
    and ignores proxy settings of the environment."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    def pin(connection_class):
        class Pinned(connection_class):
            def _new_conn(self):
                host = self._dns_host
                self._dns_host = address
                try:
                    return super()._new_conn()
                finally:
                    self._dns_host = host
        return Pinned

    class PinnedHTTPPool(HTTPConnectionPool):
        ConnectionCls = pin(HTTPConnection)

    class PinnedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = pin(HTTPSConnection)

    class PinnedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": PinnedHTTPPool,
                                                       "https": PinnedHTTPSPool}

    class NoRedirects(requests.Session):
        def get_redirect_target(self, resp):
            return None  # a 3xx answer is the answer

    session = NoRedirects()
    session.trust_env = False
    adapter = PinnedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


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


class SubscriptionOut(Schema):
    id: int
    endpoint: str
    created: bool


class VapidKeyOut(Schema):
    public_key: str


@router.post("/push/subscriptions", response={200: SubscriptionOut, 201: SubscriptionOut},
             operation_id="push_subscribe")
def add_subscription(request, payload: SubscriptionIn):
    """Push-Abonnement dieses Geräts speichern (gleicher Endpunkt: aktualisiert)."""
    row, created = subscribe(request.auth, payload.endpoint, payload.keys.p256dh,
                             payload.keys.auth)
    return Status(201 if created else 200, {"id": row.pk, "endpoint": row.endpoint,
                                            "created": created})


@router.delete("/push/subscriptions", response={204: None}, operation_id="push_unsubscribe")
def remove_subscription(request, endpoint: str):
    """Push-Abonnement abmelden (``?endpoint=…``)."""
    unsubscribe(request.auth, endpoint)
    return Status(204, None)


@router.get("/push/vapid-public-key", response=VapidKeyOut, operation_id="push_vapid_key")
def vapid_public_key(request):
    """Öffentlicher VAPID-Schlüssel (``applicationServerKey`` für ``pushManager.subscribe``)."""
    if not configured():
        raise NotFound("Web Push ist auf diesem Server nicht eingerichtet.")
    return {"public_key": settings.VAPID_PUBLIC_KEY}
