"""The DPO's side of the access log (BZRG §21a style): search, CSV export, misuse signals,
and the flag that keeps look-ups beyond the one-year retention for an ongoing audit.

Only the data protection officer (``Role.DPO``) may read the log; every read is itself audited
(filters and row count, never the query data). Person ids are matched in Python because JSON
containment is not portable (SQLite has none); the log holds at most one year, and every search
is first narrowed in the database by period and querier.
"""

from __future__ import annotations

import csv
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

from beistand.accounts import services as accounts
from beistand.accounts.roles import Role
from beistand.audit import services as audit
from beistand.core.errors import InvalidInput, NotFound
from beistand.register.models import Lookup

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
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
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
                         after={"keep_for_audit": keep})
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
