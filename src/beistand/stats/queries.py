"""The aggregate queries behind every figure. Only counts, sums and anonymous durations leave
the database: no report id, no name, no free text (``tests/stats/test_no_personal_data.py``).

Statistics cover reports from submission on (drafts are not incidents yet); the incident's date
is ``occurred_at`` in local time. Offences are a many-to-many link: grouped by offence, a report
with two offences counts once under each, so that table's cells add up to more than the reports.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncMonth, TruncQuarter, TruncYear
from django.utils import timezone

from beistand.organisation.models import OrgUnit, Site
from beistand.reports import help_workflow, workflow
from beistand.reports.models import HelpRequest, Offence, Perpetrator, Report, Status, StatusChange
from beistand.stats import ckm
from beistand.stats.filters import LOCATIONS, PERPETRATOR, Filters

LOCAL = ZoneInfo(settings.TIME_ZONE)
FIELD_SITE = 0  # the "site" of field-service incidents


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), LOCAL)


def _known_perpetrator():
    return Exists(Perpetrator.objects.filter(report=OuterRef("pk"), known=True))


def incidents(f: Filters) -> QuerySet:
    """The reports the filters select (never evaluated as rows for statistics)."""
    qs = Report.objects.filter(status__in=workflow.states(shared=True)).filter(
        occurred_at__gte=_start_of(f.start), occurred_at__lt=_start_of(f.end + timedelta(days=1)))
    if f.levels:
        qs = qs.filter(hazard_level__in=f.levels)
    if f.offences:
        linked = Report.offences.through.objects.filter(offence_id__in=f.offences)
        qs = qs.filter(pk__in=linked.values("report_id"))
    if f.unit:
        qs = qs.filter(reporter__unit_id__in=[u.pk for u in unit_subtree(f.unit)])
    if f.site is not None:
        qs = qs.filter(location_kind=Report.LocationKind.OFFICE,
                       room__floor__building__site_id=f.site)
    if f.location:
        qs = qs.filter(location_kind=f.location)
    if f.perpetrator:
        known = _known_perpetrator()
        qs = qs.filter(known if f.perpetrator == "known" else ~known)
    if f.police is not None:
        qs = qs.filter(police_on_site=f.police)
    return qs


# --- Organisational units at a depth ---------------------------------------------------------

@dataclass(frozen=True)
class UnitInfo:
    code: str
    name: str


def _unit_tree() -> dict[int, tuple[int | None, str, str]]:
    return {pk: (parent, code, name) for pk, parent, code, name in
            OrgUnit.objects.values_list("pk", "parent_id", "code", "name")}


def unit_subtree(code: str) -> list[OrgUnit]:
    from beistand.organisation.services import unit_subtree as subtree

    return subtree(OrgUnit.objects.get(code=code))


def unit_at_depth(tree, unit_id: int | None, depth: int) -> UnitInfo | None:
    """The ancestor of ``unit_id`` at ``depth`` (1 = root); the unit itself if it is higher."""
    if unit_id is None or unit_id not in tree:
        return None
    chain, node, seen = [], unit_id, set()
    while node is not None and node not in seen:
        seen.add(node)
        chain.append(node)
        node = tree[node][0] if node in tree else None
    chain.reverse()  # root first
    pick = chain[min(depth, len(chain)) - 1]
    return UnitInfo(tree[pick][1], tree[pick][2])


# --- Counts grouped by dimensions ------------------------------------------------------------

def _period_expr(name: str):
    trunc = {"month": TruncMonth, "quarter": TruncQuarter, "year": TruncYear}[name]
    return trunc("occurred_at", tzinfo=LOCAL)


def period_key(name: str, value) -> str:
    """A truncated date as the API shows it: 2026-01, 2026-Q1, 2026."""
    if isinstance(value, datetime):
        value = timezone.localtime(value, LOCAL).date() if timezone.is_aware(value) \
            else value.date()
    if name == "month":
        return f"{value.year:04d}-{value.month:02d}"
    if name == "quarter":
        return f"{value.year:04d}-Q{(value.month - 1) // 3 + 1}"
    return f"{value.year:04d}"


def _annotations(dims) -> dict:
    ann = {}
    for d in dims:
        if d in ("month", "quarter", "year"):
            ann["d_" + d] = _period_expr(d)
        elif d == "level":
            ann["d_level"] = F("hazard_level")
        elif d == "offence":
            ann["d_offence"] = F("offences__code")
        elif d == "unit":
            ann["d_unit"] = F("reporter__unit_id")
        elif d == "site":
            ann["d_site"] = Case(
                When(location_kind=Report.LocationKind.FIELD, then=Value(FIELD_SITE)),
                default=F("room__floor__building__site_id"), output_field=IntegerField())
        elif d == "location":
            ann["d_location"] = F("location_kind")
        elif d == "perpetrator":
            ann["d_perpetrator"] = _known_perpetrator()
        elif d == "police":
            ann["d_police"] = F("police_on_site")
        elif d == "injured":
            ann["d_injured"] = Case(
                When(Q(injuries="") & (Q(incapacity_days__isnull=True)
                                       | Q(incapacity_days=0)), then=Value(False)),
                default=Value(True), output_field=BooleanField())
    return ann


def _value(dim: str, raw, tree, depth: int):
    """A database value as the API shows it (stable, machine-readable)."""
    if dim in ("month", "quarter", "year"):
        return period_key(dim, raw)
    if dim == "unit":
        info = unit_at_depth(tree, raw, depth)
        return info.code if info else None
    if dim == "perpetrator":
        return "known" if raw else "unknown"
    if dim in ("police", "injured"):
        return bool(raw)
    return raw


def _k() -> int:
    return max(1, int(settings.STATS_MIN_CELL))


BASE = "base_month"  # the fixed base cell of every figure: the calendar month of the incident


def _base_month():
    return _period_expr("month")


def count_cells(f: Filters, dims: tuple[str, ...]) -> dict[tuple, int]:
    """``{(value per dimension): published count}`` for the non-empty combinations.

    Every count is a sum of fixed base cells (ckm): per calendar month of the incident, the
    records of the cell are counted and perturbed by their cell key, and the cell's published
    value is the sum over its months. The same month cell always gets the same noise, so a
    cell over a range of months differs from the same cell over a shorter range by exactly the
    published months in between."""
    ann = _annotations(dims)
    ann[BASE] = _base_month()
    names = list(ann)
    rows = (incidents(f).annotate(**ann).values(*names)
            .annotate(n=Count("pk", distinct=True), ks=Sum(ckm.record_key())).order_by())
    tree = _unit_tree() if "unit" in dims else {}
    counts: dict[tuple, dict] = defaultdict(lambda: defaultdict(int))
    keys: dict[tuple, dict] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        key = tuple(_value(d, row["d_" + d], tree, f.unit_depth) for d in dims)
        month = period_key("month", row[BASE])
        counts[key][month] += row["n"]
        keys[key][month] += int(row["ks"] or 0)
    out = {}
    for key, by_month in counts.items():
        out[key] = ckm.add_cells(ckm.perturb(n, keys[key][m]) for m, n in by_month.items())
    return out


def _by_month(qs: QuerySet, **aggregates) -> list[dict]:
    return list(qs.annotate(**{BASE: _base_month()}).values(BASE).annotate(**aggregates)
                .order_by())


def total(f: Filters) -> int:
    """The number of selected reports: the sum of its perturbed month cells."""
    rows = _by_month(incidents(f), n=Count("pk"), ks=Sum(ckm.record_key()))
    return ckm.add_cells(ckm.perturb(r["n"], r["ks"]) for r in rows)


# --- Labels of dimension values (for people) -------------------------------------------------

MONTHS = ("Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.",
          "Nov.", "Dez.")
LEVEL_LABELS = {0: "Stufe 0", 1: "Stufe 1", 2: "Stufe 2", 3: "Stufe 3"}


def labeller(dim: str):
    """value -> German label for one dimension (loads the catalogue once)."""
    if dim == "month":
        return lambda v: f"{MONTHS[int(v[5:7]) - 1]} {v[:4]}"
    if dim == "quarter":
        return lambda v: f"{v[5:]}/{v[:4]}"
    if dim == "year":
        return str
    if dim == "level":
        return lambda v: LEVEL_LABELS.get(v, f"Stufe {v}")
    if dim == "offence":
        labels = dict(Offence.objects.values_list("code", "label"))
        return lambda v: labels.get(v, v or "ohne Delikt")
    if dim == "unit":
        names = dict(OrgUnit.objects.values_list("code", "name"))
        return lambda v: f"{v} {names.get(v, '')}".strip() if v else "ohne Einheit"
    if dim == "site":
        names = dict(Site.objects.values_list("pk", "name"))
        return lambda v: ("Außendienst" if v == FIELD_SITE
                          else names.get(v, "Dienststelle ohne Raumangabe"))
    if dim == "location":
        return lambda v: LOCATIONS.get(v, v)
    if dim == "perpetrator":
        return lambda v: PERPETRATOR.get(v, v)
    return lambda v: "ja" if v else "nein"


def category_order(dim: str, f: Filters, present) -> list:
    """All categories of a dimension in display order: periods of the range even when empty,
    levels 0–3, the rest as present (sorted)."""
    present = set(present)
    if dim in ("month", "quarter", "year"):
        keys, day = [], date(f.start.year, f.start.month, 1)
        while day <= f.end:
            key = period_key(dim, day)
            if key not in keys:
                keys.append(key)
            day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
        return keys
    if dim == "level":
        return sorted(set(range(4)) | present)
    if dim in ("police", "injured"):
        return [True, False]
    if dim == "perpetrator":
        return ["known", "unknown"]
    return sorted(present, key=lambda v: (v is None, str(v)))


# --- Key figures -----------------------------------------------------------------------------

KEY_CONDITIONS = {
    "incidents": None,
    "level_2_plus": Q(hazard_level__gte=2),
    "level_3": Q(hazard_level=3),
    "attacks": Q(attack=True),
    "injured": ~Q(injuries="") | Q(incapacity_days__gt=0),
    "with_incapacity": Q(incapacity_days__gt=0),
    "police": Q(police_on_site=True),
    "perpetrator_unknown": Q(known=False),
    "field": Q(location_kind=Report.LocationKind.FIELD),
    "published": Q(status=Status.PUBLISHED),
}


def key_counts(f: Filters) -> dict[str, int]:
    """Counts (and the sum of incapacity days) over the selection, in one query plus one for help
    requests, per calendar month; each figure is a cell of its own, perturbed per month by its
    cell key (``ckm``) and published as the sum of its months."""
    qs = incidents(f).annotate(known=_known_perpetrator())
    aggregates = {}
    for name, condition in KEY_CONDITIONS.items():
        aggregates[name] = Count("pk", filter=condition)
        aggregates["ks_" + name] = Sum(ckm.record_key(), filter=condition)
    aggregates["incapacity_days"] = Sum("incapacity_days", filter=Q(incapacity_days__gt=0))
    months = _by_month(qs, **aggregates)
    help_qs = HelpRequest.objects.filter(report__in=incidents(f).values("pk"))
    granted = Q(state__in=help_workflow.states(granted=True))
    help_months = list(
        help_qs.annotate(**{BASE: TruncMonth("report__occurred_at", tzinfo=LOCAL)})
        .values(BASE).annotate(
            help_requested=Count("pk"), ks_help_requested=Sum(ckm.record_key()),
            help_granted=Count("pk", filter=granted),
            ks_help_granted=Sum(ckm.record_key(), filter=granted)).order_by())
    figures = {name: ckm.add_cells(ckm.perturb(m[name], m["ks_" + name]) for m in months)
               for name in KEY_CONDITIONS}
    for name in ("help_requested", "help_granted"):
        figures[name] = ckm.add_cells(ckm.perturb(m[name], m["ks_" + name])
                                      for m in help_months)
    figures["incapacity_days"] = ckm.add_cells(
        ckm.perturb_sum(m["incapacity_days"], m["ks_with_incapacity"]) for m in months)
    return figures


# --- Workflow lead times ---------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    key: str
    label: str
    start: str
    end: str
    deadline_states: tuple[str, ...]  # the states whose deadlines add up to the step's


STEPS = (
    Step("release", "Meldung → Freigabe", Status.SUBMITTED, Status.RELEASED,
         (Status.SUBMITTED,)),
    Step("complaint", "Freigabe → Strafanzeige", Status.RELEASED, Status.COMPLAINT_FILED,
         (Status.RELEASED,)),
    Step("publication", "Strafanzeige → Veröffentlichung", Status.COMPLAINT_FILED,
         Status.PUBLISHED, (Status.COMPLAINT_FILED,)),
    Step("total", "Meldung → Veröffentlichung", Status.SUBMITTED, Status.PUBLISHED,
         (Status.SUBMITTED, Status.RELEASED, Status.COMPLAINT_FILED)),
)


def deadline_hours(step: Step) -> int:
    return sum(workflow.deadline_hours(state) for state in step.deadline_states)


def _first(status: str):
    return Subquery(StatusChange.objects.filter(report=OuterRef("pk"), to_status=status)
                    .order_by("at", "pk").values("at")[:1])


def _step_durations(f: Filters, step: Step) -> QuerySet:
    return (incidents(f).annotate(t0=_first(step.start), t1=_first(step.end))
            .filter(t0__isnull=False, t1__isnull=False)
            .annotate(d=ExpressionWrapper(F("t1") - F("t0"), output_field=DurationField())))


def durations_hours(f: Filters, step: Step) -> list[float]:
    """The step's durations in hours, sorted – anonymous numbers, no report ids."""
    qs = _step_durations(f, step)
    values = [d.total_seconds() / 3600 for d in qs.values_list("d", flat=True) if d is not None]
    return sorted(max(v, 0.0) for v in values)


def step_counts(f: Filters, step: Step) -> tuple[int, int]:
    """The step's number of cases and of cases within the deadline, both published counts
    (perturbed per month by their cell keys and summed, like every other count)."""
    within = Q(d__lte=timedelta(hours=deadline_hours(step)))
    rows = _by_month(_step_durations(f, step), n=Count("pk"), ks=Sum(ckm.record_key()),
                     n_in=Count("pk", filter=within),
                     ks_in=Sum(ckm.record_key(), filter=within))
    return (ckm.add_cells(ckm.perturb(r["n"], r["ks"]) for r in rows),
            ckm.add_cells(ckm.perturb(r["n_in"], r["ks_in"]) for r in rows))


def coarse_hours(value: float | None) -> float | None:
    """A published lead time (median, 90th percentile): rounded to a coarse grid – 2 hours below
    12 hours, 6 hours below 2 days, half days below a week, whole days above – so that one case
    more or less moves it only when it crosses a step (and then by a whole step)."""
    if value is None:
        return None
    for limit, step in ((12, 2), (48, 6), (168, 12)):
        if value < limit:
            return float(round(value / step) * step)
    return float(round(value / 24) * 24)


def coarse_share(within: int, n: int) -> int | None:
    """The published share within the deadline: whole tens of per cent."""
    if n <= 0:
        return None
    return max(0, min(100, round(100 * within / n / 10) * 10))


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of sorted values (p in 0–100)."""
    if not values:
        return None
    rank = max(1, -(-len(values) * p // 100))  # ceil
    return values[int(rank) - 1]


def median(values: list[float]) -> float | None:
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
