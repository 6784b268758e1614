"""Public face of the statistics: anonymised incident figures for the statistics role, the ZKS,
the DPO and the administration; the annual report; the DPO's records.

Every function checks the role first. Figures are aggregates over reports (never the register)
and pass disclosure control (``disclosure.py``) before they leave this module: a count below
``BEISTAND_STATS_MIN_CELL`` (k) is "<k", a cell that a published total would reveal is "x".
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from beistand.accounts import services as accounts
from beistand.accounts.roles import Role
from beistand.audit import services as audit
from beistand.core import offload
from beistand.core.errors import InvalidInput
from beistand.stats import annual_report, charts, queries, tables
from beistand.stats.disclosure import protect
from beistand.stats.filters import DIMENSIONS, PERIODS, Filters, Query, parse_filters, parse_query

READER_ROLES = (Role.STATISTICS, Role.ZKS, Role.DPO, Role.ADMIN)

__all__ = ["READER_ROLES", "Dashboard", "dashboard", "incident_counts", "key_figures",
           "lead_times", "parse_filters", "parse_query", "require_reader"]


def require_reader(user) -> None:
    accounts.require_role(user, *READER_ROLES)


def may_read(user) -> bool:
    return accounts.has_role(user, *READER_ROLES)


def incident_counts(user, query: Query) -> dict:
    """The API's table: ``{"rows": [{dim: value, …, "count": n | "<k" | "x"}], "suppressed"}``."""
    require_reader(user)
    k = tables.min_cell()
    result = protect(queries.count_cells(query.filters, query.group_by), k)
    orders = [queries.category_order(d, query.filters, [key[i] for key in result.cells])
              for i, d in enumerate(query.group_by)]
    position = [{v: n for n, v in enumerate(order)} for order in orders]
    keys = sorted(result.cells, key=lambda key: tuple(
        position[i].get(v, len(position[i])) for i, v in enumerate(key)))
    rows = [{**dict(zip(query.group_by, key, strict=True)), "count": result.shown(key)}
            for key in keys]
    return {"group_by": list(query.group_by), "from": query.filters.start.isoformat(),
            "to": query.filters.end.isoformat(), "min_cell": k, "rows": rows,
            "suppressed": result.suppressed}


def key_figures(user, filters: Filters) -> dict:
    require_reader(user)
    return tables.key_figures(filters)


def lead_times(user, filters: Filters) -> list[dict]:
    require_reader(user)
    table = tables.lead_times(filters)
    keys = [s.key for s in queries.STEPS]
    out = []
    for key, row in zip(keys, table.rows, strict=True):
        series = table.series[row[0]]
        out.append({"step": key, "label": row[0], "count": row[1],
                    "median_hours": _round(series["Median"]),
                    "p90_hours": _round(series["90. Perzentil"]),
                    "within_deadline": row[4] if row[4] != "–" else None,
                    "deadline_hours": series["Frist"]})
    return out


def _round(value):
    return None if value is None else round(value, 1)


# --- Dashboard -------------------------------------------------------------------------------

@dataclass
class Chart:
    table: tables.Table
    svg: str
    caption: str


@dataclass
class Dashboard:
    filters: Filters
    period: str
    figures: tables.Table
    charts: list[Chart] = field(default_factory=list)
    extra_tables: list[tables.Table] = field(default_factory=list)
    k: int = 5

    @property
    def all_tables(self) -> list[tables.Table]:
        """Exactly what the page shows, in page order (for the exports)."""
        return [self.figures, *[c.table for c in self.charts], *self.extra_tables]

    @property
    def suppressed(self) -> int:
        return sum(t.suppressed for t in self.all_tables)


WITHHELD_NOTE = ("Nicht dargestellt sind zurückgehaltene Werte (kleiner als {k} oder "
                 "zurückgehalten, damit Summen sie nicht verraten); die Tabelle nennt sie.")


def dashboard(user, filters: Filters, period: str = "month") -> Dashboard:
    require_reader(user)
    if period not in PERIODS:
        period = "month"
    k = tables.min_cell()
    t = tables.build_tables(filters, period)
    note = WITHHELD_NOTE.format(k=k)
    # Drawing the charts is seconds of CPU: in a worker process (``core.offload``), all four in
    # one call (their SVG ids are numbered per process, unique on the page).
    svgs = offload.call(dashboard_svgs, {key: t[key] for key in CHART_KEYS}, period,
                        what="Die Diagramme der Statistik")
    charts_out = [
        Chart(t["by_period"], svgs[0], note),
        Chart(t["by_unit"], svgs[1], note),
        Chart(t["by_offence"], svgs[2], note),
        Chart(t["lead_times"], svgs[3], "Balken: Median und 90. Perzentil; Strich: Frist."),
    ]
    figures = tables.key_figure_table(tables.key_figures(filters))
    return Dashboard(filters=filters, period=period, figures=figures, charts=charts_out,
                     extra_tables=[t["by_site"], t["circumstances"]], k=k)


CHART_KEYS = ("by_period", "by_unit", "by_offence", "lead_times")


def dashboard_svgs(t: dict[str, tables.Table], period: str) -> list[str]:
    """The dashboard's four charts as inline SVG (in the worker process; no database)."""
    return [
        charts.svg(charts.stacked_by_level(t["by_period"], DIMENSIONS[period]),
                   t["by_period"].title, _desc_two_way(t["by_period"])),
        charts.svg(charts.horizontal_bars(t["by_unit"]), t["by_unit"].title,
                   _desc_one_way(t["by_unit"])),
        charts.svg(charts.horizontal_bars(t["by_offence"]), t["by_offence"].title,
                   _desc_one_way(t["by_offence"])),
        charts.svg(charts.lead_time_bars(t["lead_times"]), t["lead_times"].title,
                   "Median und 90. Perzentil der Bearbeitungszeit je Schritt in Stunden, mit "
                   "der Frist als Strich. Die Werte stehen in der Tabelle."),
    ]


def _desc_one_way(table: tables.Table) -> str:
    parts = [f"{row[0]}: {row[1]}" for row in table.rows[:12]]
    more = " …" if len(table.rows) > 12 else ""
    return "Balkendiagramm. " + "; ".join(parts) + more + ". Alle Werte in der Tabelle."


def _desc_two_way(table: tables.Table) -> str:
    total = table.rows[-1][-1] if table.rows else 0
    return (f"Gestapeltes Säulendiagramm, {len(table.rows) - 1} Zeiträume, insgesamt {total} "
            "Vorfälle. Alle Werte in der Tabelle.")


# --- Annual report ---------------------------------------------------------------------------

def annual_report_pdf(user, year) -> tuple[str, bytes]:
    """The annual report of ``year`` as PDF for a reader role; the generation is audited."""
    require_reader(user)
    return render_annual_report(_year(year), actor=user)


def render_annual_report(year: int, actor=None) -> tuple[str, bytes]:
    """Also for the console (``beistand report annual``), where ``actor`` is the operator."""
    year = _year(year)
    pdf = annual_report.build(year)
    with transaction.atomic():
        audit.record("stats.annual_report", object_type="stats.report", object_id=year,
                     object_repr=f"Jahresbericht {year}", actor=actor,
                     after={"year": year, "bytes": len(pdf)})
    return annual_report.filename(year), pdf


def _year(value) -> int:
    try:
        year = int(value)
    except (TypeError, ValueError):
        raise InvalidInput("Das Jahr muss eine Zahl sein, z. B. 2026.", field="year") from None
    this_year = timezone.localdate().year
    if not this_year - 10 <= year <= this_year:
        raise InvalidInput(f"Einen Jahresbericht gibt es für die Jahre {this_year - 10} bis "
                           f"{this_year}.", field="year")
    return year
