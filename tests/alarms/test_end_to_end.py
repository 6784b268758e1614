"""The issue's "done when": trigger through the API, receive over WebSocket with name, room and
phone, "coming" reaches the sender as "Hilfe kommt", and without an answer the next tier gets
the alarm after the tier's timeout – against a real server."""

import asyncio
import time

import httpx
import pytest

from beistand.alarms.models import Alarm, AlarmRecipient
from tests.alarms.conftest import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


def post(server, path, token, json=None):
    return httpx.post(f"{server.http}{path}", json=json, timeout=10,
                      headers={"Authorization": f"Bearer {token}"})


def test_trigger_deliver_escalate_respond(server, people, fast_plan, token):
    t_sender, t_neighbour, t_security, t_far = (token(people[n]) for n in
                                                ("sender", "neighbour", "security", "far"))

    async def scenario():
        async with Receiver(server.ws, t_sender) as sender, \
                Receiver(server.ws, t_neighbour) as neighbour, \
                Receiver(server.ws, t_security) as security, \
                Receiver(server.ws, t_far) as far:
            await asyncio.sleep(0.5)  # presence is written in batches
            started = time.monotonic()
            resp = await asyncio.to_thread(post, server, "/api/v1/alarms", t_sender,
                                           {"template": "beistand", "client_id": "press-1"})
            assert resp.status_code == 201, resp.text
            body = resp.json()
            assert body["state"] == "triggered" and body["persisted_at"]
            alarm_id = body["id"]

            got = await neighbour.next_event(type="alarm")
            assert got["alarm_id"] == alarm_id and got["role"] == "receiver"
            assert got["sender"]["name"] == "Erika Sender"
            assert got["sender"]["phone"] == "+49 221 0000"
            assert got["sender"]["mobile"] == "+49 170 1111111"
            assert got["location"]["room"] == "1.01"
            assert got["location"]["building"] == "Hauptgebäude"
            assert got["distance_m"] == 4
            assert got["tier"] == 1
            own = await sender.next_event(type="alarm")
            assert own["role"] == "sender"

            # Nobody answers: after the tier's timeout (1 s) the security service gets it.
            sec = await security.next_event(type="alarm", timeout=6)
            assert sec["tier"] == 2 and sec["alarm_id"] == alarm_id
            assert time.monotonic() - started >= 0.9
            await security.send({"type": "respond", "alarm_id": alarm_id,
                                 "response": "coming", "request_id": "r1"})
            assert (await security.control(type="result"))["request_id"] == "r1"
            coming = await sender.next_event(type="alarm_update", kind="help_coming")
            assert coming["text"] == "Hilfe kommt: Test Security"
            seen = await neighbour.next_event(type="alarm_update", kind="response")
            assert seen["responders"][0]["name"] == "Test Security"

            # Enough help: the floor tier (far) is never alarmed.
            await asyncio.sleep(1.6)
            assert not [e for e in far.events if e["type"] == "alarm"]

            # A message in the thread reaches everyone on the alarm.
            await sender.send({"type": "message", "alarm_id": alarm_id, "text": "Bitte schnell"})
            msg = await security.next_event(type="message")
            assert msg["text"] == "Bitte schnell" and msg["from"]["role"] == "sender"

            # All-clear ends it for everyone.
            resp = await asyncio.to_thread(post, server, f"/api/v1/alarms/{alarm_id}/resolve",
                                           t_sender, {"note": "Lage geklärt"})
            assert resp.status_code == 200, resp.text
            for receiver in (neighbour, security, sender):
                done = await receiver.next_event(type="alarm_update", kind="resolved")
                assert done["state"] == "resolved"
            return alarm_id

    alarm_id = asyncio.run(scenario())
    alarm = Alarm.objects.get(pk=alarm_id)
    assert alarm.state == "resolved" and alarm.first_ack_at and alarm.current_tier == 2
    delivered = dict(AlarmRecipient.objects.filter(alarm=alarm).values_list("label",
                                                                             "delivered_at"))
    assert set(delivered) == {"Test Neighbour", "Test Security"}
    assert all(delivered.values())  # receipts were recorded as deliveries
    kinds = list(alarm.timeline.values_list("kind", flat=True))
    assert kinds[0] == "triggered" and "escalated" in kinds and "resolved" in kinds


def test_repeated_client_id_returns_the_same_alarm(server, people, fast_plan, token):
    t = token(people["sender"])
    first = post(server, "/api/v1/alarms", t, {"template": "beistand", "client_id": "same"})
    again = post(server, "/api/v1/alarms", t, {"template": "beistand", "client_id": "same"})
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert Alarm.objects.count() == 1
