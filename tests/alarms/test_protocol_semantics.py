"""The protocol's semantics as docs/alarm-protocol.md writes them, against the real server:
``come: false`` templates have no "Ich komme", a countdown is one alarm event with
``countdown_until``, ``delivered_at`` is never later than the same receiver's answer, an SMS
with coordinates keeps the sender's room, errors carry their documented codes, one time format,
the limits table is the settings', an upper-case SMS signature counts."""

import asyncio
import hashlib
import hmac
import json
from pathlib import Path

import httpx
import pytest
from django.db import transaction
from django.utils import timezone

from beistand.alarms import limits, services
from beistand.alarms.models import Alarm, AlarmRecipient
from tests.alarms.conftest import Receiver
from tests.alarms.helpers import post, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

DOC = Path(__file__).resolve().parents[2] / "docs" / "alarm-protocol.md"


def test_come_false_refuses_coming_and_never_tells_the_sender_help_comes(server, people,
                                                                         fast_plan, token):
    t_sender, t_neighbour = token(people["sender"]), token(people["neighbour"])

    async def scenario():
        async with Receiver(server.ws, t_sender) as sender, \
                Receiver(server.ws, t_neighbour) as nb:
            await asyncio.sleep(0.5)
            body = (await asyncio.to_thread(post, server, "/api/v1/alarms", t_sender,
                                            {"template": "amok"})).json()
            got = await nb.next_event(type="alarm", alarm_id=body["id"])
            assert got["template"]["come"] is False
            resp = await asyncio.to_thread(post, server, f"/api/v1/alarms/{body['id']}/respond",
                                           t_neighbour, {"response": "coming"})
            assert resp.status_code == 400, resp.text
            assert resp.json()["type"] == "/api/v1/problems/invalid-input"
            await nb.send({"type": "respond", "alarm_id": body["id"], "response": "coming",
                           "request_id": "a1"})
            err = await nb.control(type="error")
            assert (err["code"], err["request_id"]) == ("invalid", "a1")
            await asyncio.to_thread(services.resolve, people["security"], body["id"], "")
            await sender.next_event(type="alarm_update", kind="resolved")
            return [e.get("kind") for e in sender.events if e["type"] == "alarm_update"]

    kinds = asyncio.run(scenario())
    assert "help_coming" not in kinds
    assert not AlarmRecipient.objects.filter(response="coming").exists()
    assert Alarm.objects.get().first_ack_at is None


def test_a_countdown_is_one_alarm_event_with_countdown_until(server, people, fast_plan, token):
    t_sender, t_neighbour = token(people["sender"]), token(people["neighbour"])

    async def scenario():
        async with Receiver(server.ws, t_sender) as sender, \
                Receiver(server.ws, t_neighbour) as nb:
            await asyncio.sleep(0.5)
            resp = await asyncio.to_thread(post, server, "/api/v1/alarms", t_sender,
                                           {"template": "beistand", "countdown_s": 1})
            body = resp.json()
            assert body["state"] == "countdown" and body["countdown_until"].endswith("Z")
            first = await sender.next_event(type="alarm", alarm_id=body["id"])
            assert first["state"] == "countdown"
            assert first["countdown_until"] == body["countdown_until"]
            went = await sender.next_event(type="alarm_update", kind="countdown_end", timeout=8)
            assert went["state"] == "triggered"
            received = await nb.next_event(type="alarm", alarm_id=body["id"])
            assert received["state"] == "triggered" and received["countdown_until"] is None
            await sender.next_event(type="alarm_update", kind="delivered", timeout=8)
            return [e for e in sender.events if e["type"] == "alarm"]

    alarms = asyncio.run(scenario())
    assert len(alarms) == 1, alarms


def test_delivered_at_is_never_later_than_the_answer(server, people, fast_plan, token):
    t_sender, t_neighbour = token(people["sender"]), token(people["neighbour"])

    async def scenario():
        # A receiver that answers before (without) receipting its alarm event.
        async with Receiver(server.ws, t_neighbour, auto_receipt=False) as nb:
            await asyncio.sleep(0.5)
            body = (await asyncio.to_thread(post, server, "/api/v1/alarms", t_sender,
                                            {"template": "beistand"})).json()
            await nb.next_event(type="alarm", alarm_id=body["id"])
            await nb.send({"type": "respond", "alarm_id": body["id"], "response": "coming",
                           "request_id": "c"})
            await nb.control(type="result")
            await nb.send({"type": "receipt", "event_id": nb.last})
            await nb.send({"type": "ping", "request_id": "p1"})
            pong = await nb.control(type="pong")
            assert pong == {"type": "pong", "request_id": "p1"}
            return body["id"]

    alarm_id = asyncio.run(scenario())
    row = wait_for(lambda: AlarmRecipient.objects.filter(
        alarm_id=alarm_id, inbox__user=people["neighbour"], delivered_at__isnull=False).first(),
        what="delivery recorded")
    assert row.responded_at is not None and row.delivered_at <= row.responded_at
    assert Alarm.objects.get(pk=alarm_id).first_delivered_at <= row.responded_at


def test_an_sms_with_coordinates_keeps_the_senders_room(people, fast_plan):
    sender = people["sender"]
    with transaction.atomic():
        sender.employee.field_service = True
        sender.employee.save()
    desk = sender.employee.room
    sms = services.trigger(user=sender, template="beistand", source="sms",
                           position={"lat": 50.9375, "lon": 6.9603, "accuracy_m": 30})
    assert sms.alarm.room_id == desk.pk and sms.alarm.lat == 50.9375
    # The room's neighbour is in the first tier although no phone is near the coordinates.
    assert AlarmRecipient.objects.filter(alarm=sms.alarm, tier=1,
                                         inbox__user=people["neighbour"]).exists()
    # The app of a field worker: the position replaces the empty office.
    app = services.trigger(user=sender, template="beistand", source="app",
                           position={"lat": 50.9375, "lon": 6.9603, "accuracy_m": 30})
    assert app.alarm.room_id is None


def test_upper_case_hex_sms_signature_is_accepted(server, people, settings):
    settings.SMS_INBOUND_SECRET = "s3cret-for-the-gateway"
    body = json.dumps({"from": "+49 170 0000000", "text": "ALARM", "id": "gw-1",
                       "received_at": timezone.now().isoformat()}).encode()
    digest = hmac.new(settings.SMS_INBOUND_SECRET.encode(), body, hashlib.sha256).hexdigest()
    for header, status in ((f"sha256={digest.upper()}", 202), (f"SHA256={digest}", 202),
                           (f"sha256={digest[:-1]}{'1' if digest[-1] == '0' else '0'}", 401)):
        resp = httpx.post(f"{server.http}/api/v1/sms/inbound", content=body, timeout=10,
                          headers={"X-Beistand-Signature": header,
                                   "Content-Type": "application/json"})
        assert resp.status_code == status, (header, resp.text)


def test_a_device_without_a_person_is_refused_with_forbidden_not_bad_frame(
        server, people, fast_plan, make_user, org):
    from beistand.accounts.roles import Role
    from beistand.accounts.services import create_device_token

    admin = make_user("admin", roles=[Role.ADMIN])
    clear, _ = create_device_token(admin, "Taster 1.02", "button_hub", room=org["rooms"][1])

    async def scenario():
        async with Receiver(server.ws, clear) as hub:
            assert hub.hello["server_time"].endswith("Z")
            await hub.send({"type": "respond", "alarm_id": 1, "response": "cannot",
                            "request_id": "x"})
            return await hub.control(type="error")

    err = asyncio.run(scenario())
    assert (err["code"], err["request_id"]) == ("forbidden", "x")


def test_the_limits_table_is_the_settings():
    doc = DOC.read_text(encoding="utf-8")
    assert limits.in_document(doc) == limits.markdown(), (
        "docs/alarm-protocol.md: replace the limits table by beistand.alarms.limits.markdown()")
    assert "6 per hour" not in doc
