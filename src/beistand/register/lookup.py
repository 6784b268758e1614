"""Case-by-case look-up (Auskunft) in the register, and its access log.

Only holders of an active querier grant may ask; every question needs a purpose and enough
identifying data that it cannot be used for browsing. Candidates are collected only through the
indexed ``SearchKey`` rows (never by scanning persons; several blocking passes, see
``matching.query_keys``), weighed by ``matching.assess`` and cut at ``matching.SCORE_FLOOR``.
Each look-up, and each second click on a candidate's details, writes one ``Lookup`` row (the
access log, with the query data) and one audit-chain event that references it without any of
the query's personal data — both in the look-up's transaction.
"""

from __future__ import annotations

import math
import re
import time
from datetime import date, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from beistand.accounts import services as accounts
from beistand.accounts.roles import Role
from beistand.audit import services as audit
from beistand.core.errors import InvalidInput, NotFound, TooManyRequests
from beistand.organisation import services as org
from beistand.register import access_log, matching
from beistand.register.models import Lookup, RegisterAddress, RegisterPerson, SearchKey

MAX_CANDIDATES = 10
MIN_PURPOSE = 5
# The details of a candidate can be opened from a look-up for this long; then ask again.
DETAIL_WINDOW = timedelta(hours=24)
_WILDCARDS = re.compile(r"[*%?_]")
_POSTAL = re.compile(r"^\d{5}$")

FIELD_LABELS = {"last_name": "Name", "first_name": "Vorname", "street": "Straße",
                "city": "Ort", "house_number": "Hausnummer"}


# --- Rate limit -----------------------------------------------------------------------------

def check_rate(user, now=None) -> None:
    """Hard limit on look-ups per querier (per minute and per day), counted in the access log.

    The misuse signals (``BEISTAND_MISUSE_*``) only show the DPO what happened; this refuses
    the look-up (429) before anything is searched or logged. Counting the access log (not a
    cache) makes the limit hold across server processes and restarts. Details of a candidate
    are second clicks of a look-up already counted and are not limited.
    """
    now = now or timezone.now()
    mine = Lookup.objects.filter(querier=user).exclude(kind=Lookup.Kind.DETAIL)
    per_minute = settings.LOOKUP_LIMIT_PER_MINUTE
    if per_minute and mine.filter(at__gte=now - timedelta(minutes=1)).count() >= per_minute:
        raise TooManyRequests(
            f"Zu viele Abfragen: höchstens {per_minute} je Minute. Bitte warten Sie einen "
            "Moment und fragen Sie dann erneut.", retry_after=60)
    per_day = settings.LOOKUP_LIMIT_PER_DAY
    start_of_day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    if per_day and mine.filter(at__gte=start_of_day).count() >= per_day:
        next_day = start_of_day + timedelta(days=1)  # the next local midnight
        raise TooManyRequests(
            f"Tageshöchstzahl an Abfragen erreicht ({per_day}). Weitere Abfragen sind ab "
            "morgen wieder möglich; bei dienstlichem Bedarf wenden Sie sich an die "
            "Datenschutzbeauftragte oder den Datenschutzbeauftragten.",
            retry_after=math.ceil(next_day.timestamp() - now.timestamp()))


# --- Validation -----------------------------------------------------------------------------

def _purpose(purpose: str | None) -> str:
    purpose = (purpose or "").strip()
    if len(purpose) < MIN_PURPOSE:
        raise InvalidInput("Bitte geben Sie den Zweck der Abfrage an (z. B. Aktenzeichen und "
                           f"Anlass, mindestens {MIN_PURPOSE} Zeichen).", field="purpose")
    return purpose[:500]


def _text(name: str, value: str | None, required: bool = False, min_letters: int = 2) -> str:
    value = (value or "").strip()
    label = FIELD_LABELS[name]
    if not value:
        if required:
            raise InvalidInput(f"Bitte geben Sie „{label}“ an.", field=name)
        return ""
    if _WILDCARDS.search(value):
        raise InvalidInput(f"„{label}“: Platzhalter (*, %, ?, _) sind nicht erlaubt – bitte "
                           "den vollständigen Wert eingeben.", field=name)
    if "\x00" in value or len(value) > 150:
        raise InvalidInput(f"„{label}“ ist ungültig.", field=name)
    if min_letters and sum(ch.isalpha() for ch in value) < min_letters:
        raise InvalidInput(f"„{label}“ ist zu kurz (mindestens {min_letters} Buchstaben).",
                           field=name)
    return value


def _postal(value: str | None) -> str:
    value = (value or "").strip()
    if value and not _POSTAL.match(value):
        raise InvalidInput("Die Postleitzahl muss aus fünf Ziffern bestehen.",
                           field="postal_code")
    return value


def _date_of_birth(value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError
            value = date.fromisoformat(value)
        except ValueError:
            raise InvalidInput("Das Geburtsdatum muss ein gültiges Datum (JJJJ-MM-TT) sein.",
                               field="date_of_birth") from None
    if value > timezone.localdate() or value.year < 1900:
        raise InvalidInput("Das Geburtsdatum liegt nicht im möglichen Bereich.",
                           field="date_of_birth")
    return value


# --- Shared ---------------------------------------------------------------------------------

def _querier_info(user) -> tuple[str, str]:
    employee = org.employee_of(user)
    if employee is None:
        return user.get_username(), ""
    label = f"{employee.first_name} {employee.last_name} ({user.get_username()})"
    return label[:200], employee.unit.code if employee.unit_id else ""


def _log(user, kind, purpose, query, shown, parent=None) -> Lookup:
    label, unit_code = _querier_info(user)
    entry = Lookup.objects.create(kind=kind, querier=user, querier_label=label,
                                  unit_code=unit_code, purpose=purpose, query=query,
                                  shown=shown, parent=parent)
    # The audit chain references the access log only; the query's personal data stays in the
    # log, which has its own (shorter) retention. A keyed digest of query and shown ids is
    # chained, so the row cannot be rewritten unnoticed (access_log.verify_log).
    audit.record("register.lookup", object_type="register.lookup", object_id=entry.pk,
                 object_repr=entry.get_kind_display(), actor=user, purpose=purpose,
                 after=access_log.chained_digests(entry))
    return entry


def _visible(ids, statuses=(RegisterPerson.Status.ACTIVE,)) -> list[dict]:
    """Active, unmerged persons among ``ids`` (restricted and deleted are never shown to a
    querier; the ZKS duplicate check also weighs restricted persons)."""
    return list(RegisterPerson.objects.filter(
        pk__in=list(ids), status__in=list(statuses), merged_into__isnull=True,
    ).values("id", "last_name", "first_names", "birth_name", "aliases", "date_of_birth",
             "hazard_level", "last_incident_on"))


def _measures(ids) -> dict[int, list[str]]:
    through = RegisterPerson.measures.through
    out: dict[int, list[str]] = {}
    rows = through.objects.filter(registerperson_id__in=list(ids)).order_by(
        "protectivemeasure__sort", "protectivemeasure__label").values_list(
        "registerperson_id", "protectivemeasure__label")
    for pid, label in rows:
        out.setdefault(pid, []).append(label)
    return out


def _current_addresses(ids) -> dict[int, list[tuple[str, str, str]]]:
    out: dict[int, list[tuple[str, str, str]]] = {}
    for pid, street, number, postal in RegisterAddress.objects.filter(
            person_id__in=list(ids), valid_to__isnull=True).values_list(
            "person_id", "street", "house_number", "postal_code"):
        out.setdefault(pid, []).append((street, number, postal))
    return out


def _card(row: dict, measures, score: float, match: list[dict]) -> dict:
    return {"entry_id": row["id"], "last_name": row["last_name"],
            "first_names": row["first_names"], "date_of_birth": row["date_of_birth"],
            "hazard_level": row["hazard_level"], "last_incident_on": row["last_incident_on"],
            "measures": measures.get(row["id"], []), "score": score, "match": match,
            "level": matching.match_level(score), "explanation": matching.explain(match)}


def candidate_ids(keys: dict[str, set[str]]) -> set[int]:
    """Person ids with at least one exactly equal search key (one indexed probe per kind)."""
    # One statement for all passes (each an indexed (kind, value) range); written out because
    # building the ORM query cost more than running it.
    parts, params = [], []
    for kind, values in sorted(keys.items()):
        values = sorted(values)
        for start in range(0, len(values), 900):
            chunk = values[start:start + 900]
            # Only the model's table name and placeholders are formatted in; values are params.
            parts.append(f"SELECT person_id FROM {SearchKey._meta.db_table} WHERE kind = %s "  # noqa: S608
                         f"AND value IN ({', '.join(['%s'] * len(chunk))})")
            params += [kind, *chunk]
    if not parts:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(" UNION ".join(parts), params)
        return {row[0] for row in cursor.fetchall()}


_SIZE_CACHE: dict[str, tuple[float, int]] = {}
SIZE_CACHE_SECONDS = 600


def register_size() -> int:
    """Number of registered persons (for surname frequencies), counted at most every ten
    minutes per process and database."""
    alias = RegisterPerson.objects.db
    cached = _SIZE_CACHE.get(alias)
    now = time.monotonic()
    if cached is None or now - cached[0] > SIZE_CACHE_SECONDS:
        cached = (now, RegisterPerson.objects.count())
        _SIZE_CACHE[alias] = cached
    return cached[1]


def frequencies(q: matching.Query) -> matching.Frequencies | None:
    """Surname frequencies of the query's name forms (``sn`` keys; one grouped index count),
    or None while the register is smaller than MATCH_FREQUENCY_MIN_PERSONS."""
    persons = register_size()
    if persons < settings.MATCH_FREQUENCY_MIN_PERSONS:
        return None
    return _with_counts(matching.Frequencies({}, persons), matching.counted_forms(q))


def _with_counts(freq: matching.Frequencies, forms) -> matching.Frequencies:
    """``freq`` with the counts of ``forms`` added (one grouped count over the ``sn`` keys)."""
    todo = sorted(f for f in forms if f not in freq.counts)
    counts = dict(freq.counts)
    for start in range(0, len(todo), 900):
        chunk = todo[start:start + 900]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT value, COUNT(*) FROM {SearchKey._meta.db_table} "  # noqa: S608
                           f"WHERE kind = 'sn' AND value IN ({', '.join(['%s'] * len(chunk))}) "
                           "GROUP BY value", chunk)
            found = dict(cursor.fetchall())
        counts.update({f: found.get(f, 0) for f in chunk})
    return matching.Frequencies(counts, freq.persons)


def frequent_forms(freq: matching.Frequencies | None) -> frozenset[str]:
    """Surname forms carried by more than MATCH_WIDE_PROBE_MAX persons (not probed alone)."""
    if freq is None:
        return frozenset()
    return frozenset(f for f, n in freq.counts.items() if n > settings.MATCH_WIDE_PROBE_MAX)


def find_candidates(q: matching.Query, statuses=(RegisterPerson.Status.ACTIVE,),
                    exclude=()) -> list[tuple[float, list[dict], dict]]:
    """Key probes, then weighing: the ranked candidates of a person query (the querier look-up
    and the ZKS duplicate check at publishing use this one path). ``exclude``: person ids left
    out before weighing (a person compared with the register must not hide, by agreeing with
    itself exactly, the fuzzy candidates the precision rule would otherwise drop)."""
    freq = frequencies(q)
    ids = candidate_ids(matching.query_keys(q, frequent_forms(freq))) - set(exclude)
    return rank(q, ids, freq, statuses)


def rank(q: matching.Query, ids, freq: matching.Frequencies | None = None,
         statuses=(RegisterPerson.Status.ACTIVE,)) -> list[tuple[float, list[dict], dict]]:
    """Weigh the visible persons among ``ids`` (``matching.assess``); best first, at most 10.

    Shown: every candidate at or above the setting MATCH_SHOWN ("möglich"). One precision
    rule: when a candidate agrees "sicher" without any tolerance, candidates that needed a
    tolerance or disagree somewhere and are not "sicher" themselves are dropped. A field missing
    in the register is no tolerance: a querier who gives more data never finds less.
    """
    shown, _, sure = matching.thresholds()
    rows = _visible(ids, statuses)
    addresses = _current_addresses([r["id"] for r in rows]) if q.postal_code else {}
    scored = []
    candidates = [(row, matching.Identity(
        row["last_name"], row["first_names"], row["birth_name"], list(row["aliases"] or []),
        row["date_of_birth"], addresses.get(row["id"], []))) for row in rows]
    if freq is not None:
        freq = _with_counts(freq, {f for _, c in candidates for f in matching.candidate_forms(c)})
    for row, candidate in candidates:
        a = matching.assess(q, candidate, freq)
        if a.score >= shown:
            scored.append((a, row))
    if any(a.score >= sure and not a.fuzzy for a, _ in scored):
        scored = [(a, row) for a, row in scored if not a.fuzzy or a.score >= sure]
    scored.sort(key=lambda s: (-s[0].weight, -(s[1]["hazard_level"] or 0), s[1]["id"]))
    return [(a.score, a.match, row) for a, row in scored[:MAX_CANDIDATES]]


# --- Look-ups -------------------------------------------------------------------------------

def lookup_person(user, purpose, last_name, first_name=None, date_of_birth=None, street=None,
                  postal_code=None, city=None, house_number=None) -> dict:
    """Look a person up by name plus first name, date of birth or address (street + PLZ)."""
    accounts.require_role(user, Role.QUERIER)
    check_rate(user)
    purpose = _purpose(purpose)
    last_name = _text("last_name", last_name, required=True)
    first_name = _text("first_name", first_name)
    dob = _date_of_birth(date_of_birth)
    street = _text("street", street, min_letters=2)
    house_number = _text("house_number", house_number, min_letters=0)
    city = _text("city", city, min_letters=2)
    postal_code = _postal(postal_code)
    has_address = bool(street and postal_code)
    if (street or postal_code) and not has_address:
        raise InvalidInput("Für die Anschrift bitte Straße und Postleitzahl angeben.",
                           field="postal_code" if street else "street")
    if not (first_name or dob or has_address):
        raise InvalidInput("Der Name allein genügt nicht: bitte zusätzlich Vorname, "
                           "Geburtsdatum oder Anschrift (Straße und PLZ) angeben.",
                           field="first_name")
    q = matching.Query(last_name=last_name, first_name=first_name, date_of_birth=dob,
                       street=street, house_number=house_number, postal_code=postal_code)
    query = {k: v for k, v in {"last_name": last_name, "first_name": first_name,
                               "date_of_birth": dob.isoformat() if dob else "",
                               "street": street, "house_number": house_number,
                               "postal_code": postal_code, "city": city}.items() if v}
    with transaction.atomic():
        ranked = find_candidates(q)
        measures = _measures([r["id"] for _, _, r in ranked])
        candidates = [_card(row, measures, value, match) for value, match, row in ranked]
        entry = _log(user, Lookup.Kind.PERSON, purpose, query,
                     [c["entry_id"] for c in candidates])
    return {"id": entry.pk, "kind": entry.kind, "candidates": candidates}


def lookup_address(user, purpose, street, postal_code, house_number=None) -> dict:
    """Persons with a current address there (before a planned home visit)."""
    accounts.require_role(user, Role.QUERIER)
    check_rate(user)
    purpose = _purpose(purpose)
    street = _text("street", street, required=True, min_letters=3)
    house_number = _text("house_number", house_number, min_letters=0)
    postal_code = _postal(postal_code)
    if not postal_code:
        raise InvalidInput("Bitte geben Sie die Postleitzahl an.", field="postal_code")
    street_key = matching.normalise_street(street)
    number_key = matching.normalise_house_number(house_number)
    if number_key:
        keys = {"adh": {f"{street_key}|{postal_code}|{number_key}"[:120]}}
    else:
        keys = {"adr": {f"{street_key}|{postal_code}"[:120]}}
    query = {k: v for k, v in {"street": street, "house_number": house_number,
                               "postal_code": postal_code}.items() if v}
    with transaction.atomic():
        rows = _visible(candidate_ids(keys))
        rows.sort(key=lambda r: (-(r["hazard_level"] or 0), r["last_name"], r["id"]))
        rows = rows[:MAX_CANDIDATES]
        measures = _measures([r["id"] for r in rows])
        how = "gleiche Anschrift" if number_key else "gleiche Straße"
        candidates = [_card(r, measures, 1.0, [{"field": "address", "how": how}]) for r in rows]
        entry = _log(user, Lookup.Kind.ADDRESS, purpose, query,
                     [c["entry_id"] for c in candidates])
    return {"id": entry.pk, "kind": entry.kind, "candidates": candidates}


def lookup_detail(user, lookup_id: int, person_id: int) -> dict:
    """The second click: a shown candidate's incidents (categories, dates) and measures."""
    accounts.require_role(user, Role.QUERIER)
    with transaction.atomic():
        parent = Lookup.objects.filter(
            pk=lookup_id, querier=user,
            kind__in=[Lookup.Kind.PERSON, Lookup.Kind.ADDRESS]).first()
        if parent is None or person_id not in (parent.shown or []):
            raise NotFound("Diese Eintragung gehört zu keiner Ihrer Abfragen.")
        if parent.at < timezone.now() - DETAIL_WINDOW:
            raise NotFound("Die Abfrage ist älter als 24 Stunden – bitte erneut abfragen.")
        person = (RegisterPerson.objects.filter(
            pk=person_id, status=RegisterPerson.Status.ACTIVE, merged_into__isnull=True)
            .select_related("zks_contact").first())
        if person is None:
            raise NotFound("Zu dieser Abfrage gibt es keine Eintragung (mehr).")
        incidents = []
        for entry in person.entries.order_by("-incident_date", "-pk").prefetch_related(
                "offences"):
            incidents.append({"incident_date": entry.incident_date,
                              "hazard_level": entry.hazard_level,
                              "offences": sorted(o.label for o in entry.offences.all())})
        contact = person.zks_contact
        detail = {
            "entry_id": person.pk, "last_name": person.last_name,
            "first_names": person.first_names, "date_of_birth": person.date_of_birth,
            "hazard_level": person.hazard_level, "last_incident_on": person.last_incident_on,
            "measures": _measures([person.pk]).get(person.pk, []),
            "incidents": incidents,
            "zks_contact": None if contact is None else {
                "name": f"{contact.first_name} {contact.last_name}",
                "phone": contact.service_phone, "email": contact.email},
        }
        entry = _log(user, Lookup.Kind.DETAIL, parent.purpose, {"person_id": person.pk},
                     [person.pk], parent=parent)
    detail["id"] = entry.pk
    return detail
