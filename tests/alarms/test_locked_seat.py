"""A receiver whose only client reports a locked screen (desktop "seat" frame) does not hold up
the escalation: the tier counts as having nobody online and the next tier gets the alarm at
once (BEISTAND_ALARM_LOCKED_SEAT_COUNTS_OFFLINE)."""

import asyncio

import pytest
from django.db import transaction

from beistand.alarms import presence, store
from beistand.alarms.models import Alarm, AlarmPlan, AlarmRecipient, AlarmTier
from tests.alarms.conftest import Receiver
from tests.alarms.helpers import post, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def two_tiers(first, second):
    with transaction.atomic():
        plan = AlarmPlan.objects.get(scope="default")
        plan.tiers.all().delete()
        for order, user in ((1, first), (2, second)):
            tier = AlarmTier.objects.create(plan=plan, order=order, kind="people",
                                            timeout_s=60, radius_m=10, acks_needed=1)
            tier.people.set([user.employee])


def trigger_with_seat(server, token, people, locked: bool) -> Alarm:
    t_sender, t_neighbour = token(people["sender"]), token(people["neighbour"])
    inbox = store.inbox_for_user(people["neighbour"]).pk

    async def scenario():
        async with Receiver(server.ws, t_neighbour) as neighbour:
            await neighbour.send({"type": "seat", "sound": True, "locked": locked})
            await asyncio.to_thread(wait_for, lambda: inbox in presence.online_inboxes([inbox]),
                                    what="neighbour online")
            await asyncio.to_thread(
                wait_for, lambda: (inbox in presence.locked_seats([inbox])) == locked
                and presence.seats_without_sound([inbox]) == {}, what="seat reported")
            resp = await asyncio.to_thread(post, server, "/api/v1/alarms", t_sender,
                                           {"template": "beistand"})
            assert resp.status_code == 201, resp.text
            await neighbour.next_event(type="alarm", alarm_id=resp.json()["id"], timeout=8)
            return resp.json()["id"]

    return Alarm.objects.get(pk=asyncio.run(scenario()))


def test_a_locked_only_receiver_does_not_hold_up_the_tier(server, people, token, settings):
    settings.ALARM_LOCKED_SEAT_COUNTS_OFFLINE = True
    two_tiers(people["neighbour"], people["far"])
    alarm = trigger_with_seat(server, token, people, locked=True)
    # Tier 1 (only a locked PC) is skipped at once: the second tier has the alarm, no 60 s wait.
    assert alarm.current_tier == 2
    assert AlarmRecipient.objects.filter(alarm=alarm, inbox__user=people["far"]).exists()
    texts = list(alarm.timeline.values_list("text", flat=True))
    assert any("1 mit gesperrtem Bildschirm" in t for t in texts), texts
    assert any(t.startswith("Stufe 1") and "sofort weiter" in t for t in texts), texts
    # The receiver still got the alarm on the connection (it shows once the screen is unlocked).
    neighbour = AlarmRecipient.objects.get(alarm=alarm, inbox__user=people["neighbour"])
    assert neighbour.online is True


@pytest.mark.parametrize("counts_offline,locked", [(False, True), (True, False)])
def test_an_unlocked_seat_or_the_setting_off_waits_for_the_tier(server, people, token,
                                                                settings, counts_offline,
                                                                locked):
    settings.ALARM_LOCKED_SEAT_COUNTS_OFFLINE = counts_offline
    two_tiers(people["neighbour"], people["far"])
    alarm = trigger_with_seat(server, token, people, locked=locked)
    assert alarm.current_tier == 1 and alarm.next_deadline is not None
    assert not AlarmRecipient.objects.filter(alarm=alarm, inbox__user=people["far"]).exists()
