"""Daily upkeep of the silent alarm (run by the worker): delete stored events past their
retention, forget dead server processes, and remind units that have not tested their alarm.

An alarm function that silently broke months ago is worse than none (one city lost its alarm
for nine months after a software change): the reminder asks each unit's head to run a
Probealarm when the unit had none for ``ALARM_TEST_REMINDER_DAYS``.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from beistand.alarms import store
from beistand.alarms.models import Alarm, ServerProcess, TestReminder
from beistand.alarms.presence import PROCESS_ALIVE_SECONDS
from beistand.audit import services as audit
from beistand.organisation.models import Employee, OrgUnit

logger = logging.getLogger("beistand.alarms")


@dataclass
class Upkeep:
    events_deleted: int = 0
    processes_forgotten: int = 0
    reminded_units: list[str] | None = None


def run(now=None) -> Upkeep:
    now = now or timezone.now()
    result = Upkeep(reminded_units=[])
    result.events_deleted = store.purge_old_events(now)
    dead = ServerProcess.objects.filter(
        beat_at__lt=now - timedelta(seconds=3 * PROCESS_ALIVE_SECONDS))
    result.processes_forgotten, _ = dead.delete()
    if settings.ALARM_TEST_REMINDER_DAYS > 0:
        result.reminded_units = remind_untested_units(now)
    return result


def remind_untested_units(now) -> list[str]:
    """Mail the head of every unit with staff at a workstation and no Probealarm in the period
    (counted from the last reminder, or from when the unit was first seen)."""
    from beistand.notify.services import enqueue_mail

    period = timedelta(days=settings.ALARM_TEST_REMINDER_DAYS)
    since = now - period
    reminded = []
    units = OrgUnit.objects.filter(
        head__isnull=False, members__active=True, members__room__isnull=False).distinct()
    for unit in units.select_related("head"):
        tested = Alarm.objects.filter(template__test=True, triggered_at__gte=since).filter(
            Q(sender__unit=unit) | Q(room__employees__unit=unit)).exists()
        if tested:
            continue
        last = TestReminder.objects.filter(unit=unit).first()
        if last is None:
            # First seen: the period starts now (no reminders on the day of installation).
            with transaction.atomic():
                TestReminder.objects.create(unit=unit, sent_at=now)
            continue
        if last.sent_at >= since:
            continue
        head = unit.head
        if not head.email:
            logger.warning("Probealarm-Erinnerung für %s: Leitung ohne E-Mail-Adresse", unit.code)
            continue
        rooms = sorted(set(Employee.objects.filter(unit=unit, active=True, room__isnull=False)
                           .values_list("room__number", flat=True)))[:10]
        with transaction.atomic(), audit.acting_as(audit.Actor(user=None, label="Alarm-Server")):
            enqueue_mail([head.email], f"Probealarm fällig: {unit.code} {unit.name}",
                         "alarm_test_reminder",
                         {"unit": unit, "days": settings.ALARM_TEST_REMINDER_DAYS,
                          "rooms": rooms},
                         reason=f"Probealarm-Erinnerung {unit.code}")
            TestReminder.objects.update_or_create(unit=unit, defaults={"sent_at": now})
        reminded.append(unit.code)
    return reminded
