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
from django.db.models import Q
from django.utils import timezone

from beistand.audit import services as audit
from beistand.register import access_log, rights_workflow, signals
from beistand.register.models import (
    Lookup,
    RegisterAddress,
    RegisterEntry,
    RegisterPerson,
    RightsRequest,
    SearchKey,
)

REDACTED = "[entfernt]"
# Persons purged per transaction in the retention run (keeps transactions and locks short: a
# transaction of 50 purges writes for well under 100 ms; the alarm store waits behind it).
BATCH = 50
# Look-up log rows pruned per transaction.
PRUNE_BATCH = 2000


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


@dataclass
class LookupScan:
    """The look-ups that showed some persons, found by a pass over the log made *before* the
    purge's transaction (the pass reads the whole log: seconds on a large one, and no write
    lock may be held meanwhile). ``upto``: the highest log id the pass saw; the purge re-checks
    only rows logged after it, inside its transaction."""

    persons: frozenset[int]
    lookup_ids: frozenset[int]
    upto: int


def scan_lookups(person_ids) -> LookupScan:
    """One pass over the access log (no transaction): the look-ups that showed the persons."""
    ids = set(person_ids)
    upto = Lookup.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    found = set()
    if ids:
        # JSON containment is not portable (SQLite has none): read ``shown`` of every row.
        rows = Lookup.objects.filter(pk__lte=upto).values_list("pk", "shown")
        for pk, shown in rows.iterator(chunk_size=5000):
            if shown and ids.intersection(shown):
                found.add(pk)
    return LookupScan(frozenset(ids), frozenset(found), upto)


def _redact_lookups(tokens_by_person: dict[int, list[str]], scan: LookupScan | None = None
                    ) -> int:
    """Strip the query data of every look-up that showed one of the persons.

    The row itself stays (who asked, when, purpose, which ids were shown): the DPO's control of
    the querier is unaffected, and the row goes after a year anyway. The query's field names are
    kept so the log still shows *how* was asked (e.g. name + date of birth).

    With a ``scan`` made before the transaction (covering these persons) only its hits and the
    rows logged since are read here; without one, the whole log is read.
    """
    if not tokens_by_person:
        return 0
    ids = set(tokens_by_person)
    changed = 0
    rewritten = []
    rows = Lookup.objects.all()
    if scan is not None and ids <= scan.persons:
        rows = rows.filter(Q(pk__in=scan.lookup_ids) | Q(pk__gt=scan.upto))
    for lookup in rows.iterator(chunk_size=2000):
        hit = ids.intersection(lookup.shown or [])
        if not hit:
            continue
        tokens = [t for pid in hit for t in tokens_by_person[pid]]
        query = {"entfernt": sorted((lookup.query or {}).keys())} if lookup.query else {}
        Lookup.objects.filter(pk=lookup.pk).update(query=query,
                                                   purpose=redact(lookup.purpose, tokens))
        rewritten.append(lookup)
        changed += 1
    # The rewritten rows' new content is chained (issue 16, finding 6: every column is fixed).
    access_log.rehash(rewritten)
    return changed


def lapse_notifications(pid: int) -> int:
    """The open Art. 14 information of an erased person closes itself ("entfallen", with a
    note): there is nobody left to inform, and an open task nobody can close helps no one.
    Each move is checked against the rights workflow's table."""
    today = timezone.localdate()
    lapsed = 0
    for rr in RightsRequest.objects.filter(person_id=pid,
                                           kind=RightsRequest.Kind.NOTIFICATION,
                                           state__in=rights_workflow.states(open=True)):
        rights_workflow.check(rr, "lapse", RightsRequest.State.LAPSED)
        RightsRequest.objects.filter(pk=rr.pk).update(
            state=RightsRequest.State.LAPSED, decided_at=timezone.now(), decided_by=None,
            decision_reason=f"Entfallen: Die Person wurde am {today:%d.%m.%Y} aus dem "
                            "Register gelöscht, bevor sie informiert wurde.")
        lapsed += 1
    return lapsed


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
    # The raw delete below runs no SET_NULL: the Art. 14 requests let go of their entries first.
    RightsRequest.objects.filter(entry__person_id=pid).update(entry=None)
    RegisterEntry.offences.through.objects.filter(registerentry__person_id=pid).delete()
    entries._raw_delete(entries.db)
    RegisterPerson.measures.through.objects.filter(registerperson_id=pid).delete()
    # Rights requests stay as proof that the request was answered (Art. 5(2) GDPR); the free
    # text of the request may name the person and is blanked, the decision reason is redacted.
    for rr in RightsRequest.objects.filter(person_id=pid).only("id", "decision_reason"):
        RightsRequest.objects.filter(pk=rr.pk).update(
            details="", decision_reason=redact(rr.decision_reason, tokens))
    counts["notifications_lapsed"] = lapse_notifications(pid)
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
    # The backup app journals it outside the database, so a restore of an older backup can
    # delete it again.
    signals.send_journaled(signals.person_purged, sender=RegisterPerson, person_id=pid,
                           reason=redact(reason, tokens))


def purge_person(person: RegisterPerson, reason: str, *, actor=None,
                 scan: LookupScan | None = None) -> dict:
    """Erase the person's personal data everywhere in the register; keep an anonymous tombstone.

    Runs in the caller's transaction (or its own). Returns the counts of what was removed. A
    caller that holds a transaction passes ``scan_lookups([person.pk])``, made before it, so the
    access log is not read whole under the write lock.
    """
    with transaction.atomic():
        counts, tokens = _purge_rows(person, reason)
        counts["lookups_redacted"] = _redact_lookups({person.pk: tokens}, scan)
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
        scan = scan_lookups(chunk)  # before the transaction: a pass over the whole log
        with audit.acting_as(system), transaction.atomic():
            tokens_by_person = {}
            recorded = []
            # Re-check inside the transaction: a new incident may have moved delete_on.
            for person in persons_due(today).filter(pk__in=chunk).select_for_update():
                counts, tokens = _purge_rows(person, REASON_DUE)
                tokens_by_person[person.pk] = tokens
                recorded.append((person.pk, counts, tokens))
            redacted = _redact_lookups(tokens_by_person, scan)
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
                         .order_by("pk").values_list("pk", flat=True)[:PRUNE_BATCH])
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
            signals.send_journaled(signals.lookups_pruned, sender=Lookup, cutoff=cutoff,
                                   ids=batch)
        result.lookups_deleted += len(batch)
        say(f"Abfrageprotokoll: {result.lookups_deleted}/{result.lookups_due} gelöscht")
    say(result.summary())
    return result
