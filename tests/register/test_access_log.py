"""The DPO's access log: only the DPO reads it, reads are audited, misuse signals fire."""

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import override_settings
from django.utils import timezone

from beistand.accounts.roles import Role
from beistand.audit.models import AuditEvent
from beistand.core.errors import AccessDenied, InvalidInput, NotAuthenticated, NotFound
from beistand.register import access_log
from beistand.register.models import Lookup

pytestmark = pytest.mark.django_db
DAY = date(2030, 3, 12)


def at(d: date, hour=10, minute=0):
    return timezone.make_aware(datetime(d.year, d.month, d.day, hour, minute))


def log(user, shown=(), when=None, unit="50", kind=Lookup.Kind.PERSON, purpose="Az. 1/2"):
    lookup = Lookup.objects.create(kind=kind, querier=user, querier_label=user.username,
                                   unit_code=unit, purpose=purpose,
                                   query={"last_name": "Meier", "date_of_birth": "1970-03-04"},
                                   shown=list(shown))
    Lookup.objects.filter(pk=lookup.pk).update(at=when or at(DAY))
    return lookup


@pytest.fixture
def dpo(make_user):
    return make_user("dsb1", roles=[Role.DPO])


@pytest.fixture
def querier(make_user):
    return make_user("abfrage1", roles=[Role.QUERIER],
                     expires_at=timezone.now() + timedelta(days=30))


OTHER_ROLES = [None, Role.PERSONNEL, Role.ZKS, Role.QUERIER, Role.STATISTICS, Role.SECURITY,
               Role.ADMIN]


@pytest.mark.parametrize("role", OTHER_ROLES, ids=lambda r: r or "reporter")
def test_nobody_but_the_dpo_reads_the_log(make_user, querier, role):
    user = make_user("jemand", roles=[role] if role else [],
                     expires_at=timezone.now() + timedelta(days=3) if role else None)
    lookup = log(querier)
    for call in (lambda: access_log.search(user),
                 lambda: access_log.export_csv(user),
                 lambda: access_log.misuse_signals(user, DAY),
                 lambda: access_log.keep_for_audit(user, lookup.pk, "Prüfung")):
        with pytest.raises(AccessDenied):
            call()
    assert not AuditEvent.objects.filter(action__startswith="register.access_log").exists()
    assert not Lookup.objects.get(pk=lookup.pk).keep_for_audit


def test_supervisor_is_denied_too(make_user, org, querier):
    chef = make_user("chef1", head_of=org["abt"])
    with pytest.raises(AccessDenied):
        access_log.search(chef)


def test_anonymous_is_refused():
    with pytest.raises(NotAuthenticated):
        access_log.search(AnonymousUser())


def test_search_by_querier_person_and_period(dpo, querier, make_user):
    other = make_user("abfrage2", roles=[Role.QUERIER],
                      expires_at=timezone.now() + timedelta(days=30))
    a = log(querier, shown=[1, 2], when=at(DAY))
    b = log(querier, shown=[3], when=at(DAY - timedelta(days=3)))
    c = log(other, shown=[2], when=at(DAY - timedelta(days=1)))

    assert [x.pk for x in access_log.search(dpo)] == [a.pk, c.pk, b.pk]
    assert [x.pk for x in access_log.search(dpo, querier=querier.pk)] == [a.pk, b.pk]
    assert [x.pk for x in access_log.search(dpo, querier="abfrage2")] == [c.pk]
    assert [x.pk for x in access_log.search(dpo, person_id=2)] == [a.pk, c.pk]
    assert [x.pk for x in access_log.search(dpo, since=DAY - timedelta(days=1),
                                            until=DAY - timedelta(days=1))] == [c.pk]
    assert [x.pk for x in access_log.search(dpo, since="2030-03-12")] == [a.pk]
    with pytest.raises(InvalidInput, match="Ungültiges Datum"):
        access_log.search(dpo, since="12.03.2030")
    with pytest.raises(InvalidInput):
        access_log.search(dpo, since=DAY, until=DAY - timedelta(days=1))
    with pytest.raises(InvalidInput):
        access_log.search(dpo, person_id="x")
    # Reading is audited, with the filters and the count only.
    reads = AuditEvent.objects.filter(action="register.access_log.read")
    assert reads.count() == 6
    row = reads.filter(after__count=2).first()
    assert row.actor_label == "dsb1"
    assert "Meier" not in str(row.after)


def test_csv_export(dpo, querier):
    a = log(querier, shown=[7], purpose="Az. 50/1; Hausbesuch")
    text = access_log.export_csv(dpo, person_id=7)
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == access_log.CSV_HEADERS
    assert rows[1][0] == str(a.pk)
    assert rows[1][1] == "Personenabfrage"
    assert rows[1][2] == "12.03.2030 10:00:00"
    assert rows[1][3] == "abfrage1" and rows[1][4] == "50"
    assert rows[1][5] == "Az. 50/1; Hausbesuch"
    assert '"last_name": "Meier"' in rows[1][6]
    assert rows[1][7] == "#7" and rows[1][9] == "nein"
    assert AuditEvent.objects.filter(action="register.access_log.export").count() == 1


def test_keep_for_audit(dpo, querier):
    lookup = log(querier)
    with pytest.raises(InvalidInput):
        access_log.keep_for_audit(dpo, lookup.pk, " ")
    with pytest.raises(NotFound):
        access_log.keep_for_audit(dpo, 99999, "Prüfung")
    access_log.keep_for_audit(dpo, lookup.pk, "Prüfung Az. DS-7")
    assert Lookup.objects.get(pk=lookup.pk).keep_for_audit
    row = AuditEvent.objects.get(action="register.lookup.keep")
    assert row.object_id == str(lookup.pk) and row.purpose == "Prüfung Az. DS-7"
    access_log.keep_for_audit(dpo, lookup.pk, "Prüfung beendet", keep=False)
    assert not Lookup.objects.get(pk=lookup.pk).keep_for_audit


@override_settings(MISUSE_LOOKUPS_PER_DAY=3, MISUSE_UNITS_PER_PERSON=3,
                   WORKING_HOURS="07:00-19:00")
def test_misuse_signals(dpo, querier, make_user):
    busy = make_user("vielfrager", roles=[Role.QUERIER],
                     expires_at=timezone.now() + timedelta(days=30))
    for i in range(4):
        log(busy, when=at(DAY, 9, i))
    log(busy, when=at(DAY, 9, 30), kind=Lookup.Kind.DETAIL)  # details do not count
    for i in range(3):  # exactly the threshold: no signal
        log(querier, when=at(DAY, 11, i))
    night = log(querier, when=at(DAY, 22, 15))
    early = log(querier, when=at(DAY, 6, 59))
    # Person 42 shown to three units within 30 days; person 43 to two.
    for n, unit in enumerate(("50", "32", "11")):
        log(querier, shown=[42], unit=unit, when=at(DAY - timedelta(days=10 * n), 10))
    log(querier, shown=[43], unit="50", when=at(DAY, 12))
    log(querier, shown=[43], unit="32", when=at(DAY, 12))
    log(querier, shown=[44], unit="99", when=at(DAY - timedelta(days=40), 12))  # too old

    signals = access_log.misuse_signals(dpo, DAY)

    volume = [s for s in signals if s.kind == "volume"]
    # abfrage1 also made more than 3 searches on DAY (3 + night + early + more).
    assert {s.querier_label for s in volume} == {"vielfrager", "abfrage1"}
    busy_signal = next(s for s in volume if s.querier_label == "vielfrager")
    assert busy_signal.count == 4
    off = [s for s in signals if s.kind == "off_hours"]
    assert len(off) == 1 and set(off[0].lookup_ids) == {night.pk, early.pk}
    assert "außerhalb 07:00–19:00 Uhr" in off[0].detail
    units = [s for s in signals if s.kind == "many_units"]
    assert [s.person_id for s in units] == [42]
    assert units[0].count == 3
    assert AuditEvent.objects.filter(action="register.access_log.signals").exists()


@override_settings(WORKING_HOURS="früh bis spät")
def test_misconfigured_working_hours_is_named(dpo):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="BEISTAND_WORKING_HOURS"):
        access_log.misuse_signals(dpo, DAY)
