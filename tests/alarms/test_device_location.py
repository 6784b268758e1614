"""Issue 19 item 7: a person's device trigger (hands-free button through the device trigger URL)
places the alarm at the running Zeitalarm visit, else at the phone's recent position, else in
the room; receivers see which one it is and how old the position is."""

import asyncio
from datetime import timedelta

import pytest
from django.utils import timezone

from beistand.accounts.roles import Role
from beistand.accounts.services import create_device_token
from beistand.alarms.models import Alarm, Inbox
from beistand.alarms.store import inbox_for_user
from beistand.mobile import visits
from tests.alarms.conftest import Receiver
from tests.alarms.helpers import post

pytestmark = pytest.mark.django_db(transaction=True)


def press_and_see(server, people, token, make_user):
    """Far's hands-free button through the trigger URL; -> (alarm, security's alarm event)."""
    admin = make_user("admin", roles=[Role.ADMIN])
    clear, _ = create_device_token(admin, "Handsender Far", "button_hub", user=people["far"])
    t_security = token(people["security"])

    async def scenario():
        async with Receiver(server.ws, t_security) as sec:
            await asyncio.sleep(0.5)  # presence is written in batches
            resp = await asyncio.to_thread(post, server, f"/api/v1/trigger/{clear}")
            assert resp.status_code == 201, resp.text
            got = await sec.next_event(type="alarm", alarm_id=resp.json()["id"], timeout=8)
            return resp.json()["id"], got

    alarm_id, event = asyncio.run(scenario())
    return Alarm.objects.get(pk=alarm_id), event


def test_a_running_visit_gives_its_address(server, people, fast_plan, token, make_user):
    visits.start(people["far"], address="Quengelgasse 3, 50667 Köln", minutes=30,
                 position={"lat": 50.94, "lon": 6.95, "accuracy_m": 25})
    alarm, event = press_and_see(server, people, token, make_user)
    assert alarm.location_basis == "visit" and alarm.room_id is None
    assert (alarm.lat, alarm.lon) == (50.94, 6.95)
    assert event["location_basis"] == "visit"
    assert event["location"]["text"] == "Quengelgasse 3, 50667 Köln"
    assert event["location"]["position"]["lat"] == 50.94
    assert event["position_at"] is not None


def test_a_recent_phone_position_without_a_visit(server, people, fast_plan, token, make_user,
                                                 settings):
    settings.ALARM_POSITION_MAX_AGE_MINUTES = 15
    at = timezone.now() - timedelta(minutes=3)
    inbox = inbox_for_user(people["far"])
    Inbox.objects.filter(pk=inbox.pk).update(lat=50.93, lon=6.96, accuracy_m=10, position_at=at)
    alarm, event = press_and_see(server, people, token, make_user)
    assert alarm.location_basis == "phone" and alarm.room_id is None
    assert event["location_basis"] == "phone"
    assert event["location"]["position"]["lat"] == 50.93
    assert event["position_at"].startswith(at.astimezone(timezone.UTC).strftime("%Y-%m-%dT%H:%M"))


def test_an_old_phone_position_and_no_visit_gives_the_room(server, people, fast_plan, token,
                                                           make_user, settings):
    settings.ALARM_POSITION_MAX_AGE_MINUTES = 15
    inbox = inbox_for_user(people["far"])
    Inbox.objects.filter(pk=inbox.pk).update(lat=50.93, lon=6.96, accuracy_m=10,
                                             position_at=timezone.now() - timedelta(hours=1))
    alarm, event = press_and_see(server, people, token, make_user)
    assert alarm.location_basis == "room" and alarm.lat is None
    assert alarm.room == people["far"].employee.room
    assert event["location_basis"] == "room" and event["position_at"] is None
    assert event["location"]["room"] == "1.05"
