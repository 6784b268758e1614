"""The deletion journal: a line per committed purge or pruning, none for a rollback, never
personal data."""

import json
from datetime import date, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from beistand.backup import journal as deletion_journal
from beistand.register import retention
from beistand.register.models import Lookup, RegisterAddress, RegisterPerson

pytestmark = pytest.mark.django_db


def person(name="Quastenflosser"):
    with transaction.atomic():
        p = RegisterPerson.objects.create(last_name=name, first_names="Hildegard",
                                          date_of_birth=date(1970, 3, 4))
        RegisterAddress.objects.create(person=p, street="Ginsterweg", house_number="7",
                                       postal_code="50667", city="Köln")
    return p


def lines(path):
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_a_committed_purge_is_journalled_without_personal_data(journal,
                                                                django_capture_on_commit_callbacks):
    p = person()
    with django_capture_on_commit_callbacks(execute=True):
        retention.purge_person(p, "Löschung nach Art. 17 DSGVO: Antrag von Quastenflosser")
    (line,) = lines(journal)
    assert line["type"] == "register.person.purge" and line["person_id"] == p.pk
    assert line["created_at"] and line["merged_into"] is None
    text = journal.read_text()
    assert "Quastenflosser" not in text and "Hildegard" not in text and "Ginsterweg" not in text
    assert journal.stat().st_mode & 0o077 == 0


def test_a_rolled_back_purge_leaves_no_line(journal, django_capture_on_commit_callbacks):
    p = person()
    with (django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError),
          transaction.atomic()):
        retention.purge_person(p, "Prüfung: Löschung")
        raise RuntimeError("abgebrochen")
    assert lines(journal) == []
    assert RegisterPerson.objects.get(pk=p.pk).status == RegisterPerson.Status.ACTIVE


def test_a_purge_nobody_would_journal_is_refused(journal, django_capture_on_commit_callbacks):
    """Without the backup app's receiver the deletion fails closed: a purge without a journal
    line would come back with the next restore."""
    from beistand.register import signals

    p = person()
    receivers = signals.person_purged.receivers
    signals.person_purged.receivers = []
    signals.person_purged.sender_receivers_cache.clear()
    try:
        with pytest.raises(RuntimeError, match="deletion journal"):
            retention.purge_person(p, "Löschung nach Art. 17 DSGVO")
    finally:
        signals.person_purged.receivers = receivers
        signals.person_purged.sender_receivers_cache.clear()
    assert RegisterPerson.objects.get(pk=p.pk).status == RegisterPerson.Status.ACTIVE
    assert lines(journal) == []


def test_retention_journals_persons_and_pruned_lookups(journal, make_user,
                                                       django_capture_on_commit_callbacks):
    user = make_user("abfrage")
    due = person("Faellig")
    RegisterPerson.objects.filter(pk=due.pk).update(delete_on=date.today() - timedelta(days=1))
    old = Lookup.objects.create(kind=Lookup.Kind.PERSON, querier=user, querier_label="abfrage",
                                purpose="Az. 1", query={}, shown=[])
    Lookup.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=400))
    with django_capture_on_commit_callbacks(execute=True):
        retention.run_retention()
    kinds = {line["type"]: line for line in lines(journal)}
    assert kinds["register.person.purge"]["person_id"] == due.pk
    assert kinds["register.lookup.prune"]["ids"] == [old.pk]


def test_unreadable_lines_are_counted_not_fatal(journal):
    deletion_journal.append({"type": "register.person.purge", "person_id": 1}, journal)
    with journal.open("a") as handle:
        handle.write('{"type": "register.person.pu')  # cut off by a crash
    entries, bad = deletion_journal.read(journal)
    assert [e["person_id"] for e in entries] == [1] and bad == 1
