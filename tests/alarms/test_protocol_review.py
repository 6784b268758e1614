"""Review of the alarm protocol's contract (#22), against the real server (uvicorn with the alarm
engine, so the trigger calls take the fast path):

- the device trigger URL's flood refusal (429) says when to try again (``Retry-After``);
- a ``bad_frame`` answer echoes the frame's ``request_id`` whenever it can be read;
- an ended alarm (all-clear, cancelled countdown) takes no more messages: 409 ``conflict`` over
  HTTP (declared in the operation's OpenAPI responses), an ``error`` frame with code
  ``conflict`` over the WebSocket, and nothing is stored;
- the fast path types the trigger body as strictly as the API: ``countdown_s`` "5" is refused;
- the per-person flood limit holds for concurrent triggers.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from beistand.accounts.roles import Role
from beistand.accounts.services import create_device_token
from beistand.alarms.models import Alarm, AlarmMessage
from tests.alarms.conftest import Receiver
from tests.alarms.helpers import post

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_device_flood_refusal_has_retry_after(server, people, fast_plan, make_user, org,
                                                  settings):
    settings.ALARM_DEVICE_MIN_INTERVAL_SECONDS = 600
    settings.ALARM_DEVICE_MAX_PER_HOUR = 3
    admin = make_user("admin", roles=[Role.ADMIN])
    clear, _ = create_device_token(admin, "Taster", "button_hub", room=org["rooms"][0])
    answers = [post(server, f"/api/v1/trigger/{clear}") for _ in range(5)]
    assert [a.status_code for a in answers] == [201, 200, 200, 429, 429], answers[-1].text
    for refused in answers[3:]:
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["type"] == "/api/v1/problems/locked-out"
        # Seconds until enough of this hour's calls have left it for one more: the calls were
        # made just now, so close to an hour - never more.
        assert 3500 < int(refused.headers["retry-after"]) <= 3600


def test_bad_frame_echoes_a_readable_request_id(server, people, token):
    t_neighbour = token(people["neighbour"])

    async def scenario():
        async with Receiver(server.ws, t_neighbour) as rx:
            answers = []
            for frame in ('{"request_id": "ohne-typ"}', '{"type": 5, "request_id": "typ-zahl"}',
                          '{"type": "receipt", "event_id": "x", "request_id": "falsche-zahl"}',
                          '["request_id"]', '{"type": "ping", "request_id": 17}'):
                await rx.ws.send(frame)
                answers.append(await rx.control(type="error"))
            await rx.ws.send(b'{"type": "ping", "request_id": "binaer"}')
            answers.append(await rx.control(type="error"))
            return answers

    answers = asyncio.run(scenario())
    assert [a["code"] for a in answers] == ["bad_frame"] * 6
    assert [a.get("request_id") for a in answers] == [
        "ohne-typ", "typ-zahl", "falsche-zahl", None, None, "binaer"]


def test_an_ended_alarm_takes_no_messages(server, people, fast_plan, token):
    t_sender, t_security = token(people["sender"]), token(people["security"])
    alarm_id = post(server, "/api/v1/alarms", t_sender, {"template": "beistand"}).json()["id"]
    assert post(server, f"/api/v1/alarms/{alarm_id}/messages", t_sender,
                {"text": "Bitte schnell"}).status_code == 201
    assert post(server, f"/api/v1/alarms/{alarm_id}/resolve", t_security,
                {"note": "erledigt"}).status_code == 200

    refused = post(server, f"/api/v1/alarms/{alarm_id}/messages", t_sender, {"text": "Danke"})
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"] == "/api/v1/problems/conflict"
    assert "beendet" in refused.json()["detail"]

    async def over_the_socket():
        async with Receiver(server.ws, t_sender) as rx:
            await rx.send({"type": "message", "alarm_id": alarm_id, "text": "Danke",
                           "request_id": "m1"})
            return await rx.control(type="error")

    err = asyncio.run(over_the_socket())
    assert (err["code"], err["request_id"]) == ("conflict", "m1")
    assert list(AlarmMessage.objects.filter(alarm_id=alarm_id).values_list("text", flat=True)) \
        == ["Bitte schnell"]

    # A countdown broken off: cancelled, no thread either.
    counting = post(server, "/api/v1/alarms", t_sender,
                    {"template": "beistand", "countdown_s": 20}).json()["id"]
    assert post(server, f"/api/v1/alarms/{counting}/cancel", t_sender).status_code == 200
    assert post(server, f"/api/v1/alarms/{counting}/messages", t_sender,
                {"text": "Doch nicht"}).status_code == 409
    assert not AlarmMessage.objects.filter(alarm_id=counting).exists()


def test_the_message_operation_declares_the_conflict(client):
    schema = client.get("/api/v1/schema/").json()
    responses = schema["paths"]["/api/v1/alarms/{alarm_id}/messages"]["post"]["responses"]
    types = responses["409"]["content"]["application/problem+json"]["schema"]["allOf"][1]
    assert types["properties"]["type"]["enum"] == ["/api/v1/problems/conflict"]


@pytest.mark.parametrize("body", [{"template": "beistand", "countdown_s": "5"},
                                  {"template": "beistand", "client_id": ""}])
def test_the_fast_path_is_as_strict_as_the_api(server, people, fast_plan, token, body):
    refused = post(server, "/api/v1/alarms", token(people["sender"]), body)
    assert refused.status_code == 400, refused.text
    assert refused.json()["type"] == "/api/v1/problems/invalid-input"
    assert refused.json()["errors"][0]["detail"] in ("Muss eine ganze Zahl sein.",
                                                     "Ist zu kurz (mindestens 1 Zeichen).")
    assert not Alarm.objects.exists()


def test_the_person_flood_limit_holds_for_concurrent_triggers(server, people, fast_plan, token,
                                                              settings):
    """Attack review: 24 triggers of one person at once (other client_ids each) raise at most
    ``ALARM_USER_MAX_PER_MINUTE`` alarms - the count and the new alarm are one step per sender,
    not a check another request can pass in the meantime."""
    settings.ALARM_USER_MAX_PER_MINUTE = 3
    sender = people["sender"]
    tok = token(sender)
    with ThreadPoolExecutor(max_workers=24) as pool:
        answers = list(pool.map(
            lambda i: post(server, "/api/v1/alarms", tok,
                           {"template": "beistand", "client_id": f"flut-{i}"}), range(24)))
    codes = sorted(a.status_code for a in answers)
    assert set(codes) == {201, 429}, codes
    assert codes.count(201) == 3 == Alarm.objects.filter(sender_user=sender).count(), codes


def test_a_burst_of_one_devices_presses_raises_one_alarm(server, people, fast_plan, make_user,
                                                         org):
    """Attack review: 60 presses of one device's trigger URL at once are one new alarm (the
    others return it, 200 ``deduplicated``) - the interval's check and the new alarm are one
    step per device, not three transactions another press can slip between."""
    admin = make_user("admin", roles=[Role.ADMIN])
    clear, device = create_device_token(admin, "Taster", "button_hub", room=org["rooms"][0])
    with ThreadPoolExecutor(max_workers=60) as pool:
        answers = list(pool.map(lambda _: post(server, f"/api/v1/trigger/{clear}"), range(60)))
    codes = sorted(a.status_code for a in answers)
    # 30 calls an hour: the first 30 are the alarm and its repeats, the rest are refused
    assert codes == [200] * 29 + [201] + [429] * 30, codes
    assert {a.json()["id"] for a in answers if a.status_code < 300} == set(
        Alarm.objects.filter(device=device).values_list("pk", flat=True))
    assert Alarm.objects.filter(device=device).count() == 1
