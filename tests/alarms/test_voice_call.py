"""Issue 19 items 2 and 6: voice calls through the SMS gateway's call API, against the real
server and the demo's gateway peer (a real HTTP server on loopback with ``/send`` and ``/call``,
which posts the pressed key back signed, as a gateway does). The last-resort tier calls its
offline receivers that have a phone number; key 1 counts like "Ich komme" in the app; the
re-notification calls again; a call is retried through the outbox and never placed for an alarm
that has ended."""

import asyncio
import json
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from beistand.alarms import calls, dispatch, services, sms_inbound
from beistand.alarms.models import Alarm, AlarmRecipient, VoiceCall
from beistand.demo.sms_gateway import DemoGateway
from tests.alarms.conftest import Receiver
from tests.alarms.helpers import Peer, post, wait_for
from tests.alarms.test_sms import SECRET, set_tiers
from tests.core.test_settings_fail_fast import _start

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_gateway(server, settings):
    gateway = DemoGateway(callback=server.http, secret=SECRET).start()
    settings.SMS_PROVIDER = "http"
    settings.SMS_HTTP_URL = f"{gateway.url}/send"
    settings.SMS_CALL_URL = f"{gateway.url}/call"
    settings.SMS_INBOUND_SECRET = SECRET
    yield gateway
    gateway.stop()


@pytest.fixture
def last_resort(people):
    """Tier 1 the neighbour (offline, no phone), tier 2 — the last resort — far (offline,
    mobile 0171 2222222) and the security guard (offline, no phone)."""
    set_tiers({"kind": "people", "people": [people["neighbour"]], "sms_when_offline": False},
              {"kind": "people", "people": [people["far"], people["security"]]})
    return people


def test_the_last_resort_calls_and_key_1_counts_like_the_app(demo_gateway, server,
                                                            last_resort, token):
    t_sender = token(last_resort["sender"])

    async def scenario():
        async with Receiver(server.ws, t_sender) as sender:
            resp = await asyncio.to_thread(post, server, "/api/v1/alarms", t_sender,
                                           {"template": "beistand"})
            assert resp.status_code == 201, resp.text
            alarm_id = resp.json()["id"]
            await asyncio.to_thread(wait_for, lambda: demo_gateway.calls, 10, 0.05,
                                    "a call at the gateway")
            (call,) = demo_gateway.calls
            pressed = await asyncio.to_thread(demo_gateway.press, call["id"], "1")
            assert pressed is True
            help_coming = await sender.next_event(type="alarm_update", kind="help_coming",
                                                  timeout=8)
            assert help_coming["text"] == "Hilfe kommt: Franz Far"
            return alarm_id, call

    alarm_id, call = asyncio.run(scenario())
    assert call["to"] == "+491712222222" and call["reference"].startswith("call-")
    assert call["text"].startswith(f"Stiller Alarm Nummer {alarm_id}: Beistand. Ort: Raum 1.01")
    assert call["text"].endswith("Taste 1 für Ich komme. Taste 2 für Kann nicht.")
    # The same receiver also got the SMS (with its answer link); nobody without a phone is
    # called, and nobody outside the last tier.
    assert [m["to"] for m in demo_gateway.sent] == ["+491712222222"]
    row = VoiceCall.objects.get(alarm_id=alarm_id)
    assert (row.state, row.digits, row.gateway_id, row.attempts) == ("answered", "1",
                                                                     call["id"], 1)
    alarm = Alarm.objects.get(pk=alarm_id)
    assert alarm.state == "acknowledged" and alarm.next_deadline is None  # escalation stopped
    far = AlarmRecipient.objects.get(alarm=alarm, inbox__user=last_resort["far"])
    assert far.response == "coming"
    assert alarm.timeline.filter(kind="response", text="Franz Far: kommt (per Anruf)").exists()
    # The demo gateway's page lists the call and the key pressed.
    page = demo_gateway.page()
    assert "Anrufe (Sprachansage)" in page and "Taste 1 gedrückt" in page


def test_re_notification_calls_again_and_never_for_an_ended_alarm(demo_gateway, server,
                                                                  last_resort, settings):
    settings.ALARM_RENOTIFY_MINUTES = 5
    alarm = services.trigger(user=last_resort["sender"], template="beistand").alarm
    wait_for(lambda: len(demo_gateway.calls) == 1, what="the first call")
    alarm.refresh_from_db()
    later = alarm.next_deadline + timedelta(seconds=1)
    assert dispatch.advance(alarm.pk, later) == "escalated"  # exhausted: staff alerted
    assert dispatch.advance(alarm.pk, later + timedelta(minutes=5, seconds=1)) == "renotified"
    wait_for(lambda: len([c for c in demo_gateway.calls if c["to"] == "+491712222222"]) == 2,
             what="far called again (re-notified)")

    # Queued, then the alarm ends before the engine places it: the call is never placed.
    before = len(demo_gateway.calls)
    services.resolve(last_resort["sender"], alarm.pk)
    now = timezone.now()
    stale = VoiceCall.objects.create(alarm=alarm, phone="+491712222222", text="x",
                                     state="queued", created_at=now, updated_at=now,
                                     next_attempt_at=now)
    wait_for(lambda: VoiceCall.objects.get(pk=stale.pk).state == "cancelled",
             what="the stale call cancelled")
    assert len(demo_gateway.calls) == before
    assert VoiceCall.objects.get(pk=stale.pk).error == calls.STALE_REASON


def test_a_failing_call_api_is_retried_through_the_outbox(server, last_resort, settings):
    with Peer() as peer:
        # The SMS goes first (200), the call of the same step is refused once (503).
        peer.statuses = [200, 503]
        settings.SMS_PROVIDER = "http"
        settings.SMS_HTTP_URL = f"{peer.url}/send"
        settings.SMS_CALL_URL = f"{peer.url}/call"
        alarm = services.trigger(user=last_resort["sender"], template="beistand").alarm
        row = wait_for(lambda: VoiceCall.objects.filter(alarm=alarm, state="sent").first(),
                       timeout=15, what="the call placed after a retry")
        tries = [r for r in peer.requests if r["path"] == "/call"]
        assert [r["status"] for r in tries] == [503, 200]
        assert row.attempts == 2 and row.error == ""
        body = json.loads(tries[-1]["body"])
        assert body["reference"] == f"call-{row.pk}" and body["language"] == "de-DE"
        assert body["digits"] == ["1", "2"]


def test_call_results_are_signed_fresh_and_known(demo_gateway, server, last_resort):
    def result(payload, secret=SECRET):
        body = json.dumps({"received_at": timezone.now().isoformat(), **payload}).encode()
        headers = {"Content-Type": "application/json"}
        if secret:
            headers["X-Beistand-Signature"] = sms_inbound.sign(body, secret)
        return post(server, "/api/v1/sms/call-result", content=body, headers=headers)

    alarm = services.trigger(user=last_resort["sender"], template="beistand").alarm
    row = wait_for(lambda: VoiceCall.objects.filter(alarm=alarm, state="sent").first(),
                   what="call placed")
    pressed = {"id": row.gateway_id, "status": "answered", "digits": "2"}
    for secret in (None, "falsch"):
        assert result(pressed, secret).status_code == 401
    old = (timezone.now() - timedelta(minutes=30)).isoformat()
    assert result({**pressed, "received_at": old}).status_code == 401  # a replay
    assert result({"id": "gibt-es-nicht", "status": "answered", "digits": "1"}).status_code \
        == 202
    assert result({**pressed, "status": "klingelt"}).status_code == 400
    far = AlarmRecipient.objects.get(alarm=alarm, inbox__user=last_resort["far"])
    assert far.response == ""
    ok = result(pressed)
    assert ok.status_code == 200 and ok.json()["answer"] == "cannot"
    again = result(pressed)
    assert again.json()["duplicate"] is True
    far.refresh_from_db()
    assert far.response == "cannot"
    assert result({"reference": f"call-{row.pk}", "status": "unanswered"}).status_code == 200
    assert VoiceCall.objects.get(pk=row.pk).state == "unanswered"


@pytest.mark.parametrize(("env", "message"), [
    ({"BEISTAND_SMS_PROVIDER": "http", "BEISTAND_SMS_CALL_URL": "gateway.local/call"},
     "BEISTAND_SMS_CALL_URL must be an http(s) URL"),
    ({"BEISTAND_SMS_CALL_URL": "http://gateway.local/call"},
     "BEISTAND_SMS_CALL_URL needs BEISTAND_SMS_PROVIDER=http"),
    ({"BEISTAND_BASE_URL": "https://" + "x" * 100}, "BEISTAND_BASE_URL must be an http(s) URL"),
    ({"BEISTAND_ALARM_ANSWER_LINK_HOURS": "0"}, "BEISTAND_ALARM_ANSWER_LINK_HOURS must be"),
])
def test_a_wrong_call_or_link_setting_stops_start_up(tmp_path, env, message):
    result: subprocess.CompletedProcess = _start(tmp_path, **env)
    assert result.returncode != 0 and message in result.stderr, result.stderr
