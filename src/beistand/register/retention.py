"""Retention of the register: purge of a person's data and the daily retention run.

``purge_person`` removes a person's personal data everywhere in the register and leaves an
anonymous tombstone (id, status ``deleted``, reason, ``merged_into``) so that the access log's
person ids and merge links stay explainable ("Person #42, gelöscht"). ``run_retention`` deletes
persons whose deletion date has come and look-up log rows older than
``REGISTER_ACCESS_LOG_DAYS`` (unless flagged for an ongoing audit).

Why the purge bypasses the automatic model audit: the audit signals write before-images, so an
audited ``save()``/``delete()`` of the person, its addresses or entries would copy exactly the
data being erased into a NEW audit row. The purge therefore deletes/blanks with raw queryset
operations and writes ONE audit row of its own that names the person only as "Person #id" and
carries counts, never identity. Older audit rows (the person's creation etc.) are covered by the
audit trail's own retention pruning (docs/register.md, "Retention").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from beistand.audit import services as audit
from beistand.backup import journal
from beistand.register.models import (
    Lookup,
    RegisterAddress,
    RegisterEntry,
    RegisterPerson,
    RightsRequest,
    SearchKey,
)

REDACTED = "[entfernt]"
# Persons purged per transaction in the retention run (keeps transactions and locks short).
BATCH = 200


def identity_tokens(person: RegisterPerson) -> list[str]:
    """Name parts of the person that must not survive in free text (look-up purposes, reasons)."""
    parts = [person.last_name, person.birth_name, *person.first_names.split(),
             *(a for a in (person.aliases or []) if isinstance(a, str))]
    tokens = set()
    for part in parts:
        part = (part or "").strip()
        if len(part) >= 3:
            tokens.add(part)
            tokens.update(p for p in re.split(r"[\s-]+", part) if len(p) >= 3)
    # Longest first, so "Meier-Schulz" is replaced before "Meier".
    return sorted(tokens, key=len, reverse=True)


def redact(text: str, tokens: list[str]) -> str:
    for token in tokens:
        text = re.sub(re.escape(token), REDACTED, text, flags=re.IGNORECASE)
    return text


def _redact_lookups(tokens_by_person: dict[int, list[str]]) -> int:
    """Strip the query data of every look-up that showed one of the persons.

    The row itself stays (who asked, when, purpose, which ids were shown): the DPO's control of
    the querier is unaffected, and the row goes after a year anyway. The query's field names are
    kept so the log still shows *how* was asked (e.g. name + date of birth).
    """
    if not tokens_by_person:
        return 0
    ids = set(tokens_by_person)
    changed = 0
    # JSON containment is not portable (SQLite has none); one pass over the log per batch.
    for lookup in Lookup.objects.only("id", "shown", "query", "purpose").iterator(
            chunk_size=2000):
        hit = ids.intersection(lookup.shown or [])
        if not hit:
            continue
        tokens = [t for pid in hit for t in tokens_by_person[pid]]
        query = {"entfernt": sorted((lookup.query or {}).keys())} if lookup.query else {}
        Lookup.objects.filter(pk=lookup.pk).update(query=query,
                                                   purpose=redact(lookup.purpose, tokens))
        changed += 1
    return changed


def _purge_rows(person: RegisterPerson, reason: str) -> tuple[dict, list[str]]:
    """Delete/blank everything of one person (no audit signals, see module docstring)."""
    pid = person.pk
    tokens = identity_tokens(person)
    counts = {
        "search_keys": SearchKey.objects.filter(person_id=pid).delete()[0],
    }
    addresses = RegisterAddress.objects.filter(person_id=pid)
    counts["addresses"] = addresses.count()
    addresses._raw_delete(addresses.db)
    entries = RegisterEntry.objects.filter(person_id=pid)
    counts["entries"] = entries.count()
    RegisterEntry.offences.through.objects.filter(registerentry__person_id=pid).delete()
    entries._raw_delete(entries.db)
    RegisterPerson.measures.through.objects.filter(registerperson_id=pid).delete()
    # Rights requests stay as proof that the request was answered (Art. 5(2) GDPR); the free
    # text of the request may name the person and is blanked, the decision reason is redacted.
    for rr in RightsRequest.objects.filter(person_id=pid).only("id", "decision_reason"):
        RightsRequest.objects.filter(pk=rr.pk).update(
            details="", decision_reason=redact(rr.decision_reason, tokens))
    RegisterPerson.objects.filter(pk=pid).update(
        last_name="", first_names="", birth_name="", aliases=[], date_of_birth=None,
        status=RegisterPerson.Status.DELETED, status_reason=redact(reason, tokens)[:500],
        hazard_level=0, last_incident_on=None, zks_contact=None, review_on=None, delete_on=None,
        updated_at=timezone.now())
    return counts, tokens


def _record_purge(pid: int, reason: str, counts: dict, tokens: list[str], actor=None) -> None:
    audit.record("register.person.purge", object_type="register.registerperson",
                 object_id=pid, object_repr=f"Person #{pid}", actor=actor,
                 purpose=redact(reason, tokens), after=counts)
    # Outside the database too, so a restore of an older backup can delete it again.
    journal.person_purged(pid, redact(reason, tokens))


def purge_person(person: RegisterPerson, reason: str, *, actor=None) -> dict:
    """Erase the person's personal data everywhere in the register; keep an anonymous tombstone.

    Runs in the caller's transaction (or its own). Returns the counts of what was removed.
    """
    with transaction.atomic():
        counts, tokens = _purge_rows(person, reason)
        counts["lookups_redacted"] = _redact_lookups({person.pk: tokens})
        _record_purge(person.pk, reason, counts, tokens, actor=actor)
    person.refresh_from_db()
    return counts


# --- The retention run --------------------------------------------------------------------------

@dataclass
class RetentionResult:
    today: date
    dry_run: bool = False
    persons_due: int = 0
    persons_deleted: int = 0
    lookups_due: int = 0
    lookups_deleted: int = 0
    lookups_kept_for_audit: int = 0
    deleted_person_ids: list[int] = field(default_factory=list)

    def summary(self) -> str:
        verb = "würden gelöscht" if self.dry_run else "gelöscht"
        persons = self.persons_due if self.dry_run else self.persons_deleted
        lookups = self.lookups_due if self.dry_run else self.lookups_deleted
        return (f"Aufbewahrung {self.today:%d.%m.%Y}: {persons} Person(en) {verb}, "
                f"{lookups} Abfrageprotokoll-Einträge {verb}, "
                f"{self.lookups_kept_for_audit} wegen laufender Prüfung aufbewahrt.")


REASON_DUE = "Löschfrist erreicht (kein neuer Vorfall)"


def persons_due(today: date):
    return (RegisterPerson.objects.filter(delete_on__lte=today)
            .exclude(status=RegisterPerson.Status.DELETED).order_by("pk"))


def lookup_cutoff(today: date) -> datetime:
    """Look-ups made before this instant are past the access log's retention."""
    start = datetime.combine(today - timedelta(days=settings.REGISTER_ACCESS_LOG_DAYS), time.min)
    return timezone.make_aware(start)


def run_retention(today: date | None = None, stdout=None, dry_run: bool = False
                  ) -> RetentionResult:
    """Delete what is due. Idempotent: a second run on the same day finds nothing to do."""
    today = today or timezone.localdate()
    result = RetentionResult(today=today, dry_run=dry_run)

    def say(text):
        if stdout is not None:
            stdout.write(text)

    due_ids = list(persons_due(today).values_list("pk", flat=True))
    cutoff = lookup_cutoff(today)
    old_lookups = Lookup.objects.filter(at__lt=cutoff)
    result.persons_due = len(due_ids)
    result.lookups_kept_for_audit = old_lookups.filter(keep_for_audit=True).count()
    result.lookups_due = old_lookups.filter(keep_for_audit=False).count()
    if dry_run:
        say(result.summary())
        return result

    system = audit.Actor(user=None, label="retention")
    for start in range(0, len(due_ids), BATCH):
        chunk = due_ids[start:start + BATCH]
        with audit.acting_as(system), transaction.atomic():
            tokens_by_person = {}
            recorded = []
            # Re-check inside the transaction: a new incident may have moved delete_on.
            for person in persons_due(today).filter(pk__in=chunk).select_for_update():
                counts, tokens = _purge_rows(person, REASON_DUE)
                tokens_by_person[person.pk] = tokens
                recorded.append((person.pk, counts, tokens))
            redacted = _redact_lookups(tokens_by_person)
            for pid, counts, tokens in recorded:
                _record_purge(pid, REASON_DUE, counts, tokens)
            if redacted:
                audit.record("register.lookup.redact", object_type="register.lookup",
                             object_repr="Abfrageprotokoll",
                             purpose="Abfragedaten gelöschter Personen entfernt",
                             after={"lookups": redacted})
        result.persons_deleted += len(recorded)
        result.deleted_person_ids += [pid for pid, *_ in recorded]
        say(f"Personen: {min(start + BATCH, len(due_ids))}/{len(due_ids)} geprüft, "
            f"{result.persons_deleted} gelöscht")

    # Access log: children (detail views) first would not matter, parent is SET_NULL.
    while True:
        with audit.acting_as(system), transaction.atomic():
            batch = list(Lookup.objects.filter(at__lt=cutoff, keep_for_audit=False)
                         .order_by("pk").values_list("pk", flat=True)[:5000])
            if not batch:
                break
            Lookup.objects.filter(parent_id__in=batch).update(parent=None)
            deleted = Lookup.objects.filter(pk__in=batch)
            deleted._raw_delete(deleted.db)
            audit.record("register.lookup.prune", object_type="register.lookup",
                         object_repr="Abfrageprotokoll",
                         purpose=f"Aufbewahrungsfrist {settings.REGISTER_ACCESS_LOG_DAYS} Tage",
                         after={"deleted": len(batch), "before": cutoff.isoformat(),
                                "first_id": batch[0], "last_id": batch[-1]})
            journal.lookups_pruned(cutoff, batch)
        result.lookups_deleted += len(batch)
        say(f"Abfrageprotokoll: {result.lookups_deleted}/{result.lookups_due} gelöscht")
    say(result.summary())
    return result
