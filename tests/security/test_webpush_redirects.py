"""Issue 16 follow-up (attack review, 8): Web Push followed HTTP redirects to internal addresses
(an endpoint on a public host answering 302 to 169.254.169.254 or loopback), DNS rebinding got
around the address check (checked at one lookup, connected after another), and IPv4-mapped,
NAT64 and 6to4 forms of internal addresses passed as public.

Now the sender follows no redirect, resolves the host once and connects to the address it
checked (``webpush.pinned_session``), and refuses IPv6 forms that embed an internal IPv4
address. Tested with real local HTTP servers, and a resolver answer the test controls (the
system resolver's ``socket.getaddrinfo``, which both the check and the HTTP library use)."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from beistand.alarms import services as alarms
from beistand.alarms import webpush
from beistand.alarms.webpush import PushMessage, PushSubscription
from tests.alarms.conftest import alarm_defaults, people  # noqa: F401
from tests.security.test_webpush_endpoints import subscribe, subscription

pytestmark = pytest.mark.django_db


class Server:
    """A real HTTP server in a thread: answers every request with ``status`` (and a Location
    header when given) and records what it got."""

    def __init__(self, status=201, location=None):
        self.requests = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                server.requests.append((self.command, self.path, self.rfile.read(length)))
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def vapid(settings, monkeypatch):
    settings.VAPID_PRIVATE_KEY, settings.VAPID_PUBLIC_KEY = webpush.generate_vapid_keys()
    monkeypatch.setattr(webpush, "ALLOWED_SCHEMES", ("https", "http"))


def _queued(user, endpoint, sender):
    keys = {k: v for k, v in subscription("x")["keys"].items()}
    sub = PushSubscription.objects.create(user=user, endpoint=endpoint, **keys)
    alarm = alarms.trigger(user=sender, template="probealarm", source="web").alarm
    now = timezone.now()
    return PushMessage.objects.create(subscription=sub, alarm=alarm, payload="{}",
                                      state=PushMessage.State.QUEUED, created_at=now,
                                      updated_at=now, next_attempt_at=now)


def test_a_redirect_to_an_internal_address_is_not_followed(people, vapid,  # noqa: F811
                                                           settings):
    internal = Server(status=200)  # stands for 169.254.169.254 / a loopback service
    push = Server(status=302, location=f"http://127.0.0.2:{internal.port}/latest/meta-data/")
    try:
        # The push service itself is allowed (on-premise, by host name); where it redirects to
        # is not.
        settings.WEBPUSH_ALLOWED_HOSTS = ["127.0.0.1"]
        msg = _queued(people["neighbour"], f"http://127.0.0.1:{push.port}/push/1",
                      people["sender"])
        assert webpush.send_one(msg.pk) == "failed"
        assert [r[0] for r in push.requests] == ["POST"]
        assert internal.requests == []  # the reproduction: the redirect was followed
        assert "302" in PushSubscription.objects.get().last_error
    finally:
        push.close()
        internal.close()


def test_dns_rebinding_cannot_move_the_connection_to_loopback(people, vapid,  # noqa: F811
                                                              monkeypatch):
    """The host resolves to a public address when checked, to loopback afterwards. The sender
    asks once and connects to the address it checked; the local server sees nothing."""
    internal = Server(status=201)
    answers = {"public": 0}
    system = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):
        if host == "push.rebind.test":
            answers["public"] += 1
            address = "8.8.8.8" if answers["public"] == 1 else "127.0.0.1"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return system(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    # The public address is contacted (pinned) but need not answer: give up soon.
    monkeypatch.setattr(webpush, "SEND_TIMEOUT_SECONDS", 2)
    try:
        msg = _queued(people["neighbour"], f"http://push.rebind.test:{internal.port}/push/1",
                      people["sender"])
        assert webpush.send_one(msg.pk) in ("retry", "failed", "sent")
        assert internal.requests == []
        assert answers["public"] == 1
    finally:
        internal.close()


@pytest.mark.parametrize("endpoint", [
    "https://[::ffff:169.254.169.254]/push/1",   # IPv4-mapped
    "https://[::ffff:7f00:1]/push/1",
    "https://[64:ff9b::a9fe:a9fe]/push/1",       # NAT64 of the metadata service
    "https://[64:ff9b::7f00:1]/push/1",          # NAT64 of loopback
    "https://[64:ff9b:1::a00:1]/push/1",         # local-use NAT64
    "https://[2002:a9fe:a9fe::1]/push/1",        # 6to4 of the metadata service
    "https://[2002:7f00:1::1]/push/1",           # 6to4 of loopback
    "https://[::a9fe:a9fe]/push/1",              # IPv4-compatible
])
def test_ipv6_forms_of_internal_addresses_are_refused(client, people, bearer,  # noqa: F811
                                                      endpoint):
    response = subscribe(client, bearer(people["neighbour"]), subscription(endpoint))
    assert response.status_code == 400, response.content
    assert not PushSubscription.objects.exists()


def test_a_name_resolving_to_a_nat64_form_of_loopback_is_refused(client, people,  # noqa: F811
                                                                 bearer, monkeypatch):
    system = socket.getaddrinfo

    def nat64(host, port, *args, **kwargs):
        if host == "push.nat64.test":
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("64:ff9b::7f00:1", port, 0, 0))]
        return system(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", nat64)
    response = subscribe(client, bearer(people["neighbour"]),
                         subscription("https://push.nat64.test/push/1"))
    assert response.status_code == 400
    # Public IPv6 and NAT64 of a public address stay allowed.
    for endpoint in ("https://[2606:4700:4700::1111]/push/1", "https://[64:ff9b::808:808]/p/2"):
        assert subscribe(client, bearer(people["neighbour"]),
                         subscription(endpoint)).status_code == 201
