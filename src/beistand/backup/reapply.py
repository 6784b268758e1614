"""Re-application of deletions after a restore: what was deleted stays deleted.

A backup holds the register as it was when the backup was taken. Persons purged and look-up log
rows pruned *after* that would come back with a restore. This module deletes them again, from
three sources, with the register's own purge (``register.retention``), never a second one:

1. the deletion journal (``beistand.backup.journal``), which lives outside the database;
2. the restored audit trail: every ``register.person.purge`` row must have its tombstone;
3. the retention run for today (persons past their deletion date, look-ups past a year).

Every step is idempotent; a journal line whose person was created after the backup (missing) or
whose id now belongs to another person (different creation time) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from beistand.audit import services as audit
from beistand.audit.models import AuditEvent
from beistand.backup import journal
from beistand.register import services as register
from beistand.register.models import Lookup, RegisterPerson

ACTOR = audit.Actor(user=None, label="restore")
PREFIX = "Wiederholt nach Wiederherstellung einer Sicherung: "


@dataclass
class ReapplyResult:
    journal_entries: int = 0
    journal_unreadable: int = 0
    persons_purged: list[int] = field(default_factory=list)
    merges_repeated: list[int] = field(default_factory=list)
    merges_open: list[int] = field(default_factory=list)
    persons_already_deleted: int = 0
    persons_missing: int = 0
    persons_other: int = 0
    lookups_deleted: int = 0
    retention_persons: int = 0
    retention_lookups: int = 0

    def summary(self) -> str:
        text = (f"Löschungen wiederholt: {len(self.persons_purged)} Person(en) erneut gelöscht, "
                f"{len(self.merges_repeated)} Zusammenführung(en) wiederholt, "
                f"{self.lookups_deleted} Abfrageprotokoll-Einträge erneut gelöscht; "
                f"Aufbewahrungslauf: {self.retention_persons} Person(en), "
                f"{self.retention_lookups} Abfrageprotokoll-Einträge "
                f"({self.journal_entries} Journalzeilen, {self.persons_already_deleted} schon "
                f"gelöscht, {self.persons_missing} nicht in der Sicherung).")
        if self.merges_open:
            ids = ", ".join(f"#{pid}" for pid in self.merges_open)
            text += (f" Nicht wiederholbare Zusammenführung(en), bitte durch die ZKS prüfen: "
                     f"{ids}.")
        if self.journal_unreadable:
            text += f" {self.journal_unreadable} unlesbare Journalzeile(n) übersprungen."
        return text


def _same_time(stored, iso: str | None) -> bool:
    if not iso or stored is None:
        return True  # older journal lines without the creation time: trust the id
    return stored == datetime.fromisoformat(iso)


def _person(pid) -> RegisterPerson | None:
    return RegisterPerson.objects.filter(pk=pid).first() if pid is not None else None


def _purge_entry(entry: dict, result: ReapplyResult) -> None:
    pid = entry.get("person_id")
    person = _person(pid)
    if person is None:
        result.persons_missing += 1
        return
    if not _same_time(person.created_at, entry.get("created_at")):
        result.persons_other += 1  # the id was given again to a person created after a restore
        return
    if person.status == RegisterPerson.Status.DELETED:
        result.persons_already_deleted += 1
        return
    reason = (PREFIX + (entry.get("reason") or ""))[:500]
    keep_id = entry.get("merged_into")
    if keep_id is not None:
        keep = _person(keep_id)
        if (keep is None or keep.status == RegisterPerson.Status.DELETED
                or not _same_time(keep.created_at, entry.get("merged_into_created_at"))):
            # The kept person is not in this backup: purging the duplicate would erase the
            # incidents that the merge had moved. The ZKS decides (named in the summary).
            result.merges_open.append(person.pk)
            return
        register.merge_duplicate(keep.pk, person.pk, reason)
        result.merges_repeated.append(person.pk)
        return
    register.purge_person(person, reason)
    result.persons_purged.append(person.pk)


def _prune_entry(entry: dict, result: ReapplyResult) -> None:
    cutoff = datetime.fromisoformat(entry["cutoff"])
    ids = [int(i) for i in entry.get("ids") or []]
    for start in range(0, len(ids), 5000):
        with transaction.atomic():
            batch = list(Lookup.objects.filter(pk__in=ids[start:start + 5000], at__lt=cutoff)
                         .order_by("pk").values_list("pk", flat=True))
            if not batch:
                continue
            Lookup.objects.filter(parent_id__in=batch).update(parent=None)
            rows = Lookup.objects.filter(pk__in=batch)
            rows._raw_delete(rows.db)
            audit.record("register.lookup.prune", object_type="register.lookup",
                         object_repr="Abfrageprotokoll",
                         purpose=PREFIX + "Aufbewahrungsfrist des Abfrageprotokolls",
                         after={"deleted": len(batch), "before": cutoff.isoformat(),
                                "first_id": batch[0], "last_id": batch[-1]})
            journal.lookups_pruned(cutoff, batch)
        result.lookups_deleted += len(batch)


def reapply_deletions(entries: list[dict], unreadable: int = 0, today=None) -> ReapplyResult:
    """Delete again what the journal, the audit trail and the retention rules say is deleted."""
    result = ReapplyResult(journal_entries=len(entries), journal_unreadable=unreadable)
    with audit.acting_as(ACTOR):
        for entry in entries:
            if entry.get("type") == journal.PERSON_PURGE:
                _purge_entry(entry, result)
            elif entry.get("type") == journal.LOOKUP_PRUNE:
                _prune_entry(entry, result)
        # The restored audit trail: a purge it records must have left a tombstone.
        purged = (AuditEvent.objects.filter(action="register.person.purge")
                  .values_list("object_id", flat=True))
        ids = {int(i) for i in purged if str(i).isdigit()}
        for person in (RegisterPerson.objects.filter(pk__in=ids)
                       .exclude(status=RegisterPerson.Status.DELETED)):
            register.purge_person(person, PREFIX + "Löschung laut Audit-Protokoll")
            result.persons_purged.append(person.pk)
        run = register.run_retention(today=today or timezone.localdate())
        result.retention_persons = run.persons_deleted
        result.retention_lookups = run.lookups_deleted
    return result
