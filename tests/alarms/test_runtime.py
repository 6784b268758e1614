"""The runtime bridge with no live server registered (commands, the worker, these tests): nothing
runs, nobody is connected, pushes are dropped, and a trigger delivers in its own transaction.
(With a server registered, the end-to-end tests run through it.)"""

import pytest
from django.utils import timezone

from beistand.alarms import runtime, services
from beistand.alarms.models import AlarmRecipient, InboxEvent


def test_nothing_registered_means_no_live_server():
    assert runtime.running() is False
    assert runtime.connected_inboxes() == set()
    runtime.dispatch_soon(1)
    runtime.wake_at(timezone.now())
    runtime.push_after_commit([])


@pytest.mark.django_db
def test_trigger_without_server_delivers_in_its_own_transaction(people):
    result = services.trigger(user=people["sender"], template="beistand")
    assert result.created and result.receivers_notified > 0
    alarm = result.alarm
    assert alarm.current_tier >= 1  # nobody online: tiers are skipped at once
    receivers = AlarmRecipient.objects.filter(alarm=alarm)
    assert receivers.count() == result.receivers_notified
    assert InboxEvent.objects.filter(alarm=alarm, kind="alarm").count() == \
        result.receivers_notified + 1  # and the sender's own copy
