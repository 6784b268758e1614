"""A registered person's derived data: the same person found again, and the cached values
(level, last incident, review and deletion dates, search keys) recomputed from the entries."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch

from beistand.register import matching
from beistand.register.models import RegisterAddress, RegisterPerson, SearchKey


def _query_of(p) -> matching.Query:
    street, postal = (getattr(p, "street", "") or ""), (getattr(p, "postal_code", "") or "")
    return matching.Query(
        last_name=p.last_name, first_name=p.first_names or "", date_of_birth=p.date_of_birth,
        street=street if street and postal else "", postal_code=postal if street else "",
        house_number=getattr(p, "house_number", "") or "")


# Name levels that still count as "the same names" for an automatic match at publishing.
_SAME_NAMES = frozenset({"exakt"})


def similar_persons(p, exclude=()) -> list[dict]:
    """Registered persons (active or restricted) the matcher weighs at "möglich" or above for
    the perpetrator ``p`` (last_name, first_names, date_of_birth[, street, house_number,
    postal_code]) — the same matcher as the querier look-up. Best first; each with the match
    level and the German explanation, for the ZKS to decide "dieselbe Person" / "neue Person".
    """
    from beistand.register import lookup

    if not (p.last_name or "").strip():
        return []
    ranked = lookup.find_candidates(_query_of(p), statuses=(
        RegisterPerson.Status.ACTIVE, RegisterPerson.Status.RESTRICTED), exclude=exclude)
    return [{"person_id": row["id"], "score": score, "level": matching.match_level(score),
             "explanation": matching.explain(match), "match": match}
            for score, match, row in ranked]


def find_person(p) -> RegisterPerson | None:
    """The same person already registered, only when that is certain: the matcher's best
    candidate agrees exactly in surname and first names and also in the date of birth (both
    known) or, without a date, in the current address (same street, house number and postal
    code). Never for agreeing names alone (two "Stefan Müller" without a date of birth stay two
    persons) nor for a spelling variant: those become a new person, and ``similar_persons``
    shows the ZKS the possible existing ones."""
    for candidate in similar_persons(p):
        how = {m["field"]: m["how"] for m in candidate["match"]}
        if how.get("last_name") not in _SAME_NAMES:
            continue
        if p.first_names and how.get("first_name") not in _SAME_NAMES:
            continue
        if not p.first_names and candidate_has_first_name(candidate["person_id"]):
            continue
        if how.get("date_of_birth") == "exakt" or how.get("address") == "gleiche Anschrift":
            return RegisterPerson.objects.get(pk=candidate["person_id"])
    return None


def candidate_has_first_name(person_id: int) -> bool:
    return RegisterPerson.objects.filter(pk=person_id).exclude(first_names="").exists()


def refresh_person(person: RegisterPerson) -> None:
    """Recompute cached level, last incident, review/deletion dates and search keys."""
    entries = list(person.entries.all())
    if entries:
        person.hazard_level = max(e.hazard_level for e in entries)
        person.last_incident_on = max(e.incident_date for e in entries)
        person.review_on = person.last_incident_on + timedelta(
            days=365 * settings.REGISTER_REVIEW_YEARS)
        person.delete_on = person.last_incident_on + timedelta(
            days=365 * settings.REGISTER_DELETE_YEARS)
    person.save()
    matching.rebuild_keys(person)


def rebuild_all_search_keys(chunk: int = 2000, progress=None) -> int:
    """Rebuild the search keys of every person (after the key kinds changed, e.g. the one-typo
    neighbourhood ``nx`` or given-name equivalents). Deleted and merged persons get none.
    Chunked: one transaction per ``chunk`` persons; repeatable. Returns the persons rebuilt."""
    done, last_id = 0, 0
    while True:
        persons = list(RegisterPerson.objects.filter(pk__gt=last_id).order_by("pk")
                       .prefetch_related(Prefetch("addresses", queryset=RegisterAddress.objects
                                                  .filter(valid_to__isnull=True)))[:chunk])
        if not persons:
            return done
        live = [p for p in persons if p.status != RegisterPerson.Status.DELETED
                and not p.merged_into_id]
        with transaction.atomic():
            SearchKey.objects.filter(person__in=persons).delete()
            SearchKey.objects.bulk_create(
                [SearchKey(person=p, kind=k, value=v) for p in live
                 for k, v in sorted(matching.person_keys(matching.identity_of(p)))],
                batch_size=5000)
        done += len(live)
        last_id = persons[-1].pk
        if progress is not None:
            progress(done)
