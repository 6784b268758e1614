"""The DPO's side of the access log (BZRG §21a style): search, CSV export, misuse signals,
and the flag that keeps look-ups beyond the one-year retention for an ongoing audit.

Only the data protection officer (``Role.DPO``) may read the log; every read is itself audited
(filters and row count, never the query data). Person ids are matched in Python because JSON
containment is not portable (SQLite has none); the log holds at most one year, and every search
is first narrowed in the database by period and querier.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from beistand.accounts import services as accounts
from beistand.accounts.roles import Role
from beistand.audit import services as audit
from beistand.core.errors import InvalidInput, NotFound
from beistand.core.spreadsheet import csv_writer
from beistand.register.models import Lookup, RegisterPerson

MAX_ROWS = 10000
UNIT_WINDOW_DAYS = 30


def _day(value, field_name: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"Ungültiges Datum „{value}“ (erwartet JJJJ-MM-TT).",
                           field=field_name) from None


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _querier_filter(qs, querier):
    if querier in (None, ""):
        return qs
    if hasattr(querier, "pk"):
        return qs.filter(querier_id=querier.pk)
    text = str(querier).strip()
    if text.isdigit():
        return qs.filter(querier_id=int(text))
    user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: text}).first()
    if user is not None:
        return qs.filter(querier_id=user.pk)
    return qs.filter(querier_label__icontains=text)


def _person_id(person_id) -> int | None:
    if person_id in (None, ""):
        return None
    try:
        return int(person_id)
    except (TypeError, ValueError):
        raise InvalidInput("Ungültige Personennummer.", field="person_id") from None


def _find(querier=None, person_id=None, since=None, until=None) -> tuple[list[Lookup], dict]:
    since_d, until_d = _day(since, "since"), _day(until, "until")
    if since_d and until_d and since_d > until_d:
        raise InvalidInput("Der Beginn des Zeitraums liegt nach dessen Ende.", field="since")
    pid = _person_id(person_id)
    qs = _querier_filter(Lookup.objects.select_related("querier"), querier)
    if since_d:
        qs = qs.filter(at__gte=_start_of(since_d))
    if until_d:
        qs = qs.filter(at__lt=_start_of(until_d + timedelta(days=1)))
    rows = []
    for lookup in qs.order_by("-at", "-pk").iterator(chunk_size=2000):
        if pid is not None and pid not in (lookup.shown or []):
            continue
        rows.append(lookup)
        if len(rows) >= MAX_ROWS:
            break
    filters = {"querier": str(querier) if querier not in (None, "") else None,
               "person_id": pid, "since": since_d, "until": until_d}
    return rows, filters


def search(user, querier=None, person_id=None, since=None, until=None) -> list[Lookup]:
    """Look-ups (newest first, at most 10,000) by querier, by person shown, by period."""
    accounts.require_role(user, Role.DPO)
    with transaction.atomic():
        rows, filters = _find(querier, person_id, since, until)
        audit.record("register.access_log.read", object_type="register.lookup",
                     object_repr="Abfrageprotokoll", actor=user,
                     after={"filters": filters, "count": len(rows)})
    return rows


# --- The log's content, fixed inside the audit chain (issue 16, finding 6) ----------------------
#
# The rows of the log live outside the chain (they have their own, shorter retention). Their
# content is fixed by a keyed digest (HMAC-SHA256 with a key derived from SECRET_KEY, so that a
# reader of the audit trail cannot test names against it) of EVERY column of the row – kind,
# querier, querier label, unit, time, purpose, query data, shown ids, the detail view's parent
# and the keep flag (version 2; version 1 covered kind, querier, query and shown ids only) –
# chained into the look-up's audit event. ``beistand audit verify`` recomputes it for every row.
# The legitimate changes chain a new digest in the same transaction: the DPO's keep flag
# (``register.lookup.keep``/``.release``) and the redaction of query and purpose when a shown
# person is purged (``register.lookup.rehash``). A parent pruned by retention leaves
# ``parent = NULL``; the chained parent id is accepted as NULL only when a prune event covers it.

DIGEST_SALT = "beistand.register.access_log.content"
DIGEST_VERSION = 2
REHASH = "register.lookup.rehash"
_DIGEST_ACTIONS = ("register.lookup", "register.lookup.keep", "register.lookup.release", REHASH,
                   "register.lookup.prune")


def redacted_query(query) -> dict:
    """What the purge of a shown person leaves of the query data (see ``retention``)."""
    return {"entfernt": sorted((query or {}).keys())} if query else {}


def content_digest(kind, querier_id, query, shown) -> str:
    """Version 1 (look-ups logged before version 2): kind, querier, query data, shown ids."""
    canonical = json.dumps({"kind": str(kind), "querier": querier_id, "query": query or {},
                            "shown": list(shown or [])},
                           sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return salted_hmac(DIGEST_SALT, canonical, algorithm="sha256").hexdigest()


def _utc_iso(value) -> str:
    from datetime import UTC

    return value.astimezone(UTC).isoformat() if value is not None else ""


def row_digest(entry: Lookup, parent_id=...) -> str:
    """Version 2: the keyed digest of every column of the row (``parent_id``: as chained)."""
    canonical = json.dumps({
        "v": DIGEST_VERSION, "id": entry.pk, "kind": str(entry.kind),
        "querier": entry.querier_id, "querier_label": entry.querier_label,
        "unit_code": entry.unit_code, "at": _utc_iso(entry.at), "purpose": entry.purpose,
        "query": entry.query or {}, "shown": list(entry.shown or []),
        "parent": entry.parent_id if parent_id is ... else parent_id,
        "keep_for_audit": bool(entry.keep_for_audit),
    }, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return salted_hmac(DIGEST_SALT, canonical, algorithm="sha256").hexdigest()


def chained_digests(entry: Lookup) -> dict:
    """The ``after`` of a look-up's (or a keep flag's) audit event: the digest of the whole row
    and its parent id (a look-up id, no personal data)."""
    entry.refresh_from_db()  # the stored form (JSON, time precision) is what verify reads back
    return {"v": DIGEST_VERSION, "content": row_digest(entry), "parent": entry.parent_id}


def rehash(entries) -> None:
    """Chain new digests for rows a legitimate change rewrote (the purge's redaction); inside
    the caller's transaction."""
    digests = {}
    for entry in entries:
        entry.refresh_from_db()
        digests[str(entry.pk)] = {"content": row_digest(entry), "parent": entry.parent_id}
    if digests:
        audit.record(REHASH, object_type="register.lookup", object_repr="Abfrageprotokoll",
                     purpose="Abfragedaten gelöschter Personen entfernt",
                     after={"v": DIGEST_VERSION, "digests": digests})


def verify_log() -> list[str]:
    """Every look-up row against the digest chained last for it (an ``audit verify`` content
    check). Rows logged before digests were chained have none and are skipped."""
    chained, pruned = {}, []
    for action, object_id, after in audit.chained_payloads(_DIGEST_ACTIONS):
        if not after:
            continue
        if action == "register.lookup.prune":
            if "first_id" in after:
                pruned.append((int(after["first_id"]), int(after["last_id"])))
        elif action == REHASH:
            for pk, expected in (after.get("digests") or {}).items():
                chained[int(pk)] = {"v": after.get("v"), **expected}
        elif "content" in after and object_id.isdigit():
            chained[int(object_id)] = after

    def was_pruned(pk) -> bool:
        return any(first <= pk <= last for first, last in pruned)

    deleted_persons = set(RegisterPerson.objects.filter(
        status=RegisterPerson.Status.DELETED).values_list("pk", flat=True))
    problems = []
    seen = set()
    for row in Lookup.objects.order_by("pk").iterator(chunk_size=2000):
        seen.add(row.pk)
        expected = chained.get(row.pk)
        if expected is None:
            continue
        if expected.get("v") == DIGEST_VERSION:
            parent = expected.get("parent")
            if row.parent_id is None and parent is not None and was_pruned(int(parent)):
                now = row_digest(row, parent_id=parent)
            else:
                now = row_digest(row)
            if now != expected["content"]:
                problems.append(f"Abfrage #{row.pk}: Inhalt der Protokollzeile geändert "
                                "(Zweck, Zeit, Einheit, abfragende Person, Abfragedaten, "
                                "angezeigte Personen oder Aufbewahrungskennzeichen)")
            continue
        now = content_digest(row.kind, row.querier_id, row.query, row.shown)
        if now == expected["content"]:
            continue
        if now == expected.get("redacted") and deleted_persons.intersection(row.shown or []):
            continue
        problems.append(f"Abfrage #{row.pk}: Abfragedaten oder angezeigte Personen geändert")
    for pk in sorted(set(chained) - seen):
        if not was_pruned(pk):
            problems.append(f"Abfrage #{pk}: aus dem Protokoll gelöscht, ohne Aufbewahrungsfrist")
    return problems


CSV_HEADERS = ["Nr.", "Art", "Zeitpunkt", "Abfragende Person", "Einheit", "Zweck",
               "Abfragedaten", "Angezeigte Personen", "Zu Abfrage Nr.",
               "Für Prüfung aufbewahrt"]


def export_csv(user, querier=None, person_id=None, since=None, until=None) -> str:
    """The same selection as ``search`` as CSV (';'-separated for German spreadsheets)."""
    accounts.require_role(user, Role.DPO)
    with transaction.atomic():
        rows, filters = _find(querier, person_id, since, until)
        audit.record("register.access_log.export", object_type="register.lookup",
                     object_repr="Abfrageprotokoll", actor=user,
                     after={"filters": filters, "count": len(rows)})
    out = io.StringIO()
    writer = csv_writer(out)  # formulas and bidi controls neutralised (core.spreadsheet)
    writer.writerow(CSV_HEADERS)
    for lookup in rows:
        writer.writerow([
            lookup.pk, lookup.get_kind_display(),
            timezone.localtime(lookup.at).strftime("%d.%m.%Y %H:%M:%S"),
            lookup.querier_label, lookup.unit_code, lookup.purpose,
            json.dumps(lookup.query, ensure_ascii=False, sort_keys=True),
            ", ".join(f"#{p}" for p in (lookup.shown or [])),
            lookup.parent_id or "", "ja" if lookup.keep_for_audit else "nein",
        ])
    return out.getvalue()


def keep_for_audit(user, lookup_id, reason, keep: bool = True) -> Lookup:
    """Flag (or unflag) a look-up so the retention run keeps it during an ongoing audit."""
    accounts.require_role(user, Role.DPO)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Bitte geben Sie eine Begründung an.", field="reason")
    with transaction.atomic():
        lookup = Lookup.objects.select_for_update().filter(pk=lookup_id).first()
        if lookup is None:
            raise NotFound("Diese Abfrage gibt es im Protokoll nicht (mehr).")
        if lookup.keep_for_audit != keep:
            # Lookup is not an audited model (own retention); record the flag explicitly.
            Lookup.objects.filter(pk=lookup.pk).update(keep_for_audit=keep)
            lookup.keep_for_audit = keep
            audit.record("register.lookup.keep" if keep else "register.lookup.release",
                         object_type="register.lookup", object_id=lookup.pk,
                         object_repr=f"Abfrage #{lookup.pk}", actor=user, purpose=reason[:500],
                         after={"keep_for_audit": keep, **chained_digests(lookup)})
    return lookup


# --- Misuse signals -----------------------------------------------------------------------------

@dataclass
class Signal:
    kind: str  # "volume" | "many_units" | "off_hours"
    title: str
    detail: str
    day: date | None = None
    querier_id: int | None = None
    querier_label: str = ""
    person_id: int | None = None
    count: int = 0
    lookup_ids: list[int] = field(default_factory=list)


def working_hours() -> tuple[time, time]:
    raw = settings.WORKING_HOURS
    try:
        start, end = (time.fromisoformat(p.strip()) for p in raw.split("-"))
    except ValueError:
        raise ImproperlyConfigured(
            f"BEISTAND_WORKING_HOURS={raw!r}: erwartet HH:MM-HH:MM, z. B. 07:00-19:00") from None
    return start, end


def misuse_signals(user, today: date | None = None, days: int = 1) -> list[Signal]:
    """Signals for the DPO over the ``days`` days ending ``today``:

    * ``volume``: a querier made more than MISUSE_LOOKUPS_PER_DAY searches (person or address
      look-ups; detail views are follow-ups and do not count) on one day;
    * ``off_hours``: a querier's look-ups outside WORKING_HOURS on a day (one signal per querier
      and day);
    * ``many_units``: a person was shown to at least MISUSE_UNITS_PER_PERSON different units
      within the 30 days ending ``today``.
    """
    accounts.require_role(user, Role.DPO)
    today = _day(today, "today") or timezone.localdate()
    start_hours, end_hours = working_hours()
    first_day = today - timedelta(days=max(days, 1) - 1)
    until = _start_of(today + timedelta(days=1))
    window_start = min(first_day, today - timedelta(days=UNIT_WINDOW_DAYS - 1))

    searches = defaultdict(list)   # (day, querier) -> ids
    off_hours = defaultdict(list)  # (day, querier) -> ids
    units = defaultdict(lambda: defaultdict(list))  # person -> unit -> ids
    labels = {}
    rows = (Lookup.objects.filter(at__gte=_start_of(window_start), at__lt=until)
            .only("id", "kind", "querier_id", "querier_label", "unit_code", "at", "shown")
            .order_by("at"))
    for lookup in rows.iterator(chunk_size=2000):
        local = timezone.localtime(lookup.at)
        day = local.date()
        labels[lookup.querier_id] = lookup.querier_label
        if day >= first_day:
            if lookup.kind != Lookup.Kind.DETAIL:
                searches[(day, lookup.querier_id)].append(lookup.pk)
            if not (start_hours <= local.time() < end_hours):
                off_hours[(day, lookup.querier_id)].append(lookup.pk)
        if day > today - timedelta(days=UNIT_WINDOW_DAYS):
            for pid in lookup.shown or []:
                units[pid][lookup.unit_code or "?"].append(lookup.pk)

    signals = []
    limit = settings.MISUSE_LOOKUPS_PER_DAY
    for (day, qid), ids in sorted(searches.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        if len(ids) > limit:
            signals.append(Signal(
                "volume", "Ungewöhnlich viele Abfragen",
                f"{labels[qid]}: {len(ids)} Abfragen am {day:%d.%m.%Y} (Schwelle {limit})",
                day=day, querier_id=qid, querier_label=labels[qid], count=len(ids),
                lookup_ids=ids))
    window = f"{start_hours:%H:%M}–{end_hours:%H:%M}"
    for (day, qid), ids in sorted(off_hours.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        signals.append(Signal(
            "off_hours", "Abfragen außerhalb der Arbeitszeit",
            f"{labels[qid]}: {len(ids)} Abfrage(n) am {day:%d.%m.%Y} außerhalb {window} Uhr",
            day=day, querier_id=qid, querier_label=labels[qid], count=len(ids), lookup_ids=ids))
    threshold = settings.MISUSE_UNITS_PER_PERSON
    for pid in sorted(units):
        by_unit = units[pid]
        if len(by_unit) >= threshold:
            ids = sorted(i for lst in by_unit.values() for i in lst)
            signals.append(Signal(
                "many_units", "Dieselbe Person von vielen Einheiten abgefragt",
                f"Person #{pid}: von {len(by_unit)} Einheiten ({', '.join(sorted(by_unit))}) "
                f"in {UNIT_WINDOW_DAYS} Tagen angezeigt (Schwelle {threshold})",
                day=today, person_id=pid, count=len(by_unit), lookup_ids=ids))
    with transaction.atomic():
        audit.record("register.access_log.signals", object_type="register.lookup",
                     object_repr="Abfrageprotokoll", actor=user,
                     after={"today": today, "days": days, "signals": len(signals)})
    return signals
