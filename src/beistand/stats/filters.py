"""What a statistics query asks for: the period, the filters and the grouping, parsed and
checked from plain strings (API query parameters or the dashboard's filter bar).

Every bad value is an ``InvalidInput`` naming the parameter in German: unknown dimension or
filter value, a reversed period, a period over ten years.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils import timezone

from beistand.core.errors import InvalidInput
from beistand.organisation.models import OrgUnit, Site
from beistand.reports.models import Offence

MAX_YEARS = 10
PERIODS = ("month", "quarter", "year")
# API name -> German label (dashboard headings, CSV/XLSX headers)
DIMENSIONS = {
    "month": "Monat",
    "quarter": "Quartal",
    "year": "Jahr",
    "level": "Gefährdungsstufe",
    "offence": "Delikt",
    "unit": "Organisationseinheit",
    "site": "Standort",
    "location": "Ort",
    "perpetrator": "Täter/in",
    "police": "Polizei vor Ort",
    "injured": "Verletzung/Arbeitsunfähigkeit",
}
MAX_GROUP_BY = 3
LOCATIONS = {"office": "Dienststelle", "field": "Außendienst"}
PERPETRATOR = {"known": "bekannt", "unknown": "unbekannt"}
YES_NO = {"true": True, "false": False, "ja": True, "nein": False, "1": True, "0": False}


@dataclass(frozen=True)
class Filters:
    start: date
    end: date  # inclusive
    levels: tuple[int, ...] = ()
    offences: tuple[str, ...] = ()
    unit: str = ""          # unit code; includes its sub-units
    site: int | None = None
    location: str = ""      # office | field
    perpetrator: str = ""   # known | unknown
    police: bool | None = None
    unit_depth: int = 2     # 1 = top level (Dezernat), 2 = Amt, …

    def as_params(self) -> dict[str, str]:
        """The filters as query parameters (dashboard links, exports, report footers)."""
        params = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        if self.levels:
            params["level"] = ",".join(str(v) for v in self.levels)
        if self.offences:
            params["offence"] = ",".join(self.offences)
        if self.unit:
            params["unit"] = self.unit
        if self.site is not None:
            params["site"] = str(self.site)
        if self.location:
            params["location"] = self.location
        if self.perpetrator:
            params["perpetrator"] = self.perpetrator
        if self.police is not None:
            params["police"] = "true" if self.police else "false"
        params["unit_depth"] = str(self.unit_depth)
        return params


@dataclass(frozen=True)
class Query:
    filters: Filters
    group_by: tuple[str, ...] = field(default=("month",))


def _split(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        parts = []
        for v in value:
            parts += _split(v)
        return parts
    return [p.strip() for p in str(value).split(",") if p.strip()]


def _date(value, name: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(f"„{value}“ ist kein gültiges Datum (JJJJ-MM-TT).",
                           field=name) from None


def default_period(today: date | None = None) -> tuple[date, date]:
    """Three calendar years up to today: the current and the two before."""
    today = today or timezone.localdate()
    return date(today.year - 2, 1, 1), today


def parse_group_by(value) -> tuple[str, ...]:
    dims = _split(value) or ["month"]
    unknown = [d for d in dims if d not in DIMENSIONS]
    if unknown:
        raise InvalidInput(f"Unbekannte Gruppierung „{unknown[0]}“. Erlaubt: "
                           f"{', '.join(DIMENSIONS)}.", field="group_by")
    if len(set(dims)) != len(dims):
        raise InvalidInput("Jede Gruppierung darf nur einmal vorkommen.", field="group_by")
    if len(dims) > MAX_GROUP_BY:
        raise InvalidInput(f"Höchstens {MAX_GROUP_BY} Gruppierungen auf einmal.",
                           field="group_by")
    if sum(d in PERIODS for d in dims) > 1:
        raise InvalidInput("Nur eine Zeiteinheit (month, quarter oder year) auf einmal.",
                           field="group_by")
    return tuple(dims)


def _levels(value) -> tuple[int, ...]:
    levels = []
    for part in _split(value):
        if part not in {"0", "1", "2", "3"}:
            raise InvalidInput(f"Unbekannte Gefährdungsstufe „{part}“ (erlaubt: 0–3).",
                               field="level")
        levels.append(int(part))
    return tuple(sorted(set(levels)))


def _offences(value) -> tuple[str, ...]:
    codes = _split(value)
    if not codes:
        return ()
    known = set(Offence.objects.filter(code__in=codes).values_list("code", flat=True))
    for code in codes:
        if code not in known:
            raise InvalidInput(f"Unbekanntes Delikt „{code}“.", field="offence")
    return tuple(sorted(set(codes)))


def _choice(value, allowed: dict, name: str, label: str) -> str:
    if value in (None, ""):
        return ""
    value = str(value).strip()
    if value not in allowed:
        raise InvalidInput(f"Unbekannter Wert „{value}“ für {label} (erlaubt: "
                           f"{', '.join(allowed)}).", field=name)
    return value


def _int(value, name: str, low: int, high: int, label: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise InvalidInput(f"{label} muss eine ganze Zahl sein.", field=name) from None
    if not low <= number <= high:
        raise InvalidInput(f"{label} muss zwischen {low} und {high} liegen.", field=name)
    return number


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    following = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return following - timedelta(days=1)


def parse_filters(params, today: date | None = None) -> Filters:
    """Filters from a mapping of strings (QueryDict or dict); raises InvalidInput.

    Periods have a fixed granularity of whole calendar months (issue 16, finding 3): ``from``
    is moved to the first day of its month and ``to`` to the last day of its month, so two
    queries can never differ by a few days (the answer names the period actually counted)."""
    get = params.get
    default_start, default_end = default_period(today)
    start = month_start(_date(get("from"), "from") or default_start)
    end = month_end(_date(get("to"), "to") or default_end)
    if start > end:
        raise InvalidInput("Der Beginn des Zeitraums liegt nach dessen Ende.", field="from")
    try:
        limit = start.replace(year=start.year + MAX_YEARS)
    except ValueError:  # 29 February
        limit = start.replace(year=start.year + MAX_YEARS, day=28)
    if end >= limit:
        raise InvalidInput(f"Der Zeitraum darf höchstens {MAX_YEARS} Jahre umfassen.",
                           field="to")
    unit = str(get("unit") or "").strip()
    if unit and not OrgUnit.objects.filter(code=unit).exists():
        raise InvalidInput(f"Unbekannte Organisationseinheit „{unit}“.", field="unit")
    site = _int(get("site"), "site", 1, 2**63 - 1, "Der Standort")
    if site is not None and not Site.objects.filter(pk=site).exists():
        raise InvalidInput(f"Unbekannter Standort „{site}“.", field="site")
    police_raw = str(get("police") or "").strip().lower()
    if police_raw and police_raw not in YES_NO:
        raise InvalidInput(f"Unbekannter Wert „{police_raw}“ für Polizei (erlaubt: true, "
                           "false).", field="police")
    depth = _int(get("unit_depth"), "unit_depth", 1, 5, "Die Gliederungstiefe")
    return Filters(
        start=start, end=end, levels=_levels(get("level")), offences=_offences(get("offence")),
        unit=unit, site=site,
        location=_choice(get("location"), LOCATIONS, "location", "Ort"),
        perpetrator=_choice(get("perpetrator"), PERPETRATOR, "perpetrator", "Täter/in"),
        police=YES_NO[police_raw] if police_raw else None,
        unit_depth=depth or 2)


def parse_query(params, today: date | None = None) -> Query:
    return Query(filters=parse_filters(params, today), group_by=parse_group_by(
        params.get("group_by")))


ALLOWED_PARAMS = frozenset({"from", "to", "level", "offence", "unit", "site", "location",
                            "perpetrator", "police", "unit_depth", "group_by"})


def refuse_unknown_params(keys, allowed=ALLOWED_PARAMS) -> None:
    for key in keys:
        if key not in allowed:
            raise InvalidInput(f"Unbekannter Parameter „{key}“.", field=key)
