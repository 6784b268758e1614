"""Review finding (issue 21): after a server restart, a press stored during the outage reached
the server before any receiver had reconnected (their backoff reaches 30 s); every tier looked
empty, was skipped at once, and the sender was told "rufen Sie 110" seconds before the
colleagues were back. With BEISTAND_ALARM_RECONNECT_GRACE_SECONDS, for that long after a server
process starts an empty tier waits its timeout instead; afterwards empty tiers are skipped at
once as before."""

from datetime import timedelta

import pytest

from beistand.alarms import runtime, services
from beistand.alarms.models import Alarm, AlarmTimeline
from tests.alarms.helpers import wait_for
from tests.alarms.test_nobody_coming import nobody_online  # noqa: F401 (fixture)
from tests.alarms.test_sms import gateway  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_empty_tier_waits_right_after_a_start_and_is_skipped_later(
        gateway, server, nobody_online, settings):  # noqa: F811
    assert runtime.running()
    settings.ALARM_RECONNECT_GRACE_SECONDS = 300  # this server started moments ago
    fresh = services.trigger(user=nobody_online["sender"], template="beistand").alarm
    wait_for(lambda: Alarm.objects.get(pk=fresh.pk).current_tier >= 1, what="delivery")
    fresh.refresh_from_db()
    assert fresh.current_tier == 1
    assert not AlarmTimeline.objects.filter(alarm=fresh, kind="skipped").exists()
    first_tier = fresh.plan.tiers.order_by("order").first()
    assert fresh.next_deadline == fresh.triggered_at + timedelta(seconds=first_tier.timeout_s)

    settings.ALARM_RECONNECT_GRACE_SECONDS = 0  # long after the start: skipped at once
    later = services.trigger(user=nobody_online["far"], template="beistand").alarm
    wait_for(lambda: Alarm.objects.get(pk=later.pk).current_tier >= 3, what="escalation")
    later.refresh_from_db()
    assert later.current_tier == 3
    assert AlarmTimeline.objects.filter(alarm=later, kind="skipped").count() == 2
