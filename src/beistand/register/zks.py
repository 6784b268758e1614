"""Maintenance of the register by the ZKS (I/3): merge duplicates, restrict, record case
outcomes, set protective measures, and decide the periodic reviews.

Every function checks the ZKS role, runs in one transaction with the person rows locked, and is
audited twice over: the audited models record each field change (before/after), and one explicit
event per action carries the reason the ZKS gave.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from beistand.accounts import services as accounts
from beistand.accounts.roles import Role
from beistand.audit import services as audit
from beistand.core.errors import Conflict, InvalidInput, NotFound
from beistand.register import lookup, matching, retention, rights
from beistand.register.models import (
    DistinctPersons,
    ProtectiveMeasure,
    RegisterEntry,
    RegisterPerson,
    SearchKey,
)
from beistand.register.persons import refresh_person, similar_persons

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
    refresh_person(person)


# --- Same person or another one --------------------------------------------------------------

def _distinct_from(pk: int) -> set[int]:
    rows = DistinctPersons.objects.filter(Q(person_a_id=pk) | Q(person_b_id=pk))
    return {b if a == pk else a for a, b in rows.values_list("person_a_id", "person_b_id")}


def possible_same_persons(person: RegisterPerson) -> list[dict]:
    """Other registered persons the look-up's matcher weighs at "möglich" or above for this
    person (its names, date of birth and current address), minus those the ZKS has already
    judged to be another person; for the person page's choice "dieselbe Person" (merge) or
    "andere Person" (``mark_distinct``)."""
    address = person.addresses.filter(valid_to__isnull=True).order_by("-valid_from").first()
    probe = _Probe(person.last_name, person.first_names, person.date_of_birth,
                   address.street if address else "", address.house_number if address else "",
                   address.postal_code if address else "")
    exclude = {person.pk} | _distinct_from(person.pk)
    return similar_persons(probe, exclude=exclude)


@dataclass(frozen=True)
class _Probe:
    last_name: str
    first_names: str
    date_of_birth: date | None
    street: str
    house_number: str
    postal_code: str


def mark_distinct(user, person_id, other_id, reason) -> None:
    """The ZKS decides that two persons the matcher finds alike are two people: the pair is
    not offered again. Audited with the reason; refused for the same person twice."""
    accounts.require_role(user, Role.ZKS)
    reason = _reason(reason)
    with _acting(user), transaction.atomic():
        if str(person_id) == str(other_id):
            raise InvalidInput("Eine Person ist immer dieselbe wie sie selbst.", field="other")
        pair = sorted([(_person(person_id).pk), _person(other_id, field="other").pk])
        _, created = DistinctPersons.objects.get_or_create(
            person_a_id=pair[0], person_b_id=pair[1], defaults={"decided_by": user})
        if not created:
            raise Conflict("Diese beiden Personen sind bereits als verschiedene Personen "
                           "vermerkt.")
        audit.record("register.person.distinct", object_type="register.registerperson",
                     object_id=pair[0], object_repr=f"Person #{pair[0]}", purpose=reason,
                     after={"distinct_from": pair[1]})


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
        # A restricted person (Art. 18, an acquittal, a dismissal) must not come back into
        # look-ups through a merge: the restriction is lifted on purpose, with its reason, or
        # the two stay apart.
        if RegisterPerson.Status.RESTRICTED in (keep.status, dup.status):
            raise Conflict("Eine eingeschränkte Person kann nicht zusammengeführt werden. "
                           "Heben Sie die Einschränkung zuerst mit Begründung auf, wenn es "
                           "wirklich dieselbe Person ist.")

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
        if len(aliases) > rights.MAX_ALIASES:
            # Every name reaches the person's letters, whose length is bounded (issue 19).
            raise InvalidInput(f"Zusammengeführt hätte die Person {len(aliases)} weitere Namen "
                               f"(höchstens {rights.MAX_ALIASES}). Bitte zuerst die weiteren "
                               "Namen berichtigen.", field="aliases")
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


# --- Reads of the register by the ZKS (issue 16, finding 5) -------------------------------------
#
# Every page of the ZKS that shows persons of the register reads them here, in one transaction
# with the audit event that names who saw which persons (ids and the kinds of data, never the
# data itself). The querier's look-up does the same (``lookup``).

READ_PURPOSE = "Registerpflege (ZKS)"
PERSON_FIELDS = ["identity", "addresses", "entries", "measures", "rights_requests"]
SEARCH_MAX = 50


@dataclass(frozen=True)
class PersonRecord:
    """Everything of one person the ZKS's person page shows, read and audited together."""

    person: RegisterPerson
    addresses: list
    entries: list
    measure_ids: frozenset
    rights_requests: list
    same_persons: list


def _person_pk(person_id) -> int:
    try:
        return int(person_id)
    except (TypeError, ValueError):
        raise InvalidInput("Ungültige Personennummer.", field="person_id") from None


def read_person(user, person_id, purpose: str = READ_PURPOSE) -> PersonRecord:
    """The person page's data: identity, addresses, entries with offences, measures, rights
    requests; audited as ``register.registerperson.read`` in the same transaction."""
    accounts.require_role(user, Role.ZKS)
    pk = _person_pk(person_id)
    with transaction.atomic():
        person = (RegisterPerson.objects.filter(pk=pk)
                  .exclude(status=RegisterPerson.Status.DELETED).first())
        if person is None:
            raise NotFound("Diese Person ist nicht (mehr) im Register.")
        record = PersonRecord(
            person=person,
            addresses=list(person.addresses.order_by("valid_to", "-valid_from")),
            entries=list(person.entries.prefetch_related("offences").order_by("-incident_date")),
            measure_ids=frozenset(person.measures.values_list("pk", flat=True)),
            rights_requests=list(person.rights_requests.select_related("person")),
            same_persons=possible_same_persons(person),
        )
        audit.record("register.registerperson.read", object_type="register.registerperson",
                     object_id=pk, object_repr=f"Person #{pk}", actor=user, purpose=purpose,
                     after={"fields": PERSON_FIELDS,
                            "addresses": [a.pk for a in record.addresses],
                            "entries": [e.pk for e in record.entries],
                            "rights_requests": [r.pk for r in record.rights_requests],
                            "same_persons": [d["person_id"] for d in record.same_persons]})
    return record


_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})|(\d{4})-(\d{2})-(\d{2})")
# Ids taken from the phonetic surname pass of a surname-only search (before weighing).
PHONETIC_PROBE_MAX = 200


def _parse_search(query: str) -> matching.Query:
    """"Meier", "Meier, Hans", "Hans Meier 12.03.1980", "Meier Hans 1980-03-12": the date of
    birth wherever it stands; with a comma the part before it is the surname, otherwise the
    first word (the matcher also tries the names swapped)."""
    dob = None
    found = _DATE.search(query)
    if found:
        d, m, y, y2, m2, d2 = found.groups()
        try:
            dob = date(int(y or y2), int(m or m2), int(d or d2))
        except ValueError:
            raise InvalidInput("Das Geburtsdatum ist kein gültiges Datum (TT.MM.JJJJ).",
                               field="name") from None
        query = query[:found.start()] + " " + query[found.end():]
    if "," in query:
        last, _, first = query.partition(",")
    else:
        words = query.split()
        last, first = (words[0], " ".join(words[1:])) if words else ("", "")
    return matching.Query(last_name=" ".join(last.split()), first_name=" ".join(first.split()),
                          date_of_birth=dob)


def _phonetic_surname_ids(last_name: str) -> list[int]:
    """Persons whose surname sounds like ``last_name`` (Kölner Phonetik, the ``nn`` keys'
    first half: one index range per code), at most PHONETIC_PROBE_MAX."""
    ids: list[int] = []
    for code in sorted(matching.surname_codes([last_name])):
        ids += (SearchKey.objects.filter(kind="nn", value__gte=f"{code}|",
                                         value__lt=f"{code}|\uffff")
                .order_by().values_list("person_id", flat=True)[:PHONETIC_PROBE_MAX])
    return list(dict.fromkeys(ids))[:PHONETIC_PROBE_MAX]


def search_persons(user, query: str) -> list[RegisterPerson]:
    """The ZKS's search in its own register (at most SEARCH_MAX persons), with the look-up's
    matcher, so that a rights request from "Voigt" also finds "Vogt":

    * with a first name or a date of birth: the querier look-up's candidates (every tolerated
      variant; also restricted persons), best first, each with its match level and explanation;
    * always: the surname written exactly (case-insensitive), and persons whose surname sounds
      the same (Kölner Phonetik), weighed by the same model.

    Each person carries ``match_level`` and ``match_explanation`` for the list. Audited with the
    ids shown (not the name searched for)."""
    accounts.require_role(user, Role.ZKS)
    query = (query or "").strip()
    if len(query) > 200:
        raise InvalidInput("Der Suchbegriff darf höchstens 200 Zeichen lang sein.", field="name")
    q = _parse_search(query)
    if not q.last_name:
        return []
    statuses = (RegisterPerson.Status.ACTIVE, RegisterPerson.Status.RESTRICTED)
    with transaction.atomic():
        hits: dict[int, tuple[float, str, str]] = {}
        if q.first_name or q.date_of_birth:
            for score, match, row in lookup.find_candidates(q, statuses=statuses):
                hits[row["id"]] = (score, matching.match_level(score), matching.explain(match))
        people = RegisterPerson.objects.exclude(status=RegisterPerson.Status.DELETED).filter(
            merged_into__isnull=True)
        surnames = Q(last_name__iexact=q.last_name)
        if q.first_name:  # "Hans Meier": the last word may be the surname too
            surnames |= Q(last_name__iexact=q.first_name.split()[-1])
        exact = list(people.filter(surnames)
                     .order_by("last_name", "first_names").values_list("pk", flat=True)
                     [:SEARCH_MAX])
        sounding = [pk for pk in _phonetic_surname_ids(q.last_name) if pk not in hits]
        for pk in exact:
            hits.setdefault(pk, (0.0, "", "Name: exakt"))
        for pk in sounding:
            hits.setdefault(pk, (0.0, "", "Name: klingt gleich"))
        order = sorted(hits, key=lambda pk: (-hits[pk][0], pk not in exact, pk))
        by_pk = people.in_bulk(order[:SEARCH_MAX * 2])
        found = [by_pk[pk] for pk in order if pk in by_pk][:SEARCH_MAX]
        for person in found:
            _, person.match_level, person.match_explanation = hits[person.pk]
        audit.record("register.registerperson.search", object_type="register.registerperson",
                     object_repr="Namenssuche der ZKS", actor=user, purpose=READ_PURPOSE,
                     after={"shown": [p.pk for p in found], "terms": len(query.split())})
    return found


def read_review_list(user, today: date | None = None) -> list[RegisterPerson]:
    """The persons due for review as the ZKS's overview shows them, audited with their ids."""
    accounts.require_role(user, Role.ZKS)
    with transaction.atomic():
        due = list(review_due(today))
        if due:
            audit.record("register.registerperson.review_list",
                         object_type="register.registerperson",
                         object_repr="Fällige Überprüfungen", actor=user, purpose=READ_PURPOSE,
                         after={"shown": [p.pk for p in due]})
    return due
