"""Crafted incidents for the statistics: exact levels, units, places and workflow times."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from beistand.accounts.roles import Role
from beistand.demo.incidents import insert_history
from beistand.organisation.models import OrgUnit
from beistand.reports.models import Perpetrator, Report, Status

SECRET_DESCRIPTION = "GEHEIM-Schilderung-7f3a: Herr Zacharias Quenzel schlug zu."
SECRET_PERPETRATOR = "Quenzel"
SECRET_FIRST = "Zacharias"


@pytest.fixture(autouse=True)
def _exact_counts(request, settings):
    """The suppression tests assert exact counts: they run without the cell-key noise. The noise
    itself, and the attacks it defeats, are tested in test_differencing.py with the default."""
    if not request.module.__name__.endswith("test_differencing"):
        settings.STATS_NOISE = 0


@pytest.fixture
def units(org):
    with transaction.atomic():
        youth = OrgUnit.objects.create(code="51", name="Jugendamt", kind="amt",
                                       parent=org["dez"])
        asd = OrgUnit.objects.create(code="51/4", name="ASD", kind="abteilung", parent=youth)
    return {**org, "youth": youth, "asd": asd}


@pytest.fixture
def staff(units, make_user):
    """One reporter in 32/1 (under Amt 32), one in 51/4 (under Amt 51)."""
    staff = {
        "ordnung": make_user("ordnung", unit=units["abt"], room=units["rooms"][0]),
        "jugend": make_user("jugend", unit=units["asd"], room=units["rooms"][1]),
    }
    # Distinctive names: the privacy test searches every response for them.
    with transaction.atomic():
        for user, last in zip(staff.values(), ("Wolkenstein", "Pfefferkorn"), strict=True):
            user.employee.last_name = last
            user.employee.save()
    return staff


@pytest.fixture
def readers(units, make_user):
    return {role: make_user(f"r-{role}", roles=[role], unit=units["zks"])
            for role in (Role.STATISTICS, Role.ZKS, Role.DPO, Role.ADMIN, Role.QUERIER,
                         Role.PERSONNEL, Role.SECURITY)} | {
        "reporter": make_user("r-reporter", unit=units["abt"])}


def make_incident(user, when: datetime, level: int = 2, offences=("threat",), *,
                  field=False, known=True, police=False, injuries="", incapacity=None,
                  steps=(), status=Status.SUBMITTED):
    """One report by ``user`` at ``when``; ``steps``: ((to_status, hours after ``when``), …)."""
    employee = user.employee
    with transaction.atomic():
        report = Report.objects.create(
            status=status, reporter=employee, created_by=user, occurred_at=when,
            location_kind="field" if field else "office",
            room=None if field else employee.room,
            address="Geheimweg 13, 12345 Teststadt" if field else "",
            hazard_level=level, attack=level >= 1, description=SECRET_DESCRIPTION,
            injuries=injuries, incapacity_days=incapacity, police_on_site=police)
        report.offences.set(offences)
        report.victims.set([employee])
        Perpetrator.objects.create(report=report, known=known,
                                   last_name=SECRET_PERPETRATOR if known else "",
                                   first_names=SECRET_FIRST if known else "")
        previous = Status.DRAFT
        rows = []
        for to_status, hours in steps:
            rows.append((report.pk, "step", previous, to_status, user.pk,
                         when + timedelta(hours=hours), "", {}))
            previous = to_status
        insert_history(rows)
    return report


def at(year, month, day=15, hour=10):
    return datetime(year, month, day, hour, tzinfo=UTC)
