"""Alarm supervision: technical alerts to the administrators, once per condition until it
clears (then "behoben"), for a unit nobody in the first tier can hear, a failing SMS gateway and
a failed synthetic Probealarm; the Probealarm against a real server."""

from datetime import datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from beistand.accounts.roles import Role
from beistand.alarms import store
from beistand.alarms.models import Alarm, Presence, ServerProcess, SmsMessage
from beistand.notify.models import OutgoingMail
from beistand.ops import supervision
from beistand.ops.models import ProbeRun, TechnicalAlert
from tests.alarms.conftest import free_port

# A Wednesday, 10:00 local time: inside the default supervision hours.
WEDNESDAY = timezone.make_aware(datetime(2026, 3, 4, 10, 0))


@pytest.fixture
def admin(make_user):
    return make_user("it-admin", roles=[Role.ADMIN])


@pytest.fixture
def in_use(people):
    """Sender, neighbour and security use the alarm (they have inboxes)."""
    for name in ("sender", "neighbour", "security"):
        store.inbox_for_user(people[name])
    return people


def _online(user):
    with transaction.atomic():
        proc, _ = ServerProcess.objects.update_or_create(
            id="test-proc", defaults={"host": "h", "pid": 1, "beat_at": timezone.now()})
        Presence.objects.create(process=proc, inbox=store.inbox_for_user(user), connections=1)


def _alert_mails():
    return list(OutgoingMail.objects.filter(reason__startswith="Technische Warnung").order_by("pk"))


def test_unit_without_online_first_tier_alerts_once_then_behoben(in_use, admin, settings):
    settings.PROBE_TIME = ""
    result = supervision.run(now=WEDNESDAY)
    assert result.raised == ["coverage:32/1"]
    mails = _alert_mails()
    assert len(mails) == 1 and mails[0].to == ["it-admin@teststadt.example"]
    assert "32/1" in mails[0].subject and "niemand aus der ersten Alarmstufe" in mails[0].body
    assert "Sender" not in mails[0].body  # units by code, never persons

    assert supervision.run(now=WEDNESDAY + timedelta(minutes=1)).raised == []
    assert len(_alert_mails()) == 1  # de-duplicated while the condition lasts

    _online(in_use["neighbour"])
    result = supervision.run(now=WEDNESDAY + timedelta(minutes=2))
    assert result.cleared == ["coverage:32/1"]
    mails = _alert_mails()
    assert len(mails) == 2 and "behoben" in mails[1].subject
    assert TechnicalAlert.objects.get(key="coverage:32/1").cleared_at is not None


def test_coverage_is_not_judged_outside_supervision_hours(in_use, admin, settings):
    settings.PROBE_TIME = ""
    saturday = WEDNESDAY + timedelta(days=3)
    assert supervision.run(now=saturday).raised == []
    assert supervision.run(now=WEDNESDAY.replace(hour=22)).raised == []
    assert not _alert_mails()


def test_failing_sms_gateway_alerts_admins_and_oncall_phone(people, admin, settings):
    settings.PROBE_TIME = ""
    settings.SMS_PROVIDER = "http"
    settings.SUPERVISION_SMS_FAILURES = 3
    settings.ONCALL_PHONE = "0171 5555555"
    now = timezone.now()
    failing = SmsMessage.objects.create(direction="out", phone="+491", text="t", state="queued",
                                        attempts=2, error="Gateway antwortete 500",
                                        created_at=now, updated_at=now)
    assert supervision.run().raised == []  # two failures: not yet
    SmsMessage.objects.filter(pk=failing.pk).update(attempts=3)
    assert supervision.run().raised == ["sms"]
    oncall = SmsMessage.objects.get(phone="+491715555555")
    assert oncall.text.startswith("beistand: WARNUNG SMS-Gateway")
    assert supervision.run().raised == []
    # The gateway takes an SMS again: cleared.
    SmsMessage.objects.create(direction="out", phone="+492", text="t", state="sent",
                              attempts=1, created_at=now, updated_at=timezone.now()
                              + timedelta(seconds=1))
    assert supervision.run().cleared == ["sms"]
    assert "behoben" in _alert_mails()[-1].subject


def test_probe_runs_once_a_day_after_its_time_and_retries_hourly_on_failure(db, settings):
    settings.PROBE_TIME = "06:30"
    assert not supervision.probe_due(WEDNESDAY.replace(hour=6, minute=0))
    assert supervision.probe_due(WEDNESDAY)
    ProbeRun.objects.create(started_at=WEDNESDAY, ok=True)
    assert not supervision.probe_due(WEDNESDAY + timedelta(hours=5))
    assert supervision.probe_due(WEDNESDAY + timedelta(days=1))
    ProbeRun.objects.create(started_at=WEDNESDAY + timedelta(hours=1), ok=False)
    assert not supervision.probe_due(WEDNESDAY + timedelta(hours=1, minutes=30))
    assert supervision.probe_due(WEDNESDAY + timedelta(hours=2))
    settings.PROBE_TIME = ""
    assert not supervision.probe_due(WEDNESDAY + timedelta(days=2))


@pytest.mark.django_db(transaction=True)
def test_probe_through_a_real_server_and_alert_when_it_fails(server, alarm_defaults, settings,
                                                             make_user):
    make_user("it-admin", roles=[Role.ADMIN])
    # Nobody listens: the probe fails at its first step, the admins are alerted.
    run = supervision.run_probe(base_url=f"http://127.0.0.1:{free_port()}", timeout=5)
    assert not run.ok and run.detail.startswith("Server erreichbar")
    settings.PROBE_TIME = ""
    assert supervision.run().raised == ["probe"]

    run = supervision.run_probe(base_url=server.http, timeout=10)
    assert run.ok, run.detail
    alarm = Alarm.objects.get(pk=run.alarm_id)
    assert alarm.template.test and alarm.state == Alarm.State.RESOLVED
    assert alarm.device.revoked_at is not None  # the system device lives for one probe only
    assert supervision.run().cleared == ["probe"]
    subjects = [m.subject for m in _alert_mails()]
    assert len(subjects) == 2 and "behoben" in subjects[1]
