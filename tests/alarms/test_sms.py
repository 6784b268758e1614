"""SMS for the silent alarm against the real server: outgoing fallbacks through a real local HTTP
gateway (generic JSON provider) and a Gammu outbox directory, retries, delivery reports, and
inbound alarm SMS from phones without data."""

import asyncio
import json
import logging
import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from beistand.alarms import sms, sms_inbound
from beistand.alarms.models import Alarm, AlarmPlan, AlarmRecipient, AlarmTier, SmsMessage
from tests.alarms.conftest import Receiver
from tests.alarms.helpers import Peer, post, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "gateway-geheimnis"


@pytest.fixture
def gateway(settings):
    """A real HTTP SMS gateway; settings point the server's SMS loop at it."""
    with Peer() as peer:
        settings.SMS_PROVIDER = "http"
        settings.SMS_HTTP_URL = f"{peer.url}/send"
        settings.SMS_HTTP_TOKEN = "gw-token"
        settings.SMS_SENDER = "Stadt"
        settings.SMS_INBOUND_SECRET = SECRET
        yield peer


def set_tiers(*tiers):
    """Replace the default plan's tiers: dicts of AlarmTier fields plus optional people."""
    with transaction.atomic():
        plan = AlarmPlan.objects.get(scope="default")
        plan.tiers.all().delete()
        for order, spec in enumerate(tiers, start=1):
            spec = dict(spec)
            members = spec.pop("people", [])
            tier = AlarmTier.objects.create(plan=plan, order=order, timeout_s=30, radius_m=10,
                                            acks_needed=1, **spec)
            tier.people.set([u.employee for u in members])
    return plan


@pytest.fixture
def with_mobiles(people):
    with transaction.atomic():
        emp = people["neighbour"].employee
        emp.mobile_phone = "+49 151 3333333"
        emp.save()
    return people


def sms_rows(**filters):
    return list(SmsMessage.objects.filter(direction="out", **filters).order_by("id"))


def trigger_with_receivers_online(server, token, people, online=()):
    """Trigger as the sender while ``online`` users hold a WebSocket; -> alarm id."""
    tokens = {name: token(people[name]) for name in ("sender", *online)}

    async def scenario():
        receivers = [Receiver(server.ws, tokens[name]) for name in online]
        for r in receivers:
            await r.__aenter__()
        try:
            await asyncio.sleep(0.5)  # presence is written in batches
            resp = await asyncio.to_thread(post, server, "/api/v1/alarms", tokens["sender"],
                                           {"template": "beistand"})
            assert resp.status_code == 201, resp.text
            for r in receivers:
                await r.next_event(type="alarm")
            return resp.json()["id"]
        finally:
            for r in receivers:
                await r.__aexit__(None, None, None)

    return asyncio.run(scenario())


# --- Outgoing -----------------------------------------------------------------------------------

def test_offline_receivers_get_an_sms_online_ones_do_not(gateway, server, with_mobiles, token):
    people = with_mobiles
    set_tiers({"kind": "people", "people": [people["neighbour"], people["far"]],
               "sms_when_offline": True})
    alarm_id = trigger_with_receivers_online(server, token, people, online=["neighbour"])

    wait_for(lambda: len(gateway.requests) >= 1, what="SMS at the gateway")
    wait_for(lambda: sms_rows(state="sent"), what="SMS marked sent")
    rows = sms_rows()
    assert [r.phone for r in rows] == ["+491712222222"]  # normalised for the gateway
    body = gateway.json_bodies()[0]
    assert body["to"] == "+491712222222"
    assert body["sender"] == "Stadt"
    assert body["reference"] == f"sms-{rows[0].pk}"
    text = body["text"]
    assert "Erika Sender" in text and "1.01" in text and "+49 170 1111111" in text
    assert "Beistand" in text
    assert gateway.requests[0]["headers"]["Authorization"] == "Bearer gw-token"
    assert gateway.requests[0]["path"] == "/send"
    row = rows[0]
    assert row.alarm_id == alarm_id and row.gateway_id == "gw-1" and row.attempts == 1
    flags = dict(AlarmRecipient.objects.filter(alarm_id=alarm_id)
                 .values_list("inbox__user__username", "sms_sent"))
    assert flags == {"neighbour": False, "far": True}
    assert len(gateway.requests) == 1


def test_sms_always_reaches_online_receivers_too(gateway, server, with_mobiles, token):
    people = with_mobiles
    set_tiers({"kind": "people", "people": [people["neighbour"], people["far"]],
               "sms_when_offline": False, "sms_always": True})
    trigger_with_receivers_online(server, token, people, online=["neighbour"])
    wait_for(lambda: len(sms_rows(state="sent")) == 2, what="two SMS sent")
    assert sorted(b["to"] for b in gateway.json_bodies()) == ["+491513333333",
                                                              "+491712222222"]


def test_no_sms_when_the_tier_does_not_want_one(gateway, server, with_mobiles, token):
    people = with_mobiles
    # (Not the last tier: the last one is the last resort and always texts offline receivers.)
    set_tiers({"kind": "people", "people": [people["far"]], "sms_when_offline": False},
              {"kind": "security", "sms_when_offline": True})
    alarm_id = trigger_with_receivers_online(server, token, people)
    wait_for(lambda: AlarmRecipient.objects.filter(alarm_id=alarm_id).count() == 2,
             what="far and security notified")
    assert sms_rows() == []  # far: not wanted; the guard has no mobile number


def test_external_tier_texts_the_control_room(gateway, server, people, token):
    set_tiers({"kind": "external", "external_phone": "0221 9876543"})
    alarm_id = trigger_with_receivers_online(server, token, people)
    wait_for(lambda: sms_rows(state="sent"), what="SMS to the control room")
    (body,) = gateway.json_bodies()
    assert body["to"] == "+492219876543"
    assert "Erika Sender" in body["text"] and "Hauptgebäude" in body["text"]
    assert sms_rows()[0].alarm_id == alarm_id


def test_gateway_error_is_retried_with_backoff(gateway, server, people, token):
    gateway.statuses = [500]
    set_tiers({"kind": "people", "people": [people["far"]]})
    trigger_with_receivers_online(server, token, people)
    wait_for(lambda: sms_rows(state="sent"), timeout=15, what="SMS sent after a retry")
    (row,) = sms_rows()
    assert row.attempts == 2 and row.gateway_id == "gw-2" and row.error == ""
    assert [r["status"] for r in gateway.requests] == [500, 200]
    first, second = gateway.json_bodies()
    assert first == second  # the same message again, same reference


def test_gateway_failing_for_good_marks_the_sms_failed(gateway, server, people, token,
                                                       settings):
    settings.SMS_MAX_ATTEMPTS = 2
    gateway.default_status = 500
    set_tiers({"kind": "people", "people": [people["far"]]})
    trigger_with_receivers_online(server, token, people)
    wait_for(lambda: sms_rows(state="failed"), timeout=15, what="SMS failed")
    (row,) = sms_rows()
    assert row.attempts == 2 and "500" in row.error
    assert len(gateway.requests) == 2


def test_delivery_reports_need_the_signature(gateway, server, people, token):
    set_tiers({"kind": "people", "people": [people["far"]]})
    trigger_with_receivers_online(server, token, people)
    (row,) = wait_for(lambda: sms_rows(state="sent"), what="SMS sent")

    def report(payload, signature):
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Beistand-Signature"] = signature(body)
        return post(server, "/api/v1/sms/status", content=body, headers=headers)

    delivered = {"id": row.gateway_id, "status": "delivered"}
    for bad in (None, lambda b: sms_inbound.sign(b, "falsch"), lambda b: "sha256=00",
                lambda b: sms_inbound.sign(b + b" ", SECRET)):
        resp = report(delivered, bad)
        assert resp.status_code == 401, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
    assert SmsMessage.objects.get(pk=row.pk).state == "sent"

    resp = report(delivered, lambda b: sms_inbound.sign(b, SECRET))
    assert resp.status_code == 200 and resp.json() == {"updated": True}
    assert SmsMessage.objects.get(pk=row.pk).state == "delivered"
    resp = report({"id": "unbekannt", "status": "failed", "error": "x"},
                  lambda b: sms_inbound.sign(b, SECRET))
    assert resp.json() == {"updated": False}
    resp = report({"id": row.gateway_id, "status": "gelesen"},
                  lambda b: sms_inbound.sign(b, SECRET))
    assert resp.status_code == 400
    assert SmsMessage.objects.get(pk=row.pk).state == "delivered"
    # With received_at (as docs/integration.md allows), inside the window it counts; a replay
    # outside it is refused like an inbound SMS.
    now = timezone.now()
    resp = report({**delivered, "received_at": now.isoformat()},
                  lambda b: sms_inbound.sign(b, SECRET))
    assert resp.status_code == 200, resp.text
    resp = report({"id": row.gateway_id, "status": "failed",
                   "received_at": (now - timedelta(days=1)).isoformat()},
                  lambda b: sms_inbound.sign(b, SECRET))
    assert resp.status_code == 401
    assert SmsMessage.objects.get(pk=row.pk).state == "delivered"


def test_gammu_spool_provider_writes_the_outbox_file(server, people, token, settings,
                                                     tmp_path):
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    settings.SMS_PROVIDER = "gammu"
    settings.SMS_GAMMU_OUTBOX = str(outbox)
    set_tiers({"kind": "people", "people": [people["far"]]})
    trigger_with_receivers_online(server, token, people)
    (row,) = wait_for(lambda: sms_rows(state="sent"), what="SMS spooled")
    files = sorted(p.name for p in outbox.iterdir())
    assert files == [row.gateway_id]  # nothing half-written or temporary left behind
    # gammu-smsd: OUT<priority><date>_<time>_<serial>_<number>_<anything>.txt
    assert re.fullmatch(rf"OUTC\d{{8}}_\d{{6}}_00_\+491712222222_sms{row.pk}\.txt", files[0])
    raw = (outbox / files[0]).read_bytes()
    # Unicode with a byte order mark, which gammu-smsd reads whatever its locale.
    assert raw[:2] == b"\xfe\xff"
    assert raw[2:].decode("utf-16-be") == row.text
    assert "Hauptgebäude" in row.text


# --- Inbound ------------------------------------------------------------------------------------

def inbound(server, payload, secret=SECRET, raw=None):
    """POST an inbound SMS; a payload without received_at gets the current time (replay window)."""
    if payload is not None and "received_at" not in payload:
        payload = {**payload, "received_at": timezone.now().isoformat()}
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Beistand-Signature"] = sms_inbound.sign(body, secret)
    return post(server, "/api/v1/sms/inbound", content=body, headers=headers)


def test_inbound_alarm_sms_becomes_an_alarm(gateway, server, people, fast_plan, token):
    t_security = token(people["security"])

    async def scenario():
        async with Receiver(server.ws, t_security) as sec:
            await asyncio.sleep(0.5)
            resp = await asyncio.to_thread(inbound, server, {
                "from": "+49 171 2222222", "text": "ALARM 50.93753,6.96031 Eingang B",
                "id": "gw-in-1"})
            assert resp.status_code == 200, resp.text
            body = resp.json()
            assert body["accepted"] is True
            got = await sec.next_event(type="alarm", alarm_id=body["alarm_id"], timeout=8)
            assert got["sender"]["name"] == "Franz Far"
            assert got["location"]["position"]["lat"] == 50.93753
            assert got["location"]["position"]["lon"] == 6.96031
            assert got["location"]["text"] == "Eingang B"
            # The gateway retries the same message: still one alarm.
            again = await asyncio.to_thread(inbound, server, {
                "from": "+49 171 2222222", "text": "ALARM 50.93753,6.96031 Eingang B",
                "id": "gw-in-1"})
            assert again.json()["alarm_id"] == body["alarm_id"]
            return body["alarm_id"]

    alarm = Alarm.objects.get(pk=asyncio.run(scenario()))
    assert alarm.source == "sms" and alarm.sender_user == people["far"]
    assert alarm.location_text == "Eingang B"
    assert Alarm.objects.count() == 1
    assert SmsMessage.objects.filter(direction="in", state="received").count() == 1


@pytest.mark.parametrize("number,text,gateway_id", [
    ("01712222222", "hilfe", "a"),              # national format, HILFE, no position
    ("0049 171 2222222", "Alarm: Keller", "b"),  # 00 prefix
    ("+491712222222", "ALARM", "msg/2026-11-29 21:14#1"),  # any gateway id
])
def test_inbound_number_formats_and_gateway_ids(gateway, server, people, fast_plan, number,
                                                text, gateway_id):
    resp = inbound(server, {"from": number, "text": text, "id": gateway_id})
    assert resp.status_code == 200, resp.text
    alarm = Alarm.objects.get(pk=resp.json()["alarm_id"])
    assert alarm.sender_user == people["far"] and alarm.lat is None
    again = inbound(server, {"from": number, "text": text, "id": gateway_id})
    assert again.json()["alarm_id"] == alarm.pk and Alarm.objects.count() == 1


def test_inbound_with_a_wrong_signature_stores_nothing(gateway, server, people, fast_plan,
                                                       settings):
    payload = {"from": "+491712222222", "text": "ALARM", "id": "x1"}
    for secret in (None, "falsch"):
        resp = inbound(server, payload, secret=secret)
        assert resp.status_code == 401, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
    settings.SMS_INBOUND_SECRET = ""  # not configured: refused, whatever is sent
    assert inbound(server, payload, secret="").status_code == 401
    assert not Alarm.objects.exists() and not SmsMessage.objects.exists()


def test_inbound_from_an_unknown_number_or_no_alarm_text(gateway, server, people, fast_plan,
                                                          caplog):
    caplog.set_level(logging.WARNING, logger="beistand.alarms.sms")
    resp = inbound(server, {"from": "+49 160 0000000", "text": "ALARM", "id": "u1"})
    assert resp.status_code == 202 and resp.json()["accepted"] is False
    assert "Person" in resp.json()["reason"]
    resp = inbound(server, {"from": "+491712222222", "text": "Bin gleich da", "id": "u2"})
    assert resp.status_code == 202 and resp.json()["accepted"] is False
    assert "kein Alarm" in resp.json()["reason"]
    assert not Alarm.objects.exists()
    assert set(SmsMessage.objects.values_list("gateway_id", "state")) == {
        ("u1", "rejected"), ("u2", "rejected")}
    assert "Eingehende SMS abgewiesen" in caplog.text


def test_inbound_replay_outside_the_window_is_refused(gateway, server, people, fast_plan,
                                                      settings):
    settings.SMS_INBOUND_WINDOW_SECONDS = 60
    old = (timezone.now() - timedelta(seconds=120)).isoformat()
    ahead = (timezone.now() + timedelta(seconds=120)).isoformat()
    for payload in ({"from": "+491712222222", "text": "ALARM", "id": "r1", "received_at": old},
                    {"from": "+491712222222", "text": "ALARM", "id": "r2", "received_at": ahead},
                    {"from": "+491712222222", "text": "ALARM", "id": "r3",
                     "received_at": None}):
        resp = inbound(server, payload)
        assert resp.status_code == 401, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
    assert not Alarm.objects.exists() and not SmsMessage.objects.exists()
    # Within the window, the same signed body without a gateway id is one alarm, not two.
    payload = {"from": "+491712222222", "text": "ALARM", "received_at": timezone.now().isoformat()}
    first = inbound(server, payload)
    again = inbound(server, payload)
    assert first.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["alarm_id"] == first.json()["alarm_id"] and Alarm.objects.count() == 1


@pytest.mark.parametrize("reply,answer", [("1", "coming"), (" Komme! ", "coming"),
                                          ("ja", "coming"), ("2", "cannot"),
                                          ("kann nicht", "cannot"), ("NEIN", "cannot")])
def test_a_receiver_reached_by_sms_answers_by_sms(gateway, server, people, token, reply,
                                                  answer):
    set_tiers({"kind": "people", "people": [people["far"]], "sms_when_offline": True},
              {"kind": "people", "people": [people["neighbour"]]})
    t_sender = token(people["sender"])

    async def scenario():
        async with Receiver(server.ws, t_sender) as sender:
            resp = await asyncio.to_thread(post, server, "/api/v1/alarms", t_sender,
                                           {"template": "beistand"})
            alarm_id = resp.json()["id"]
            await asyncio.to_thread(wait_for, lambda: sms_rows(state="sent"),
                                    what="SMS to far sent")
            got = await asyncio.to_thread(inbound, server, {
                "from": "0171 2222222", "text": reply, "id": f"ans-{reply}"})
            assert got.status_code == 200, got.text
            assert got.json() == {"accepted": True, "alarm_id": alarm_id, "answer": answer,
                                  "duplicate": False, "reason": ""}
            if answer == "coming":
                update = await sender.next_event(type="alarm_update", kind="help_coming",
                                                 timeout=8)
                assert "Franz Far" in update["text"]
            return alarm_id

    alarm = Alarm.objects.get(pk=asyncio.run(scenario()))
    far = AlarmRecipient.objects.get(alarm=alarm, inbox__user=people["far"])
    assert far.response == answer and far.responded_at is not None
    assert alarm.timeline.filter(kind="response").exists()
    if answer == "coming":  # counts like the app: the escalation stops
        assert alarm.state == "acknowledged" and alarm.next_deadline is None
    assert SmsMessage.objects.filter(direction="in", state="received", alarm=alarm).count() == 1


def test_an_sms_answer_without_an_open_alarm_is_refused(gateway, server, people, token):
    resp = inbound(server, {"from": "0171 2222222", "text": "1", "id": "lonely"})
    assert resp.status_code == 202 and resp.json()["accepted"] is False
    assert "offener Alarm" in resp.json()["reason"]
    assert SmsMessage.objects.get(direction="in").state == "rejected"


def test_malformed_inbound_body_is_400(gateway, server, people, fast_plan):
    for raw in (b"{kaputt", b"[]", json.dumps({"from": "+491712222222"}).encode(),
                json.dumps({"from": 491712222222, "text": "ALARM"}).encode(),
                json.dumps({"from": "+491712222222", "text": "ALARM", "x": 1}).encode(),
                json.dumps({"from": "+491712222222", "text": "A" * 641}).encode()):
        resp = inbound(server, None, raw=raw)
        assert resp.status_code == 400, (raw, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
    assert not Alarm.objects.exists() and not SmsMessage.objects.exists()


def test_an_sms_a_dead_process_was_sending_is_queued_again(settings):
    now = timezone.now()
    rows = [SmsMessage.objects.create(direction="out", phone="+491711234567", text="ALARM",
                                      state="queued", created_at=now, updated_at=now,
                                      next_attempt_at=now) for _ in range(2)]
    # Both claimed by a process that then died; the second had used its last attempt.
    settings.SMS_MAX_ATTEMPTS = 2
    SmsMessage.objects.filter(pk=rows[1].pk).update(attempts=1)
    for row in rows:
        assert sms.OUTBOX.claim(row.pk, now=now - timedelta(minutes=5))
    assert sms.due_ids() == [rows[0].pk]
    first, second = (SmsMessage.objects.get(pk=r.pk) for r in rows)
    assert (first.state, first.attempts) == ("queued", 1)
    assert (second.state, second.attempts) == ("failed", 2)
    assert second.error.startswith("Zustellung abgebrochen")  # the admin sees why
    assert sms.send_one(second.pk) == "taken"


def test_a_late_outcome_does_not_overwrite_another_senders_claim(settings):
    """A send that outlasted its lease was reset and claimed again by a second sender; when the
    first sender's gateway call finally fails, the row stays the second sender's."""
    now = timezone.now()
    row = SmsMessage.objects.create(direction="out", phone="+491711234567", text="ALARM",
                                    state="queued", created_at=now, updated_at=now,
                                    next_attempt_at=now)
    settings.SMS_MAX_ATTEMPTS = 5

    def slow_then_refused(claimed):
        # Meanwhile: the lease ran out, the row was reset and a second sender delivered it.
        sms.OUTBOX.reset_stale(now=timezone.now() + timedelta(hours=1))
        assert sms.OUTBOX.claim(claimed.pk) is not None
        SmsMessage.objects.filter(pk=claimed.pk).update(state="sent")
        raise ConnectionError("Gateway antwortet nicht")

    attempt = sms.OUTBOX.send(row.pk, slow_then_refused)
    assert attempt.outcome == "retry"
    row.refresh_from_db()
    assert row.state == "sent"  # not queued again: no second SMS


# --- What an alarm SMS says, and stale SMS ------------------------------------------------------

def test_every_alarm_sms_names_number_time_and_place(gateway, server, people, token):
    set_tiers({"kind": "people", "people": [people["far"]]})
    alarm_id = trigger_with_receivers_online(server, token, people)
    wait_for(lambda: sms_rows(state="sent"), what="SMS sent")
    (body,) = gateway.json_bodies()
    alarm = Alarm.objects.get(pk=alarm_id)
    at = timezone.localtime(alarm.triggered_at).strftime("%d.%m. %H:%M")
    assert body["text"].startswith(f"ALARM Nr. {alarm_id} Beistand, {at} Uhr. Ort: Raum 1.01")
    assert "Von: Erika Sender, Tel. +49 170 1111111" in body["text"]


def test_alarm_sms_stays_within_the_sms_length_and_keeps_number_time_place(people):
    with transaction.atomic():
        emp = people["sender"].employee
        emp.first_name, emp.last_name = "E" * 100, "S" * 100
        emp.mobile_phone = "+49 170 " + "1" * 30
        emp.save()
    alarm = sms_inbound_free_alarm(people["sender"], location_text="Ü" * 200,
                                   position={"lat": 50.9375, "lon": 6.9603})
    text = sms.alarm_text(alarm)
    assert len(text) <= sms.SMS_MAX
    at = timezone.localtime(alarm.triggered_at).strftime("%d.%m. %H:%M")
    assert text.startswith(f"ALARM Nr. {alarm.pk} Beistand, {at} Uhr. Ort: Raum 1.01")
    assert "Von: " in text and "Tel. +49 170 1" in text  # nothing cut off at the end


def sms_inbound_free_alarm(user, **kw):
    from beistand.alarms import services
    return services.trigger(user=user, template="beistand", source="web", **kw).alarm


def test_sms_of_an_ended_alarm_is_never_sent_even_after_a_restart(gateway, people, token):
    """SMS queued while no server ran (as after a crash), for alarms that were then resolved
    or cancelled: the fresh process that works off the queue sends none of them; they are
    marked cancelled with the reason. The open alarm's SMS goes out."""
    from beistand.alarms import services
    from tests.alarms.server_process import ServerProcess

    set_tiers({"kind": "people", "people": [people["far"]]})
    sender = people["sender"]
    resolved = services.trigger(user=sender, template="beistand").alarm
    still_open = services.trigger(user=sender, template="bedrohung").alarm
    cancelled = services.trigger(user=sender, template="medizin", countdown_s=10).alarm
    services.cancel(sender, cancelled.pk)
    now = timezone.now()
    with transaction.atomic():  # as if queued before the countdown was broken off
        SmsMessage.objects.create(direction="out", phone="+491712222222", text="ALARM",
                                  alarm=cancelled, state="queued", created_at=now,
                                  updated_at=now, next_attempt_at=now)
    services.resolve(sender, resolved.pk, "Lage geklärt")
    assert {r.alarm_id for r in sms_rows(state="queued")} == {resolved.pk, still_open.pk,
                                                              cancelled.pk}

    fresh = ServerProcess(BEISTAND_SMS_PROVIDER="http",
                          BEISTAND_SMS_HTTP_URL=f"{gateway.url}/send").start()
    try:
        wait_for(lambda: not sms_rows(state="queued"), timeout=15, what="queue worked off")
        wait_for(lambda: sms_rows(state="sent"), timeout=15, what="open alarm's SMS sent")
    finally:
        fresh.stop()
    (sent,) = sms_rows(state="sent")
    assert sent.alarm_id == still_open.pk
    assert [b["text"] for b in gateway.json_bodies()] == [sent.text]
    stale = sms_rows(state="cancelled")
    assert {r.alarm_id for r in stale} == {resolved.pk, cancelled.pk}
    for row in stale:
        assert row.attempts == 0 and row.gateway_id == ""
        assert row.error == sms.STALE_REASON and "Alarm bereits beendet" in row.error


def test_an_alarm_ended_after_the_queue_was_read_is_not_sent(people, settings):
    """The check is at send time: between ``due_ids`` and ``send_one`` the alarm ended."""
    from beistand.alarms import services

    settings.SMS_PROVIDER = "http"
    settings.SMS_HTTP_URL = "http://127.0.0.1:9/never-called"
    set_tiers({"kind": "people", "people": [people["far"]]})
    alarm = services.trigger(user=people["sender"], template="beistand").alarm
    due = sms.due_ids()
    assert due
    services.resolve(people["sender"], alarm.pk)
    assert [sms.send_one(pk) for pk in due] == ["cancelled"] * len(due)
    assert all(r.state == "cancelled" and r.attempts == 0 for r in sms_rows())
