"""The annual report (Jahresbericht) as PDF: key figures with the previous year, charts and
their tables, lead times, the method. Anonymised: only protected tables (``tables.py``) go in,
so the document says "anonymisierte Statistik" instead of "personenbezogene Daten".
"""

import io
from dataclasses import replace
from datetime import date

from django.utils import timezone
from reportlab.lib.units import mm
from reportlab.platypus import Image, KeepTogether, Spacer

from beistand.core import offload
from beistand.documents import layout as L
from beistand.documents import letterhead as lh
from beistand.stats import charts, tables
from beistand.stats.filters import Filters

MARKING = "Anonymisierte Statistik"
TITLE = "Jahresbericht"


def year_filters(year: int) -> Filters:
    return Filters(start=date(year, 1, 1), end=date(year, 12, 31), unit_depth=2)


def _image(fig, width=L.FRAME_WIDTH) -> Image:
    data = charts.png(fig)
    w, h = fig.get_size_inches()
    return Image(io.BytesIO(data), width=width, height=width * h / w)


def _grid(table: tables.Table, widths=None) -> list:
    widths = widths or [3] + [1] * (len(table.columns) - 1)
    rows = [[str(c) for c in row] for row in table.rows]
    out = [L.grid(table.columns, rows, widths)]
    if table.note:
        out.append(L.para(table.note, "small"))
    return out


def _change(previous, current) -> str:
    if isinstance(previous, int) and isinstance(current, int):
        diff = current - previous
        if previous:
            return f"{diff:+d} ({round(100 * diff / previous):+d} %)"
        return f"{diff:+d}"
    return "–"


def build(year: int) -> bytes:
    """The report for ``year`` (compared with ``year - 1``).

    The tables are counted here (database); charts and layout - seconds of CPU - are drawn in a
    worker process at a lower priority (``core.offload``), not in the server's interpreter."""
    f, prev = year_filters(year), year_filters(year - 1)
    if year == timezone.localdate().year:
        f = replace(f, end=timezone.localdate())
    data = {
        "k": tables.min_cell(),
        "figures": tables.key_figures(f), "figures_prev": tables.key_figures(prev),
        "t": tables.build_tables(f, "quarter"),
        "levels_now": tables.one_way(f, "level", key="l", title="", caption="",
                                     keep_empty=True),
        "levels_prev": tables.one_way(prev, "level", key="l", title="", caption="",
                                      keep_empty=True),
        "quarters": tables.two_way(f, "quarter", "level", key="q", title="", caption=""),
    }
    body = lh.body()
    head = replace(lh.letterhead(body, TITLE, str(year), timezone.now()), marking=MARKING)
    return offload.call(compose, year, f.start, f.end, body.name, head, data,
                        what=f"Der {TITLE} {year}")


def compose(year: int, start: date, end: date, body_name: str, head, data: dict) -> bytes:
    """Charts, story and PDF from the counted tables (in the worker process; no database)."""
    k, figures, figures_prev = data["k"], data["figures"], data["figures_prev"]
    t, quarters = data["t"], data["quarters"]
    levels_now, levels_prev = data["levels_now"], data["levels_prev"]
    story = [*L.title(f"{TITLE} {year}: Angriffe auf Beschäftigte",
                      f"{body_name} · Vorfälle vom {L.fmt_date(start)} bis "
                      f"{L.fmt_date(end)}, verglichen mit {year - 1}")]
    every = figures.get("every_n_days")
    if every not in (None, "–"):
        every = str(every).replace(".", ",")
        story.append(L.markup(f"<b>Im Mittel ein Vorfall alle {L.text(every)} Tage.</b> "
                              f"Insgesamt {figures['incidents']} gemeldete Vorfälle, davon "
                              f"{figures['level_2_plus']} mit Gefährdungsstufe 2 oder 3.",
                              "strong"))
    story.append(L.para(
        "Alle Zahlen sind anonymisiert: Werte unter " + str(k) + " stehen als „<" + str(k)
        + "“, Werte, aus denen sich ein kleiner Wert zurückrechnen ließe, als „x“. Grundlage "
        "sind die eingereichten Meldungen (nicht das Register)."))
    story += L.heading("Kennzahlen im Vergleich zum Vorjahr")
    rows = [[label, str(figures_prev[name]), str(figures[name]),
             _change(figures_prev[name], figures[name])]
            for name, label in tables.KEY_FIGURES]
    story.append(L.grid(["Kennzahl", str(year - 1), str(year), "Veränderung"], rows,
                        [5, 1.2, 1.2, 1.8]))
    story += L.heading("Vorfälle je Quartal nach Gefährdungsstufe")
    story.append(_image(charts.stacked_by_level(quarters, "Quartal"), width=L.FRAME_WIDTH * 0.8))
    story += _grid(quarters, [2] + [1] * (len(quarters.columns) - 1))
    story += L.heading(f"Gefährdungsstufen {year - 1} und {year}")
    story.append(_image(charts.year_comparison(levels_now, levels_prev, year)))
    rows = [[a[0], str(b[1]), str(a[1])] for a, b in
            zip(levels_now.rows, levels_prev.rows, strict=True)]
    story.append(L.grid(["Gefährdungsstufe", str(year - 1), str(year)], rows, [3, 1, 1]))
    for key in ("by_unit", "by_offence"):
        story += L.heading(t[key].title)
        story.append(_image(charts.horizontal_bars(t[key])))
        story += _grid(t[key])
    story += L.heading("Umstände und Standorte")
    story += _grid(t["circumstances"])
    story.append(Spacer(1, 3 * mm))
    story += _grid(t["by_site"])
    story += L.heading("Bearbeitungszeiten")
    story.append(KeepTogether([_image(charts.lead_time_bars(t["lead_times"])),
                               *_grid(t["lead_times"], [3, 1, 1.2, 1.2, 1.2, 1.2])]))
    story += L.heading("Methode")
    story.append(L.para(
        "Gezählt werden Meldungen ab der Einreichung (Entwürfe nicht), nach dem Zeitpunkt des "
        "Vorfalls. Organisationseinheit ist die der meldenden Person auf der Ebene der Ämter. "
        "Eine Meldung mit mehreren Delikten zählt bei jedem Delikt. Bearbeitungszeiten: vom "
        "ersten Erreichen des Ausgangsstatus bis zum ersten Erreichen des Zielstatus; Median "
        "und 90. Perzentil (Rangverfahren)."))
    return L.render(head, story)


def filename(year: int) -> str:
    return f"jahresbericht-{year}.pdf"
