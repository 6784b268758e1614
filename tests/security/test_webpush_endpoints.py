"""Issue 16, finding 15: Web Push accepted subscription endpoints on internal addresses
(169.254.169.254, loopback, private ranges) - the server would have sent requests there - and
let another user take over a subscription. Now only public https push services (or hosts in
BEISTAND_WEBPUSH_ALLOWED_HOSTS for an on-premise service), checked when subscribing and again
before every send, and a subscription stays bound to its owner."""

import base64
import json
import os

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.utils import timezone

from beistand.alarms import services as alarms
from beistand.alarms import webpush
from beistand.alarms.webpush import PushMessage, PushSubscription
from tests.alarms.conftest import alarm_defaults, people  # noqa: F401
from tests.alarms.helpers import Peer

pytestmark = pytest.mark.django_db
URL = "/api/v1/push/subscriptions"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def subscription(endpoint):
    public = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        Encoding.X962, PublicFormat.UncompressedPoint)
    return {"endpoint": endpoint, "expirationTime": None,
            "keys": {"p256dh": b64url(public), "auth": b64url(os.urandom(16))}}


def subscribe(client, headers, body):
    return client.post(URL, json.dumps(body), content_type="application/json", **headers)


@pytest.mark.parametrize("endpoint", [
    "https://169.254.169.254/latest/meta-data/",   # the reproduction: cloud metadata service
    "https://127.0.0.1:8443/push/1", "https://[::1]/push/1", "https://localhost/push/1",
    "https://10.1.2.3/push/1", "https://192.168.178.1/push/1", "https://172.16.0.9/push/1",
    "https://[fd00::1]/push/1", "https://0.0.0.0/push/1", "http://8.8.8.8/push/1",
    "https://user@8.8.8.8/push/1",
])
def test_internal_endpoints_are_refused(client, people, bearer, endpoint):  # noqa: F811
    response = subscribe(client, bearer(people["neighbour"]), subscription(endpoint))
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert not PushSubscription.objects.exists()


def test_public_endpoint_and_on_premise_allow_list(client, people, bearer, settings):  # noqa: F811
    headers = bearer(people["neighbour"])
    assert subscribe(client, headers,
                     subscription("https://8.8.8.8/push/abc")).status_code == 201
    on_premise = "https://10.20.30.40/push/1"
    assert subscribe(client, headers, subscription(on_premise)).status_code == 400
    settings.WEBPUSH_ALLOWED_HOSTS = ["10.20.30.40"]
    assert subscribe(client, headers, subscription(on_premise)).status_code == 201


def test_a_subscription_cannot_be_taken_over(client, people, bearer):  # noqa: F811
    owner, other = bearer(people["neighbour"]), bearer(people["far"])
    mine = subscription("https://8.8.8.8/push/neighbour-phone")
    assert subscribe(client, owner, mine).status_code == 201
    stolen = subscription("https://8.8.8.8/push/neighbour-phone")
    response = subscribe(client, other, stolen)
    assert response.status_code == 409
    row = PushSubscription.objects.get()
    assert row.user == people["neighbour"] and row.p256dh == mine["keys"]["p256dh"]
    gone = client.delete(f"{URL}?endpoint=https://8.8.8.8/push/neighbour-phone", **other)
    assert gone.status_code == 404 and PushSubscription.objects.exists()
    # The owner renews the keys of the same endpoint.
    assert subscribe(client, owner, subscription(mine["endpoint"])).status_code == 200


def test_an_internal_endpoint_is_never_contacted_at_send_time(people, settings):  # noqa: F811
    """A row from before the check (or a name that resolves internally later)."""
    settings.VAPID_PRIVATE_KEY, settings.VAPID_PUBLIC_KEY = webpush.generate_vapid_keys()
    with Peer(default_status=201, answer=lambda n: {}) as peer:
        sub = PushSubscription.objects.create(user=people["neighbour"],
                                              endpoint=f"{peer.url}/push/1".replace(
                                                  "http://", "https://"),
                                              **{k: v for k, v in subscription("x")["keys"]
                                                 .items() if k in ("p256dh", "auth")})
        alarm = alarms.trigger(user=people["sender"], template="probealarm", source="web").alarm
        now = timezone.now()
        msg = PushMessage.objects.create(subscription=sub, alarm=alarm, payload="{}",
                                         state=PushMessage.State.QUEUED, created_at=now,
                                         updated_at=now, next_attempt_at=now)
        assert webpush.send_one(msg.pk) == "failed"
        assert peer.requests == []
