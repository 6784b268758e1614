"""Maintenance of the register by the ZKS (I/3): merge duplicates, restrict, record case
outcomes, set protective measures, and decide the periodic reviews.

Every function checks the ZKS role, runs in one transaction with the person rows locked, and is
audited twice over: the audited models record each field change (before/after), and one explicit
event per action carries the reason the ZKS gave.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from beistand.accounts import services as accounts
from beistand.accounts.roles import Role
from beistand.audit import services as audit
from beistand.core.errors import Conflict, InvalidInput, NotFound
from beistand.register import retention
from beistand.register.models import ProtectiveMeasure, RegisterEntry, RegisterPerson

OUTCOMES = {"acquittal": "Freispruch", "dismissal": "Einstellung des Verfahrens"}
DECISIONS = ("extend", "delete")


def _acting(user):
    return audit.acting_as(audit.actor_for_user(user, audit.current_actor().remote_addr))


def _reason(reason) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Bitte geben Sie eine Begründung an.", field="reason")
    if len(reason) > 500:
        raise InvalidInput("Die Begründung darf höchstens 500 Zeichen lang sein.", field="reason")
    return reason


def _person(person_id, field: str = "person_id") -> RegisterPerson:
    """The person row, locked; deleted (purged or merged) persons count as missing."""
    try:
        pk = int(person_id)
    except (TypeError, ValueError):
        raise InvalidInput("Ungültige Personennummer.", field=field) from None
    person = (RegisterPerson.objects.select_for_update().filter(pk=pk)
              .exclude(status=RegisterPerson.Status.DELETED).first())
    if person is None:
        raise NotFound(f"Eine Person #{pk} gibt es im Register nicht (mehr).")
    return person


def _refresh(person):
    from beistand.register.services import refresh_person

    refresh_person(person)


# --- Merge --------------------------------------------------------------------------------------

def merge_persons(user, keep_id, merge_id, reason) -> RegisterPerson:
    """Attach everything of ``merge_id`` to ``keep_id`` and purge the duplicate.

    The duplicate's names become aliases of the kept person (so look-ups under that spelling
    still find it); the duplicate keeps only an anonymous tombstone with ``merged_into``.
    """
    accounts.require_role(user, Role.ZKS)
    with _acting(user):
        return merge_duplicate(keep_id, merge_id, reason)


def merge_duplicate(keep_id, merge_id, reason) -> RegisterPerson:
    """The merge itself, as the current actor and without the role check: for
    ``merge_persons`` and for repeating a merge after a restore (``beistand.backup``)."""
    reason = _reason(reason)
    if str(keep_id) == str(merge_id):
        raise InvalidInput("Eine Person kann nicht mit sich selbst zusammengeführt werden.",
                           field="merge_id")
    with transaction.atomic():
        # Lock in id order so that two concurrent merges cannot deadlock.
        ids = sorted([("keep_id", keep_id), ("merge_id", merge_id)], key=lambda x: str(x[1]))
        locked = {name: _person(pid, field=name) for name, pid in ids}
        keep, dup = locked["keep_id"], locked["merge_id"]

        moved = {"entries": 0, "addresses": 0, "rights_requests": 0}
        kept_reports = set(keep.entries.exclude(report=None).values_list("report_id", flat=True))
        for entry in dup.entries.all():
            if entry.report_id and entry.report_id in kept_reports:
                continue  # the same incident is already on the kept person; purged below
            entry.person = keep
            entry.save()
            moved["entries"] += 1
        current = {(a.street.lower(), a.house_number.lower(), a.postal_code)
                   for a in keep.addresses.filter(valid_to__isnull=True)}
        for address in dup.addresses.all():
            key = (address.street.lower(), address.house_number.lower(), address.postal_code)
            if address.valid_to is None and key in current:
                continue
            address.person = keep
            address.save()
            moved["addresses"] += 1
        for request in dup.rights_requests.all():
            request.person = keep
            request.save()
            moved["rights_requests"] += 1
        keep.measures.add(*dup.measures.all())

        aliases = list(keep.aliases or [])
        known = {n.casefold() for n in [keep.last_name, keep.birth_name, *aliases] if n}
        for name in [dup.last_name, dup.birth_name, *(dup.aliases or [])]:
            if name and name.casefold() not in known:
                aliases.append(name)
                known.add(name.casefold())
        keep.aliases = aliases
        if keep.date_of_birth is None and dup.date_of_birth is not None:
            keep.date_of_birth = dup.date_of_birth
        if not keep.first_names and dup.first_names:
            keep.first_names = dup.first_names
        if keep.zks_contact_id is None:
            keep.zks_contact_id = dup.zks_contact_id
        keep.save()

        # The duplicate's own rows are reassigned above; what is left (same-report entries,
        # duplicate addresses, search keys) goes with the purge, which writes no identity.
        RegisterPerson.objects.filter(pk=dup.pk).update(merged_into=keep)
        reason = retention.redact(reason, retention.identity_tokens(dup))
        retention.purge_person(dup, f"Zusammengeführt mit Person #{keep.pk}: {reason}")
        audit.record("register.person.merge", obj=keep, object_repr=f"Person #{keep.pk}",
                     purpose=reason, after={"merged": dup.pk, **moved})
        _refresh(keep)
    keep.refresh_from_db()
    return keep


# --- Restriction and case outcomes --------------------------------------------------------------

def _restrict(person: RegisterPerson, reason: str) -> None:
    person.status = RegisterPerson.Status.RESTRICTED
    person.status_reason = reason[:500]
    person.save()


def restrict_person(user, person_id, reason) -> RegisterPerson:
    """Restrict processing (Art. 18 GDPR): the person is no longer shown to queriers."""
    accounts.require_role(user, Role.ZKS)
    reason = _reason(reason)
    with _acting(user), transaction.atomic():
        person = _person(person_id)
        if person.status == RegisterPerson.Status.RESTRICTED:
            raise Conflict("Die Eintragung ist bereits eingeschränkt.")
        _restrict(person, reason)
        audit.record("register.person.restrict", obj=person, object_repr=f"Person #{person.pk}",
                     purpose=reason)
    return person


def lift_restriction(user, person_id, reason) -> RegisterPerson:
    accounts.require_role(user, Role.ZKS)
    reason = _reason(reason)
    with _acting(user), transaction.atomic():
        person = _person(person_id)
        if person.status != RegisterPerson.Status.RESTRICTED:
            raise Conflict("Die Eintragung ist nicht eingeschränkt.")
        person.status = RegisterPerson.Status.ACTIVE
        person.status_reason = ""
        person.save()
        audit.record("register.person.unrestrict", obj=person,
                     object_repr=f"Person #{person.pk}", purpose=reason)
    return person


def record_case_outcome(user, *, outcome, reason, person_id=None, report_id=None
                        ) -> list[RegisterPerson]:
    """Acquittal or dismissal of the criminal case: the entry is restricted at once.

    Given a report, every person published from it is restricted; given a person, that one.
    Deletion follows through the ZKS review (``decide_review``) or an erasure request.
    """
    accounts.require_role(user, Role.ZKS)
    if outcome not in OUTCOMES:
        raise InvalidInput("Ausgang des Verfahrens: „acquittal“ (Freispruch) oder "
                           "„dismissal“ (Einstellung) angeben.", field="outcome")
    reason = _reason(reason)
    if (person_id is None) == (report_id is None):
        raise InvalidInput("Bitte genau eines angeben: Person oder Meldung.", field="person_id")
    text = f"{OUTCOMES[outcome]}: {reason}"
    with _acting(user), transaction.atomic():
        if person_id is not None:
            persons = [_person(person_id)]
        else:
            try:
                rid = int(report_id)
            except (TypeError, ValueError):
                raise InvalidInput("Ungültige Meldungsnummer.", field="report_id") from None
            pids = sorted(set(RegisterEntry.objects.filter(report_id=rid)
                              .values_list("person_id", flat=True)))
            persons = list(RegisterPerson.objects.select_for_update().filter(pk__in=pids)
                           .exclude(status=RegisterPerson.Status.DELETED).order_by("pk"))
            if not persons:
                raise NotFound(f"Aus der Meldung #{rid} gibt es keine Registereintragung.")
        for person in persons:
            _restrict(person, text)
            audit.record(f"register.person.{outcome}", obj=person,
                         object_repr=f"Person #{person.pk}", purpose=text,
                         after={"report_id": report_id} if report_id is not None else None)
    return persons


# --- Protective measures ------------------------------------------------------------------------

def set_measures(user, person_id, codes) -> RegisterPerson:
    accounts.require_role(user, Role.ZKS)
    codes = sorted({str(c).strip() for c in (codes or []) if str(c).strip()})
    known = set(ProtectiveMeasure.objects.filter(code__in=codes, active=True)
                .values_list("code", flat=True))
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise InvalidInput(f"Unbekannte Schutzmaßnahme(n): {', '.join(unknown)}.",
                           field="measures")
    with _acting(user), transaction.atomic():
        person = _person(person_id)
        before = sorted(person.measures.values_list("code", flat=True))
        if before != codes:
            person.measures.set(codes)
            # M2M changes do not pass through the model audit; record them explicitly.
            audit.record("register.person.measures", obj=person,
                         object_repr=f"Person #{person.pk}", before={"measures": before},
                         after={"measures": codes})
    return person


# --- Periodic review ----------------------------------------------------------------------------

def review_due(today: date | None = None):
    """Persons whose review date has come (the ZKS's review tasks), oldest first."""
    today = today or timezone.localdate()
    return (RegisterPerson.objects.filter(review_on__lte=today)
            .exclude(status=RegisterPerson.Status.DELETED).order_by("review_on", "pk"))


def decide_review(user, person_id, decision, reason, today: date | None = None
                  ) -> RegisterPerson:
    """``extend``: keep the entry, next review in REGISTER_REVIEW_YEARS (the deletion date after
    the last incident still applies); ``delete``: purge the person now."""
    accounts.require_role(user, Role.ZKS)
    if decision not in DECISIONS:
        raise InvalidInput("Entscheidung: „extend“ (weiter speichern) oder „delete“ (löschen).",
                           field="decision")
    reason = _reason(reason)
    today = today or timezone.localdate()
    with _acting(user), transaction.atomic():
        person = _person(person_id)
        if decision == "extend":
            person.review_on = today + timedelta(days=365 * settings.REGISTER_REVIEW_YEARS)
            person.save()
            audit.record("register.review.extend", obj=person,
                         object_repr=f"Person #{person.pk}", purpose=reason,
                         after={"review_on": person.review_on})
        else:
            # The purge's own audit row carries the (redacted) reason; no identity anywhere.
            retention.purge_person(person, f"Prüfung: Löschung. {reason}")
    person.refresh_from_db()
    return person
