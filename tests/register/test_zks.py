"""ZKS maintenance: merge, restriction, case outcomes, measures, periodic review."""

import json
from datetime import date, timedelta

import pytest
from django.db import transaction

from beistand.accounts.roles import Role
from beistand.audit.models import AuditEvent
from beistand.audit.services import verify_chain
from beistand.core.errors import AccessDenied, Conflict, InvalidInput, NotFound
from beistand.register import zks
from beistand.register.models import (
    RegisterAddress,
    RegisterEntry,
    RegisterPerson,
    RightsRequest,
    SearchKey,
)
from beistand.register.services import refresh_person
from beistand.reports.services import create_report
from tests.reports.conftest import report_input

pytestmark = pytest.mark.django_db
TODAY = date(2030, 6, 1)


def make_person(last_name, first="Hildegard", dob=date(1970, 3, 4), incident=None,
                street="Ginsterweg", postal="50667", level=2, report=None):
    incident = incident or TODAY - timedelta(days=200)
    with transaction.atomic():
        person = RegisterPerson.objects.create(last_name=last_name, first_names=first,
                                               date_of_birth=dob)
        RegisterAddress.objects.create(person=person, street=street, house_number="7",
                                       postal_code=postal, city="Köln")
        RegisterEntry.objects.create(person=person, hazard_level=level, incident_date=incident,
                                     report=report)
        refresh_person(person)
    return person


@pytest.fixture
def zks_user(make_user):
    return make_user("zks1", roles=[Role.ZKS])


@pytest.fixture
def reporter(make_user):
    return make_user("melder1")


def last_seq():
    return AuditEvent.objects.order_by("-seq").first().seq


def test_merge_moves_everything_and_purges_duplicate(zks_user):
    keep = make_person("Meier", level=2, incident=TODAY - timedelta(days=400))
    dup = make_person("Mayer", level=3, incident=TODAY - timedelta(days=20),
                      street="Ahornweg", postal="50668")
    with transaction.atomic():
        dup.measures.set(["pairs", "no_home_visit"])
        RightsRequest.objects.create(person=dup, kind="art15", received_on=TODAY,
                                     due_on=TODAY + timedelta(days=30))
    seq = last_seq()

    result = zks.merge_persons(zks_user, keep.pk, dup.pk, "Dieselbe Person, Schreibweise")

    assert result.pk == keep.pk
    assert result.entries.count() == 2
    assert result.hazard_level == 3  # refreshed from the moved entry
    assert result.last_incident_on == TODAY - timedelta(days=20)
    assert result.addresses.count() == 2
    assert set(result.measures.values_list("code", flat=True)) == {"pairs", "no_home_visit"}
    assert result.rights_requests.count() == 1
    assert "Mayer" in result.aliases
    dup.refresh_from_db()
    assert dup.status == RegisterPerson.Status.DELETED and dup.merged_into_id == keep.pk
    assert dup.last_name == "" and dup.date_of_birth is None
    assert not SearchKey.objects.filter(person=dup).exists()
    rows = AuditEvent.objects.filter(seq__gt=seq)
    actions = [r.action for r in rows]
    assert "register.person.merge" in actions and "register.person.purge" in actions
    assert "register.registerentry.update" in actions  # the move itself is audited
    merge_row = rows.get(action="register.person.merge")
    assert merge_row.actor_label == "zks1" and merge_row.purpose.startswith("Dieselbe Person")
    purge_row = rows.get(action="register.person.purge")
    assert "Mayer" not in json.dumps([purge_row.object_repr, purge_row.purpose,
                                      purge_row.after])
    assert verify_chain().ok


def test_merge_bad_input_changes_nothing(zks_user, reporter):
    a = make_person("Meier")
    b = make_person("Mayer")
    with pytest.raises(AccessDenied):
        zks.merge_persons(reporter, a.pk, b.pk, "Grund")
    with pytest.raises(InvalidInput):
        zks.merge_persons(zks_user, a.pk, a.pk, "Grund")
    with pytest.raises(InvalidInput):
        zks.merge_persons(zks_user, a.pk, b.pk, "  ")
    with pytest.raises(NotFound):
        zks.merge_persons(zks_user, a.pk, 999999, "Grund")
    with pytest.raises(InvalidInput):
        zks.merge_persons(zks_user, a.pk, "abc", "Grund")
    assert RegisterPerson.objects.filter(status=RegisterPerson.Status.ACTIVE).count() == 2


def test_restrict_and_lift(zks_user, reporter):
    person = make_person("Meier")
    with pytest.raises(AccessDenied):
        zks.restrict_person(reporter, person.pk, "Grund")
    zks.restrict_person(zks_user, person.pk, "Richtigkeit bestritten")
    person.refresh_from_db()
    assert person.status == RegisterPerson.Status.RESTRICTED
    assert person.status_reason == "Richtigkeit bestritten"
    with pytest.raises(Conflict):
        zks.restrict_person(zks_user, person.pk, "nochmal")
    zks.lift_restriction(zks_user, person.pk, "Geklärt")
    person.refresh_from_db()
    assert person.status == RegisterPerson.Status.ACTIVE and person.status_reason == ""
    with pytest.raises(Conflict):
        zks.lift_restriction(zks_user, person.pk, "Geklärt")
    actions = list(AuditEvent.objects.filter(object_id=str(person.pk))
                   .values_list("action", flat=True))
    assert "register.person.restrict" in actions and "register.person.unrestrict" in actions


def test_acquittal_restricts_at_once(zks_user):
    person = make_person("Meier")
    [restricted] = zks.record_case_outcome(zks_user, person_id=person.pk, outcome="acquittal",
                                           reason="Urteil AG Köln vom 1.5.2030")
    assert restricted.status == RegisterPerson.Status.RESTRICTED
    assert restricted.status_reason.startswith("Freispruch: ")
    assert AuditEvent.objects.filter(action="register.person.acquittal",
                                     object_id=str(person.pk)).exists()


def test_dismissal_by_report_restricts_its_persons(zks_user, reporter):
    report = create_report(reporter, report_input())
    a = make_person("Meier", report=report)
    b = make_person("Schulz", first="Karl", report=report)
    other = make_person("Unbeteiligt", first="Uwe")
    persons = zks.record_case_outcome(zks_user, report_id=report.pk, outcome="dismissal",
                                      reason="Einstellung nach § 170 Abs. 2 StPO")
    assert {p.pk for p in persons} == {a.pk, b.pk}
    for p in (a, b):
        p.refresh_from_db()
        assert p.status == RegisterPerson.Status.RESTRICTED
        assert p.status_reason.startswith("Einstellung des Verfahrens: ")
    other.refresh_from_db()
    assert other.status == RegisterPerson.Status.ACTIVE


def test_case_outcome_bad_input(zks_user):
    person = make_person("Meier")
    with pytest.raises(InvalidInput):
        zks.record_case_outcome(zks_user, person_id=person.pk, outcome="guilty", reason="x")
    with pytest.raises(InvalidInput):
        zks.record_case_outcome(zks_user, outcome="acquittal", reason="x")
    with pytest.raises(NotFound):
        zks.record_case_outcome(zks_user, report_id=987654, outcome="acquittal", reason="x")
    person.refresh_from_db()
    assert person.status == RegisterPerson.Status.ACTIVE


def test_set_measures(zks_user):
    person = make_person("Meier")
    zks.set_measures(zks_user, person.pk, ["pairs", "police_escort"])
    assert set(person.measures.values_list("code", flat=True)) == {"pairs", "police_escort"}
    row = AuditEvent.objects.get(action="register.person.measures")
    assert row.after == {"measures": ["pairs", "police_escort"]}
    with pytest.raises(InvalidInput, match="Unbekannte Schutzmaßnahme"):
        zks.set_measures(zks_user, person.pk, ["pairs", "zauberschild"])
    assert person.measures.count() == 2


def test_review_due_and_decisions(zks_user, reporter):
    due = make_person("Meier", incident=TODAY - timedelta(days=3 * 365))
    also_due = make_person("Schulz", first="Karl", incident=TODAY - timedelta(days=2 * 365 + 5))
    not_due = make_person("Frisch", first="Jana", incident=TODAY - timedelta(days=100))
    listed = list(zks.review_due(TODAY))
    assert [p.pk for p in listed] == [due.pk, also_due.pk]
    assert not_due.pk not in [p.pk for p in listed]

    with pytest.raises(AccessDenied):
        zks.decide_review(reporter, due.pk, "extend", "weiter gefährlich")
    with pytest.raises(InvalidInput):
        zks.decide_review(zks_user, due.pk, "maybe", "hm")
    extended = zks.decide_review(zks_user, due.pk, "extend", "Erneute Drohung gemeldet",
                                 today=TODAY)
    assert extended.review_on == TODAY + timedelta(days=2 * 365)
    assert AuditEvent.objects.filter(action="register.review.extend",
                                     purpose="Erneute Drohung gemeldet").exists()

    seq = last_seq()
    deleted = zks.decide_review(zks_user, also_due.pk, "delete",
                                "Schulz seit Jahren unauffällig", today=TODAY)
    assert deleted.status == RegisterPerson.Status.DELETED and deleted.last_name == ""
    assert not SearchKey.objects.filter(person=also_due).exists()
    for row in AuditEvent.objects.filter(seq__gt=seq):
        assert "Schulz" not in json.dumps([row.object_repr, row.purpose, row.before, row.after],
                                          default=str)
    assert [p.pk for p in zks.review_due(TODAY)] == []
