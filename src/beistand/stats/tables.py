"""Protected tables as the dashboard, the exports and the annual report show them.

Each table holds display strings only (counts, "<5", "x"), so whatever is rendered or exported
is exactly what was protected. Line totals come from their own (protected) one-dimensional
queries, never from adding up visible cells.
"""

from dataclasses import dataclass, field

from django.conf import settings

from beistand.stats import queries
from beistand.stats.disclosure import Protected, protect, protect_value
from beistand.stats.filters import DIMENSIONS, Filters

TOTAL = "Summe"


@dataclass
class Table:
    key: str
    title: str
    caption: str
    columns: list[str]
    rows: list[list]           # first cell: row label; then shown values
    note: str = ""
    # Numbers for charts: row label -> {column: int | None} (None = withheld)
    series: dict[str, dict[str, int | None]] = field(default_factory=dict)
    suppressed: int = 0


def min_cell() -> int:
    return max(1, int(settings.STATS_MIN_CELL))


def _number(p: Protected, key: tuple) -> int | None:
    return None if key in p.withheld else p.cells.get(key, 0)




def one_way(f: Filters, dim: str, *, key: str, title: str, caption: str,
            keep_empty: bool = False) -> Table:
    """One dimension: category, count; with the grand total."""
    k = min_cell()
    p = protect(queries.count_cells(f, (dim,)), k)
    label = queries.labeller(dim)
    order = queries.category_order(dim, f, [c[0] for c in p.cells])
    rows, series = [], {}
    for value in order:
        if not keep_empty and (value,) not in p.cells:
            continue
        rows.append([label(value), p.shown((value,))])
        series[label(value)] = {"Anzahl": _number(p, (value,))}
    total = queries.total(f) if dim != "offence" else None
    if total is not None:
        rows.append([TOTAL, protect_value(total, k)])
    note = ("Eine Meldung mit mehreren Delikten zählt bei jedem ihrer Delikte."
            if dim == "offence" else "")
    return Table(key=key, title=title, caption=caption, columns=[DIMENSIONS[dim], "Anzahl"],
                 rows=rows, series=series, suppressed=p.suppressed, note=note)


def two_way(f: Filters, row_dim: str, col_dim: str, *, key: str, title: str,
            caption: str) -> Table:
    """Rows × columns with row and column totals (each total protected in its own table)."""
    k = min_cell()
    cells = protect(queries.count_cells(f, (row_dim, col_dim)), k)
    row_totals = protect(queries.count_cells(f, (row_dim,)), k)
    col_totals = protect(queries.count_cells(f, (col_dim,)), k)
    row_label, col_label = queries.labeller(row_dim), queries.labeller(col_dim)
    row_order = queries.category_order(row_dim, f, [c[0] for c in cells.cells])
    col_order = queries.category_order(col_dim, f, [c[1] for c in cells.cells])
    columns = [DIMENSIONS[row_dim], *[col_label(c) for c in col_order], TOTAL]
    rows, series = [], {}
    for r in row_order:
        line = [row_label(r)]
        series[row_label(r)] = {}
        for c in col_order:
            line.append(cells.shown((r, c)))
            series[row_label(r)][col_label(c)] = _number(cells, (r, c))
        # A total that would reveal a withheld partner is withheld too (disclosure.py).
        line.append("x" if (1, (r,)) in cells.withheld_totals else row_totals.shown((r,)))
        rows.append(line)
    footer = [TOTAL, *["x" if (0, (c,)) in cells.withheld_totals else col_totals.shown((c,))
                       for c in col_order],
              protect_value(queries.total(f), k)]
    rows.append(footer)
    return Table(key=key, title=title, caption=caption, columns=columns, rows=rows,
                 series=series,
                 suppressed=cells.suppressed + row_totals.suppressed + col_totals.suppressed)


def circumstances(f: Filters) -> Table:
    """Office/field, perpetrator known, police, injuries: one protected table per feature."""
    k = min_cell()
    rows, suppressed, series = [], 0, {}
    for dim in ("location", "perpetrator", "police", "injured"):
        p = protect(queries.count_cells(f, (dim,)), k)
        suppressed += p.suppressed
        label = queries.labeller(dim)
        for value in queries.category_order(dim, f, [c[0] for c in p.cells]):
            rows.append([f"{DIMENSIONS[dim]}: {label(value)}", p.shown((value,))])
            series[f"{DIMENSIONS[dim]}: {label(value)}"] = {"Anzahl": _number(p, (value,))}
    return Table(key="circumstances", title="Umstände der Vorfälle",
                 caption="Vorfälle nach Ort, Täter/in, Polizei und Verletzungen",
                 columns=["Merkmal", "Anzahl"], rows=rows, series=series,
                 suppressed=suppressed)


def hours(value: float | None) -> str:
    if value is None:
        return "–"
    if value >= 48:
        return f"{value / 24:.1f}".replace(".", ",") + " Tage"
    return f"{value:.1f}".replace(".", ",") + " Std."


def lead_times(f: Filters) -> Table:
    """Median, 90th percentile and share within the deadline per workflow step, under the same
    disclosure control as every count (review of issue 16, finding 3): the number of cases and
    the number within the deadline are published counts (cell-key noise per month, summed); a
    step whose published count is below k shows only "<k"; the median and the 90th percentile
    are rounded to a coarse grid (``queries.coarse_hours``) and the share to whole tens of per
    cent, so that a case more or less (two overlapping queries) changes them only by a step."""
    k = min_cell()
    rows, series, suppressed = [], {}, 0
    for step in queries.STEPS:
        limit = queries.deadline_hours(step)
        n, within = queries.step_counts(f, step)
        if n < k:
            if n > 0:
                suppressed += 1
            rows.append([step.label, protect_value(n, k), "–", "–", "–", hours(limit)])
            series[step.label] = {"Median": None, "90. Perzentil": None, "Frist": limit}
            continue
        values = queries.durations_hours(f, step)
        med = queries.coarse_hours(queries.median(values))
        p90 = queries.coarse_hours(queries.percentile(values, 90))
        share = queries.coarse_share(within, n)
        rows.append([step.label, n, hours(med), hours(p90),
                     f"{share} %" if share is not None else "–", hours(limit)])
        series[step.label] = {"Median": med, "90. Perzentil": p90, "Frist": limit}
    return Table(key="lead_times", title="Bearbeitungszeiten",
                 caption="Bearbeitungszeiten der Meldungen je Schritt (Median, 90. Perzentil, "
                         "Anteil innerhalb der Frist)",
                 columns=["Schritt", "Fälle", "Median", "90. Perzentil",
                          "innerhalb der Frist", "Frist"],
                 rows=rows, series=series, suppressed=suppressed,
                 note="Gemessen vom ersten Erreichen des Ausgangsstatus bis zum ersten Erreichen "
                      "des Zielstatus; nur Meldungen, die beide erreicht haben. Fallzahlen mit "
                      "Zufallsüberlagerung, Zeiten gerundet (unter 12 Std. auf 2 Std., unter "
                      "2 Tagen auf 6 Std., unter einer Woche auf halbe Tage, sonst auf Tage), "
                      "Anteile auf 10 %.")


KEY_FIGURES = (
    ("incidents", "Vorfälle insgesamt"),
    ("level_2_plus", "davon Gefährdungsstufe 2 oder 3"),
    ("level_3", "davon Gefährdungsstufe 3"),
    ("attacks", "Angriffe (verbal oder körperlich)"),
    ("field", "im Außendienst"),
    ("injured", "mit Verletzung oder Arbeitsunfähigkeit"),
    ("incapacity_days", "Tage der Arbeitsunfähigkeit (Summe)"),
    ("police", "Polizei vor Ort"),
    ("perpetrator_unknown", "Täter/in unbekannt"),
    ("published", "im Register veröffentlicht"),
    ("help_requested", "Hilfsangebote angefragt"),
    ("help_granted", "Hilfsangebote gewährt (in Bearbeitung oder erledigt)"),
)


def key_figures(f: Filters) -> dict[str, int | str]:
    """Key figures, each "<k" below k; the day sum only when k reports contribute to it."""
    k = min_cell()
    raw = queries.key_counts(f)
    shown: dict[str, int | str] = {}
    for name, _label in KEY_FIGURES:
        if name == "incapacity_days":
            shown[name] = raw[name] if raw["with_incapacity"] >= k else "x"
        else:
            shown[name] = protect_value(raw[name], k)
    from django.utils import timezone

    days = (min(f.end, timezone.localdate()) - f.start).days + 1
    shown["every_n_days"] = (round(days / raw["incidents"], 1)
                             if raw["incidents"] >= k else "–")
    return shown


def key_figure_table(figures: dict, title: str = "Kennzahlen") -> Table:
    rows = [[label, figures[name]] for name, label in KEY_FIGURES]
    every = figures.get("every_n_days")
    if every not in (None, "–"):
        rows.append(["im Mittel ein Vorfall alle … Tage", str(every).replace(".", ",")])
    return Table(key="key_figures", title=title, caption="Kennzahlen des gewählten Zeitraums",
                 columns=["Kennzahl", "Wert"], rows=rows)


def build_tables(f: Filters, period: str) -> dict[str, Table]:
    """The dashboard's (and the annual report's) protected tables."""
    label = DIMENSIONS[period]
    return {
        "by_period": two_way(
            f, period, "level", key="by_period",
            title=f"Vorfälle je {label} nach Gefährdungsstufe",
            caption=f"Vorfälle je {label}, gestapelt nach Gefährdungsstufe"),
        "by_unit": one_way(
            f, "unit", key="by_unit", title="Vorfälle nach Organisationseinheit",
            caption=f"Vorfälle nach Organisationseinheit (Gliederungsebene {f.unit_depth}) "
                    "der meldenden Person"),
        "by_offence": one_way(
            f, "offence", key="by_offence", title="Vorfälle nach Delikt",
            caption="Vorfälle nach Delikt"),
        "lead_times": lead_times(f),
        "by_site": one_way(
            f, "site", key="by_site", title="Vorfälle nach Standort",
            caption="Vorfälle nach Standort (Außendienst gesondert)"),
        "circumstances": circumstances(f),
    }
