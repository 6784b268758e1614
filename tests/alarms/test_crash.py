"""Kill -9: alarms stored before the crash are delivered after the restart, none lost, none
shown twice, and pending escalations resume with their original deadlines."""

import asyncio

import httpx
import pytest
from django.db import transaction

from beistand.alarms.models import Alarm, AlarmTier
from tests.alarms.conftest import Receiver
from tests.alarms.server_process import ServerProcess

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def slow_plan(fast_plan):
    with transaction.atomic():
        for tier in AlarmTier.objects.filter(plan=fast_plan):
            tier.timeout_s = 4
            tier.save()
    return fast_plan


def test_sigkill_loses_nothing_and_escalation_resumes(people, slow_plan, token):
    t_sender, t_neighbour, t_security = (token(people[n])
                                         for n in ("sender", "neighbour", "security"))
    first = ServerProcess().start()
    try:
        async def before_crash():
            # The neighbour is connected and has seen nothing yet.
            async with Receiver(first.ws, t_neighbour) as neighbour:
                await asyncio.sleep(0.6)  # presence written: tier 1 counts as online
                ids = []
                async with httpx.AsyncClient(timeout=10) as http:
                    for n in range(3):
                        resp = await http.post(f"{first.http}/api/v1/alarms",
                                               json={"template": "beistand",
                                                     "client_id": f"crash-{n}"},
                                               headers={"Authorization": f"Bearer {t_sender}"})
                        assert resp.status_code == 201, resp.text
                        ids.append(resp.json()["id"])
                # Receive one alarm, but crash before receipting the rest.
                got = await neighbour.next_event(type="alarm")
                return ids, neighbour.last, got["alarm_id"]

        ids, last_seen, first_seen = asyncio.run(before_crash())
    finally:
        first.kill()
    deadlines = dict(Alarm.objects.filter(pk__in=ids).values_list("pk", "next_deadline"))
    assert all(deadlines.values()), "tier deadlines are stored with the alarm"
    assert first_seen == ids[0]

    second = ServerProcess().start()
    try:
        async def after_restart():
            async with Receiver(second.ws, t_neighbour, last_event_id=last_seen) as neighbour, \
                    Receiver(second.ws, t_security) as security:
                rest = [await neighbour.next_event(type="alarm") for _ in ids[1:]]
                escalated = [await security.next_event(type="alarm", timeout=15)
                             for _ in ids]
                await asyncio.sleep(1.0)  # anything else would arrive now
                return rest, escalated, neighbour, security

        rest, escalated, neighbour, security = asyncio.run(after_restart())
    finally:
        second.stop()
    # The neighbour got every alarm exactly once, in order.
    assert [e["alarm_id"] for e in rest] == ids[1:]
    alarm_events = [e for e in neighbour.events if e["type"] == "alarm"]
    assert len(alarm_events) == len(ids) - 1
    # The security service (tier 2) got each alarm once, not before its original deadline.
    assert sorted(e["alarm_id"] for e in escalated) == sorted(ids)
    assert all(e["tier"] == 2 for e in escalated)
    assert len([e for e in security.events if e["type"] == "alarm"]) == len(ids)
    for alarm in Alarm.objects.filter(pk__in=ids):
        assert alarm.current_tier >= 2
        escalation = alarm.timeline.filter(kind="escalated").first()
        assert escalation is not None
        assert escalation.at >= deadlines[alarm.pk]
