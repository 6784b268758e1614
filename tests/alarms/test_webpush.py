"""Web Push (VAPID) as an extra alarm channel, against the real server and a real local HTTP
server acting as the push service; the test decrypts what arrives with a subscriber key pair of
its own, as a browser would."""

import base64
import io
import json
import os
import re

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core.management import call_command

from beistand.alarms import webpush
from beistand.alarms.webpush import PushMessage, PushSubscription
from tests.alarms.helpers import Peer, call, post, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Browser:
    """A subscriber's key pair, as a browser makes it for ``pushManager.subscribe``."""

    def __init__(self, endpoint):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.endpoint = endpoint

    def subscription(self):
        public = self.key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}

    def decrypt(self, body: bytes) -> dict:
        plain = http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth,
                                 version="aes128gcm")
        return json.loads(plain)


@pytest.fixture
def vapid(settings, monkeypatch):
    out = io.StringIO()
    call_command("alarm", "vapid-keys", stdout=out)
    keys = dict(line.split("=", 1) for line in out.getvalue().split())
    settings.VAPID_PRIVATE_KEY = keys["BEISTAND_VAPID_PRIVATE_KEY"]
    settings.VAPID_PUBLIC_KEY = keys["BEISTAND_VAPID_PUBLIC_KEY"]
    settings.VAPID_SUBJECT = "mailto:sicherheit@teststadt.example"
    # The local push service speaks plain HTTP, on loopback: an on-premise push service.
    monkeypatch.setattr(webpush, "ALLOWED_SCHEMES", ("https", "http"))
    settings.WEBPUSH_ALLOWED_HOSTS = ["127.0.0.1"]
    return keys


@pytest.fixture
def push_service():
    with Peer(default_status=201, answer=lambda n: {}) as peer:
        yield peer


def test_vapid_keys_command_makes_a_usable_pair(vapid):
    private = unb64url(vapid["BEISTAND_VAPID_PRIVATE_KEY"])
    public = unb64url(vapid["BEISTAND_VAPID_PUBLIC_KEY"])
    assert len(private) == 32 and len(public) == 65 and public[0] == 4
    key = ec.derive_private_key(int.from_bytes(private, "big"), ec.SECP256R1())
    assert key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint) == public


def test_public_key_endpoint(server, people, token, settings, vapid):
    t = token(people["neighbour"])
    resp = call(server, "GET", "/api/v1/push/vapid-public-key", t)
    assert resp.status_code == 200 and resp.json() == {
        "public_key": vapid["BEISTAND_VAPID_PUBLIC_KEY"]}
    assert call(server, "GET", "/api/v1/push/vapid-public-key").status_code == 401
    settings.VAPID_PRIVATE_KEY = settings.VAPID_PUBLIC_KEY = ""
    resp = call(server, "GET", "/api/v1/push/vapid-public-key", t)
    assert resp.status_code == 404 and "nicht eingerichtet" in resp.json()["detail"]


def test_subscribe_is_idempotent_per_endpoint_and_unsubscribe(server, people, token, vapid,
                                                              push_service):
    t_nb, t_far = token(people["neighbour"]), token(people["far"])
    browser = Browser(f"{push_service.url}/push/abc")
    first = post(server, "/api/v1/push/subscriptions", t_nb, browser.subscription())
    assert first.status_code == 201, first.text
    again = post(server, "/api/v1/push/subscriptions", t_nb, browser.subscription())
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    renewed = Browser(browser.endpoint)  # the browser renewed its keys
    assert post(server, "/api/v1/push/subscriptions", t_nb,
                renewed.subscription()).status_code == 200
    (row,) = PushSubscription.objects.all()
    assert row.user == people["neighbour"]
    assert row.p256dh == renewed.subscription()["keys"]["p256dh"]

    path = "/api/v1/push/subscriptions"
    assert call(server, "DELETE", path, t_far,
                params={"endpoint": browser.endpoint}).status_code == 404  # not hers
    assert call(server, "DELETE", path, t_nb,
                params={"endpoint": browser.endpoint}).status_code == 204
    assert not PushSubscription.objects.exists()
    assert call(server, "DELETE", path, t_nb,
                params={"endpoint": browser.endpoint}).status_code == 404


def test_bad_subscriptions_are_refused(server, people, token, vapid, push_service):
    t = token(people["neighbour"])
    good = Browser(f"{push_service.url}/push/1").subscription()
    bad = [
        {**good, "endpoint": "ftp://push.example/x"},
        {**good, "endpoint": "nicht-einmal-eine-url"},
        {**good, "keys": {**good["keys"], "p256dh": "A" * 87}},  # not a point
        {**good, "keys": {**good["keys"], "p256dh": "!" * 87}},  # not base64url
        {**good, "keys": {**good["keys"], "auth": b64url(os.urandom(20))}},
        {**good, "keys": {"p256dh": good["keys"]["p256dh"]}},
        {**good, "extra": 1},
        {"keys": good["keys"]},
    ]
    for body in bad:
        resp = post(server, "/api/v1/push/subscriptions", t, body)
        assert resp.status_code == 400, (body, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
    assert post(server, "/api/v1/push/subscriptions", None, good).status_code == 401
    assert not PushSubscription.objects.exists()


def verify_vapid(header: str, public_key: str, audience: str, subject: str):
    match = re.fullmatch(r"vapid t=([^,\s]+),\s*k=(\S+)", header)
    assert match, header
    jwt, k = match.groups()
    assert k == public_key
    head, claims, signature = jwt.split(".")
    sig = unb64url(signature)
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(public_key))
    key.verify(encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                    int.from_bytes(sig[32:], "big")),
               f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    claims = json.loads(unb64url(claims))
    assert claims["aud"] == audience and claims["sub"] == subject and claims["exp"]


def test_alarm_is_pushed_encrypted_to_the_receivers_subscriptions(server, people, fast_plan,
                                                                  token, vapid, push_service):
    t_sender, t_nb = token(people["sender"]), token(people["neighbour"])
    phone, laptop = (Browser(f"{push_service.url}/push/{n}") for n in ("phone", "laptop"))
    for browser in (phone, laptop):
        assert post(server, "/api/v1/push/subscriptions", t_nb,
                    browser.subscription()).status_code == 201
    # The sender's own subscription gets nothing: she raised the alarm.
    own = Browser(f"{push_service.url}/push/own")
    post(server, "/api/v1/push/subscriptions", t_sender, own.subscription())

    resp = post(server, "/api/v1/alarms", t_sender, {"template": "beistand"})
    alarm_id = resp.json()["id"]
    wait_for(lambda: PushMessage.objects.filter(state="sent").count() == 2, what="2 pushes")
    by_path = {r["path"]: r for r in push_service.requests}
    assert set(by_path) == {"/push/phone", "/push/laptop"}
    for browser, name in ((phone, "/push/phone"), (laptop, "/push/laptop")):
        request = by_path[name]
        headers = {k.lower(): v for k, v in request["headers"].items()}
        assert headers["content-encoding"] == "aes128gcm"
        assert headers["ttl"] == str(webpush.TTL_SECONDS)
        assert headers["urgency"] == "high"
        verify_vapid(headers["authorization"], vapid["BEISTAND_VAPID_PUBLIC_KEY"],
                     push_service.url, "mailto:sicherheit@teststadt.example")
        assert b"Erika" not in request["body"]  # encrypted on the wire
        payload = browser.decrypt(request["body"])
        assert payload["alarm_id"] == alarm_id and payload["type"] == "alarm"
        assert payload["sender"] == "Erika Sender"
        assert "Erika Sender" in payload["title"] and "1.01" in payload["body"]


def test_gone_subscription_is_removed(server, people, fast_plan, token, vapid, push_service):
    push_service.default_status = 410
    t_sender, t_nb = token(people["sender"]), token(people["neighbour"])
    browser = Browser(f"{push_service.url}/push/alt")
    post(server, "/api/v1/push/subscriptions", t_nb, browser.subscription())
    post(server, "/api/v1/alarms", t_sender, {"template": "beistand"})
    wait_for(lambda: PushMessage.objects.filter(state="failed").exists(), what="push failed")
    assert not PushSubscription.objects.exists()
    assert len(push_service.requests) == 1


def test_push_service_error_is_retried(server, people, fast_plan, token, vapid, push_service):
    push_service.statuses = [503]
    t_sender, t_nb = token(people["sender"]), token(people["neighbour"])
    browser = Browser(f"{push_service.url}/push/wackel")
    post(server, "/api/v1/push/subscriptions", t_nb, browser.subscription())
    post(server, "/api/v1/alarms", t_sender, {"template": "beistand"})
    wait_for(lambda: PushMessage.objects.filter(state="sent").exists(), timeout=15,
             what="push sent after a retry")
    (msg,) = PushMessage.objects.all()
    assert msg.attempts == 2 and [r["status"] for r in push_service.requests] == [503, 201]


def test_without_vapid_keys_nothing_is_queued(server, people, fast_plan, token, vapid,
                                              push_service, settings):
    t_sender, t_nb = token(people["sender"]), token(people["neighbour"])
    post(server, "/api/v1/push/subscriptions", t_nb,
         Browser(f"{push_service.url}/push/x").subscription())
    settings.VAPID_PRIVATE_KEY = ""
    alarm_id = post(server, "/api/v1/alarms", t_sender, {"template": "beistand"}).json()["id"]
    from beistand.alarms.models import AlarmRecipient

    wait_for(lambda: AlarmRecipient.objects.filter(alarm_id=alarm_id).exists(),
             what="alarm dispatched")
    assert not PushMessage.objects.exists()


def test_no_push_once_the_alarm_has_ended(server, people, fast_plan, token, vapid, push_service):
    """Like SMS and calls: a push still queued (here: waiting for its retry) when the all-clear
    comes is never sent; it fails with the reason and no second request reaches the service."""
    push_service.statuses = [503]
    t_sender, t_nb = token(people["sender"]), token(people["neighbour"])
    browser = Browser(f"{push_service.url}/push/spaet")
    post(server, "/api/v1/push/subscriptions", t_nb, browser.subscription())
    alarm_id = post(server, "/api/v1/alarms", t_sender, {"template": "beistand"}).json()["id"]
    wait_for(lambda: PushMessage.objects.filter(attempts=1, state="queued").exists(),
             what="first push attempt refused by the service")
    assert post(server, f"/api/v1/alarms/{alarm_id}/resolve", t_sender,
                {}).status_code == 200
    wait_for(lambda: PushMessage.objects.filter(state="failed").exists(), timeout=15,
             what="queued push given up after the all-clear")
    (msg,) = PushMessage.objects.all()
    assert msg.error == webpush.STALE_REASON
    assert [r["status"] for r in push_service.requests] == [503]
