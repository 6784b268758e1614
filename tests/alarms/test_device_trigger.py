"""Device trigger URLs (desk phones, button hubs) and the cancellable countdown, against the real
server: a room-bound device alarms its room, a person-bound device alarms as that person, a
revoked token raises nothing, floods are limited while the running alarm stays."""

import asyncio

import pytest

from beistand.accounts.roles import Role
from beistand.accounts.services import create_device_token, revoke_device_token
from beistand.alarms.models import Alarm, AlarmRecipient, DeviceTrigger
from beistand.core.errors import InvalidInput
from tests.alarms.conftest import Receiver
from tests.alarms.helpers import call, post, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin(make_user, people):
    return make_user("admin", roles=[Role.ADMIN])


def trigger_url(clear):
    return f"/api/v1/trigger/{clear}"


def test_room_device_alarms_its_room(server, people, fast_plan, token, admin, org):
    room = org["rooms"][1]  # 1.02, the neighbour's room
    clear, device = create_device_token(admin, "Taster Bürgerbüro", "button_hub", room=room)
    t_neighbour = token(people["neighbour"])

    async def scenario():
        async with Receiver(server.ws, t_neighbour) as nb:
            await asyncio.sleep(0.5)
            resp = await asyncio.to_thread(post, server, trigger_url(clear))
            assert resp.status_code == 201, resp.text
            body = resp.json()
            assert body["state"] == "triggered" and body["persisted_at"]
            assert body["deduplicated"] is False
            got = await nb.next_event(type="alarm", alarm_id=body["id"])
            assert got["location"]["room"] == "1.02"
            assert got["sender"]["name"] == "Taster Bürgerbüro"
            assert got["template"]["code"] == "beistand" and got["distance_m"] == 0
            return body["id"]

    alarm = Alarm.objects.get(pk=asyncio.run(scenario()))
    assert alarm.device_id == device.pk and alarm.room_id == room.pk
    assert alarm.sender_user_id is None and alarm.source == "button"
    assert AlarmRecipient.objects.filter(alarm=alarm, inbox__user=people["neighbour"]).exists()
    assert list(DeviceTrigger.objects.values_list("outcome", flat=True)) == ["alarm"]


def test_get_with_template_and_source(server, people, fast_plan, admin, org):
    clear, _ = create_device_token(admin, "Telefon 1.03", "desk_phone", room=org["rooms"][2],
                                   alarm_templates="beistand, Bedrohung")
    resp = call(server, "GET", trigger_url(clear),
                params={"template": "bedrohung", "source": "phone", "lat": "50.9375",
                        "lon": "6.9603", "accuracy_m": "20"})
    assert resp.status_code == 201, resp.text
    alarm = Alarm.objects.get(pk=resp.json()["id"])
    assert alarm.template.code == "bedrohung" and alarm.source == "phone"
    assert (alarm.lat, alarm.lon, alarm.accuracy_m) == (50.9375, 6.9603, 20.0)


def test_person_device_alarms_as_that_person(server, people, fast_plan, token, admin):
    far = people["far"]
    clear, device = create_device_token(admin, "Handsender Far", "button_hub", user=far)
    t_far, t_security = token(far), token(people["security"])

    async def scenario():
        async with Receiver(server.ws, t_far) as own, Receiver(server.ws, t_security) as sec:
            await asyncio.sleep(0.5)
            resp = await asyncio.to_thread(post, server, trigger_url(clear))
            assert resp.status_code == 201, resp.text
            alarm_id = resp.json()["id"]
            mine = await own.next_event(type="alarm", alarm_id=alarm_id)
            assert mine["role"] == "sender"
            got = await sec.next_event(type="alarm", alarm_id=alarm_id, timeout=8)
            assert got["sender"]["name"] == "Franz Far"
            assert got["sender"]["mobile"] == "0171 2222222"
            assert got["location"]["room"] == "1.05"
            return alarm_id

    alarm = Alarm.objects.get(pk=asyncio.run(scenario()))
    assert alarm.sender_user_id == far.pk and alarm.sender == far.employee
    assert alarm.device_id == device.pk and alarm.room == far.employee.room


def test_revoked_or_unknown_token_raises_nothing(server, people, fast_plan, admin, org):
    clear, device = create_device_token(admin, "Alt", "button_hub", room=org["rooms"][0])
    revoke_device_token(admin, device.pk)
    for url in (trigger_url(clear), trigger_url("bsd_unbekannt"), trigger_url("bst_x")):
        for method in ("POST", "GET"):
            resp = call(server, method, url)
            assert resp.status_code == 404, (url, resp.text)
            assert resp.headers["content-type"].startswith("application/problem+json")
    assert not Alarm.objects.exists() and not DeviceTrigger.objects.exists()


def test_bad_device_parameters_raise_nothing(server, people, fast_plan, admin, org):
    clear, _ = create_device_token(admin, "Taster", "button_hub", room=org["rooms"][0])
    for params in ({"template": "entwarnung"}, {"template": "gibtsnicht"}, {"lat": "91"},
                   {"lat": "50.9"}, {"source": "fax"}, {"client_id": "a b"},
                   {"accuracy_m": "-3", "lat": "50", "lon": "6"}):
        resp = call(server, "POST", trigger_url(clear), params=params)
        assert resp.status_code == 400, (params, resp.text)
        assert resp.json()["detail"]
    assert not Alarm.objects.exists()


def test_flood_first_press_repeats_and_hourly_limit(server, people, fast_plan, token, admin,
                                                    org, settings):
    settings.ALARM_DEVICE_MIN_INTERVAL_SECONDS = 600
    settings.ALARM_DEVICE_MAX_PER_HOUR = 3
    clear, device = create_device_token(admin, "Taster", "button_hub", room=org["rooms"][0])
    first = post(server, trigger_url(clear))
    assert first.status_code == 201
    alarm_id = first.json()["id"]
    for _ in range(2):
        again = post(server, trigger_url(clear))
        assert again.status_code == 200, again.text
        assert again.json()["id"] == alarm_id and again.json()["deduplicated"] is True
    for _ in range(3):
        refused = post(server, trigger_url(clear))
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    alarm = Alarm.objects.get(pk=alarm_id)
    assert alarm.is_open  # the running alarm stays active
    assert Alarm.objects.count() == 1
    outcomes = list(DeviceTrigger.objects.filter(device=device).order_by("at", "id")
                    .values_list("outcome", flat=True))
    assert outcomes == ["alarm", "repeat", "repeat", "refused", "refused", "refused"]

    # Once that alarm is over, the next press goes out again, even beyond the hourly limit.
    resolved = post(server, f"/api/v1/alarms/{alarm_id}/resolve", token(people["security"]),
                    {"note": "Fehlalarm"})
    assert resolved.status_code == 200, resolved.text
    fresh = post(server, trigger_url(clear))
    assert fresh.status_code == 201 and fresh.json()["id"] != alarm_id


def test_new_alarm_after_the_interval(server, people, fast_plan, admin, org, settings):
    settings.ALARM_DEVICE_MIN_INTERVAL_SECONDS = 0
    clear, _ = create_device_token(admin, "Taster", "button_hub", room=org["rooms"][0])
    ids = {post(server, trigger_url(clear)).json()["id"] for _ in range(2)}
    assert len(ids) == 2


def test_only_the_devices_templates(server, people, fast_plan, admin, org):
    """Only the templates configured for the device (default: "beistand"); a Probealarm is
    always possible. A refused template raises nothing and is logged."""
    clear, device = create_device_token(admin, "Taster", "button_hub", room=org["rooms"][0])
    assert device.alarm_templates == ""
    for code in ("amok", "medizin", "bedrohung"):
        resp = post(server, trigger_url(clear), params={"template": code})
        assert resp.status_code == 403, (code, resp.text)
        assert "für dieses Gerät nicht freigegeben" in resp.json()["detail"]
    assert not Alarm.objects.exists()
    assert list(DeviceTrigger.objects.values_list("outcome", flat=True)) == ["forbidden"] * 3
    test = post(server, trigger_url(clear), params={"template": "probealarm"})
    assert test.status_code == 201, test.text
    real = post(server, trigger_url(clear))
    assert real.status_code == 201, real.text
    assert Alarm.objects.get(pk=real.json()["id"]).template.code == "beistand"


def test_bad_device_templates_refused(people, admin, org):
    for bad in ("beistand;amok", "a b", ",".join(["beistand"] * 30)):
        with pytest.raises(InvalidInput):
            create_device_token(admin, "Taster", "button_hub", room=org["rooms"][0],
                                alarm_templates=bad)


def test_template_cycling_gives_one_alarm_per_interval(server, people, fast_plan, token, admin,
                                                       org, settings):
    """Asking for another template within the interval returns the running alarm: at most one
    new alarm per device and interval, whatever ``template`` says."""
    settings.ALARM_DEVICE_MIN_INTERVAL_SECONDS = 600
    settings.ALARM_DEVICE_MAX_PER_HOUR = 100
    clear, _ = create_device_token(admin, "Taster", "button_hub", room=org["rooms"][0],
                                   alarm_templates="beistand,bedrohung,medizin,amok")
    first = post(server, trigger_url(clear), params={"template": "bedrohung"})
    assert first.status_code == 201, first.text
    alarm_id = first.json()["id"]
    for code in ("beistand", "medizin", "amok", "bedrohung", "probealarm") * 2:
        again = post(server, trigger_url(clear), params={"template": code})
        assert again.status_code == 200, (code, again.text)
        assert again.json()["id"] == alarm_id and again.json()["deduplicated"] is True
    assert Alarm.objects.count() == 1
    assert Alarm.objects.get(pk=alarm_id).template.code == "bedrohung"
    # After the all-clear a new press goes out at once.
    resolved = post(server, f"/api/v1/alarms/{alarm_id}/resolve", token(people["security"]))
    assert resolved.status_code == 200, resolved.text
    fresh = post(server, trigger_url(clear), params={"template": "medizin"})
    assert fresh.status_code == 201 and fresh.json()["id"] != alarm_id


def test_a_real_alarm_never_hides_behind_a_probealarm(server, people, fast_plan, admin, org,
                                                     settings):
    settings.ALARM_DEVICE_MIN_INTERVAL_SECONDS = 600
    clear, _ = create_device_token(admin, "Taster", "button_hub", room=org["rooms"][0],
                                   alarm_templates="beistand,bedrohung")
    test = post(server, trigger_url(clear), params={"template": "probealarm"})
    assert test.status_code == 201, test.text
    real = post(server, trigger_url(clear), params={"template": "beistand"})
    assert real.status_code == 201, real.text
    again = post(server, trigger_url(clear), params={"template": "bedrohung"})
    assert again.status_code == 200 and again.json()["id"] == real.json()["id"]
    assert Alarm.objects.filter(template__test=False).count() == 1


# --- Countdown ----------------------------------------------------------------------------------

def test_countdown_cancelled_reaches_nobody(server, people, fast_plan, token):
    t_sender, t_neighbour = token(people["sender"]), token(people["neighbour"])

    async def scenario():
        async with Receiver(server.ws, t_sender) as snd, Receiver(server.ws, t_neighbour) as nb:
            await asyncio.sleep(0.5)
            resp = await asyncio.to_thread(post, server, "/api/v1/alarms", t_sender,
                                           {"template": "beistand", "countdown_s": 2})
            assert resp.status_code == 201, resp.text
            body = resp.json()
            assert body["state"] == "countdown" and body["countdown_until"]
            own = await snd.next_event(type="alarm", alarm_id=body["id"])
            assert own["role"] == "sender" and own["state"] == "countdown"
            resp = await asyncio.to_thread(post, server, f"/api/v1/alarms/{body['id']}/cancel",
                                           t_sender)
            assert resp.status_code == 200 and resp.json()["state"] == "cancelled", resp.text
            await snd.next_event(type="alarm_update", kind="cancelled")
            # Again: still cancelled, no error.
            resp = await asyncio.to_thread(post, server, f"/api/v1/alarms/{body['id']}/cancel",
                                           t_sender)
            assert resp.json()["state"] == "cancelled"
            # Well past the countdown: the neighbour got nothing.
            with pytest.raises(TimeoutError):
                await nb.next_event(timeout=3.5)
            return body["id"]

    alarm = Alarm.objects.get(pk=asyncio.run(scenario()))
    assert alarm.state == "cancelled" and alarm.next_deadline is None
    assert not AlarmRecipient.objects.filter(alarm=alarm).exists()


def test_countdown_without_cancel_goes_out(server, people, fast_plan, token, settings):
    settings.ALARM_COUNTDOWNS = ["tray=1"]
    t_sender, t_neighbour = token(people["sender"]), token(people["neighbour"])

    async def scenario():
        async with Receiver(server.ws, t_neighbour) as nb:
            await asyncio.sleep(0.5)
            resp = await asyncio.to_thread(post, server, "/api/v1/alarms", t_sender,
                                           {"template": "beistand", "source": "tray"})
            body = resp.json()
            assert body["state"] == "countdown", body  # the source's default countdown
            got = await nb.next_event(type="alarm", alarm_id=body["id"], timeout=8)
            assert got["state"] == "triggered"
            resp = await asyncio.to_thread(post, server, f"/api/v1/alarms/{body['id']}/cancel",
                                           t_sender)
            assert resp.status_code == 409, resp.text
            return body["id"]

    alarm_id = asyncio.run(scenario())
    wait_for(lambda: Alarm.objects.get(pk=alarm_id).state == "triggered")
    assert AlarmRecipient.objects.filter(alarm_id=alarm_id,
                                         inbox__user=people["neighbour"]).exists()


def test_only_the_sender_cancels(server, people, fast_plan, token):
    t_sender = token(people["sender"])
    body = post(server, "/api/v1/alarms", t_sender,
                {"template": "beistand", "countdown_s": 30}).json()
    resp = post(server, f"/api/v1/alarms/{body['id']}/cancel", token(people["neighbour"]))
    # In the countdown nobody else is on the alarm yet: 404 as for an unknown id (issue 16, 13.)
    assert resp.status_code == 404
    assert Alarm.objects.get(pk=body["id"]).state == "countdown"
