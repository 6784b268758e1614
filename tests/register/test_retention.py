"""Retention: due persons are purged without leaving personal data; old look-ups go."""

import json
from datetime import date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from beistand.accounts.roles import Role
from beistand.audit.models import AuditEvent
from beistand.audit.services import verify_chain
from beistand.ops.worker import BeistandWorker
from beistand.register import retention
from beistand.register.models import (
    Lookup,
    RegisterAddress,
    RegisterEntry,
    RegisterPerson,
    RightsRequest,
    SearchKey,
)
from beistand.register.services import refresh_person
from beistand.reports.models import Offence

pytestmark = pytest.mark.django_db
TODAY = date(2030, 6, 1)
NAME = "Quastenflosser"


def make_person(last_name=NAME, first="Hildegard", dob=date(1970, 3, 4), incident=None,
                street="Ginsterweg", postal="50667"):
    incident = incident or TODAY - timedelta(days=200)
    with transaction.atomic():
        person = RegisterPerson.objects.create(last_name=last_name, first_names=first,
                                               birth_name=f"{last_name}-Geb",
                                               aliases=[f"{last_name}ski"], date_of_birth=dob)
        RegisterAddress.objects.create(person=person, street=street, house_number="7",
                                       postal_code=postal, city="Köln")
        entry = RegisterEntry.objects.create(person=person, hazard_level=3,
                                             incident_date=incident)
        entry.offences.set(Offence.objects.all()[:2])
        person.measures.set(["pairs"])
        RightsRequest.objects.create(person=person, kind="art15", received_on=incident,
                                     due_on=incident + timedelta(days=30),
                                     details=f"Auskunftsersuchen von {first} {last_name}",
                                     decision_reason=f"{last_name} erhält Auskunft")
        refresh_person(person)
        # The matching engine may still be a stub: make sure there are keys to delete.
        SearchKey.objects.get_or_create(person=person, kind="test",
                                        value=last_name.lower())
    return person


def make_lookup(user, shown, at=None, purpose="Az. 50/123 Hausbesuch", unit="50", keep=False,
                query=None):
    lookup = Lookup.objects.create(
        kind=Lookup.Kind.PERSON, querier=user, querier_label=user.username, unit_code=unit,
        purpose=purpose, query=query or {"last_name": NAME, "first_name": "Hildegard"},
        shown=shown, keep_for_audit=keep)
    if at is not None:
        Lookup.objects.filter(pk=lookup.pk).update(at=at)
    return lookup


def at_day(d: date, hour=10):
    return timezone.make_aware(datetime(d.year, d.month, d.day, hour))


def no_identity_left(person_id, tokens=(NAME, "Hildegard", "Ginsterweg")):
    person = RegisterPerson.objects.get(pk=person_id)
    assert person.status == RegisterPerson.Status.DELETED
    assert (person.last_name, person.first_names, person.birth_name) == ("", "", "")
    assert person.aliases == [] and person.date_of_birth is None
    assert person.review_on is None and person.delete_on is None
    assert not RegisterAddress.objects.filter(person_id=person_id).exists()
    assert not SearchKey.objects.filter(person_id=person_id).exists()
    assert not RegisterEntry.objects.filter(person_id=person_id).exists()
    assert not person.measures.exists()
    for rr in RightsRequest.objects.filter(person_id=person_id):
        assert rr.details == ""
        for token in tokens:
            assert token not in rr.decision_reason
    for lookup in Lookup.objects.all():
        text = json.dumps(lookup.query, ensure_ascii=False) + lookup.purpose
        for token in tokens:
            assert token not in text, text
    for key in SearchKey.objects.all():
        assert NAME.lower() not in key.value


def new_audit_rows(since_seq):
    return list(AuditEvent.objects.filter(seq__gt=since_seq))


def assert_no_identity_in(rows, tokens=(NAME, "Hildegard", "Ginsterweg", "1970-03-04")):
    for row in rows:
        blob = json.dumps([row.object_repr, row.purpose, row.before, row.after],
                          ensure_ascii=False, default=str)
        for token in tokens:
            assert token.lower() not in blob.lower(), (row.action, blob)


def test_purge_person_leaves_no_personal_data(make_user):
    querier = make_user("abfrage1", roles=[Role.QUERIER],
                        expires_at=timezone.now() + timedelta(days=30))
    person = make_person()
    other = make_person(last_name="Zaunkoenig", first="Otto", street="Ahornweg", postal="50668")
    make_lookup(querier, [person.pk], purpose=f"Hausbesuch bei {NAME}")
    untouched = make_lookup(querier, [other.pk], query={"last_name": "Zaunkoenig"})
    seq = AuditEvent.objects.order_by("-seq").first().seq

    counts = retention.purge_person(person, f"Art. 17: {NAME} hat Löschung beantragt")

    assert counts["addresses"] == 1 and counts["entries"] == 1 and counts["search_keys"] >= 1
    assert counts["lookups_redacted"] == 1
    no_identity_left(person.pk)
    rows = new_audit_rows(seq)
    # The redacted look-up's new content is chained (a keyed digest, no identity).
    assert [r.action for r in rows] == ["register.lookup.rehash", "register.person.purge"]
    assert rows[1].object_repr == f"Person #{person.pk}"
    assert_no_identity_in(rows)
    # Others are untouched; the chain stays valid.
    untouched.refresh_from_db()
    assert untouched.query == {"last_name": "Zaunkoenig"}
    assert RegisterPerson.objects.get(pk=other.pk).last_name == "Zaunkoenig"
    assert SearchKey.objects.filter(person=other).exists()
    assert verify_chain().ok


def test_run_retention_deletes_due_persons_and_old_lookups(make_user):
    querier = make_user("abfrage1", roles=[Role.QUERIER],
                        expires_at=timezone.now() + timedelta(days=30))
    due = make_person(incident=TODAY - timedelta(days=5 * 365 + 1))
    exactly = make_person(last_name="Grenzfall", first="Egon",
                          incident=TODAY - timedelta(days=5 * 365))
    fresh = make_person(last_name="Frischling", first="Jana", incident=TODAY - timedelta(days=30))
    old = make_lookup(querier, [fresh.pk], at=at_day(TODAY - timedelta(days=366)),
                      query={"last_name": "Frischling"})
    old_child = Lookup.objects.create(kind=Lookup.Kind.DETAIL, querier=querier,
                                      querier_label="abfrage1", purpose="x", parent=old,
                                      shown=[fresh.pk])
    Lookup.objects.filter(pk=old_child.pk).update(at=at_day(TODAY - timedelta(days=5)))
    flagged = make_lookup(querier, [fresh.pk], at=at_day(TODAY - timedelta(days=400)),
                          keep=True, query={"last_name": "Frischling"})
    recent = make_lookup(querier, [due.pk], at=at_day(TODAY - timedelta(days=10)))
    seq = AuditEvent.objects.order_by("-seq").first().seq
    out = StringIO()

    result = retention.run_retention(today=TODAY, stdout=out)

    assert sorted(result.deleted_person_ids) == sorted([due.pk, exactly.pk])
    assert result.persons_deleted == 2 and result.lookups_deleted == 1
    assert result.lookups_kept_for_audit == 1
    text = out.getvalue()
    assert "Personen: 2/2 geprüft" in text
    assert "2 Person(en) gelöscht, 1 Abfrageprotokoll-Einträge gelöscht, 1 wegen laufender " \
           "Prüfung aufbewahrt" in text
    no_identity_left(due.pk)
    assert RegisterPerson.objects.get(pk=exactly.pk).status == RegisterPerson.Status.DELETED
    assert RegisterPerson.objects.get(pk=fresh.pk).last_name == "Frischling"
    assert not Lookup.objects.filter(pk=old.pk).exists()
    old_child.refresh_from_db()
    assert old_child.parent_id is None  # detail view is younger: kept, link cleared
    assert Lookup.objects.filter(pk=flagged.pk).exists()
    recent.refresh_from_db()
    assert recent.shown == [due.pk] and "entfernt" in recent.query
    rows = new_audit_rows(seq)
    actions = [r.action for r in rows]
    assert actions.count("register.person.purge") == 2
    assert "register.lookup.prune" in actions and "register.lookup.redact" in actions
    assert all(r.actor_label == "retention" for r in rows)
    assert_no_identity_in(rows)
    assert verify_chain().ok

    # Idempotent: a second run finds nothing and writes nothing.
    seq = AuditEvent.objects.order_by("-seq").first().seq
    again = retention.run_retention(today=TODAY)
    assert again.persons_deleted == 0 and again.lookups_deleted == 0
    assert new_audit_rows(seq) == []


def test_dry_run_changes_nothing(make_user):
    person = make_person(incident=TODAY - timedelta(days=6 * 365))
    seq = AuditEvent.objects.order_by("-seq").first().seq
    out = StringIO()
    call_command("retention", "run", "--today", TODAY.isoformat(), "--dry-run", stdout=out)
    assert "1 Person(en) würden gelöscht" in out.getvalue()
    assert RegisterPerson.objects.get(pk=person.pk).last_name == NAME
    assert new_audit_rows(seq) == []


def test_command_runs_and_reports(make_user):
    from django.utils import timezone

    today = timezone.localdate()  # --today never lies in the future (it would delete early)
    make_person(incident=today - timedelta(days=6 * 365))
    out = StringIO()
    call_command("retention", "run", "--today", today.isoformat(), stdout=out)
    assert "1 Person(en) gelöscht" in out.getvalue()
    out = StringIO()
    call_command("retention", "run", "--today", today.isoformat(), stdout=out)
    assert "0 Person(en) gelöscht" in out.getvalue()
    with pytest.raises(CommandError, match="Zukunft"):
        call_command("retention", "run", "--today", (today + timedelta(days=1)).isoformat())


def test_command_rejects_bad_date():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Ungültiges Datum"):
        call_command("retention", "run", "--today", "31.12.2030")


def test_new_incident_postpones_deletion(make_user):
    person = make_person(incident=TODAY - timedelta(days=6 * 365))
    with transaction.atomic():
        RegisterEntry.objects.create(person=person, hazard_level=2,
                                     incident_date=TODAY - timedelta(days=10))
        refresh_person(person)
    assert retention.run_retention(today=TODAY).persons_deleted == 0
    assert RegisterPerson.objects.get(pk=person.pk).status == RegisterPerson.Status.ACTIVE


def test_worker_runs_retention_once_a_day():
    person = make_person(incident=TODAY - timedelta(days=6 * 365))
    worker = BeistandWorker(interval=0.01)
    now = at_day(TODAY, 3)
    assert worker.run_job("register.retention", now=now)
    assert RegisterPerson.objects.get(pk=person.pk).status == RegisterPerson.Status.DELETED
    seq = AuditEvent.objects.order_by("-seq").first().seq
    make_person(last_name="Nachzuegler", first="Max", incident=TODAY - timedelta(days=6 * 365))
    assert not worker.run_job("register.retention",
                              now=now + timedelta(hours=5))  # same day: not again
    assert RegisterPerson.objects.filter(last_name="Nachzuegler").exists()
    assert worker.run_job("register.retention", now=now + timedelta(days=1))
    assert not RegisterPerson.objects.filter(last_name="Nachzuegler").exists()
    assert seq < AuditEvent.objects.order_by("-seq").first().seq
