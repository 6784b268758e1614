"""A PC paired as a device (room or workstation device token) names how the press was made:
hotkey, tray, desktop icon or the hardware button each keep their own source and label (a
hotkey press was once stored as "Alarmtaster")."""

import pytest

from beistand.accounts.roles import Role
from beistand.accounts.services import create_device_token
from beistand.alarms import reporting
from beistand.alarms.models import Alarm
from tests.alarms.helpers import post

pytestmark = pytest.mark.django_db(transaction=True)

LABELS = {"hotkey": "Tastenkombination", "tray": "Taskleisten-Symbol",
          "desktop_icon": "Desktop-Symbol", "button": "Alarmtaster"}


@pytest.fixture
def admin(make_user, people):
    return make_user("admin", roles=[Role.ADMIN])


@pytest.mark.parametrize("source", list(LABELS))
def test_a_room_pc_keeps_the_source_of_its_press(server, people, fast_plan, admin, org, source):
    room = org["rooms"][0]
    clear, device = create_device_token(admin, f"PC Empfang ({source})", "workstation",
                                        room=room)
    resp = post(server, f"/api/v1/trigger/{clear}?source={source}&client_id=pc-{source}")
    assert resp.status_code == 201, resp.text
    alarm = Alarm.objects.get(pk=resp.json()["id"])
    assert alarm.device_id == device.pk and alarm.sender_user_id is None
    assert alarm.source == source
    assert alarm.get_source_display() == LABELS[source]
    # what the alarm log and its detail page show ("ausgelöst … über …")
    assert reporting.row(alarm)["source"] == LABELS[source]


def test_the_local_ways_of_raising_have_distinct_labels():
    labels = dict(Alarm.Source.choices)
    assert {code: labels[code] for code in LABELS} == LABELS
    assert len(set(LABELS.values())) == len(LABELS)
