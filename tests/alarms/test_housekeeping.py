"""Daily alarm upkeep: old events are deleted, untested units' heads are reminded once."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from beistand.alarms import housekeeping, services, store
from beistand.alarms.models import InboxEvent
from beistand.notify.models import OutgoingMail

pytestmark = pytest.mark.django_db


@pytest.fixture
def headed(people, make_user, org):
    return make_user("chefin", head_of=org["abt"], room=org["rooms"][2])


def test_untested_unit_head_is_reminded_once_per_period(headed, settings):
    settings.ALARM_TEST_REMINDER_DAYS = 30
    now = timezone.now()
    assert housekeeping.run(now).reminded_units == []  # the period starts when first seen
    assert housekeeping.run(now + timedelta(days=29)).reminded_units == []
    assert housekeeping.run(now + timedelta(days=31)).reminded_units == ["32/1"]
    mail = OutgoingMail.objects.get()
    assert mail.to == ["chefin@teststadt.example"]
    assert "Probealarm" in mail.subject and "32/1" in mail.body
    assert housekeeping.run(now + timedelta(days=32)).reminded_units == []
    assert housekeeping.run(now + timedelta(days=62)).reminded_units == ["32/1"]


def test_a_probealarm_of_the_unit_means_no_reminder(headed, people, settings):
    settings.ALARM_TEST_REMINDER_DAYS = 30
    start = timezone.now()
    housekeeping.run(start - timedelta(days=40))  # first seen long ago
    services.trigger(user=people["sender"], template="probealarm", source="desktop")
    assert housekeeping.run(start).reminded_units == []
    assert not OutgoingMail.objects.exists()


def test_reminders_can_be_switched_off(headed, settings):
    settings.ALARM_TEST_REMINDER_DAYS = 0
    assert housekeeping.run().reminded_units == []


def test_events_past_retention_are_deleted(people, settings):
    settings.ALARM_EVENT_RETENTION_DAYS = 7
    services.trigger(user=people["sender"], template="probealarm", source="desktop")
    inbox = store.inbox_for_user(people["sender"])
    assert InboxEvent.objects.filter(inbox=inbox).count() == 1
    with transaction.atomic():
        InboxEvent.objects.update(created_at=timezone.now() - timedelta(days=8))
    assert housekeeping.run().events_deleted == 1
    assert not InboxEvent.objects.exists()
